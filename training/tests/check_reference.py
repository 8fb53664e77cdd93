"""Checks AuroraGenerator (and ClipTextTower) against a reference fixture folder.

    PYTHONPATH=training /usr/bin/python3 training/tests/check_reference.py /work/shared/reference/tiny-full

The folder is in the layout of ../shared/reference (MANIFEST.md there): generator.pth,
clip_text.pth, config.json, inputs.json, manifest.json, inputs/ and outputs/ written by the
original PyTorch code. Shapes come from manifest.json and config.json. Our modules run in eval
mode on the fixture's inputs; every compared output prints one line with its max abs error.
Exit status 1 if any is above tolerance: 1e-4 (inner block dumps: 1e-4 * max(1, max |ref|)),
router choices must match except near-ties (reference top-2 logit gap < 1e-4).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from aurora_train.clip_text import ClipTextTower
from aurora_train.generator import AuroraGenerator

TOL = 1e-4
TIE_GAP = 1e-4
DTYPES = {"float32": "<f4", "float64": "<f8", "int32": "<i4", "uint8": "u1"}


class Fixture:
    def __init__(self, root: Path):
        self.root = root
        self.manifest = json.loads((root / "manifest.json").read_text())
        self.config = json.loads((root / "config.json").read_text())
        self.inputs = json.loads((root / "inputs.json").read_text())

    def has(self, name: str) -> bool:
        return name in self.manifest

    def load(self, name: str) -> torch.Tensor:
        entry = self.manifest[name]
        data = np.fromfile(self.root / name, dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"])
        return torch.from_numpy(data.copy())


class Report:
    def __init__(self):
        self.failures: list[str] = []
        self.count = 0

    def close(self, name: str, ours: torch.Tensor, ref: torch.Tensor, tol: float = TOL) -> None:
        self.count += 1
        if tuple(ours.shape) != tuple(ref.shape):
            self.fail(name, f"shape {tuple(ours.shape)} != reference {tuple(ref.shape)}")
            return
        err = (ours.double() - ref.double()).abs().max().item() if ref.numel() else 0.0
        ok = err <= tol
        print(f"{'ok  ' if ok else 'FAIL'} {name}: max abs err {err:.3g} (tol {tol:.3g})")
        if not ok:
            self.failures.append(name)

    def fail(self, name: str, why: str) -> None:
        self.count += 1
        print(f"FAIL {name}: {why}")
        self.failures.append(name)

    def routing(self, name: str, ours: torch.Tensor, ref_index: torch.Tensor, ref_logits: torch.Tensor) -> None:
        self.count += 1
        top2 = ref_logits.double().topk(2, dim=-1).values
        near_tie = (top2[..., 0] - top2[..., 1]) < TIE_GAP
        differ = ours.long() != ref_index.long()
        bad = int((differ & ~near_tie).sum())
        ok = bad == 0
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {int(differ.sum())} of {differ.numel()} expert choices differ "
              f"({int((differ & near_tie).sum())} at near-ties)")
        if not ok:
            self.failures.append(name)


def main(root: Path) -> int:
    torch.set_num_threads(2)
    fx = Fixture(root)
    report = Report()
    L = fx.config["generator_derived"]["num_layers"] if "generator_derived" in fx.config else None

    G = AuroraGenerator(fx.config["generator"])
    state = torch.load(root / "generator.pth", map_location="cpu")
    state = state.get("generator_smooth", state.get("generator"))
    ours_keys, ref_keys = list(G.state_dict().keys()), list(state.keys())
    if ours_keys != ref_keys:
        report.fail("state_dict keys", f"ours {len(ours_keys)} vs reference {len(ref_keys)}; "
                    f"missing {sorted(set(ref_keys) - set(ours_keys))[:5]}, extra {sorted(set(ours_keys) - set(ref_keys))[:5]}")
    G.load_state_dict(state, strict=True)
    G.eval()
    if L is not None and G.num_layers != L:
        report.fail("num_layers", f"ours {G.num_layers} vs reference {L}")

    z = fx.load("inputs/z.f32")
    clip_tokens = fx.load("inputs/clip_tokens.f32")
    eot = fx.load("inputs/eot_ind.i32").long()
    trunc_layers = int(fx.inputs.get("trunc_layers", G.num_layers))

    if (root / "clip_text.pth").exists() and "clip_text" in fx.config:
        cc = fx.config["clip_text"]
        tower = ClipTextTower(cc["vocab_size"], cc["width"], cc["heads"], cc["layers"], cc["embed_dim"], cc["context_length"])
        tower.load_state_dict(torch.load(root / "clip_text.pth", map_location="cpu"), strict=True)
        with torch.no_grad():
            pooled, tokens, eot_ours = tower.eval()(fx.load("inputs/token_ids.i32").long())
        report.close("clip/clip_tokens", tokens, clip_tokens)
        if fx.has("inputs/clip_pooled.f32"):
            report.close("clip/clip_pooled", pooled, fx.load("inputs/clip_pooled.f32"))
        if not torch.equal(eot_ours, eot):
            report.fail("clip/eot_ind", f"{eot_ours.tolist()} != {eot.tolist()}")

    if fx.has("outputs/w_avg.f32"):
        report.close("w_avg", G.w_avg, fx.load("outputs/w_avg.f32"), 0.0)

    with torch.no_grad():
        global_text, local_text = G.text_head(clip_tokens, eot)
        wp_raw = G.mapping(z, context=global_text)["wp"]
    if fx.has("outputs/wp_raw.f32"):
        report.close("wp_raw", wp_raw, fx.load("outputs/wp_raw.f32"))

    blocks: dict[int, torch.Tensor] = {}
    hooks = [m.register_forward_hook(lambda _m, _i, out, idx=idx: blocks.__setitem__(idx, out[0].detach()))
             for idx, m in enumerate(G.synthesis.net)]
    G.record_routing(True)
    psis = [float(p) for p in fx.inputs.get("trunc_psi", [1.0])]
    for psi in psis:
        tag = f"psi_{psi:.1f}" if f"outputs/psi_{psi:.1f}/image.f32" in fx.manifest else f"psi_{psi}"
        with torch.no_grad():
            out = G(z, clip_tokens, eot, trunc_psi=psi, trunc_layers=trunc_layers)
        for key in ["image", "wp", "w", "global_text", "local_text"] + sorted(k for k in out if k.startswith("img_res_")):
            name = f"outputs/{tag}/{key}.f32"
            if fx.has(name):
                report.close(f"{tag}/{key}", out[key], fx.load(name))
        for module, r in G.routing().items():
            base = f"outputs/{tag}/router/{module}"
            if not fx.has(f"{base}/expert_index.i32"):
                report.fail(f"{tag}/router/{module}", "our MoE layer has no reference dump")
                continue
            ref_logits = fx.load(f"{base}/router_logits.f32")
            report.routing(f"{tag}/router/{module}/expert_index", r["expert_index"], fx.load(f"{base}/expert_index.i32"), ref_logits)
            report.close(f"{tag}/router/{module}/router_logits", r["router_logits"], ref_logits)
            report.close(f"{tag}/router/{module}/router_prob", r["router_prob"], fx.load(f"{base}/router_prob.f32"))
        for idx, h in sorted(blocks.items()):
            name = f"outputs/{tag}/blocks/net{idx:02d}.f32"
            if fx.has(name):
                ref = fx.load(name)
                report.close(f"{tag}/blocks/net{idx:02d}", h[: ref.shape[0]], ref, TOL * max(1.0, ref.abs().max().item()))

        # One prompt at a time (the official inference): the same images, and the reference's MoE loss.
        tolerances = json.loads((root / "tolerances.json").read_text()) if (root / "tolerances.json").exists() else {}
        ref_moe = tolerances.get("moe_loss", {}).get(tag)
        singles, losses = [], []
        with torch.no_grad():
            for i in range(z.shape[0]):
                one = G(z[i:i + 1], clip_tokens[i:i + 1], eot[i:i + 1], trunc_psi=psi, trunc_layers=trunc_layers)
                singles.append(one["image"])
                losses.append(float(one["moe_loss"]))
        report.close(f"{tag}/image batch-of-{z.shape[0]} vs one at a time", out["image"], torch.cat(singles), 1e-5)
        if ref_moe is not None:
            report.close(f"{tag}/moe_loss per prompt", torch.tensor(losses), torch.tensor(ref_moe), 1e-6)
    for h in hooks:
        h.remove()

    # Our batch equals the reference's batch of 3 run on the per-prompt text features (quirk 1).
    if fx.has("outputs/batched3/psi_1.0/image_bs1text.f32"):
        with torch.no_grad():
            out = G(z, clip_tokens, eot, trunc_psi=1.0, trunc_layers=trunc_layers)
        report.close("batched3/psi_1.0/image_bs1text", out["image"], fx.load("outputs/batched3/psi_1.0/image_bs1text.f32"))

    # run_synthesize's loop_mapping flow: the mean wp of the z_loop codes as a text-conditional centre.
    if fx.has("outputs/flow/image.f32") and fx.has("inputs/z_loop.f32"):
        flow = fx.inputs["loop_mapping"]
        z_loop, psi = fx.load(flow.get("z_loop_file", "inputs/z_loop.f32")), float(flow["psi"])
        with torch.no_grad():
            avg = torch.zeros_like(wp_raw)
            for zl in z_loop:
                avg += G.mapping(zl[None].expand(z.shape[0], -1), context=global_text)["wp"]
            avg /= z_loop.shape[0]
            wp = wp_raw.clone()
            wp[:, :trunc_layers] = G.w_avg.reshape(1, -1, G.w_dim)[:, :trunc_layers].lerp(wp[:, :trunc_layers], psi)
            wp[:, :trunc_layers] = avg[:, :trunc_layers].lerp(wp[:, :trunc_layers], psi)
            image = G.synthesis(wp, context=local_text)["image"]
        report.close("flow/avg_wp", avg, fx.load("outputs/flow/avg_wp.f32"))
        report.close("flow/wp", wp, fx.load("outputs/flow/wp.f32"))
        report.close("flow/image", image, fx.load("outputs/flow/image.f32"))

    if report.failures:
        print(f"{root}: {len(report.failures)} of {report.count} checks FAILED: {', '.join(report.failures)}")
        return 1
    print(f"{root}: all {report.count} checks passed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check_reference.py <fixture-dir>")
    sys.exit(main(Path(sys.argv[1])))
