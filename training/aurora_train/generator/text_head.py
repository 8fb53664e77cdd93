"""TextHead: the trainable adaptor between the CLIP text tokens and the generator.

The reference text head permutes to [77, B, C] and its MultiHeadAttention treats dim 0 as the
batch, so attention runs over the B prompts at each token (quirk 1). The official inference runs
one prompt at a time, where that softmax has one element and the attention returns v: we compute
exactly that per prompt, so a batch never changes a sample (q/k then get no gradient).
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

from ..layers.dense import DenseLayer, QuickGELU


class MultiHeadAttention(nn.Module):
    def __init__(self, in_dim: int, dropout: float, lin: dict):
        super().__init__()
        self.to_qkv = DenseLayer(in_dim, in_dim * 3, **lin)
        self.to_out = nn.Sequential(DenseLayer(in_dim, in_dim, **lin), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 77, C) -> (B, 77, C)
        v = self.to_qkv(x).chunk(3, dim=-1)[2]  # one prompt attends only to itself: the output is v
        return self.to_out(v)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, in_dim: int, dropout: float, lin: dict, attn_gain: float, mlp_ratio: int = 4):
        super().__init__()
        self.attn_gain = attn_gain
        self.attn = MultiHeadAttention(in_dim, dropout, lin)
        self.c_fc = DenseLayer(in_dim, in_dim * mlp_ratio, **lin)
        self.c_proj = DenseLayer(in_dim * mlp_ratio, in_dim, **lin)
        self.ln_1 = nn.LayerNorm(in_dim)
        self.ln_2 = nn.LayerNorm(in_dim)
        # Registered twice, as in the reference: c_fc/c_proj and mlp.c_fc/mlp.c_proj are the same layers.
        self.mlp = nn.Sequential(OrderedDict([("c_fc", self.c_fc), ("gelu", QuickGELU()), ("c_proj", self.c_proj)]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x + self.attn(self.ln_1(x))) * self.attn_gain
        return (x + self.mlp(self.ln_2(x))) * self.attn_gain


class TextTransformer(nn.Module):
    def __init__(self, width: int, num_layers: int, dropout: float, lin: dict, attn_gain: float):
        super().__init__()
        self.res_blocks = nn.Sequential(*[ResidualAttentionBlock(width, dropout, lin, attn_gain) for _ in range(num_layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res_blocks(x)


class TextHead(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        in_dim, ctx = c["clip_out_dim"], c["context_dim"]
        lin = dict(add_bias=True, use_wscale=c["text_use_wscale"], wscale_gain=c["text_wscale_gain"],
                   lr_mul=c["text_lr_mul"], activation_type="linear")
        self.align_ch = in_dim != ctx
        if self.align_ch:
            self.align_dim = DenseLayer(in_dim, ctx, init_bias=1.0, **lin)
        self.transformer = TextTransformer(ctx, c["num_layers_text_enc"], c["dropout"], {**lin, "init_bias": 0.0},
                                           c["text_head_gain"])

    def forward(self, text_feats: torch.Tensor, eot_ind: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # text_feats (B, 77, clip_out_dim), eot_ind (B,) -> global (B, ctx), local (B, 76, ctx)
        if self.align_ch:
            text_feats = self.align_dim(text_feats)
        x = self.transformer(text_feats)  # (B, 77, ctx)
        b, tokens, ctx = x.shape
        eot = eot_ind.to(device=x.device, dtype=torch.long).reshape(b, 1)
        global_feats = x.gather(1, eot[:, :, None].expand(b, 1, ctx))[:, 0]  # the EOT row
        rows = torch.arange(tokens - 1, device=x.device)[None, :]  # local row r reads row r, or r+1 past the EOT
        local_index = rows + (rows >= eot).long()  # (B, 76)
        local_feats = x.gather(1, local_index[:, :, None].expand(b, tokens - 1, ctx))  # (B, 76, ctx)
        return global_feats, local_feats
