"""The aurora-shapes procedural world for training: scenes, renders and captions on the device.

One source of truth: packages/model/src/world/world-spec.json (colours, sizes, held-out pairs,
caption templates). The TypeScript side (packages/model/src/world) samples, renders and analyses
the same world; both renderers use the same analytic anti-aliasing, so a given scene renders within
one uint8 step in either (a vitest holds it). Token ids come from training/data/world-tokens.json,
written by `aurora world export`: CLIP's BPE never merges across words, so a caption's ids are its
words' ids concatenated (a vitest checks them against the TypeScript tokenizer).

Torch only (no numpy/PIL); CPU or CUDA. Usage:

    sampler = WorldSampler(SPEC_PATH, TOKENS_PATH, resolution=64, device="cuda", seed=0)
    batch = sampler.sample(64)   # images [-1, 1], token_ids, eot_ind, captions, mismatch_*, attrs
"""

from __future__ import annotations

import json
import math
import os
from typing import Dict, List, Optional, Sequence, Tuple

import torch

_REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPEC_PATH = os.path.join(_REPO, "packages", "model", "src", "world", "world-spec.json")
TOKENS_PATH = os.path.join(_REPO, "training", "data", "world-tokens.json")

_SQRT3 = math.sqrt(3.0)

# Columns of the per-sample uniform draws (one torch.rand call per batch: reproducible and fast).
_U_TWO, _U_VERTICAL, _U_SWAP = 0, 1, 2
_U_PAIR = (3, 4)
_U_SIZE = (5, 6)
_U_CX = (7, 9)
_U_CY = (8, 10)
_U_JITTER = (11, 14)  # three channels each
_U_BG, _U_TEMPLATE, _U_MISMATCH_KIND, _U_MISMATCH_PICK = 17, 18, 19, 20
_U_COLUMNS = 21


def load_spec(spec_path: str = SPEC_PATH) -> dict:
    with open(spec_path, "r", encoding="utf-8") as f:
        return json.load(f)


def region_of(spec: dict, cx: float, cy: float) -> Optional[str]:
    """The region a caption may name, or None when the centre is not clearly in one (spec rules)."""
    dx, dy = cx - 0.5, cy - 0.5
    r = spec["regions"]
    if max(abs(dx), abs(dy)) <= r["centreRadius"]:
        return "centre"
    if abs(dx) >= r["sideOffset"] and abs(dy) <= r["sideRatio"] * abs(dx):
        return "left" if dx < 0 else "right"
    if abs(dy) >= r["sideOffset"] and abs(dx) <= r["sideRatio"] * abs(dy):
        return "top" if dy < 0 else "bottom"
    return None


def fill_template(spec: dict, template: str, objects: Sequence[dict], bg_name: str) -> str:
    """Same as fillTemplate in captions.ts: {where} without a clear region drops ' {where}'."""
    a = objects[0]
    text = template
    if "{where}" in text:
        region = region_of(spec, a["cx"], a["cy"])
        text = text.replace(" {where}", "") if region is None else text.replace("{where}", spec["regionPhrases"][region])
    words = {"colour": a["colour"], "shape": a["shape"], "size": a["size"], "bg": bg_name}
    if len(objects) > 1:
        words["colour2"] = objects[1]["colour"]
        words["shape2"] = objects[1]["shape"]
    for key, word in words.items():
        text = text.replace("{" + key + "}", word)
    if "{" in text:
        raise ValueError(f"template {template!r} needs a word this scene lacks")
    return text


def _sdf(shape_idx: torch.Tensor, extent: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Exact signed distances (unit coordinates) of objects [N] at pixel centres -> [N, R, R].

    shape_idx follows spec["shapes"] order: 0 circle, 1 square, 2 triangle (bounding-box centre
    (cx, cy); see world-spec.json shapeGeometry).
    """
    e = extent[:, None, None]
    px = xs[None, None, :] - cx[:, None, None]
    py = ys[None, :, None] - cy[:, None, None]
    half = e / 2
    circle = torch.sqrt(px * px + py * py) - half
    dx = px.abs() - half
    dy = py.abs() - half
    box = torch.sqrt(dx.clamp(min=0) ** 2 + dy.clamp(min=0) ** 2) + torch.maximum(dx, dy).clamp(max=0)
    # Inigo Quilez's equilateral triangle (half side r, centred on its centroid, apex up in y-up
    # coordinates); the centroid is extent/6 below the bounding-box centre in image coordinates.
    r = e / _SQRT3
    qx = px.abs() - r
    qy = -(py - e / 6) + r / _SQRT3
    fold = (qx + _SQRT3 * qy) > 0
    qx, qy = torch.where(fold, (qx - _SQRT3 * qy) / 2, qx), torch.where(fold, (-_SQRT3 * qx - qy) / 2, qy)
    qx = qx - torch.minimum(torch.maximum(qx, -2 * r), torch.zeros_like(qx))
    tri = -torch.sqrt(qx * qx + qy * qy) * torch.sign(qy)
    s = shape_idx[:, None, None]
    return torch.where(s == 0, circle, torch.where(s == 1, box, tri))


def render(
    resolution: int,
    bg_rgb: torch.Tensor,
    shape_idx: torch.Tensor,
    extent: torch.Tensor,
    cx: torch.Tensor,
    cy: torch.Tensor,
    rgb: torch.Tensor,
    present: torch.Tensor,
) -> torch.Tensor:
    """Renders B scenes of up to K objects -> uint8 [B, 3, R, R].

    bg_rgb [B, 3]; shape_idx, extent, cx, cy, present [B, K]; rgb [B, K, 3] (float values 0..255).
    coverage = clamp(0.5 - sdf * R, 0, 1); out = out + (rgb - out) * coverage per object, in
    order; uint8 = floor(out + 0.5) clamped. The TypeScript renderer does exactly this (in
    float64; float32 here moves a value by at most one step after rounding).
    """
    b, k = shape_idx.shape
    device = bg_rgb.device
    grid = (torch.arange(resolution, device=device, dtype=torch.float32) + 0.5) / resolution
    sdf = _sdf(shape_idx.reshape(-1), extent.reshape(-1).float(), cx.reshape(-1).float(), cy.reshape(-1).float(), grid, grid)
    cov = (0.5 - sdf * resolution).clamp(0, 1).reshape(b, k, 1, resolution, resolution)
    cov = cov * present.reshape(b, k, 1, 1, 1).to(cov.dtype)
    out = bg_rgb.float()[:, :, None, None].expand(b, 3, resolution, resolution)
    for j in range(k):
        out = out + (rgb[:, j, :, None, None].float() - out) * cov[:, j]
    return torch.floor(out + 0.5).clamp(0, 255).to(torch.uint8)


def render_scenes(scenes: Sequence[dict], resolution: int, spec: Optional[dict] = None, device: str = "cpu") -> torch.Tensor:
    """Renders scenes in the TypeScript JSON form (WorldScene in scene.ts) -> uint8 [B, 3, R, R]."""
    spec = spec or load_spec()
    shapes = spec["shapes"]
    k = max(1, max(len(s["objects"]) for s in scenes)) if scenes else 1
    b = len(scenes)
    shape_idx = torch.zeros(b, k, dtype=torch.long)
    extent = torch.zeros(b, k, dtype=torch.float64)
    cx = torch.zeros(b, k, dtype=torch.float64)
    cy = torch.zeros(b, k, dtype=torch.float64)
    rgb = torch.zeros(b, k, 3)
    present = torch.zeros(b, k, dtype=torch.bool)
    bg = torch.zeros(b, 3)
    for i, scene in enumerate(scenes):
        bg[i] = torch.tensor([float(v) for v in scene["background"]])
        for j, o in enumerate(scene["objects"]):
            shape_idx[i, j] = shapes.index(o["shape"])
            extent[i, j], cx[i, j], cy[i, j] = o["extent"], o["cx"], o["cy"]
            rgb[i, j] = torch.tensor([float(v) for v in o["rgb"]])
            present[i, j] = True
    d = torch.device(device)
    return render(resolution, bg.to(d), shape_idx.to(d), extent.to(d), cx.to(d), cy.to(d), rgb.to(d), present.to(d))


class WorldTokens:
    """Caption -> CLIP token ids by concatenating per-word ids from world-tokens.json."""

    def __init__(self, tokens_path: str = TOKENS_PATH):
        with open(tokens_path, "r", encoding="utf-8") as f:
            table = json.load(f)
        self.context_length: int = table["contextLength"]
        self.sot: int = table["sot"]
        self.eot: int = table["eot"]
        self.vocab_size: int = table["vocabSize"]
        self.words: Dict[str, List[int]] = table["words"]
        self._cache: Dict[str, Tuple[List[int], int]] = {}

    def ids(self, caption: str) -> Tuple[List[int], int]:
        """[SOT, ..., EOT, 0...] of the context length, and the EOT index (what the text tower pools)."""
        hit = self._cache.get(caption)
        if hit is not None:
            return hit
        body: List[int] = []
        for word in caption.split(" "):
            if word not in self.words:
                raise KeyError(f"{word!r} (in {caption!r}) is not a world word; re-run `aurora world export`")
            body.extend(self.words[word])
        if len(body) + 2 > self.context_length:
            raise ValueError(f"caption too long for {self.context_length} tokens: {caption!r}")
        ids = [self.sot] + body + [self.eot]
        eot_ind = len(ids) - 1
        ids += [0] * (self.context_length - len(ids))
        if len(self._cache) < 100_000:
            self._cache[caption] = (ids, eot_ind)
        return ids, eot_ind

    def encode(self, captions: Sequence[str], device="cpu") -> Tuple[torch.Tensor, torch.Tensor]:
        """token_ids int64 [B, context] and eot_ind int64 [B]."""
        rows = [self.ids(c) for c in captions]
        ids = torch.tensor([r[0] for r in rows], dtype=torch.int64)
        eot = torch.tensor([r[1] for r in rows], dtype=torch.int64)
        return ids.to(device), eot.to(device)


class WorldSampler:
    """Seeded batches of (image, caption) from the world, rendered on `device`.

    holdout=True (training) never renders nor captions the spec's heldOutPairs, alone or in
    two-object scenes; mismatched captions avoid them too. Reproducible for a given (seed, device).
    """

    def __init__(
        self,
        spec_path: str = SPEC_PATH,
        tokens_path: str = TOKENS_PATH,
        resolution: int = 64,
        device="cpu",
        seed: int = 0,
        holdout: bool = True,
    ):
        self.spec = load_spec(spec_path)
        self.tokens = WorldTokens(tokens_path)
        self.resolution = resolution
        self.device = torch.device(device)
        self.holdout = holdout
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)
        spec = self.spec
        self.colours: List[str] = list(spec["colours"].keys())
        self.shapes: List[str] = list(spec["shapes"])
        self.sizes: List[str] = list(spec["sizes"].keys())
        held = {(c, s) for c, s in spec["heldOutPairs"]}
        self.held_out = held
        self.pairs: List[Tuple[int, int]] = [
            (ci, si) for ci, c in enumerate(self.colours) for si, s in enumerate(self.shapes) if not (holdout and (c, s) in held)
        ]
        dev = self.device
        self._pair_colour = torch.tensor([p[0] for p in self.pairs], device=dev)
        self._pair_shape = torch.tensor([p[1] for p in self.pairs], device=dev)
        self._anchor = torch.tensor([spec["colours"][c] for c in self.colours], dtype=torch.float32, device=dev)
        self._extent = torch.tensor([spec["sizes"][s] for s in self.sizes], dtype=torch.float32, device=dev)
        self._two_sizes = torch.tensor([self.sizes.index(s) for s in spec["scene"]["twoObjectSizes"]], device=dev)
        neutrals = list(spec["neutralBackgrounds"].keys())
        self.bg_names: List[str] = neutrals + self.colours
        self._bg_rgb = torch.tensor([spec["neutralBackgrounds"][n] for n in neutrals] + [spec["colours"][c] for c in self.colours], dtype=torch.float32, device=dev)
        w = spec["backgroundWeights"]
        self._bg_weight = torch.tensor([w["neutral"] / len(neutrals)] * len(neutrals) + [w["anchor"] / len(self.colours)] * len(self.colours), device=dev)
        self._n_neutral = len(neutrals)
        self._single = spec["templates"]["single"]
        self._double = spec["templates"]["double"]

    # -- scenes -----------------------------------------------------------------------------------

    def _pick(self, u: torch.Tensor, n: int) -> torch.Tensor:
        return (u * n).long().clamp(max=n - 1)

    def _choose_weighted(self, u: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Index per row with probability proportional to weights [B, N] (u uniform [B])."""
        cum = weights.cumsum(1)
        target = u * cum[:, -1]
        idx = (target[:, None] >= cum).sum(1)
        return idx.clamp(max=weights.shape[1] - 1)

    def sample_attrs(self, batch: int, pair: Optional[Tuple[str, str]] = None) -> Dict[str, torch.Tensor]:
        """Scene attributes of a batch (on the device). pair forces one object of that colour+shape."""
        spec, dev = self.spec, self.device
        sc = spec["scene"]
        u = torch.rand(batch, _U_COLUMNS, generator=self.generator, device=dev)
        two = (u[:, _U_TWO] < sc["twoObjectProbability"]) if pair is None else torch.zeros(batch, dtype=torch.bool, device=dev)
        if pair is None:
            p = torch.stack([self._pick(u[:, c], len(self.pairs)) for c in _U_PAIR], 1)
            colour = self._pair_colour[p]
            shape = self._pair_shape[p]
        else:
            colour = torch.full((batch, 2), self.colours.index(pair[0]), device=dev)
            shape = torch.full((batch, 2), self.shapes.index(pair[1]), device=dev)
        single_size = self._pick(u[:, _U_SIZE[0]], len(self.sizes))
        two_size = self._two_sizes[torch.stack([self._pick(u[:, c], len(self._two_sizes)) for c in _U_SIZE], 1)]
        size = torch.where(two[:, None], two_size, torch.stack([single_size, single_size], 1))
        extent = self._extent[size]
        hx = torch.where(shape == 2, extent / _SQRT3, extent / 2)
        hy = extent / 2
        # Boxes the bounding boxes must stay in: the whole image, or one half each (no overlap).
        m, g = sc["edgeMargin"], sc["splitGap"] / 2
        vertical = u[:, _U_VERTICAL] < 0.5
        swap = u[:, _U_SWAP] < 0.5
        lo_first = torch.where(swap, torch.full_like(u[:, 0], 0.5 + g), torch.full_like(u[:, 0], m))
        hi_first = torch.where(swap, torch.full_like(u[:, 0], 1 - m), torch.full_like(u[:, 0], 0.5 - g))
        lo_second = torch.where(swap, torch.full_like(u[:, 0], m), torch.full_like(u[:, 0], 0.5 + g))
        hi_second = torch.where(swap, torch.full_like(u[:, 0], 0.5 - g), torch.full_like(u[:, 0], 1 - m))
        split_lo = torch.stack([lo_first, lo_second], 1)
        split_hi = torch.stack([hi_first, hi_second], 1)
        full_lo = torch.full_like(split_lo, m)
        full_hi = torch.full_like(split_hi, 1 - m)
        x_split = two & ~vertical
        y_split = two & vertical
        x0 = torch.where(x_split[:, None], split_lo, full_lo)
        x1 = torch.where(x_split[:, None], split_hi, full_hi)
        y0 = torch.where(y_split[:, None], split_lo, full_lo)
        y1 = torch.where(y_split[:, None], split_hi, full_hi)
        ux = torch.stack([u[:, c] for c in _U_CX], 1)
        uy = torch.stack([u[:, c] for c in _U_CY], 1)
        cx = x0 + hx + ux * (x1 - x0 - 2 * hx)
        cy = y0 + hy + uy * (y1 - y0 - 2 * hy)
        jit_n = 2 * sc["colourJitter"] + 1
        jitter = (u[:, _U_JITTER[0] : _U_JITTER[1] + 3] * jit_n).floor().clamp(max=jit_n - 1).reshape(batch, 2, 3) - sc["colourJitter"]
        rgb = (self._anchor[colour] + jitter).clamp(0, 255)
        present = torch.stack([torch.ones_like(two), two], 1)
        # Background: never the anchor colour of an object in the scene.
        weights = self._bg_weight[None, :].repeat(batch, 1)
        anchor_w = weights[:, self._n_neutral :]
        used = torch.zeros_like(anchor_w, dtype=torch.bool)
        used.scatter_(1, colour[:, :1], True)
        used |= torch.zeros_like(used).scatter_(1, colour[:, 1:], True) & two[:, None]
        weights[:, self._n_neutral :] = torch.where(used, torch.zeros_like(anchor_w), anchor_w)
        bg = self._choose_weighted(u[:, _U_BG], weights)
        return {
            "two": two,
            "present": present,
            "colour": colour,
            "shape": shape,
            "size": size,
            "extent": extent,
            "cx": cx,
            "cy": cy,
            "rgb": rgb,
            "bg": bg,
            "bg_rgb": self._bg_rgb[bg],
            "u_template": u[:, _U_TEMPLATE],
            "u_mismatch": u[:, _U_MISMATCH_KIND : _U_MISMATCH_PICK + 1],
        }

    def to_scenes(self, attrs: Dict[str, torch.Tensor]) -> List[dict]:
        """Attributes -> scenes in the TypeScript JSON form (WorldScene in scene.ts)."""
        a = {k: v.cpu().tolist() for k, v in attrs.items()}
        scenes = []
        for i in range(len(a["bg"])):
            objects = []
            for j in range(2 if a["two"][i] else 1):
                objects.append(
                    {
                        "shape": self.shapes[a["shape"][i][j]],
                        "colour": self.colours[a["colour"][i][j]],
                        "rgb": [int(v) for v in a["rgb"][i][j]],
                        "size": self.sizes[a["size"][i][j]],
                        "extent": a["extent"][i][j],
                        "cx": a["cx"][i][j],
                        "cy": a["cy"][i][j],
                    }
                )
            scenes.append({"background": [int(v) for v in a["bg_rgb"][i]], "backgroundName": self.bg_names[a["bg"][i]], "objects": objects})
        return scenes

    # -- captions ---------------------------------------------------------------------------------

    def _template(self, n_objects: int, u: float) -> str:
        templates = self._single if n_objects == 1 else self._double
        total = sum(t["weight"] for t in templates)
        x = u * total
        for t in templates:
            if x < t["weight"]:
                return t["text"]
            x -= t["weight"]
        return templates[-1]["text"]

    def _mismatch_objects(self, objects: List[dict], u_kind: float, u_pick: float) -> List[dict]:
        """The first object with a different colour, shape or both (never a held-out pair)."""
        first = objects[0]
        kind = min(2, int(u_kind * 3))
        cands = []
        for c in self.colours:
            for s in self.shapes:
                if self.holdout and (c, s) in self.held_out:
                    continue
                dc, ds = c != first["colour"], s != first["shape"]
                if (kind == 0 and dc and not ds) or (kind == 1 and ds and not dc) or (kind == 2 and dc and ds):
                    cands.append((c, s))
        if not cands:  # e.g. only held-out pairs change just the shape: change anything instead
            cands = [(c, s) for c in self.colours for s in self.shapes if (c != first["colour"] or s != first["shape"]) and not (self.holdout and (c, s) in self.held_out)]
        c, s = cands[min(len(cands) - 1, int(u_pick * len(cands)))]
        return [dict(first, colour=c, shape=s)] + objects[1:]

    def captions_for(self, scenes: List[dict], u_template: List[float], u_mismatch: List[List[float]], plain: bool = False) -> Tuple[List[str], List[str]]:
        captions, mismatches = [], []
        for scene, ut, um in zip(scenes, u_template, u_mismatch):
            objs, bg = scene["objects"], scene["backgroundName"]
            template = self.spec["templates"]["fallback"] if plain else self._template(len(objs), ut)
            captions.append(fill_template(self.spec, template, objs, bg))
            mismatches.append(fill_template(self.spec, template, self._mismatch_objects(objs, um[0], um[1]), bg))
        return captions, mismatches

    # -- batches ----------------------------------------------------------------------------------

    def sample(self, batch: int, pair: Optional[Tuple[str, str]] = None, plain: bool = False) -> dict:
        """A batch: images float32 [B, 3, R, R] in [-1, 1] (uint8 / 127.5 - 1), token_ids int64
        [B, 77], eot_ind int64 [B], captions, mismatch_token_ids/mismatch_eot_ind/mismatch_captions
        (same template, the first object's colour and/or shape changed: for a matching-aware
        discriminator), attrs (scene tensors on the device) and scenes (JSON form).

        pair=(colour, shape) forces single-object scenes of that pair (even a held-out one: for
        evaluation grids); plain=True captions everything "a {colour} {shape}".
        """
        attrs = self.sample_attrs(batch, pair)
        u8 = render(self.resolution, attrs["bg_rgb"], attrs["shape"], attrs["extent"], attrs["cx"], attrs["cy"], attrs["rgb"], attrs["present"])
        images = u8.float() / 127.5 - 1.0
        scenes = self.to_scenes({k: attrs[k] for k in ("two", "colour", "shape", "size", "extent", "cx", "cy", "rgb", "bg", "bg_rgb")})
        captions, mismatches = self.captions_for(scenes, attrs["u_template"].cpu().tolist(), attrs["u_mismatch"].cpu().tolist(), plain)
        token_ids, eot_ind = self.tokens.encode(captions, self.device)
        mm_ids, mm_eot = self.tokens.encode(mismatches, self.device)
        return {
            "images": images,
            "token_ids": token_ids,
            "eot_ind": eot_ind,
            "captions": captions,
            "mismatch_token_ids": mm_ids,
            "mismatch_eot_ind": mm_eot,
            "mismatch_captions": mismatches,
            "attrs": attrs,
            "scenes": scenes,
        }

    def encode(self, captions: Sequence[str]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Token ids and EOT indices of any grammar captions (e.g. eval prompts), on the device."""
        return self.tokens.encode(captions, self.device)


def _hwc_bytes(u8: torch.Tensor) -> bytes:
    """uint8 [B, 3, R, R] -> raw HWC bytes (for the TypeScript cross-checks; no numpy needed)."""
    return bytes(u8.permute(0, 2, 3, 1).contiguous().cpu().reshape(-1).tolist())


def _main(argv: Optional[Sequence[str]] = None) -> int:
    """Test and inspection entry points (the vitests call these)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m aurora_train.world")
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render", help="render TypeScript scenes (a JSON file) -> raw uint8 HWC bytes (a file)")
    r.add_argument("--scenes", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--resolution", type=int, default=64)
    c = sub.add_parser("captions", help="sampled captions and their token ids as JSON")
    c.add_argument("--n", type=int, default=256)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--resolution", type=int, default=64)
    c.add_argument("--device", default="cpu")
    c.add_argument("--images", help="also write the batch images as raw uint8 HWC bytes to this file")
    b = sub.add_parser("bench", help="images per second of sample()")
    b.add_argument("--batch", type=int, default=64)
    b.add_argument("--iters", type=int, default=50)
    b.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    if args.cmd == "render":
        with open(args.scenes, "r", encoding="utf-8") as f:
            scenes = json.load(f)
        with open(args.out, "wb") as f:
            f.write(_hwc_bytes(render_scenes(scenes, args.resolution)))
        return 0
    if args.cmd == "captions":
        sampler = WorldSampler(resolution=args.resolution, device=args.device, seed=args.seed)
        out = []
        images = []
        while len(out) < args.n:
            batch = sampler.sample(min(256, args.n - len(out)))
            images.append(_hwc_bytes(torch.round((batch["images"] + 1) * 127.5).to(torch.uint8)))
            for i, cap in enumerate(batch["captions"]):
                out.append(
                    {
                        "caption": cap,
                        "ids": batch["token_ids"][i].tolist(),
                        "eot": int(batch["eot_ind"][i]),
                        "mismatch": batch["mismatch_captions"][i],
                        "mismatchIds": batch["mismatch_token_ids"][i].tolist(),
                        "scene": batch["scenes"][i],
                    }
                )
        json.dump(out, sys.stdout)
        if args.images:
            with open(args.images, "wb") as f:
                f.write(b"".join(images))
        return 0
    if args.cmd == "bench":
        import time

        sampler = WorldSampler(device=args.device, seed=0)
        sampler.sample(args.batch)
        if sampler.device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(args.iters):
            sampler.sample(args.batch)
        if sampler.device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        print(f"{args.device}: batch {args.batch}: {dt / args.iters * 1000:.1f} ms/batch, {args.batch * args.iters / dt:.0f} images/s")
        return 0
    return 2


if __name__ == "__main__":
    raise SystemExit(_main())
