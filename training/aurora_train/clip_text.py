"""ClipTextTower: an OpenAI-CLIP-layout text transformer (frozen text encoder for the trainer).

Keys are OpenAI's (token_embedding.weight, positional_embedding, transformer.resblocks.N.{ln_1,
attn.in_proj_*, attn.out_proj.*, ln_2, mlp.c_fc.*, mlp.c_proj.*}, ln_final.*, text_projection),
so `torch.save(tower.state_dict(), path)` is what `npx aurora convert --clip path` reads.
forward is CLIP's encode_text: QuickGELU, causal mask, LayerNorm eps 1e-5, EOT = argmax of ids.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(width, width * 4)), ("gelu", QuickGELU()),
                                              ("c_proj", nn.Linear(width * 4, width))]))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # (L, N, D), mask (L, L)
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int):
        super().__init__()
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x, mask)
        return x


class ClipTextTower(nn.Module):
    def __init__(self, vocab_size: int, width: int, heads: int, layers: int, embed_dim: int, context_length: int = 77):
        super().__init__()
        if width % heads:
            raise ValueError(f"ClipTextTower: width {width} does not split into {heads} heads")
        self.vocab_size, self.width, self.heads, self.layers = vocab_size, width, heads, layers
        self.embed_dim, self.context_length = embed_dim, context_length
        # Registration order gives OpenAI's key order: parameters first, then the submodules.
        self.positional_embedding = nn.Parameter(torch.empty(context_length, width))
        self.text_projection = nn.Parameter(torch.empty(width, embed_dim))
        self.transformer = Transformer(width, layers, heads)
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.ln_final = nn.LayerNorm(width)
        mask = torch.full((context_length, context_length), float("-inf")).triu(1)  # causal: -inf above the diagonal
        self.register_buffer("attn_mask", mask, persistent=False)
        self.initialize_parameters()

    @classmethod
    def seeded(cls, config: dict, seed: int) -> "ClipTextTower":
        """A tower built on the CPU from `seed` alone (CLIP's own init), identical on every machine.
        config: vocab_size, width, heads, layers, embed_dim[, context_length]."""
        tower = cls(**config)
        tower.initialize_parameters(torch.Generator().manual_seed(seed))
        return tower

    @torch.no_grad()
    def initialize_parameters(self, generator: torch.Generator | None = None) -> None:
        """CLIP's initialize_parameters; nn.Linear biases keep PyTorch's default U(+-1/sqrt(fan_in))."""
        g = generator
        proj_std = self.width ** -0.5 * (2 * self.layers) ** -0.5
        attn_std = self.width ** -0.5
        fc_std = (2 * self.width) ** -0.5
        self.token_embedding.weight.normal_(0, 0.02, generator=g)
        self.positional_embedding.normal_(0, 0.01, generator=g)
        for block in self.transformer.resblocks:
            block.attn.in_proj_weight.normal_(0, attn_std, generator=g)
            block.attn.in_proj_bias.zero_()
            block.attn.out_proj.weight.normal_(0, proj_std, generator=g)
            block.attn.out_proj.bias.zero_()
            block.mlp.c_fc.weight.normal_(0, fc_std, generator=g)
            block.mlp.c_proj.weight.normal_(0, proj_std, generator=g)
            for linear in (block.mlp.c_fc, block.mlp.c_proj):
                bound = linear.in_features ** -0.5
                linear.bias.uniform_(-bound, bound, generator=g)
            for ln in (block.ln_1, block.ln_2):
                ln.weight.fill_(1.0)
                ln.bias.zero_()
        self.ln_final.weight.fill_(1.0)
        self.ln_final.bias.zero_()
        self.text_projection.normal_(0, self.width ** -0.5, generator=g)

    def forward(self, token_ids: torch.Tensor, normalize: bool = True):
        # token_ids (B, 77) int -> pooled (B, embed_dim), tokens = ln_final(x) (B, 77, width), eot_ind (B,)
        eot_ind = token_ids.argmax(dim=-1)  # EOT is the highest id in each sequence
        x = self.token_embedding(token_ids) + self.positional_embedding  # (B, L, D)
        x = self.transformer(x.permute(1, 0, 2), self.attn_mask.to(x.dtype)).permute(1, 0, 2)  # (B, L, D)
        tokens = self.ln_final(x)
        pooled = tokens[torch.arange(tokens.shape[0], device=tokens.device), eot_ind] @ self.text_projection
        if normalize:
            pooled = F.normalize(pooled, dim=-1)
        return pooled, tokens, eot_ind
