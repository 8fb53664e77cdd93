"""Text-conditioned discriminator for training Aurora on the procedural world.

The reference repository ships no discriminator; the paper's is StyleGAN-T-like with CLIP image
features. No CLIP image weights exist here, so this one is our own design:

* an image tower: residual downsampling blocks (64x64 -> 4x4), minibatch standard deviation, and
  a pooled feature vector h (B, C);
* a text tower over the frozen CLIP token features: the EOT token (which sees the whole caption
  through the causal mask) and the mean of the caption's tokens, through an MLP -> e (B, C);
* a projection head: logit = uncond(h) + <proj(h), e>  (Miyato & Koyama, 2018);
* `embed()` gives unit-norm image and text embeddings for the contrastive alignment loss that
  stands in for the paper's CLIP image-text loss (image tower = this D's, trained on real pairs).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class EqConv2d(nn.Module):
    """Conv with equalised learning rate (StyleGAN): N(0, 1) weights scaled by 1/sqrt(fan_in) at run
    time, so Adam's step size means the same for every layer, as it does in the generator's layers."""

    def __init__(self, cin: int, cout: int, kernel: int, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.scale = 1 / math.sqrt(cin * kernel * kernel)
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqLinear(nn.Module):
    def __init__(self, cin: int, cout: int, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.scale = 1 / math.sqrt(cin)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class _ResDown(nn.Module):
    """Two 3x3 convs with leaky ReLU, average-pool down, plus a 1x1 skip; scaled by 1/sqrt(2)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv0 = EqConv2d(cin, cin, 3)
        self.conv1 = EqConv2d(cin, cout, 3)
        self.skip = EqConv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.leaky_relu(self.conv0(x), 0.2)
        y = F.avg_pool2d(F.leaky_relu(self.conv1(y), 0.2), 2)
        s = F.avg_pool2d(self.skip(x), 2)
        return (y + s) / math.sqrt(2)


class TextConditionedDiscriminator(nn.Module):
    def __init__(self, resolution: int = 64, text_width: int = 64, channels: int = 64, max_channels: int = 256,
                 embed_dim: int = 256, mbstd_group: int = 4) -> None:
        super().__init__()
        if resolution < 8 or resolution & (resolution - 1):
            raise ValueError(f"resolution must be a power of two >= 8, got {resolution}")
        self.mbstd_group = mbstd_group
        self.from_rgb = EqConv2d(3, channels, 1)
        blocks, c, res = [], channels, resolution
        while res > 4:
            c_out = min(c * 2, max_channels)
            blocks.append(_ResDown(c, c_out))
            c, res = c_out, res // 2
        self.blocks = nn.ModuleList(blocks)
        self.conv_final = EqConv2d(c + 1, c, 3)
        self.fc = EqLinear(c * 4 * 4, embed_dim)
        self.out_uncond = EqLinear(embed_dim, 1)
        self.proj_image = EqLinear(embed_dim, embed_dim)
        self.text = nn.Sequential(EqLinear(2 * text_width, embed_dim), nn.LeakyReLU(0.2), EqLinear(embed_dim, embed_dim))
        self.contrast_image = EqLinear(embed_dim, embed_dim)
        self.contrast_text = EqLinear(embed_dim, embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(10.0)))

    def _mbstd(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        g = min(self.mbstd_group, b)
        while b % g:
            g -= 1
        y = x.reshape(g, -1, c, h, w)  # (G, B/G, C, H, W)
        y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt()  # (B/G, C, H, W)
        y = y.mean(dim=(1, 2, 3)).reshape(-1, 1, 1, 1).repeat(g, 1, h, w)  # (B, 1, H, W)
        return torch.cat([x, y], dim=1)

    def image_features(self, images: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.from_rgb(images), 0.2)  # (B, C, R, R)
        for block in self.blocks:
            x = block(x)  # halves R each time, down to 4x4
        x = F.leaky_relu(self.conv_final(self._mbstd(x)), 0.2)  # (B, C, 4, 4)
        return F.leaky_relu(self.fc(x.flatten(1)), 0.2)  # (B, E)

    def text_features(self, clip_tokens: torch.Tensor, eot_ind: torch.Tensor) -> torch.Tensor:
        b, t, _ = clip_tokens.shape
        eot = clip_tokens[torch.arange(b, device=clip_tokens.device), eot_ind]  # (B, W)
        valid = (torch.arange(t, device=clip_tokens.device)[None, :] <= eot_ind[:, None]).to(clip_tokens.dtype)  # (B, T)
        mean = (clip_tokens * valid[..., None]).sum(1) / valid.sum(1, keepdim=True)  # (B, W)
        return self.text(torch.cat([eot, mean], dim=1))  # (B, E)

    def forward(self, images: torch.Tensor, clip_tokens: torch.Tensor, eot_ind: torch.Tensor,
                h: torch.Tensor | None = None, e: torch.Tensor | None = None) -> torch.Tensor:
        """Realness logits (B,) of images under their captions' CLIP token features. h and e, when
        given, are this batch's image_features / text_features, computed once for several calls."""
        if h is None:
            h = self.image_features(images)
        if e is None:
            e = self.text_features(clip_tokens, eot_ind)
        return self.out_uncond(h).squeeze(1) + (self.proj_image(h) * e).sum(1) / math.sqrt(e.shape[1])

    def contrastive_logits(self, h: torch.Tensor, clip_tokens: torch.Tensor, eot_ind: torch.Tensor,
                           e: torch.Tensor | None = None) -> torch.Tensor:
        """(B, B) image-to-text similarity logits for an InfoNCE loss over the batch."""
        if e is None:
            e = self.text_features(clip_tokens, eot_ind)
        img = F.normalize(self.contrast_image(h), dim=1)
        txt = F.normalize(self.contrast_text(e), dim=1)
        return self.logit_scale.clamp(max=math.log(100.0)).exp() * img @ txt.t()


def contrastive_loss(logits: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE where captions with identical token ids are not counted as negatives."""
    same = (token_ids[:, None, :] == token_ids[None, :, :]).all(-1)  # (B, B)
    eye = torch.eye(len(token_ids), dtype=torch.bool, device=logits.device)
    masked = logits.masked_fill(same & ~eye, float("-inf"))
    target = torch.arange(len(token_ids), device=logits.device)
    return 0.5 * (F.cross_entropy(masked, target) + F.cross_entropy(masked.t(), target))
