"""AttentionBlock (self-attention, cross-attention to the text, feed-forward/MoE) and
ResidualAttnBlock (GroupNorm, proj_in, blocks, proj_out, gained residual)."""
from __future__ import annotations

import torch
import torch.nn as nn

from .attention import CrossAttentionLayer, SelfAttentionLayer
from .conv import ConvLayer
from .dense import DenseLayer
from .feed_forward import FeedForward


class AttentionBlock(nn.Module):
    def __init__(self, in_channels: int, context_dim: int, num_heads: int, head_dim: int, w_dim: int, c: dict,
                 num_experts: int):
        super().__init__()
        self.use_w_cond = c["use_w_cond"]
        self.include_ff = c["include_ff"]
        eq = dict(use_wscale=c["use_wscale"], wscale_gain=c["wscale_gain"], lr_mul=c["lr_mul"])
        self.norm1 = nn.LayerNorm(in_channels)
        self.self_attn = SelfAttentionLayer(in_channels, num_heads, head_dim, w_dim, c["demodulate"], mask_self=c["mask_self"],
                                            l2_attention=c["l2_attention"], tie=c["tie"], scale_in=c["scale_in"],
                                            eps=c["eps"], **eq)
        self.norm2 = nn.LayerNorm(in_channels)
        if self.use_w_cond:
            self.align_dim = DenseLayer(w_dim, context_dim, add_bias=True, init_bias=1.0, activation_type="linear", **eq)
        self.cross_attn = CrossAttentionLayer(in_channels, context_dim, num_heads, head_dim, dropout=0.0,
                                              l2_attention=c["l2_attention"], scale_in=c["scale_in"],
                                              mask_self=c["mask_self"], **eq)
        if self.include_ff:
            self.norm3 = nn.LayerNorm(in_channels)
            self.ff = FeedForward(in_channels, mlp_ratio=4, dropout=0.0, w_dim=w_dim, add_bias=True, init_bias=0.0,
                                  glu=c["glu"], num_experts=num_experts, **eq)

    def forward(self, x: torch.Tensor, w: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # x (N, C, H, W), w (N, w_dim), context (N, S, ctx) -> (N, C, H, W), moe_loss
        n, c, height, width = x.shape
        residual = x
        h = self.norm1(x.flatten(2).transpose(1, 2))  # (N, HW, C)
        h = self.self_attn(h.transpose(1, 2).reshape(n, c, height, width), w) + residual  # (N, C, H, W)
        h = h.flatten(2).transpose(1, 2)  # (N, HW, C)
        if self.use_w_cond:
            context = torch.cat([context, self.align_dim(w)[:, None]], dim=1)  # (N, S+1, ctx)
        h = self.cross_attn(self.norm2(h), context) + h
        moe_loss = h.new_zeros(())
        if self.include_ff:
            out, moe_loss = self.ff(self.norm3(h), w)
            h = out + h
        return h.transpose(1, 2).reshape(n, c, height, width), moe_loss


class ResidualAttnBlock(nn.Module):
    def __init__(self, depth: int, in_channels: int, context_dim: int, num_heads: int, head_dim: int | None,
                 w_dim: int, c: dict, num_experts: int):
        super().__init__()
        self.attn_gain = c["attn_gain"]
        head_dim = head_dim if head_dim is not None else in_channels // num_heads
        inner = num_heads * head_dim
        eq = dict(use_wscale=c["use_wscale"], wscale_gain=c["wscale_gain"], lr_mul=c["lr_mul"])
        conv = dict(kernel_size=1, add_bias=False, scale_factor=1, filter_kernel=None, activation_type="linear",
                    conv_clamp=c["conv_clamp"], **eq)
        self.norm = nn.GroupNorm(32, in_channels)
        self.proj_in = ConvLayer(in_channels, inner, **conv)
        self.attn_blocks = nn.ModuleList(
            [AttentionBlock(inner, context_dim, num_heads, head_dim, w_dim, c, num_experts) for _ in range(depth)])
        self.proj_out = ConvLayer(inner, in_channels, **conv)
        if c["zero_out"]:
            nn.init.zeros_(self.proj_out.weight)

    def forward(self, x: torch.Tensor, w: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.proj_in(self.norm(x))  # (N, inner, H, W)
        moe_loss = x.new_zeros(())
        for block in self.attn_blocks:
            h, loss = block(h, w, context)
            moe_loss = moe_loss + loss
        h = self.proj_out(h)  # (N, C, H, W)
        return (x + h) * self.attn_gain, moe_loss
