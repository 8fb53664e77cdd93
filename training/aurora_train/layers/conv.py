"""ConvLayer: the reference's unmodulated conv (attention proj_in/proj_out, residual skip)."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .ops import bias_act, filter_padding, init_conv_params, setup_filter, transposed_upsample_conv, upfirdn2d


class ConvLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, add_bias: bool, scale_factor: int,
                 filter_kernel, use_wscale: bool, wscale_gain: float, lr_mul: float, activation_type: str,
                 conv_clamp: float | None):
        super().__init__()
        self.kernel_size, self.scale_factor = kernel_size, scale_factor
        self.activation_type, self.conv_clamp = activation_type, conv_clamp
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        init_conv_params(self, shape, in_channels, out_channels, kernel_size, add_bias, use_wscale, wscale_gain, lr_mul)
        if scale_factor > 1:
            self.register_buffer("filter", setup_filter(filter_kernel))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, I, H, W) -> (N, O, H*up, W*up)
        weight = self.weight * self.wscale if self.wscale != 1.0 else self.weight
        bias = None if self.bias is None else self.bias * self.bscale
        if self.scale_factor == 1:
            x = F.conv2d(x, weight, padding=self.kernel_size // 2)
        elif self.kernel_size == 1:
            x = F.conv2d(x, weight)
            x = upfirdn2d(x, self.filter, up=self.scale_factor,
                          padding=filter_padding(1, self.filter, self.scale_factor), gain=self.scale_factor ** 2)
        else:
            x = transposed_upsample_conv(x, weight.transpose(0, 1), self.filter, groups=1, up=self.scale_factor)
        return bias_act(x, bias, act=self.activation_type, clamp=self.conv_clamp)
