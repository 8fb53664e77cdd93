"""SynthesisNetwork: wp and the local text -> multi-scale images, summed through skips."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..layers.attention_block import ResidualAttnBlock
from ..layers.input_layers import ConstInputLayer, FourierInputLayer
from ..layers.modulated_conv import AdaptiveModulateConvLayer
from ..layers.ops import setup_filter, upsample2d
from ..layers.residual_conv_block import ResidualConvBlock
from .config import channels, resolution_levels, synthesis_layout


class ResolutionSequential(nn.Sequential):
    """One entry of SynthesisNetwork.net: (input layer, first conv), a conv block, or an attention block."""

    def forward(self, x, w, context):  # -> (h, moe_loss)
        moe_loss = w.new_zeros(())
        for layer in self:
            if isinstance(layer, (FourierInputLayer, ConstInputLayer)):
                x = layer(w)
            elif isinstance(layer, ResidualAttnBlock):
                x, moe_loss = layer(x, w, context)
            else:
                x = layer(x, w)
        return x, moe_loss


class SynthesisNetwork(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.c = c
        self.init_res, self.resolution = c["init_res"], c["resolution"]
        self.ms_training_res = [str(r) for r in c["ms_training_res"]]
        self.skip_connection, self.final_tanh = c["skip_connection"], c["final_tanh"]
        modules, self.num_layers, self.layer_id_to_res = synthesis_layout(c)
        mod = dict(modulate_dim=c["w_dim"], add_bias=True, scale_factor=1, filter_kernel=None,
                   use_wscale=c["use_wscale"], wscale_gain=c["wscale_gain"], lr_mul=c["lr_mul"], eps=c["eps"],
                   conv_clamp=c["conv_clamp"])
        self.net = nn.ModuleList()
        for m in modules:
            kernels = c["num_adaptive_kernels"][str(m.res)]
            if m.kind == "input":
                start = (FourierInputLayer(c["w_dim"], m.res, m.in_channels, sampling_rate=m.res, bandwidth=1)
                         if c["fourier_feat"] else ConstInputLayer(m.res, m.in_channels))
                conv = AdaptiveModulateConvLayer(m.in_channels, m.out_channels, kernel_size=3, num_kernels=kernels,
                                                 demodulate=c["demodulate"], activation_type="lrelu", mtm=m.mtm, **mod)
                self.net.append(ResolutionSequential(start, conv))
            elif m.kind == "conv":
                self.net.append(ResolutionSequential(ResidualConvBlock(m.in_channels, m.out_channels, c["w_dim"], kernels,
                                                                       m.upsample, c, m.mtm)))
            else:
                self.net.append(ResolutionSequential(ResidualAttnBlock(
                    c["attn_depth"][str(m.res)], m.out_channels, c["context_dim"], c["num_heads"], c["head_dim"],
                    c["w_dim"], c, c["num_experts"].get(str(m.res), -1))))
        # An output layer at every resolution, as the reference builds them (use_text_cond).
        for res in resolution_levels(c):
            self.add_module(f"output_res_{res}x{res}", AdaptiveModulateConvLayer(
                channels(c, res), c["image_channels"], kernel_size=1, num_kernels=c["num_adaptive_kernels"][str(res)],
                demodulate=False, activation_type="linear", **mod))
        if self.skip_connection:
            self.register_buffer("filter", setup_filter(c["filter_kernel"]))

    def forward(self, wp: torch.Tensor, context: torch.Tensor) -> dict:
        # wp (N, L, w_dim), context = local text (N, 76, ctx) -> {'image': (N, C, R, R), 'img_res_RxR', 'moe_loss'}
        results = {"wp": wp, "local_context": context}
        h, img = None, None
        moe_loss = wp.new_zeros(())
        last = max(int(r) for r in self.ms_training_res)
        for idx, module in enumerate(self.net):
            h, loss = module(h, wp[:, idx], context)
            moe_loss = moe_loss + loss
            res = self.layer_id_to_res.get(idx)
            if res is None or str(res) not in self.ms_training_res:
                continue
            y = getattr(self, f"output_res_{res}x{res}")(h, wp[:, idx])  # (N, C, res, res)
            if self.final_tanh:
                y = torch.tanh(y)
            if self.skip_connection:
                y = y.to(torch.float32)
                img = y if res == self.init_res else y + upsample2d(img, self.filter)
            else:
                img = y
            results[f"img_res_{res}x{res}"] = img
            if res == last:
                break
        results["image"] = img
        results["moe_loss"] = moe_loss
        return results
