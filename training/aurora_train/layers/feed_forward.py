"""FeedForward of the attention block: one MLP, or a sparse top-1 mixture of experts (MoE).

MoE as the reference computes it: a 1x1 modulated conv router (lrelu) over the token grid, each
token sent to its argmax expert, the expert's output scaled by the max softmax probability. The
reference loops over experts with boolean-mask indexing (a CPU/GPU sync per expert per layer);
here every expert runs on every token as one batched einsum and the chosen output is gathered.
Same numbers (a token's output only depends on its chosen expert), no sync, E times the FLOPs of
one small MLP, which at E <= 16 and these widths is cheaper than dispatching.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .dense import GEGLU, DenseLayer
from .modulated_conv import AdaptiveModulateConvLayer

Z_LOSS_WEIGHT = 0.001
BALANCE_LOSS_WEIGHT = 0.001


def router_z_loss(logits: torch.Tensor) -> torch.Tensor:
    """ST-MoE router z-loss: mean over tokens of logsumexp(logits)^2. logits (B, T, E)."""
    return torch.logsumexp(logits, dim=-1).square().mean()


def load_balancing_loss(probs: torch.Tensor, expert_index: torch.Tensor) -> torch.Tensor:
    """Switch Transformer balancing loss E^2 * mean_{b,e}(f_{b,e} * P_{b,e}), per image then averaged."""
    num_experts = probs.shape[-1]
    routed = F.one_hot(expert_index, num_experts).to(probs.dtype).mean(dim=1)  # (B, E) fraction of tokens
    mean_prob = probs.mean(dim=1)  # (B, E)
    return (routed * mean_prob).mean() * num_experts ** 2


def _expert(in_dim: int, hidden: int, glu: bool, dropout: float, lin: dict) -> nn.Sequential:
    if glu:
        project_in = nn.Sequential(DenseLayer(in_dim, hidden, activation_type="linear", **lin), nn.GELU())
    else:
        project_in = GEGLU(in_dim, hidden, **lin)
    return nn.Sequential(project_in, nn.Dropout(dropout), DenseLayer(hidden, in_dim, activation_type="linear", **lin))


class FeedForward(nn.Module):
    def __init__(self, in_dim: int, mlp_ratio: int, dropout: float, w_dim: int, add_bias: bool, init_bias: float,
                 use_wscale: bool, wscale_gain: float, lr_mul: float, glu: bool, num_experts: int = -1):
        super().__init__()
        self.glu, self.num_experts = glu, num_experts
        lin = dict(add_bias=add_bias, init_bias=init_bias, use_wscale=use_wscale, wscale_gain=wscale_gain, lr_mul=lr_mul)
        hidden = in_dim * mlp_ratio
        if num_experts < 2:
            expert = _expert(in_dim, hidden, glu, dropout, lin)
            # The reference registers these twice (as attributes and inside `net`): both key sets exist.
            self.project_in, self.proj_out = expert[0], expert[2]
            self.net = expert
        else:
            self.net = nn.ModuleList([_expert(in_dim, hidden, glu, dropout, lin) for _ in range(num_experts)])
            self.routing = AdaptiveModulateConvLayer(in_dim, num_experts, w_dim, kernel_size=1, num_kernels=1,
                                                     add_bias=add_bias, scale_factor=1, filter_kernel=None,
                                                     demodulate=True, use_wscale=use_wscale, wscale_gain=wscale_gain,
                                                     lr_mul=lr_mul, activation_type="lrelu", conv_clamp=None, eps=1e-8)
        self.last_routing: dict | None = None  # set by the MoE path when record_routing is on (checks only)
        self.record_routing = False

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # x (N, T, C) with T = H*W tokens (row-major), w (N, w_dim) -> (N, T, C), moe_loss scalar
        if self.num_experts < 2:
            return self.net(x), x.new_zeros(())
        n, t, c = x.shape
        side = math.isqrt(t)
        logits = self.routing(x.transpose(1, 2).reshape(n, c, side, side), w)  # (N, E, H, W)
        logits = logits.flatten(2).transpose(1, 2)  # (N, T, E)
        probs = torch.softmax(logits, dim=-1)
        top_prob, index = probs.max(dim=-1)  # (N, T) each; the first maximum, as argmax
        out = self._all_experts(x)  # (E, N, T, C)
        chosen = out.gather(0, index[None, :, :, None].expand(1, n, t, c)).squeeze(0)  # (N, T, C)
        if self.record_routing:
            self.last_routing = dict(router_logits=logits.detach(), router_prob=top_prob.detach(), expert_index=index.detach())
        loss = Z_LOSS_WEIGHT * router_z_loss(logits) + BALANCE_LOSS_WEIGHT * load_balancing_loss(probs, index)
        return top_prob.unsqueeze(-1) * chosen, loss

    def _all_experts(self, x: torch.Tensor) -> torch.Tensor:
        """Every expert on every token, batched over experts: (N, T, C) -> (E, N, T, C)."""
        def stacked(get):
            layers = [get(e) for e in self.net]
            weight = torch.stack([d.weight * d.wscale for d in layers])  # (E, out, in)
            bias = None if layers[0].bias is None else torch.stack([d.bias * d.bscale for d in layers])  # (E, out)
            return weight, bias

        def apply(h, weight, bias):  # h (E, N, T, in) or (N, T, in) -> (E, N, T, out)
            eq = "entc,eoc->ento" if h.ndim == 4 else "ntc,eoc->ento"
            y = torch.einsum(eq, h, weight)
            return y if bias is None else y + bias[:, None, None, :]

        if self.glu:
            w_in, b_in = stacked(lambda e: e[0][0])
            h = F.gelu(apply(x, w_in, b_in))  # (E, N, T, hidden)
        else:
            w_in, b_in = stacked(lambda e: e[0].proj)
            h, gate = apply(x, w_in, b_in).chunk(2, dim=-1)
            h = h * F.gelu(gate)  # (E, N, T, hidden)
        h = torch.stack([e[1](h[i]) for i, e in enumerate(self.net)]) if self.training and self.net[0][1].p > 0 else h
        w_out, b_out = stacked(lambda e: e[2])
        return apply(h, w_out, b_out)  # (E, N, T, C)
