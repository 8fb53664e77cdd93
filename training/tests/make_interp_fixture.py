"""Writes an `interp/` conformance fixture with the ORIGINAL Aurora code (dev-time oracle).

    PYTHONPATH=training /usr/bin/python3 training/tests/make_interp_fixture.py <aurora_repo> <fixture_dir> <out_dir> \
        --src "a red apple" --dst "a green pear" --steps 9 --psi 0.7 [--trunc-layers N] [--inter-g] [--loop-mapping K] [--seed 4]

<aurora_repo> is a checkout of zhujiapeng/Aurora (never committed here); <fixture_dir> a folder in the
layout of ../shared/reference (generator.pth, clip_text.pth, config.json). It follows the reference
run_interpolate.py's main loop for one z and one (src, dst) pair, calling the reference modules
(G.text_head, G.mapping, G.synthesis); the CLIP text features come from our ClipTextTower on the
fixture's clip_text.pth (checked equal to the reference CLIP on the fixture's prompts by
check_reference.py), token ids from the reference's own tokenizer. It writes <out_dir>/interp/
(inputs.json, inputs/z.f32, inputs/z_loop.f32, outputs/{global_text,local_text,wp,image}.f32,
manifest.json), the format `aurora conform` reads (docs/model.md, "Interpolation fixtures").
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import sys
from pathlib import Path

import numpy as np
import torch

from aurora_train.clip_text import ClipTextTower


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("repo")
    p.add_argument("fixture")
    p.add_argument("out")
    p.add_argument("--src", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--steps", type=int, default=9)
    p.add_argument("--psi", type=float, default=0.2)
    p.add_argument("--trunc-layers", type=int, default=None)
    p.add_argument("--inter-g", action="store_true")
    p.add_argument("--loop-mapping", type=int, default=0)
    p.add_argument("--seed", type=int, default=4)
    a = p.parse_args()

    sys.path.insert(0, a.repo)
    try:
        import easydict  # noqa: F401  (the reference ops import it)
    except ImportError:  # Debian has no python3-easydict: an attribute dict is all they use
        import types
        shim = types.ModuleType("easydict")

        class EasyDict(dict):
            __getattr__ = dict.get
            __setattr__ = dict.__setitem__

        shim.EasyDict = EasyDict
        sys.modules["easydict"] = shim
    from third_party.stylegan2_official_ops import bias_act as ba2, upfirdn2d as up2
    from third_party.stylegan3_official_ops import bias_act as ba3
    for m in (up2, ba2, ba3):
        m._init = lambda: False  # the pure-PyTorch reference paths, on the CPU
    # models/__init__.py also imports the CLIP wrapper (open_clip, huggingface_hub): not needed here.
    import types
    package = types.ModuleType("models")
    package.__path__ = [str(Path(a.repo) / "models")]
    sys.modules["models"] = package
    from models.text_generator import Text2ImageGenerator
    from third_party.clip_official.simple_tokenizer import SimpleTokenizer

    root = Path(a.fixture)
    config = json.loads((root / "config.json").read_text())
    keys = set(inspect.signature(Text2ImageGenerator.__init__).parameters)
    G = Text2ImageGenerator(**{k: v for k, v in config["generator"].items() if k in keys})
    G.load_state_dict(torch.load(root / "generator.pth", map_location="cpu")["generator_smooth"], strict=True)
    G = G.eval()
    cc = config["clip_text"]
    tower = ClipTextTower(cc["vocab_size"], cc["width"], cc["heads"], cc["layers"], cc["embed_dim"], cc["context_length"])
    tower.load_state_dict(torch.load(root / "clip_text.pth", map_location="cpu"), strict=True)
    tower = tower.eval()
    tok = SimpleTokenizer()
    sot, eot = tok.encoder["<|startoftext|>"], tok.encoder["<|endoftext|>"]

    def encode(text: str):
        ids = [sot] + tok.encode(text) + [eot]
        assert len(ids) <= cc["context_length"], "prompt too long for this fixture"
        t = torch.zeros(1, cc["context_length"], dtype=torch.long)
        t[0, : len(ids)] = torch.tensor(ids)
        with torch.no_grad():
            _, tokens, eot_ind = tower(t)
        return tokens, eot_ind

    def blend(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        # The reference's linear_interpolate over every position: float64 linspace cast to float32.
        t = np.linspace(0.0, 1.0, a.steps).reshape([-1, 1, 1]).astype(np.float32)
        return src + t * (dst - src)

    num_layers = G.num_layers
    trunc = a.trunc_layers if a.trunc_layers else num_layers
    torch.manual_seed(a.seed)
    z = torch.randn((1, *G.latent_dim))
    z_loop = torch.randn((a.loop_mapping, *G.latent_dim))
    with torch.no_grad():
        src_tokens, src_eot = encode(a.src)
        dst_tokens, dst_eot = encode(a.dst)
        src_g, src_l = G.text_head(src_tokens, eot_ind=src_eot)
        dst_g, dst_l = G.text_head(dst_tokens, eot_ind=dst_eot)
        inter_g = torch.from_numpy(blend(src_g.numpy()[:, None], dst_g.numpy()[:, None]))
        inter_l = torch.from_numpy(blend(src_l.numpy(), dst_l.numpy()))
        w_avg = G.w_avg.reshape(1, -1, G.w_dim)[:, :trunc]
        fed, wps, images = [], [], []
        for i in range(a.steps):
            g = inter_g[i : i + 1, 0] if a.inter_g else src_g
            if a.loop_mapping > 0:
                total = 0
                for k in range(a.loop_mapping):
                    total = total + G.mapping(z_loop[k : k + 1], label=None, context=g)["wp"]
                avg_wp = (total / a.loop_mapping)[:, :trunc]
            wp = G.mapping(z, label=None, context=g)["wp"]
            wp[:, :trunc] = w_avg.lerp(wp[:, :trunc], a.psi)
            if a.loop_mapping > 0:
                wp[:, :trunc] = avg_wp.lerp(wp[:, :trunc], a.psi)
            image = G.synthesis(wp, context=inter_l[i : i + 1])["image"]
            fed.append(g)
            wps.append(wp)
            images.append(image)

    out = Path(a.out) / "interp"
    (out / "inputs").mkdir(parents=True, exist_ok=True)
    (out / "outputs").mkdir(parents=True, exist_ok=True)
    files = {
        "inputs/z.f32": z,
        "outputs/global_text.f32": torch.cat(fed),
        "outputs/local_text.f32": inter_l,
        "outputs/wp.f32": torch.cat(wps),
        "outputs/image.f32": torch.cat(images),
    }
    if a.loop_mapping > 0:
        files["inputs/z_loop.f32"] = z_loop
    manifest = {}
    for name, t in files.items():
        data = t.detach().numpy().astype("<f4")
        (out / name).write_bytes(data.tobytes())
        manifest[name] = {"dtype": "float32", "shape": list(data.shape), "sha256": hashlib.sha256(data.tobytes()).hexdigest()}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    inputs = {"src_prompt": a.src, "dst_prompt": a.dst, "steps": a.steps, "trunc_psi": a.psi, "trunc_layers": trunc, "inter_g": a.inter_g, "loop_mapping": a.loop_mapping}
    (out / "inputs.json").write_text(json.dumps(inputs, indent=1) + "\n")
    print(f"wrote {out}: {a.steps} frames, num_layers {num_layers}, trunc_layers {trunc}")


if __name__ == "__main__":
    main()
