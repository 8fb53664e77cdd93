"""AuroraGenerator: the reference Text2ImageGenerator (zhujiapeng/Aurora) for training.

State-dict keys, order and shapes equal the reference's, so `generator_smooth` checkpoints load
both ways (strict) and `aurora convert` turns ours into an ONNX bundle. Per-sample semantics are
those of our ONNX graph (docs/model.md, "Conformance"): a batch never changes a sample's image.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..layers.feed_forward import FeedForward
from .config import DEFAULTS, parse_generator_config, synthesis_layout
from .mapping import MappingNetwork
from .synthesis import SynthesisNetwork
from .text_head import TextHead

__all__ = ["AuroraGenerator", "DEFAULTS", "parse_generator_config"]


class AuroraGenerator(nn.Module):
    """G(z, clip_tokens, eot_ind) -> dict(image, wp, w, global_text, local_text, moe_loss, img_res_*).

    config: Text2ImageGenerator kwargs (reference names and defaults). w_avg_beta: in training
    mode w_avg <- lerp(mean_batch(w), w_avg, w_avg_beta) every forward, as the reference does with
    `w_moving_decay` (StyleGAN2's 0.995); None disables it.
    """

    def __init__(self, config: dict, w_avg_beta: float | None = 0.995):
        super().__init__()
        self.config = c = parse_generator_config(config)
        self.w_avg_beta = w_avg_beta
        self.z_dim, self.w_dim = c["z_dim"], c["w_dim"]
        _, self.num_layers, _ = synthesis_layout(c)
        self.text_head = TextHead(c)
        self.mapping = MappingNetwork(c, self.num_layers)
        self.register_buffer("w_avg", torch.zeros(c["w_dim"] if c["repeat_w"] else self.num_layers * c["w_dim"]))
        self.synthesis = SynthesisNetwork(c)

    def forward(self, z: torch.Tensor, clip_tokens: torch.Tensor, eot_ind: torch.Tensor, trunc_psi: float = 1.0,
                trunc_layers: int | None = None, w_moving_decay: float | None = None) -> dict:
        # z (N, z_dim), clip_tokens (N, 77, clip_out_dim) = CLIP ln_final, eot_ind (N,) int
        global_text, local_text = self.text_head(clip_tokens, eot_ind)  # (N, ctx), (N, 76, ctx)
        mapped = self.mapping(z, context=global_text)
        w, wp = mapped["w"], mapped["wp"]  # (N, w_dim), (N, L, w_dim)
        if self.training:
            beta = self.w_avg_beta if w_moving_decay is None else w_moving_decay
            if beta is not None:
                with torch.no_grad():
                    self.w_avg.copy_(w.detach().mean(dim=0).lerp(self.w_avg, beta))
        else:
            wp = self.truncate(wp, trunc_psi, trunc_layers)
        out = self.synthesis(wp, context=local_text)
        out.pop("local_context")
        return {**out, "w": w, "global_text": global_text, "local_text": local_text}

    def truncate(self, wp: torch.Tensor, psi: float, layers: int | None = None) -> torch.Tensor:
        """w_avg.lerp(wp, psi) on the first `layers` codes (None: all), only when psi < 1, as the
        reference's forward (which applies it in eval mode only)."""
        layers = self.num_layers if layers is None else layers
        if psi is None or psi >= 1.0 or layers <= 0:
            return wp
        w_avg = self.w_avg.reshape(1, -1, self.w_dim)[:, :layers]
        return torch.cat([w_avg.lerp(wp[:, :layers], psi), wp[:, layers:]], dim=1)

    def record_routing(self, enabled: bool = True) -> None:
        """Keep each MoE layer's router logits/probabilities/choices of the last forward (checks)."""
        for m in self.modules():
            if isinstance(m, FeedForward):
                m.record_routing = enabled
                m.last_routing = None

    def routing(self) -> dict[str, dict[str, torch.Tensor]]:
        """{module name: {router_logits (N, T, E), router_prob (N, T), expert_index (N, T)}}."""
        return {name: m.last_routing for name, m in self.named_modules()
                if isinstance(m, FeedForward) and m.last_routing is not None}
