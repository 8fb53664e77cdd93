"""The modulated transformation module (MTM): torchvision's deform_conv2d, in pure PyTorch.

The reference samples with `torchvision.ops.deform_conv2d(x, offsets, w, mask, padding=k//2)` on
the batch folded into groups. Here: for kernel tap t = (i, j) output pixel (h, w) reads the input
bilinearly at (h - p + i + dy_t, w - p + j + dx_t), zero outside the image, times mask_t; the
taps are then mixed by each sample's weight. grid_sample (align_corners=True, zero padding) does
the bilinear read, so everything is differentiable (offsets, mask, input and weight).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def split_offsets(offset: torch.Tensor, kk: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The reference's 3*kk offset channels -> (dy, dx, mask), each (N, kk, H, W).

    It concatenates its "x" and "y" halves, and torchvision reads that tensor interleaved: channel
    2t is the row offset of tap t, 2t+1 the column offset. The mask is 2 * sigmoid(last kk).
    """
    dy = offset[:, 0:2 * kk:2]
    dx = offset[:, 1:2 * kk:2]
    mask = torch.sigmoid(offset[:, 2 * kk:]) * 2
    return dy, dx, mask


def deform_conv2d(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x (N, I, H, W); dy, dx, mask (N, k*k, H, W); weight (N, O, I, k, k) -> (N, O, H, W)."""
    n, c, h, w = x.shape
    o, k = weight.shape[1], weight.shape[-1]
    kk, p = k * k, k // 2
    taps = torch.arange(kk, device=x.device, dtype=x.dtype)
    ti, tj = torch.div(taps, k, rounding_mode="floor"), taps % k  # row, column of tap t
    rows = torch.arange(h, device=x.device, dtype=x.dtype)
    cols = torch.arange(w, device=x.device, dtype=x.dtype)
    py = rows[None, None, :, None] - p + ti[None, :, None, None] + dy  # (N, kk, H, W)
    px = cols[None, None, None, :] - p + tj[None, :, None, None] + dx  # (N, kk, H, W)
    grid = torch.stack([px * (2.0 / (w - 1)) - 1.0, py * (2.0 / (h - 1)) - 1.0], dim=-1)  # (N, kk, H, W, 2)
    sampled = F.grid_sample(x, grid.reshape(n, kk * h, w, 2), mode="bilinear", padding_mode="zeros", align_corners=True)
    sampled = sampled.reshape(n, c, kk, h, w) * mask[:, None]  # (N, I, kk, H, W)
    y = torch.bmm(weight.reshape(n, o, c * kk), sampled.reshape(n, c * kk, h * w))  # (N, O, H*W)
    return y.reshape(n, o, h, w)
