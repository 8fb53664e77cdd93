"""Pure-PyTorch versions of the StyleGAN2 custom ops the reference calls (bias_act, upfirdn2d).

The reference always asks for its CUDA plugins; on CPU they fall back to these same reference
formulas, which is what the fixtures were produced with. No plugin, no torchvision.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# bias_act's activation table: (function, default gain).
ACT_GAIN = {"linear": 1.0, "lrelu": math.sqrt(2.0)}


def bias_act(x: torch.Tensor, b: torch.Tensor | None = None, dim: int = 1, act: str = "linear",
             gain: float | None = None, clamp: float | None = None) -> torch.Tensor:
    """x + b (broadcast along `dim`), activation, times gain, then clamp, as stylegan's bias_act."""
    if b is not None:
        shape = [1] * x.ndim
        shape[dim] = -1
        x = x + b.reshape(shape)
    if act == "lrelu":
        x = F.leaky_relu(x, 0.2)
    elif act != "linear":
        raise ValueError(f"unsupported activation {act}")
    gain = ACT_GAIN[act] if gain is None else gain
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def setup_filter(taps) -> torch.Tensor:
    """upfirdn2d.setup_filter for a short 1-D kernel: the normalised outer product, [f, f]."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def upfirdn2d(x: torch.Tensor, f: torch.Tensor, up: int = 1, padding=(0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """Upsample by zero insertion, pad (negative crops), then convolve with the 2-D FIR `f`.

    x [N, C, H, W], padding (x0, x1, y0, y1). Same order of operations as _upfirdn2d_ref.
    """
    n, c, h, w = x.shape
    px0, px1, py0, py1 = padding
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)  # (N, C, H*up, W*up)
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    f = (f * (gain ** (f.ndim / 2))).to(x.dtype).flip([0, 1])  # convolution, not correlation
    weight = f[None, None].repeat(c, 1, 1, 1)  # (C, 1, fh, fw) depthwise
    return F.conv2d(x, weight, groups=c)


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2) -> torch.Tensor:
    """upfirdn2d.upsample2d: 2x upsampling whose output is exactly up times the input size."""
    fw = f.shape[-1]
    p = [(fw + up - 1) // 2, (fw - up) // 2]
    return upfirdn2d(x, f, up=up, padding=(p[0], p[1], p[0], p[1]), gain=up * up)


def filter_padding(kernel_size: int, filt: torch.Tensor, up: int) -> tuple[int, int, int, int]:
    """The reference's `filter_padding` of an upsampling conv layer: (x0, x1, y0, y1)."""
    fh, fw = filt.shape
    k = kernel_size // 2
    return (k + (fw + up - 1) // 2, k + (fw - up) // 2, k + (fh + up - 1) // 2, k + (fh - up) // 2)


def transposed_upsample_conv(x: torch.Tensor, weight: torch.Tensor, f: torch.Tensor, groups: int, up: int = 2) -> torch.Tensor:
    """StyleGAN2's upsampling conv: stride-`up` transposed conv then the FIR (gain up^2).

    x [1 or N, groups*I, H, W]; weight [groups*I, O, k, k] (conv_transpose layout). Returns
    [.., groups*O, up*H, up*W].
    """
    kh, kw = weight.shape[2:]
    px0, px1, py0, py1 = filter_padding(kw, f, up)
    px0, px1 = px0 - (kw - 1), px1 - (kw - up)
    py0, py1 = py0 - (kh - 1), py1 - (kh - up)
    pxt, pyt = max(min(-px0, -px1), 0), max(min(-py0, -py1), 0)
    x = F.conv_transpose2d(x, weight, stride=up, padding=(pyt, pxt), groups=groups)
    return upfirdn2d(x, f, up=1, padding=(px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt), gain=up * up)


def init_conv_params(module: nn.Module, shape: tuple[int, ...], in_channels: int, out_channels: int, kernel_size: int,
                     add_bias: bool, use_wscale: bool, wscale_gain: float, lr_mul: float) -> None:
    """The reference's equalised-lr conv parameters on `module` (ConvLayer, AdaptiveModulateConvLayer).

    Sets weight (`shape`, N(0, 1) draws) and wscale; with use_wscale the stored weight is
    N(0, 1) / lr_mul and the runtime scale wscale_gain / sqrt(k*k*in) * lr_mul, else the scale is
    folded into the stored weight and wscale is lr_mul. Then bias (zeros, out_channels) and bscale
    = lr_mul, or bias None. Registered in that order, so the seeded draws and state dict keep theirs.
    """
    wscale = wscale_gain / np.sqrt(kernel_size * kernel_size * in_channels)
    if use_wscale:
        module.weight = nn.Parameter(torch.randn(*shape) / lr_mul)
        module.wscale = wscale * lr_mul
    else:
        module.weight = nn.Parameter(torch.randn(*shape) * wscale / lr_mul)
        module.wscale = lr_mul
    if add_bias:
        module.bias = nn.Parameter(torch.zeros(out_channels))
        module.bscale = lr_mul
    else:
        module.bias = None
