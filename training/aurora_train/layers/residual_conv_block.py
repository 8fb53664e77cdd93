"""ResidualConvBlock: two modulated convs (the second with MTM), a (possibly upsampling) skip."""
from __future__ import annotations

import torch
import torch.nn as nn

from .conv import ConvLayer
from .modulated_conv import AdaptiveModulateConvLayer


class ResidualConvBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, modulate_dim: int, num_kernels: int, upsample: bool,
                 c: dict, mtm: bool):
        super().__init__()
        self.residual_gain = c["residual_gain"]
        scale = 2 if upsample else 1
        filt = c["filter_kernel"] if upsample else None
        eq = dict(use_wscale=c["use_wscale"], wscale_gain=c["wscale_gain"], lr_mul=c["lr_mul"])
        mod = dict(modulate_dim=modulate_dim, kernel_size=3, num_kernels=num_kernels, add_bias=True,
                   demodulate=c["demodulate"], activation_type="lrelu", conv_clamp=c["conv_clamp"], eps=c["eps"], **eq)
        self.conv1 = AdaptiveModulateConvLayer(in_channels, out_channels, scale_factor=scale, filter_kernel=filt, **mod)
        self.conv2 = AdaptiveModulateConvLayer(out_channels, out_channels, scale_factor=1, filter_kernel=None, mtm=mtm, **mod)
        if scale == 1 and in_channels == out_channels:
            self.skip_connection = nn.Identity()
        else:
            self.skip_connection = ConvLayer(in_channels, out_channels, kernel_size=1, add_bias=False, scale_factor=scale,
                                             filter_kernel=filt, activation_type="linear", conv_clamp=None, **eq)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:  # (N, I, H, W) -> (N, O, H*up, W*up)
        h = self.conv2(self.conv1(x, w), w)
        return (h + self.skip_connection(x)) * self.residual_gain
