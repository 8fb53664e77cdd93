"""AuroraGenerator on an accelerator: same images as on the CPU, finite training gradients, and
the time of a training step. For the start of a GPU run (takes seconds); exits 1 on a mismatch.

    PYTHONPATH=training python3 training/tests/check_device.py [--config training/configs/aurora-shapes.json]
        [--device cuda] [--batch 32] [--steps 5]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from aurora_train.generator import AuroraGenerator
from perturb import perturb_generator


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--config", default=str(Path(__file__).resolve().parents[1] / "configs/aurora-shapes.json"))
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=5)
    a = p.parse_args()
    device = torch.device(a.device)
    # Parity in true fp32: TF32 matmuls/convs (a trainer may enable them) round to 10 mantissa bits.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    config = json.loads(Path(a.config).read_text())
    torch.manual_seed(0)
    g = AuroraGenerator(config.get("generator", config))
    perturb_generator(g, 1)
    gen = torch.Generator().manual_seed(2)
    n = 4
    z = torch.randn(n, g.z_dim, generator=gen)
    tokens = torch.randn(n, 77, g.config["clip_out_dim"], generator=gen)
    eot = torch.randint(1, 77, (n,), generator=gen)
    with torch.no_grad():
        cpu = g.eval()(z, tokens, eot, trunc_psi=0.7)
        g = g.to(device)
        dev = g(z.to(device), tokens.to(device), eot.to(device), trunc_psi=0.7)
        one = g(z[:1].to(device), tokens[:1].to(device), eot[:1].to(device), trunc_psi=0.7)
    report = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "image_vs_cpu": float((dev["image"].cpu() - cpu["image"]).abs().max()),
        "moe_loss_vs_cpu": float((dev["moe_loss"].cpu() - cpu["moe_loss"]).abs()),
        "batch1_vs_batch4": float((one["image"] - dev["image"][:1]).abs().max()),
    }

    g.train()
    params = [q for q in g.parameters()]
    opt = torch.optim.Adam(params, lr=1e-4)
    z = torch.randn(a.batch, g.z_dim, device=device)
    tokens = torch.randn(a.batch, 77, g.config["clip_out_dim"], device=device)
    eot = torch.randint(1, 77, (a.batch,), device=device)
    times = []
    for step in range(a.steps + 1):
        sync(device)
        t0 = time.perf_counter()
        out = g(z, tokens, eot)
        loss = out["image"].square().mean() + out["moe_loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if step == 0:
            report["non_finite_grads"] = [k for k, q in g.named_parameters() if q.grad is None or not torch.isfinite(q.grad).all()]
        opt.step()
        sync(device)
        times.append(time.perf_counter() - t0)
    report["train_step_ms"] = round(1000 * sorted(times[1:])[len(times[1:]) // 2], 1) if a.steps else None
    report["first_step_ms"] = round(1000 * times[0], 1)
    report["batch"] = a.batch
    if device.type == "cuda":
        report["peak_mem_mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20)
    print(json.dumps(report))
    ok = report["image_vs_cpu"] <= 1e-4 and report["batch1_vs_batch4"] <= 1e-4 and not report["non_finite_grads"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
