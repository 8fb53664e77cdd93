"""ConstInputLayer and FourierInputLayer: where synthesis starts."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .dense import DenseLayer


class ConstInputLayer(nn.Module):
    def __init__(self, init_res: int, channels: int):
        super().__init__()
        self.const = nn.Parameter(torch.randn(1, channels, init_res, init_res))

    def forward(self, w: torch.Tensor) -> torch.Tensor:  # (N, w_dim) -> (N, C, r, r)
        return self.const.expand(w.shape[0], -1, -1, -1)


class FourierInputLayer(nn.Module):
    """Sinusoids whose frequencies/phases an affine code from w rotates and translates, then a C x C mix."""

    def __init__(self, w_dim: int, size: int, channels: int, sampling_rate: int, bandwidth: float):
        super().__init__()
        self.channels, self.size, self.sampling_rate = channels, size, sampling_rate
        freqs = torch.randn(channels, 2)  # random frequencies from a uniform 2-D disc, as the reference draws them
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs /= radii * radii.square().exp().pow(0.25)
        freqs *= bandwidth
        phases = torch.rand(channels) - 0.5
        self.weight = nn.Parameter(torch.randn(channels, channels))
        self.affine = DenseLayer(w_dim, 4, add_bias=True, init_bias=[1, 0, 0, 0], use_wscale=True, wscale_gain=1.0,
                                 lr_mul=1.0, activation_type="linear", init_weight=0)
        self.register_buffer("transform", torch.eye(3, 3))
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", phases)

    def forward(self, w: torch.Tensor) -> torch.Tensor:  # (N, w_dim) -> (N, C, size, size)
        n = w.shape[0]
        t = self.affine(w)  # (N, 4) = (r_c, r_s, t_x, t_y)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        c, s, tx, ty = t.unbind(dim=1)
        zero, one = torch.zeros_like(c), torch.ones_like(c)
        m_r = torch.stack([c, -s, zero, s, c, zero, zero, zero, one], dim=1).reshape(n, 3, 3)  # inverse rotation
        m_t = torch.stack([one, zero, -tx, zero, one, -ty, zero, zero, one], dim=1).reshape(n, 3, 3)  # inverse translation
        transforms = m_r @ m_t @ self.transform.unsqueeze(0)  # (N, 3, 3)

        freqs = self.freqs.unsqueeze(0)  # (1, C, 2)
        phases = self.phases.unsqueeze(0) + (freqs @ transforms[:, :2, 2:]).squeeze(2)  # (N, C)
        freqs = freqs @ transforms[:, :2, :2]  # (N, C, 2)

        theta = torch.eye(2, 3, device=w.device)
        theta[0, 0] = 0.5 * self.size / self.sampling_rate
        theta[1, 1] = 0.5 * self.size / self.sampling_rate
        grid = F.affine_grid(theta.unsqueeze(0), [1, 1, self.size, self.size], align_corners=False)  # (1, H, W, 2)

        x = (grid.unsqueeze(3) @ freqs.permute(0, 2, 1).unsqueeze(1).unsqueeze(2)).squeeze(3)  # (N, H, W, C)
        x = x + phases.unsqueeze(1).unsqueeze(2)
        x = torch.sin(x * (np.pi * 2))
        x = x @ (self.weight / np.sqrt(self.channels)).t()  # (N, H, W, C)
        return x.permute(0, 3, 1, 2).contiguous()  # (N, C, H, W)
