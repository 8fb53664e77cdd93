"""Writes a seeded random AuroraGenerator + ClipTextTower and their eval-mode outputs.

    PYTHONPATH=training python3 training/tests/make_random_generator.py <g_config.json> <out-dir>
        [--vocab-size 49408] [--clip-heads 4] [--clip-layers 2] [--batch 3] [--seed 1]
        [--checkpoint generator_smooth.pth --clip clip_text.pth]

out-dir gets generator.pth ({'generator_smooth': state_dict}, what `aurora convert` reads),
clip_text.pth (OpenAI layout), and raw little-endian inputs/outputs: token_ids.i32 [B,77],
eot_ind.i32 [B], z.f32 [B,z_dim], clip_tokens.f32 [B,77,width], image.f32 [B,C,R,R] (psi 1),
plus meta.json with their shapes. Zero-initialised tensors are perturbed (perturb.py).

With --checkpoint and --clip (a trained run's files, e.g. train.py's generator_smooth.pth and
clip_text.pth) nothing is random or perturbed: the generator and tower are loaded (strict; the
tower's vocab size, layers and embed_dim come from its state dict, its heads from --clip-heads),
no .pth is written, and the outputs are theirs on the seeded ids and z.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from aurora_train.clip_text import ClipTextTower
from aurora_train.generator import AuroraGenerator
from perturb import perturb_generator, perturb_text_tower



def token_ids(batch: int, vocab_size: int, gen: torch.Generator) -> torch.Tensor:
    """CLIP-like ids: SOT, a few word ids, EOT (the largest id), zero padding; one prompt fills all 77."""
    sot, eot = vocab_size - 2, vocab_size - 1
    ids = torch.zeros(batch, 77, dtype=torch.long)
    for i in range(batch):
        n = 75 if i == batch - 1 else int(torch.randint(1, 20, (1,), generator=gen))
        ids[i, 0], ids[i, n + 1] = sot, eot
        ids[i, 1:n + 1] = torch.randint(1, sot, (n,), generator=gen)
    return ids


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("config")
    p.add_argument("out")
    p.add_argument("--vocab-size", type=int, default=49408)
    p.add_argument("--clip-heads", type=int, default=4)
    p.add_argument("--clip-layers", type=int, default=2)
    p.add_argument("--batch", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--checkpoint", help="load this {'generator_smooth': state dict} instead of a random generator")
    p.add_argument("--clip", help="load this ClipTextTower state dict instead of a random tower (needs --checkpoint)")
    a = p.parse_args()
    if bool(a.checkpoint) != bool(a.clip):
        p.error("--checkpoint and --clip go together")
    torch.set_num_threads(2)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    config = json.loads(Path(a.config).read_text())
    config = config.get("generator", config)

    torch.manual_seed(a.seed)
    g = AuroraGenerator(config)
    width = config["clip_out_dim"]
    if a.checkpoint:
        g.load_state_dict(torch.load(a.checkpoint, map_location="cpu")["generator_smooth"], strict=True)
        sd = torch.load(a.clip, map_location="cpu")
        layers = len({k.split(".")[2] for k in sd if k.startswith("transformer.resblocks.")})
        a.vocab_size = sd["token_embedding.weight"].shape[0]
        tower = ClipTextTower(a.vocab_size, width, a.clip_heads, layers, sd["text_projection"].shape[1],
                              sd["positional_embedding"].shape[0])
        tower.load_state_dict(sd, strict=True)
    else:
        perturb_generator(g, a.seed + 1)
        tower = ClipTextTower.seeded(dict(vocab_size=a.vocab_size, width=width, heads=a.clip_heads, layers=a.clip_layers,
                                          embed_dim=width), a.seed + 2)
        perturb_text_tower(tower, a.seed + 3)
        torch.save({"generator_smooth": g.state_dict()}, out / "generator.pth")
        torch.save(tower.state_dict(), out / "clip_text.pth")

    gen = torch.Generator().manual_seed(a.seed + 4)
    ids = token_ids(a.batch, a.vocab_size, gen)
    z = torch.randn(a.batch, g.z_dim, generator=gen)
    with torch.no_grad():
        _, tokens, eot = tower.eval()(ids)
        image = g.eval()(z, tokens, eot, trunc_psi=1.0)["image"]
    arrays = {"token_ids.i32": ids.int(), "eot_ind.i32": eot.int(), "z.f32": z, "clip_tokens.f32": tokens, "image.f32": image}
    meta = {}
    for name, t in arrays.items():
        arr = t.numpy().astype("<i4" if name.endswith(".i32") else "<f4")
        arr.tofile(out / name)
        meta[name] = list(arr.shape)
    meta["parameters"] = sum(p.numel() for p in g.parameters())
    (out / "meta.json").write_text(json.dumps(meta))
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
