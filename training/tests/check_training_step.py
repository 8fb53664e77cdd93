"""One training-mode step of AuroraGenerator on the CPU: every parameter gets a finite, nonzero
gradient, moe_loss is finite and positive, and w_avg moves. Prints a JSON report; exit 1 if not.

    PYTHONPATH=training python3 training/tests/check_training_step.py <g_config.json> [--batch 2]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from aurora_train.generator import AuroraGenerator
from perturb import perturb_generator


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("config")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--seed", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(2)
    config = json.loads(Path(a.config).read_text())
    torch.manual_seed(a.seed)
    g = AuroraGenerator(config.get("generator", config))
    perturb_generator(g, a.seed + 1)  # zero-initialised tensors would block gradients (zero_out, mtm_scales)
    g.train()
    w_avg_before = g.w_avg.clone()
    n = a.batch
    z = torch.randn(n, g.z_dim)
    tokens = torch.randn(n, 77, g.config["clip_out_dim"])
    eot = torch.randint(1, 77, (n,))
    out = g(z, tokens, eot)
    loss = out["image"].square().mean() + out["moe_loss"]
    loss.backward()
    params = dict(g.named_parameters())
    report = {
        "parameters": len(params),
        "no_grad": [k for k, p in params.items() if p.grad is None],
        "non_finite_grad": [k for k, p in params.items() if p.grad is not None and not torch.isfinite(p.grad).all()],
        "zero_grad": [k for k, p in params.items() if p.grad is not None and not p.grad.abs().max() > 0],
        "moe_loss": float(out["moe_loss"]),
        "image_finite": bool(torch.isfinite(out["image"]).all()),
        "image_shape": list(out["image"].shape),
        "w_avg_moved": float((g.w_avg - w_avg_before).abs().max()),
    }
    print(json.dumps(report))
    ok = (not report["no_grad"] and not report["non_finite_grad"] and not report["zero_grad"] and report["image_finite"]
          and math.isfinite(report["moe_loss"]) and report["moe_loss"] > 0 and report["w_avg_moved"] > 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
