"""QKVAttention math, SelfAttentionLayer and CrossAttentionLayer of the synthesis network."""
from __future__ import annotations

import torch
import torch.nn as nn

from .dense import DenseLayer
from .modulated_conv import AdaptiveModulateConvLayer


def qkv_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, head_dim: int, l2: bool, scale_in: bool,
                  mask_self: bool = False) -> torch.Tensor:
    """q (B*h, T, d), k/v (B*h, S, d) -> (B*h, T, d). L2 logits are -cdist(q, k), as the reference."""
    scale = head_dim ** -0.5
    if scale_in:
        q, k = q * scale, k * scale
    if l2:
        logits = -torch.cdist(q, k, p=2)  # (B*h, T, S)
        if mask_self:
            eye = torch.eye(logits.shape[1], logits.shape[2], device=logits.device, dtype=torch.bool)
            logits = logits.masked_fill(eye, float("-inf"))
    else:
        logits = torch.einsum("btc,bsc->bts", q, k)
    if not scale_in:
        logits = logits * scale
    return torch.einsum("bts,bsc->btc", torch.softmax(logits, dim=-1), v)


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """'b x (h d) -> (b h) x d'"""
    b, t, c = x.shape
    return x.reshape(b, t, heads, c // heads).transpose(1, 2).reshape(b * heads, t, c // heads)


def merge_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """'(b h) x d -> b x (h d)'"""
    bh, t, d = x.shape
    return x.reshape(bh // heads, heads, t, d).transpose(1, 2).reshape(bh // heads, t, heads * d)


class SelfAttentionLayer(nn.Module):
    def __init__(self, in_channels: int, num_heads: int, head_dim: int, w_dim: int, demodulate: bool, use_wscale: bool,
                 wscale_gain: float, lr_mul: float, mask_self: bool, l2_attention: bool, tie: bool, scale_in: bool,
                 eps: float):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, head_dim
        self.l2_attention, self.tie, self.scale_in, self.mask_self = l2_attention, tie, scale_in, mask_self
        lin = dict(add_bias=False, init_bias=0.0, use_wscale=use_wscale, wscale_gain=wscale_gain, lr_mul=lr_mul,
                   activation_type="linear")
        if l2_attention:
            self.to_qk = DenseLayer(in_channels, in_channels if tie else in_channels * 2, **lin)
            self.to_v = DenseLayer(in_channels, in_channels, **lin)
        else:
            self.to_qkv = DenseLayer(in_channels, in_channels * 3, **lin)
        self.proj_out = AdaptiveModulateConvLayer(in_channels, in_channels, w_dim, kernel_size=1, num_kernels=1,
                                                  add_bias=True, scale_factor=1, filter_kernel=None,
                                                  demodulate=demodulate, use_wscale=use_wscale,
                                                  wscale_gain=wscale_gain, lr_mul=lr_mul, activation_type="linear",
                                                  conv_clamp=None, eps=eps)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> (N, C, H, W)
        n, c, height, width = x.shape
        h = x.flatten(2).transpose(1, 2)  # (N, HW, C)
        if self.l2_attention:
            qk = split_heads(self.to_qk(h), self.num_heads)  # (N*h, HW, d) tied, (N*h, HW, 2d) untied
            v = split_heads(self.to_v(h), self.num_heads)  # (N*h, HW, d)
            qkv = torch.cat([qk, qk, v] if self.tie else [qk, v], dim=2)
        else:
            qkv = split_heads(self.to_qkv(h), self.num_heads)  # (N*h, HW, 3d)
        # Per head, q, k, v are consecutive d-wide slices (the reference chunks after splitting heads).
        q, k, v = qkv.chunk(3, dim=2)
        out = qkv_attention(q, k, v, self.head_dim, self.l2_attention, self.scale_in, self.mask_self)
        out = merge_heads(out, self.num_heads).transpose(1, 2).reshape(n, -1, height, width)  # (N, h*d, H, W)
        return self.proj_out(out, w)


class CrossAttentionLayer(nn.Module):
    def __init__(self, query_dim: int, context_dim: int, num_heads: int, head_dim: int, dropout: float,
                 use_wscale: bool, wscale_gain: float, lr_mul: float, l2_attention: bool, scale_in: bool,
                 mask_self: bool):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, head_dim
        self.l2_attention, self.scale_in, self.mask_self = l2_attention, scale_in, mask_self
        inner = head_dim * num_heads
        lin = dict(init_bias=0.0, use_wscale=use_wscale, wscale_gain=wscale_gain, lr_mul=lr_mul, activation_type="linear")
        self.to_q = DenseLayer(query_dim, inner, add_bias=False, **lin)
        self.to_kv = DenseLayer(context_dim, inner * 2, add_bias=False, **lin)
        self.proj_out = nn.Sequential(DenseLayer(inner, query_dim, add_bias=True, **lin), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:  # (N, T, C), (N, S, ctx) -> (N, T, C)
        q = self.to_q(x)  # (N, T, inner)
        k, v = self.to_kv(context).chunk(2, dim=2)  # (N, S, inner) each
        q, k, v = (split_heads(t, self.num_heads) for t in (q, k, v))
        out = qkv_attention(q, k, v, self.head_dim, self.l2_attention, self.scale_in, self.mask_self)
        return self.proj_out(merge_heads(out, self.num_heads))
