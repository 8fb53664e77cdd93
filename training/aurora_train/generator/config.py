"""The reference `Text2ImageGenerator` keyword arguments, their defaults, and the layout they imply.

Keys and defaults are the reference's own (models/text_generator.py), as our TypeScript parser
(packages/model/src/config/generator-config.ts) also has them, so a g_config dict, a fixture's
config.json "generator" block, or a dumped TS preset parse unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass

DEFAULTS: dict = dict(
    # Mapping network.
    z_dim=128, w_dim=1024, repeat_w=True, normalize_z=True, mapping_layers=4, mapping_fmaps=1024,
    mapping_use_wscale=True, mapping_wscale_gain=1.0, mapping_lr_mul=0.01,
    # Class labels (not supported by the text-to-image generator; accepted at their defaults).
    use_class_label=False, label_dim=0, embedding_dim=512, embedding_bias=True, embedding_use_wscale=True,
    embedding_wscale_gain=1.0, embedding_lr_mul=1.0, normalize_class_embed=True,
    # Text conditioning.
    use_text_cond=True, use_w_cond=False, num_layers_text_enc=4, dropout=0.0, text_use_wscale=True,
    text_wscale_gain=1.0, text_lr_mul=0.01, clip_out_dim=768, context_dim=768, normalize_text_cond=True,
    # Synthesis network.
    resolution=-1, init_res=4, image_channels=3, num_adaptive_kernels={}, num_block_per_res={},
    attn_resolutions=(8, 16, 32), attn_depth={}, attn_ch_factor=1.0, mask_self=False, residual_gain=1.0,
    attn_gain=1.0, text_head_gain=1.0, zero_out=True, final_tanh=False, fourier_feat=True, demodulate=True,
    use_wscale=True, wscale_gain=1.0, lr_mul=1.0, fmaps_base=32 << 9, fmaps_max=1600, filter_kernel=(1, 3, 3, 1),
    conv_clamp=None, num_heads=8, head_dim=None, l2_attention=True, tie=True, scale_in=True, include_ff=True,
    glu=False, use_checkpoint=False, checkpoint_res=None, eps=1e-8, mtm=False, num_experts={},
    ms_training_res=['4', '8', '16', '32', '64'], skip_connection=False,
)

_RESOLUTIONS = (8, 16, 32, 64, 128, 256, 512, 1024)


def parse_generator_config(config: dict) -> dict:
    """Defaults filled in, unknown keys and impossible settings rejected (naming the key)."""
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"generator config: unknown keys {unknown} (expected Text2ImageGenerator kwargs)")
    c = {**DEFAULTS, **config}
    if c["resolution"] not in _RESOLUTIONS:
        raise ValueError(f"generator config: resolution {c['resolution']} is not one of {_RESOLUTIONS}")
    if not c["use_text_cond"] or c["use_class_label"]:
        raise ValueError("generator config: only text conditioning (use_text_cond=True, use_class_label=False) is supported")
    for key in ("num_adaptive_kernels", "num_block_per_res", "attn_depth", "num_experts"):
        c[key] = {str(k): int(v) for k, v in c[key].items()}
    for r in resolution_levels(c):
        for key in ("num_adaptive_kernels", "num_block_per_res"):
            if str(r) not in c[key]:
                raise ValueError(f"generator config: {key} has no entry for resolution {r}")
    for r in resolution_levels(c):
        if str(r) in attention_resolutions(c) and str(r) not in c["attn_depth"]:
            raise ValueError(f"generator config: attn_depth has no entry for attention resolution {r}")
    return c


def resolution_levels(c: dict) -> list[int]:
    """init_res, 2*init_res, ..., resolution."""
    levels, r = [], c["init_res"]
    while r <= c["resolution"]:
        levels.append(r)
        r *= 2
    return levels


def attention_resolutions(c: dict) -> list[str]:
    """The reference tests `str(res) in attn_resolutions`: only string entries place attention."""
    entries = c["attn_resolutions"] if c["attn_resolutions"] is not None else list(c["attn_depth"].keys())
    return [r for r in entries if isinstance(r, str)]


def channels(c: dict, res: int) -> int:
    """SynthesisNetwork.get_nf."""
    return min(c["fmaps_base"] // res, c["fmaps_max"])


@dataclass(frozen=True)
class NetModule:
    """One entry of SynthesisNetwork.net; entry i consumes wp[:, i]."""
    kind: str  # 'input' | 'conv' | 'attn'
    res: int
    in_channels: int
    out_channels: int
    upsample: bool = False
    mtm: bool = False


def synthesis_layout(c: dict) -> tuple[list[NetModule], int, dict[int, int]]:
    """(modules, num_layers (wp length), layer_id_to_res) exactly as the reference builds them."""
    attn = attention_resolutions(c)
    modules: list[NetModule] = []
    layer_id_to_res: dict[int, int] = {}
    for res in resolution_levels(c):
        in_ch, out_ch = channels(c, res // 2), channels(c, res)
        for i in range(c["num_block_per_res"][str(res)]):
            if res == c["init_res"] and i == 0:
                modules.append(NetModule("input", res, in_ch, out_ch, mtm=c["mtm"]))
            elif res == c["init_res"]:
                modules.append(NetModule("conv", res, out_ch, out_ch, mtm=c["mtm"]))
            else:
                modules.append(NetModule("conv", res, in_ch, out_ch, upsample=i == 0, mtm=c["mtm"] and res < 32))
            if str(res) in attn:
                modules.append(NetModule("attn", res, out_ch, out_ch))
            in_ch = out_ch
        layer_id_to_res[len(modules) - 1] = res
    # The reference sizes wp from every num_block_per_res entry, even ones above the resolution.
    extra = sum((2 * n if k in attn else n) for k, n in c["num_block_per_res"].items() if int(k) > c["resolution"])
    return modules, len(modules) + extra, layer_id_to_res
