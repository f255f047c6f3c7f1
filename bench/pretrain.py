"""Pretraining step speed of every objective on THE encoder, against the encoder alone.

For each registered objective at the reference config (patch tokenizer, d_model 128, depth 8,
context 336, batch 128) this prints:

- samples/s of a full training step (objective forward + backward + AdamW step);
- samples/s of the encoder alone (forward + backward of ``tokens(x).square().mean()``), and the
  ratio (objective cost / encoder cost; the aim is <= 2x);
- achieved GFLOP/s (FLOPs counted by ``torch.utils.flop_counter``) and its fraction of a matmul
  peak measured in the same run on the same device;
- for objectives with DWT views, the time of making the views as a share of the step (aim < 10%).

The data is a fixed random batch: this measures compute, not data generation (see bench/synth.py).

    python bench/pretrain.py [--device cpu|cuda] [--batch-size 128] [--steps 3] [--objectives a,b]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from tsdividend.augment import make_view
from tsdividend.encoder import Encoder, EncoderConfig
from tsdividend.objectives import OBJECTIVES, Batch, build_objective

DWT_VIEWS = {"lejepa": ("lejepa_soft", "lejepa_perturb"), "dino": ("dwt_soft", "dwt_perturb")}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_peak(device: torch.device, n: int = 2048, reps: int = 10) -> float:
    """Measured fp32 (TF32 off) matmul GFLOP/s on ``device``."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    a @ b
    _sync(device)
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def _batch(x: torch.Tensor, step: int) -> Batch:
    dev = x.device
    return Batch(
        x=x,
        mask=torch.ones_like(x, dtype=torch.bool),
        generator=torch.Generator(dev).manual_seed(step),
        shared_generator=torch.Generator(dev).manual_seed(10_000 + step),
        step=step,
        total_steps=1000,
    )


def time_steps(step_fn, steps: int, device: torch.device) -> float:
    """Seconds per call of ``step_fn`` (one warm-up call not timed)."""
    step_fn(0)
    _sync(device)
    t = time.perf_counter()
    for i in range(steps):
        step_fn(i + 1)
    _sync(device)
    return (time.perf_counter() - t) / steps


def count_flops(fn) -> float:
    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def _row(name: str, batch: int, step_s: float, base_s: float, flops: float, peak: float,
         views: str = "") -> str:  # fmt: skip
    gflops = flops / step_s / 1e9
    return (
        f"{name:<10} {batch / step_s:>10.1f} {step_s / base_s:>10.2f} "
        f"{gflops:>9.1f} {100 * gflops / peak:>6.1f}% {views:>10}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--context", type=int, default=336)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--objectives", default=",".join(OBJECTIVES.names()))
    args = parser.parse_args()
    device = torch.device(args.device)
    cfg = EncoderConfig(d_model=args.d_model, depth=args.depth)
    x = torch.randn(args.batch_size, 1, args.context, device=device)
    peak = matmul_peak(device)
    print(f"device {device}, threads {torch.get_num_threads()}, matmul peak {peak:.1f} GFLOP/s")
    print(f"config: patch tokenizer, d_model {args.d_model}, depth {args.depth}, "
          f"context {args.context}, batch {args.batch_size}")  # fmt: skip

    torch.manual_seed(0)
    enc = Encoder(cfg).to(device)
    enc_opt = torch.optim.AdamW(enc.parameters(), lr=1e-4)

    def enc_step(_: int) -> None:
        enc_opt.zero_grad(set_to_none=True)
        enc.tokens(x).square().mean().backward()
        enc_opt.step()

    enc_s = time_steps(enc_step, args.steps, device)
    enc_flops = count_flops(lambda: enc.tokens(x).square().mean().backward())
    print(f"\n{'objective':<10} {'samples/s':>10} {'x encoder':>10} {'GFLOP/s':>9} "
          f"{'% peak':>7} {'DWT views':>10}")  # fmt: skip
    print(_row("encoder", args.batch_size, enc_s, enc_s, enc_flops, peak))

    for name in args.objectives.split(","):
        torch.manual_seed(0)
        obj = build_objective(name, Encoder(cfg)).to(device)
        opt = torch.optim.AdamW([p for p in obj.parameters() if p.requires_grad], lr=1e-4)

        def obj_step(i: int, obj=obj, opt=opt) -> None:
            opt.zero_grad(set_to_none=True)
            obj(_batch(x, i)).loss.backward()
            opt.step()
            obj.on_after_step(i + 1, 1000)

        step_s = time_steps(obj_step, args.steps, device)
        flops = count_flops(lambda obj=obj: obj(_batch(x, 0)).loss.backward())
        views = ""
        if name in DWT_VIEWS:
            fns = [make_view(v) for v in DWT_VIEWS[name]]
            g = torch.Generator(device).manual_seed(0)

            def make_views(_: int, fns=fns, g=g) -> None:
                for f in fns:
                    f(x, generator=g)

            view_s = time_steps(make_views, args.steps, device)
            views = f"{100 * view_s / step_s:.1f}%"
        print(_row(name, args.batch_size, step_s, enc_s, flops, peak, views))


if __name__ == "__main__":
    main()
