"""AdaptiveModulateConvLayer: StyleGAN2 modulated conv with a per-sample mix of K kernels, MTM."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .dense import DenseLayer
from .mtm import deform_conv2d, split_offsets
from .ops import ACT_GAIN, bias_act, filter_padding, init_conv_params, setup_filter, transposed_upsample_conv, upfirdn2d


def modulate(weight: torch.Tensor, style: torch.Tensor, demodulate: bool, eps: float, style_gain: float) -> torch.Tensor:
    """weight (1 or N, O, I, k, k), style (N, I) -> the per-sample weight (N, O, I, k, k).

    With demodulation the weight is RMS-normalised per output channel and the style per sample
    (the reference normalises the style over the whole batch; demodulation cancels that except
    through eps, and per sample is what its batch-1 inference computes and what our graph does).
    """
    if demodulate:
        weight = weight * weight.square().mean(dim=(2, 3, 4), keepdim=True).rsqrt()
        style = style * style.square().mean(dim=1, keepdim=True).rsqrt()
    else:
        style = style * style_gain
    weight = weight * style[:, None, :, None, None]  # modulation
    if demodulate:
        weight = weight * (weight.square().sum(dim=(2, 3, 4), keepdim=True) + eps).rsqrt()
    return weight


def grouped_conv(x: torch.Tensor, weight: torch.Tensor, padding: int) -> torch.Tensor:
    """One conv per sample as a grouped conv: x (N, I, H, W), weight (N, O, I, k, k) -> (N, O, H', W')."""
    n, i, h, w = x.shape
    o, k = weight.shape[1], weight.shape[-1]
    y = F.conv2d(x.reshape(1, n * i, h, w), weight.reshape(n * o, i, k, k), padding=padding, groups=n)
    return y.reshape(n, o, y.shape[2], y.shape[3])


class AdaptiveModulateConvLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, modulate_dim: int, kernel_size: int, num_kernels: int,
                 add_bias: bool, scale_factor: int, filter_kernel, demodulate: bool, use_wscale: bool,
                 wscale_gain: float, lr_mul: float, activation_type: str, conv_clamp: float | None, eps: float,
                 mtm: bool = False):
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.scale_factor, self.demodulate, self.eps, self.mtm = scale_factor, demodulate, eps, mtm
        self.activation_type, self.conv_clamp = activation_type, conv_clamp
        self.adaptive = num_kernels > 1
        shape = (num_kernels, out_channels, in_channels, kernel_size, kernel_size)
        init_conv_params(self, shape, in_channels, out_channels, kernel_size, add_bias, use_wscale, wscale_gain, lr_mul)
        dense = dict(add_bias=True, init_bias=1.0, use_wscale=use_wscale, wscale_gain=wscale_gain, lr_mul=lr_mul,
                     activation_type="linear")
        self.style = DenseLayer(modulate_dim, in_channels, **dense)
        if self.adaptive:
            self.filter_weight = DenseLayer(modulate_dim, num_kernels, **dense)
        if scale_factor > 1:
            self.register_buffer("filter", setup_filter(filter_kernel))
        if mtm:
            mtm_channels = 3 * kernel_size * kernel_size
            self.mtm_style = DenseLayer(modulate_dim, in_channels, **dense)
            self.mtm_weight = nn.Parameter(torch.randn(mtm_channels, in_channels, kernel_size, kernel_size))
            self.mtm_bias = nn.Parameter(torch.zeros(1, mtm_channels, 1, 1))
            self.mtm_scales = nn.Parameter(torch.zeros(1, mtm_channels, 1, 1))

    def get_offsets(self, x: torch.Tensor, w: torch.Tensor):
        """MTM: a modulated conv of x to 3*k*k channels, scaled and shifted -> (dy, dx, mask)."""
        k = self.kernel_size
        weight = modulate(self.mtm_weight.unsqueeze(0), self.mtm_style(w), self.demodulate, self.eps,
                          style_gain=1.0 / np.sqrt(self.in_channels * k * k))  # (N, 3kk, I, k, k)
        offset = grouped_conv(x, weight, padding=k // 2)  # (N, 3kk, H, W)
        offset = offset * self.mtm_scales + self.mtm_bias
        return split_offsets(offset, k * k)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        # x (N, I, H, W), w (N, modulate_dim) -> (N, O, H*up, W*up)
        weight = self.weight  # (K, O, I, k, k)
        if self.adaptive:
            mix = torch.softmax(self.filter_weight(w), dim=-1)  # (N, K)
            weight = torch.einsum("nk,koixy->noixy", mix, weight)  # (N, O, I, k, k)
        weight = modulate(weight, self.style(w), self.demodulate, self.eps, style_gain=self.wscale)  # (N, O, I, k, k)
        n, o, i, k, _ = weight.shape
        if self.scale_factor == 1 and self.mtm:
            x = deform_conv2d(x, *self.get_offsets(x, w), weight)
        elif self.scale_factor == 1:
            x = grouped_conv(x, weight, padding=k // 2)
        elif k == 1:
            up = self.scale_factor
            x = upfirdn2d(grouped_conv(x, weight, padding=0), self.filter, up=up,
                          padding=filter_padding(1, self.filter, up), gain=up * up)
        else:
            _, _, h, wd = x.shape
            w_t = weight.transpose(1, 2).reshape(n * i, o, k, k)  # conv_transpose layout, one group per sample
            x = transposed_upsample_conv(x.reshape(1, n * i, h, wd), w_t, self.filter, groups=n, up=self.scale_factor)
            x = x.reshape(n, o, x.shape[2], x.shape[3])
        bias = None if self.bias is None else self.bias * self.bscale
        return bias_act(x, bias, act=self.activation_type, gain=ACT_GAIN[self.activation_type], clamp=self.conv_clamp)
