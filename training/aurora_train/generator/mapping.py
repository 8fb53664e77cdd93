"""MappingNetwork: normalised z and global text -> w (and wp, w repeated per layer)."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..layers.dense import DenseLayer, PixelNormLayer


class MappingNetwork(nn.Module):
    def __init__(self, c: dict, num_outputs: int):
        super().__init__()
        self.z_dim, self.w_dim, self.context_dim = c["z_dim"], c["w_dim"], c["context_dim"]
        self.num_outputs, self.repeat_output = num_outputs, c["repeat_w"]
        self.normalize_z, self.normalize_text_cond = c["normalize_z"], c["normalize_text_cond"]
        self.num_layers = c["mapping_layers"]
        self.norm = PixelNormLayer(dim=1, eps=c["eps"])
        in_dim = c["z_dim"] + c["context_dim"]
        out_dim = c["w_dim"] if self.repeat_output else c["w_dim"] * num_outputs
        for i in range(self.num_layers):
            self.add_module(f"dense{i}", DenseLayer(
                in_dim if i == 0 else c["mapping_fmaps"], out_dim if i == self.num_layers - 1 else c["mapping_fmaps"],
                add_bias=True, init_bias=0.0, use_wscale=c["mapping_use_wscale"], wscale_gain=c["mapping_wscale_gain"],
                lr_mul=c["mapping_lr_mul"], activation_type="lrelu"))

    def forward(self, z: torch.Tensor, label=None, context: torch.Tensor | None = None) -> dict:
        # z (N, z_dim), context (N, ctx) -> w (N, w_dim), wp (N, L, w_dim)
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must be [batch, {self.z_dim}], got {tuple(z.shape)}")
        if context is None or context.shape != (z.shape[0], self.context_dim):
            got = None if context is None else tuple(context.shape)
            raise ValueError(f"context must be [batch, {self.context_dim}], got {got}")
        if self.normalize_z:
            z = self.norm(z)
        if self.normalize_text_cond:
            context = self.norm(context)
        w = torch.cat([z, context], dim=1)  # (N, z_dim + ctx)
        for i in range(self.num_layers):
            w = getattr(self, f"dense{i}")(w)
        if self.repeat_output:
            wp = w.unsqueeze(1).repeat(1, self.num_outputs, 1)  # (N, L, w_dim)
        else:
            wp = w.reshape(-1, self.num_outputs, self.w_dim)
        return {"z": z, "global_text": context, "label": label, "w": w, "wp": wp}
