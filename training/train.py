"""Train an Aurora generator on the procedural captioned world.

    PYTHONPATH=training python3 training/train.py --out runs/shapes --minutes 6 --device cuda

The generator is our PyTorch Aurora (state dict equal to the reference's, so `aurora convert`
imports its checkpoints unchanged); the text tower is a seeded, frozen OpenAI-layout CLIP text
transformer (the paper freezes CLIP; no trained CLIP weights can reach us); the discriminator is
our own (aurora_train/discriminator.py). Losses, as the paper describes them where they apply:
non-saturating adversarial loss, matching-aware loss (real image + wrong caption is fake), an
image-text contrastive loss in place of the CLIP image loss, the generator's MoE auxiliary losses,
lazy R1 on reals, and an EMA generator (`generator_smooth`) that is what ships.

Outputs in --out: `checkpoint.pt` (everything --resume needs, written atomically every
--save-every seconds), `generator_smooth.pth` ({'generator_smooth': state dict}, what
`aurora convert --checkpoint` reads), `clip_text.pth`, `log.jsonl` (one line per --log-every
steps), `run.json` (arguments, versions, machine, steps, wall time) and, at the --snapshot-minutes
marks, float16 EMA snapshots under snapshots/ for the eval curve.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from aurora_train.clip_text import ClipTextTower
from aurora_train.discriminator import TextConditionedDiscriminator, contrastive_loss
from aurora_train.generator import AuroraGenerator
from aurora_train.world import WorldSampler

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="run folder (created; reused with --resume)")
    p.add_argument("--g-config", default=str(HERE / "configs/aurora-shapes.json"))
    p.add_argument("--text-config", default=str(HERE / "configs/text-tower.json"))
    p.add_argument("--spec", default=str(HERE.parent / "packages/model/src/world/world-spec.json"))
    p.add_argument("--tokens", default=str(HERE / "data/world-tokens.json"))
    p.add_argument("--device", default="auto", help="cuda, cpu or auto")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: no step limit)")
    p.add_argument("--minutes", type=float, default=0, help="stop after this much wall time (0: no time limit)")
    p.add_argument("--lr-g", type=float, default=2e-3)
    p.add_argument("--lr-d", type=float, default=2e-3)
    p.add_argument("--beta1", type=float, default=0.0)
    p.add_argument("--beta2", type=float, default=0.99)
    p.add_argument("--r1-gamma", type=float, default=0.5)
    p.add_argument("--r1-every", type=int, default=16)
    p.add_argument("--mismatch", type=float, default=1.0, help="weight of the matching-aware term in D's loss")
    p.add_argument("--contrastive", type=float, default=0.5, help="weight of the image-text contrastive loss (D on reals, G on fakes)")
    p.add_argument("--ema-kimg", type=float, default=10.0, help="EMA half-life in thousands of images")
    p.add_argument("--ema-rampup", type=float, default=0.05, help="half-life at most this fraction of images seen so far")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--save-every", type=float, default=60.0, help="seconds between checkpoints")
    p.add_argument("--snapshot-minutes", default="", help="comma list of wall-clock minutes for float16 EMA snapshots")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.pt")
    return p.parse_args(argv)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        sys.exit("train.py: --device cuda but torch sees no CUDA device")
    return torch.device(name)


def git_commit() -> str:
    """AURORA_COMMIT when set (a tree copied without its history may sit inside another checkout,
    whose HEAD git would report), else `git rev-parse HEAD`, else "unknown"."""
    commit = os.environ.get("AURORA_COMMIT", "").strip()
    if commit:
        return commit
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def atomic_save(obj: object, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def ema_update(g_ema: torch.nn.Module, g: torch.nn.Module, beta: float) -> None:
    with torch.no_grad():
        for p_ema, p in zip(g_ema.parameters(), g.parameters()):
            p_ema.lerp_(p.detach(), 1.0 - beta)
        for b_ema, b in zip(g_ema.buffers(), g.buffers()):
            b_ema.copy_(b)


def r1_penalty(d: TextConditionedDiscriminator, reals: torch.Tensor, tokens: torch.Tensor, eot: torch.Tensor) -> torch.Tensor:
    reals = reals.detach().requires_grad_(True)
    logits = d(reals, tokens, eot)
    (grad,) = torch.autograd.grad(logits.sum(), reals, create_graph=True)
    return grad.square().sum(dim=(1, 2, 3)).mean()


class Trainer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.device = pick_device(args.device)
        torch.set_num_threads(args.threads)
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            torch.backends.cudnn.benchmark = True
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)

        self.g_config = json.loads(Path(args.g_config).read_text())
        text_config = json.loads(Path(args.text_config).read_text())
        tokens = json.loads(Path(args.tokens).read_text())
        vocab_size = int(tokens.get("vocabSize", tokens["eot"] + 1))
        if text_config["width"] != self.g_config["clip_out_dim"]:
            raise ValueError(f"text tower width {text_config['width']} != generator clip_out_dim {self.g_config['clip_out_dim']}")

        torch.manual_seed(args.seed)
        # Made on the CPU from fixed seeds, so every machine builds the same frozen tower.
        self.text = ClipTextTower.seeded(
            dict(vocab_size=vocab_size, width=text_config["width"], heads=text_config["heads"], layers=text_config["layers"],
                 embed_dim=text_config["embed_dim"], context_length=text_config["context_length"]),
            text_config["seed"],
        ).to(self.device).eval().requires_grad_(False)
        self.g = AuroraGenerator(self.g_config).to(self.device).train()
        self.g_ema = copy.deepcopy(self.g).eval().requires_grad_(False)
        self.d = TextConditionedDiscriminator(resolution=self.g_config["resolution"], text_width=text_config["width"]).to(self.device)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=args.lr_g, betas=(args.beta1, args.beta2), eps=1e-8)
        # Lazy R1: D's Adam betas and lr are scaled as in StyleGAN2 so the regulariser's rarer steps keep their weight.
        c = args.r1_every / (args.r1_every + 1)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=args.lr_d * c, betas=(args.beta1**c, args.beta2**c), eps=1e-8)
        self.world = WorldSampler(args.spec, args.tokens, resolution=self.g_config["resolution"], device=self.device, seed=args.seed)
        self.z_gen = torch.Generator(device=self.device)
        self.z_gen.manual_seed(args.seed + 7919)
        self.step = 0
        self.nimg = 0
        self.all_finite = torch.tensor(True, device=self.device)
        self.elapsed = 0.0
        if args.resume:
            self.load(self.out / "checkpoint.pt")
        torch.save(self.text.state_dict(), self.out / "clip_text.pth")

    # --- state -------------------------------------------------------------------------------
    def state(self) -> dict:
        state = {
            "generator": self.g.state_dict(), "generator_smooth": self.g_ema.state_dict(), "discriminator": self.d.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(), "step": self.step, "nimg": self.nimg,
            "elapsed": self.elapsed, "z_gen": self.z_gen.get_state(), "torch_rng": torch.get_rng_state(), "args": vars(self.args),
        }
        if hasattr(self.world, "state_dict"):
            state["world"] = self.world.state_dict()
        return state

    def load(self, path: Path) -> None:
        if not path.exists():
            sys.exit(f"train.py: --resume but {path} does not exist")
        s = torch.load(path, map_location=self.device)
        self.g.load_state_dict(s["generator"])
        self.g_ema.load_state_dict(s["generator_smooth"])
        self.d.load_state_dict(s["discriminator"])
        self.opt_g.load_state_dict(s["opt_g"])
        self.opt_d.load_state_dict(s["opt_d"])
        self.step, self.nimg, self.elapsed = s["step"], s["nimg"], s["elapsed"]
        self.z_gen.set_state(s["z_gen"].cpu() if hasattr(s["z_gen"], "cpu") else s["z_gen"])
        torch.set_rng_state(s["torch_rng"].cpu())
        if "world" in s and hasattr(self.world, "load_state_dict"):
            self.world.load_state_dict(s["world"])
        print(f"resumed at step {self.step} ({self.nimg} images, {self.elapsed:.0f} s)", flush=True)

    def save(self) -> None:
        atomic_save(self.state(), self.out / "checkpoint.pt")
        atomic_save({"generator_smooth": self.g_ema.state_dict()}, self.out / "generator_smooth.pth")

    def snapshot(self, minute: float) -> None:
        (self.out / "snapshots").mkdir(exist_ok=True)
        half = {k: (v.half() if v.is_floating_point() else v) for k, v in self.g_ema.state_dict().items()}
        atomic_save({"generator_smooth": half, "step": self.step, "nimg": self.nimg, "minute": minute},
                    self.out / "snapshots" / f"ema-{self.step:07d}.pth")

    # --- one step ----------------------------------------------------------------------------
    def encode(self, token_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            _, tokens, eot = self.text(token_ids)
        return tokens, eot

    def latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.g_config["z_dim"], generator=self.z_gen, device=self.device)

    def train_step(self) -> dict[str, torch.Tensor]:
        a = self.args
        batch = self.world.sample(a.batch)
        reals = batch["images"]
        ids = batch["token_ids"]
        tokens, eot = self.encode(ids)
        mm_tokens, mm_eot = self.encode(batch["mismatch_token_ids"])
        # Losses stay on the device as detached 0-d tensors: reading them (.item()) every step would
        # make the host wait for the GPU 10+ times a step; run() reads them only when it logs or saves.
        stats: dict[str, torch.Tensor] = {}

        # Discriminator: real/caption -> real; fake/caption and real/wrong caption -> fake.
        self.d.requires_grad_(True)
        with torch.no_grad():
            fakes = self.g(self.latents(a.batch), tokens, eot)["image"]
        h_real = self.d.image_features(reals)
        e = self.d.text_features(tokens, eot)  # once for the three uses of these captions
        d_real = self.d(reals, tokens, eot, h=h_real, e=e)
        d_fake = self.d(fakes, tokens, eot, e=e)
        d_mm = self.d(reals, mm_tokens, mm_eot, h=h_real)
        loss_d = F.softplus(-d_real).mean() + F.softplus(d_fake).mean() + a.mismatch * F.softplus(d_mm).mean()
        if a.contrastive > 0:
            c_real = contrastive_loss(self.d.contrastive_logits(h_real, tokens, eot, e=e), ids)
            loss_d = loss_d + a.contrastive * c_real
            stats["d_contrastive"] = c_real.detach()
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        stats.update(d_real=d_real.mean().detach(), d_fake=d_fake.mean().detach(), d_mismatch=d_mm.mean().detach(), loss_d=loss_d.detach())

        if a.r1_gamma > 0 and self.step % a.r1_every == 0:
            r1 = r1_penalty(self.d, reals, tokens, eot)
            self.opt_d.zero_grad(set_to_none=True)
            (r1 * (a.r1_gamma / 2) * a.r1_every).backward()
            self.opt_d.step()
            stats["r1"] = r1.detach()

        # Generator: fool D under the caption, match the caption in D's contrastive space, balance experts.
        self.d.requires_grad_(False)
        out = self.g(self.latents(a.batch), tokens, eot)
        h_fake = self.d.image_features(out["image"])
        e = self.d.text_features(tokens, eot)
        g_adv = F.softplus(-self.d(out["image"], tokens, eot, h=h_fake, e=e)).mean()
        loss_g = g_adv + out["moe_loss"]
        if a.contrastive > 0:
            c_fake = contrastive_loss(self.d.contrastive_logits(h_fake, tokens, eot, e=e), ids)
            loss_g = loss_g + a.contrastive * c_fake
            stats["g_contrastive"] = c_fake.detach()
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        stats.update(g_adv=g_adv.detach(), moe=torch.as_tensor(out["moe_loss"], device=self.device).detach(), loss_g=loss_g.detach())
        # Every loss of every step so far finite, kept on the device and checked before anything is logged or saved.
        self.all_finite &= torch.isfinite(torch.stack([v.float() for v in stats.values()])).all()

        self.nimg += a.batch
        half_life = a.ema_kimg * 1000
        if a.ema_rampup > 0:
            half_life = min(half_life, self.nimg * a.ema_rampup)
        ema_update(self.g_ema, self.g, 0.5 ** (a.batch / max(half_life, 1e-8)))
        self.step += 1
        return stats

    # --- loop --------------------------------------------------------------------------------
    def run(self) -> None:
        a = self.args
        snapshot_marks = sorted(float(m) for m in a.snapshot_minutes.split(",") if m.strip())
        snapshot_marks = [m for m in snapshot_marks if m * 60 > self.elapsed]
        log = (self.out / "log.jsonl").open("a")
        start = time.time() - self.elapsed
        last_save = time.time()
        last_log = time.time()
        print(f"training on {self.device} ({torch.__version__}); G {sum(p.numel() for p in self.g.parameters()):,} params, "
              f"D {sum(p.numel() for p in self.d.parameters()):,}", flush=True)
        while True:
            stats = self.train_step()
            self.elapsed = time.time() - start
            done = (a.steps and self.step >= a.steps) or (a.minutes and self.elapsed >= a.minutes * 60)
            due_snapshot = bool(snapshot_marks) and self.elapsed >= snapshot_marks[0] * 60
            due_save = done or time.time() - last_save >= a.save_every
            if self.step % a.log_every == 0 or due_snapshot or due_save:
                self.stop_if_diverged({k: v.item() for k, v in stats.items()})
            if self.step % a.log_every == 0:
                now = time.time()
                rate = a.log_every / max(now - last_log, 1e-9)
                last_log = now
                line = {"step": self.step, "nimg": self.nimg, "seconds": round(self.elapsed, 1), "steps_per_s": round(rate, 2),
                        **{k: round(v.item(), 5) for k, v in stats.items()}}
                log.write(json.dumps(line) + "\n")
                log.flush()
                print(json.dumps(line), flush=True)
            while snapshot_marks and self.elapsed >= snapshot_marks[0] * 60:
                self.snapshot(snapshot_marks.pop(0))
            if due_save:
                self.save()
                self.write_run_info("finished" if done else "running")
                last_save = time.time()
            if done:
                break
        log.close()
        print(f"done: {self.step} steps, {self.nimg} images, {self.elapsed:.0f} s", flush=True)

    def stop_if_diverged(self, latest: dict[str, float]) -> None:
        """Exits, keeping the last good checkpoint, once any loss of any step so far was not finite."""
        if bool(self.all_finite):
            return
        self.write_run_info("diverged")
        bad = [k for k, v in latest.items() if not math.isfinite(v)]
        sys.exit(f"train.py: a non-finite loss by step {self.step} (now: {', '.join(bad) or 'none'}); last good checkpoint kept")

    def write_run_info(self, status: str) -> None:
        info = {
            "status": status, "command": " ".join(sys.argv), "args": vars(self.args), "commit": git_commit(),
            "steps": self.step, "images": self.nimg, "wall_seconds": round(self.elapsed, 1), "torch": torch.__version__,
            "device": torch.cuda.get_device_name(0) if self.device.type == "cuda" else platform.processor() or platform.machine(),
            "python": platform.python_version(),
        }
        (self.out / "run.json").write_text(json.dumps(info, indent=1) + "\n")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not args.steps and not args.minutes:
        sys.exit("train.py: give --steps or --minutes (or both)")
    Trainer(args).run()


if __name__ == "__main__":
    main()
