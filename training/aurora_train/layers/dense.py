"""DenseLayer (equalised learning rate), PixelNormLayer, GEGLU and QuickGELU of the reference."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .ops import bias_act


class DenseLayer(nn.Module):
    """y = act(x @ (weight * wscale)^T + bias * bscale), with the reference's equalised-lr init.

    With use_wscale the stored weight is N(0, 1) * init_weight / lr_mul and the runtime scale is
    wscale_gain / sqrt(in) * lr_mul; the stored bias is init_bias / lr_mul, scaled by lr_mul.
    """

    def __init__(self, in_channels: int, out_channels: int, add_bias: bool, init_bias, use_wscale: bool,
                 wscale_gain: float, lr_mul: float, activation_type: str, init_weight: float = 1.0):
        super().__init__()
        self.activation_type = activation_type
        wscale = wscale_gain / np.sqrt(in_channels)
        if use_wscale:
            self.weight = nn.Parameter(torch.randn(out_channels, in_channels) * init_weight / lr_mul)
            self.wscale = wscale * lr_mul
        else:
            self.weight = nn.Parameter(torch.randn(out_channels, in_channels) * wscale * init_weight / lr_mul)
            self.wscale = lr_mul
        if add_bias:
            init = np.broadcast_to(np.asarray(init_bias, dtype=np.float32), [out_channels])
            self.bias = nn.Parameter(torch.from_numpy(init / lr_mul))
            self.bscale = lr_mul
        else:
            self.bias = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., in) -> (..., out)
        weight = self.weight * self.wscale
        bias = None if self.bias is None else self.bias * self.bscale
        if x.ndim == 2 and bias is not None:
            x = torch.addmm(bias.unsqueeze(0), x, weight.t())
            return bias_act(x, None, act=self.activation_type) if self.activation_type != "linear" else x
        x = x.matmul(weight.t())
        return bias_act(x, bias, dim=x.ndim - 1, act=self.activation_type)


class PixelNormLayer(nn.Module):
    """x * rsqrt(mean(x^2, dim) + eps)."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (x.square().mean(dim=self.dim, keepdim=True) + self.eps).rsqrt()


class GEGLU(nn.Module):
    """proj to 2*out, then x * gelu(gate)."""

    def __init__(self, in_channels: int, out_channels: int, add_bias: bool, init_bias, use_wscale: bool,
                 wscale_gain: float, lr_mul: float):
        super().__init__()
        self.proj = DenseLayer(in_channels, out_channels * 2, add_bias, init_bias, use_wscale, wscale_gain, lr_mul, "linear")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, gate = self.proj(x).chunk(2, dim=-1)
        return x * F.gelu(gate)


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)
