"""Perturbs a freshly initialised generator / text tower so that every code path contributes.

The reference fixtures' recipe (../shared/reference/MANIFEST.md, "Perturbation"): at init many
tensors are zero or constant (biases, MTM scales, zero_out projections, the Fourier affine, norms,
w_avg), which would leave paths unexercised by a comparison or a gradient check.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from aurora_train.clip_text import ClipTextTower
from aurora_train.generator import AuroraGenerator
from aurora_train.layers.attention_block import ResidualAttnBlock
from aurora_train.layers.conv import ConvLayer
from aurora_train.layers.dense import DenseLayer
from aurora_train.layers.input_layers import FourierInputLayer
from aurora_train.layers.modulated_conv import AdaptiveModulateConvLayer


@torch.no_grad()
def perturb_generator(g: AuroraGenerator, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    normal = lambda t, std: torch.randn(t.shape, generator=gen) * std  # noqa: E731
    for m in g.modules():
        if isinstance(m, (DenseLayer, ConvLayer, AdaptiveModulateConvLayer)) and m.bias is not None:
            m.bias += normal(m.bias, 0.1) / m.bscale  # the effective bias moves by N(0, 0.1)
        if isinstance(m, AdaptiveModulateConvLayer) and m.mtm:
            m.mtm_bias.copy_(normal(m.mtm_bias, 0.5))
            m.mtm_scales.copy_(normal(m.mtm_scales, 0.5))
        if isinstance(m, (nn.LayerNorm, nn.GroupNorm)):
            m.weight += normal(m.weight, 0.1)
            m.bias += normal(m.bias, 0.1)
        if isinstance(m, ResidualAttnBlock):
            m.proj_out.weight.copy_(normal(m.proj_out.weight, 1.0))
        if isinstance(m, FourierInputLayer):
            m.affine.weight.copy_(normal(m.affine.weight, 0.3))
    g.w_avg.copy_(normal(g.w_avg, 1.0))


@torch.no_grad()
def perturb_text_tower(t: ClipTextTower, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    normal = lambda x, std: torch.randn(x.shape, generator=gen) * std  # noqa: E731
    for m in t.modules():
        if isinstance(m, nn.LayerNorm):
            m.weight += normal(m.weight, 0.1)
            m.bias += normal(m.bias, 0.1)
        if isinstance(m, nn.MultiheadAttention):
            m.in_proj_bias += normal(m.in_proj_bias, 0.1)
            m.out_proj.bias += normal(m.out_proj.bias, 0.02)
