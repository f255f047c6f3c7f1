"""Pretraining speed: THE encoder and every objective against references measured in the same run.

At the reference config (patch tokenizer, d_model 128, depth 8, context 336, batch 128) this prints,
each row a full training step (forward + backward + AdamW) unless said otherwise:

1. **Peaks**: matmul GFLOP/s on this device in fp32 (TF32 off) and bf16, for a 2048^3 product and
   for the encoder's own MLP shape (tokens x d_model x 4 d_model).
2. **Encoder vs stock**: samples/s of THE encoder (``tsdividend.encoder.Encoder``) next to a stock
   ``torch.nn.TransformerEncoder`` of the same shape (pre-norm, GELU, dropout, same tokenizer, CLS
   and token count), per precision (fp32, bf16 autocast; ``--compile`` adds each block compiled
   with inductor), the ratio THE / stock, and the share of the matching matmul peak reached.
3. **Objectives**: samples/s per precision, encoder passes per step (tokens through the encoder
   with gradients, plus a third of those without: a forward is ~1/3 of forward + backward), and
   the cost per pass = (objective step / encoder step) / passes: 1.0 means the objective costs
   exactly its encoder passes; the aim is <= 1.3.
4. **Profile** (fp32): the share of step time in matmul, attention, elementwise/other and the
   optimiser, from ``torch.profiler`` self times (each op attributed to its attention or optimiser
   ancestor when it has one).
5. **Data path** (``tsdividend.train.train`` runs of ``--data-steps`` steps with the default
   objective): samples/s and the share of wall time the loop waited for data, for on-the-fly
   generation with ``--workers 0`` and ``1``, the default settings, and a corpus written by
   ``tsdividend synth`` (``data.synth_path``; its writing time is printed apart).

    python bench/pretrain.py [--device cpu|cuda] [--steps 5] [--objectives a,b]
                             [--precisions fp32,bf16] [--compile] [--no-profile] [--no-data]

Compare ratios from one run on an idle machine, never absolute numbers across machines.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from tsdividend.encoder import Encoder, EncoderConfig
from tsdividend.encoder.layers import Block
from tsdividend.objectives import OBJECTIVES, Batch, build_objective
from tsdividend.synth.shards import write_shards
from tsdividend.train.precision import autocast
from tsdividend.train.sources import DataConfig
from tsdividend.train.trainer import TrainConfig, train


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_rate(device: torch.device, m: int, k: int, n: int, dtype: torch.dtype) -> float:
    """Measured GFLOP/s of an (m x k) @ (k x n) product in ``dtype`` (TF32 off)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    a = torch.randn(m, k, device=device, dtype=dtype)
    b = torch.randn(k, n, device=device, dtype=dtype)
    a @ b
    _sync(device)
    reps, t = 0, time.perf_counter()
    while reps < 5 or time.perf_counter() - t < 0.5:
        a @ b
        reps += 1
    _sync(device)
    return 2 * m * k * n * reps / (time.perf_counter() - t) / 1e9


def seconds_per_step(step: Callable[[int], None], steps: int, device: torch.device) -> float:
    """Seconds per call of ``step`` (the best of two timed rounds after one warm-up call)."""
    step(0)
    best = float("inf")
    for _ in range(2):
        _sync(device)
        t = time.perf_counter()
        for i in range(steps):
            step(i + 1)
        _sync(device)
        best = min(best, (time.perf_counter() - t) / steps)
    return best


class StockEncoder(nn.Module):
    """THE encoder's shape built from stock PyTorch: the same tokenizer, CLS token and sin-cos
    positions, then ``nn.TransformerEncoder`` (pre-norm, GELU, dropout) and a final LayerNorm."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        ref = Encoder(cfg)
        self.tokenizer, self.cls_token, self.norm = ref.tokenizer, ref.cls_token, ref.norm
        self.register_buffer("pos", ref.position_table().detach().clone())
        layer = nn.TransformerEncoderLayer(
            cfg.d_model, cfg.n_heads, cfg.mlp_hidden, cfg.dropout, activation="gelu",
            batch_first=True, norm_first=True,
        )  # fmt: skip
        self.blocks = nn.TransformerEncoder(layer, cfg.depth, enable_nested_tensor=False)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        tok = self.tokenizer(x, torch.ones_like(x, dtype=torch.bool)).tokens
        b, n, _ = tok.shape
        h = torch.cat(
            [(self.cls_token + self.pos[0]).expand(b, 1, -1), tok + self.pos[1 : n + 1]], 1
        )
        return self.norm(self.blocks(h))[:, 1:]


def compile_blocks(model: nn.Module) -> nn.Module:
    """Compile every transformer block in place (THE encoder's, EMA copies', stock layers)."""
    for m in model.modules():
        if isinstance(m, (Block, nn.TransformerEncoderLayer)):
            m.compile()
    return model


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


@contextmanager
def count_encoder_tokens() -> Iterator[dict[str, int]]:
    """Tokens that go through any :class:`Encoder`'s transformer, with and without gradients."""
    counts = {"grad": 0, "no_grad": 0}
    original = Encoder.forward_tokens

    def counted(self: Encoder, tokens: torch.Tensor, **kw: object) -> torch.Tensor:
        grad = torch.is_grad_enabled() and any(p.requires_grad for p in self.parameters())
        counts["grad" if grad else "no_grad"] += tokens.shape[0] * tokens.shape[1]
        return original(self, tokens, **kw)  # type: ignore[arg-type]

    Encoder.forward_tokens = counted  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        Encoder.forward_tokens = original  # type: ignore[method-assign]


MATMUL = re.compile(r"aten::(mm|addmm|bmm|baddbmm|addmv|mv|_addmm_activation|linear)$|gemm|matmul")
ATTENTION = re.compile(r"scaled_?dot_?product|attention", re.IGNORECASE)
CATEGORIES = ("matmul", "attention", "elementwise/other", "optimiser")
SECTIONS = ("peaks", "encoder", "objectives", "profile", "data")


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (the profiler's C++ start/stop lines)."""
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def profile_shares(step: Callable[[int], None], device: torch.device) -> dict[str, float]:
    """Share of step time per category (see the module docstring), from two profiled steps."""
    step(0)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with _quiet_stderr(), profile(activities=acts) as prof:
        for i in range(2):
            step(i + 1)
        _sync(device)
    totals = dict.fromkeys(CATEGORIES, 0.0)
    for evt in prof.events():
        if device.type == "cuda":
            own = float(getattr(evt, "self_device_time_total", 0.0))
        else:
            own = float(evt.self_cpu_time_total)
        names, parent = [evt.name], evt.cpu_parent
        while parent is not None:
            names.append(parent.name)
            parent = parent.cpu_parent
        if any(n.startswith("Optimizer.") for n in names):
            totals["optimiser"] += own
        elif any(ATTENTION.search(n) for n in names):
            totals["attention"] += own
        elif MATMUL.search(evt.name):
            totals["matmul"] += own
        else:
            totals["elementwise/other"] += own
    whole = sum(totals.values()) or 1.0
    return {k: v / whole for k, v in totals.items()}


def _header(title: str) -> None:
    print(f"\n## {title}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--context", type=int, default=336)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--objectives", default=",".join(OBJECTIVES.names()))
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--compile", action="store_true", help="add compiled-block rows")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"any of {','.join(SECTIONS)}"
    )
    parser.add_argument("--data-steps", type=int, default=20)
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    device = torch.device(args.device)
    cfg = EncoderConfig(d_model=args.d_model, depth=args.depth)
    x = torch.randn(args.batch_size, 1, args.context, device=device)
    n_tokens = Encoder(cfg).num_tokens(args.context) + int(cfg.use_cls)
    cpu = " ".join(Path("/proc/cpuinfo").read_text().split("model name")[1].split("\n")[0]
                   .strip(": \t").split()) if Path("/proc/cpuinfo").exists() else "?"  # fmt: skip
    print(f"device {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else cpu}), "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}")  # fmt: skip
    print(f"config: patch tokenizer, d_model {args.d_model}, depth {args.depth}, context "
          f"{args.context} ({n_tokens} tokens incl. CLS), batch {args.batch_size}")  # fmt: skip

    if sections & {"peaks", "encoder", "objectives", "profile"}:
        compute(args, device, sections, cfg, x)
    if "data" in sections:
        data_path(args, device)


def compute(
    args: argparse.Namespace,
    device: torch.device,
    sections: set[str],
    cfg: EncoderConfig,
    x: torch.Tensor,
) -> None:
    """Peaks, THE encoder vs stock, objectives and the profile (the model-side sections)."""
    precisions = args.precisions.split(",")
    n_patches = Encoder(cfg).num_tokens(args.context)
    rows = args.batch_size * (n_patches + int(cfg.use_cls))  # matmul rows of a full pass
    _header("Matmul peaks (GFLOP/s)")
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    peak = {p: matmul_rate(device, 2048, 2048, 2048, dtypes[p]) for p in precisions}
    mlp = {p: matmul_rate(device, rows, cfg.d_model, cfg.mlp_hidden, dtypes[p]) for p in precisions}
    for p in precisions:
        print(f"{p:<5} 2048^3 {peak[p]:>8.1f}   MLP shape {rows}x{cfg.d_model}x{cfg.mlp_hidden} "
              f"{mlp[p]:>8.1f}")  # fmt: skip
    if len(precisions) > 1:
        print(f"bf16 / fp32: 2048^3 {peak['bf16'] / peak['fp32']:.2f}x, "
              f"MLP shape {mlp['bf16'] / mlp['fp32']:.2f}x")  # fmt: skip

    variants = [(p, False) for p in precisions] + (
        [(p, True) for p in precisions] if args.compile else []
    )

    def label(p: str, compiled: bool) -> str:
        return p + (" compiled" if compiled else "")

    _header("THE encoder vs stock nn.TransformerEncoder (samples/s, fwd + bwd + AdamW)")
    print(
        f"{'precision':<15} {'THE':>9} {'stock':>9} {'THE/stock':>10} {'GFLOP/s':>9} {'% peak':>7}"
    )
    from torch.utils.flop_counter import FlopCounterMode

    probe = Encoder(cfg).to(device)
    with FlopCounterMode(display=False) as counter:
        probe.tokens(x).square().mean().backward()
    enc_flops = float(counter.get_total_flops())
    enc_s: dict[str, float] = {}
    for p, compiled in variants:
        rates = {}
        for kind in ("THE", "stock"):
            torch.manual_seed(0)
            model = (Encoder(cfg) if kind == "THE" else StockEncoder(cfg)).to(device)
            if compiled:
                compile_blocks(model)
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

            def step(_: int, model=model, opt=opt, p=p) -> None:
                opt.zero_grad(set_to_none=True)
                with autocast(p, device):
                    loss = model.tokens(x).float().square().mean()
                loss.backward()
                opt.step()

            rates[kind] = seconds_per_step(step, args.steps, device)
        enc_s[label(p, compiled)] = rates["THE"]
        gflops = enc_flops / rates["THE"] / 1e9
        print(f"{label(p, compiled):<15} {args.batch_size / rates['THE']:>9.1f} "
              f"{args.batch_size / rates['stock']:>9.1f} {rates['stock'] / rates['THE']:>9.2f}x "
              f"{gflops:>9.1f} {100 * gflops / peak[p]:>6.1f}%")  # fmt: skip

    _header("Objectives (samples/s; cost per encoder pass = step / encoder step / passes)")
    names = args.objectives.split(",")
    print(f"{'objective':<10} {'passes':>7} " + " ".join(
        f"{label(p, c):>15} {'per pass':>9}" for p, c in variants))  # fmt: skip
    steps_of: dict[str, Callable[[int], None]] = {}
    for name in names:
        cells, passes = [], 0.0
        for p, compiled in variants:
            torch.manual_seed(0)
            obj = build_objective(name, Encoder(cfg)).to(device)
            if compiled:
                compile_blocks(obj)
            opt = torch.optim.AdamW([q for q in obj.parameters() if q.requires_grad], lr=1e-4)

            def obj_step(i: int, obj=obj, opt=opt, p=p) -> None:
                opt.zero_grad(set_to_none=True)
                with autocast(p, device):
                    loss = obj(_batch(x, i)).loss
                loss.float().backward()
                opt.step()
                obj.on_after_step(i + 1, 1000)

            if not passes:
                with count_encoder_tokens() as counts:
                    obj(_batch(x, 0)).loss.backward()
                passes = (counts["grad"] + counts["no_grad"] / 3) / (args.batch_size * n_patches)
            s = seconds_per_step(obj_step, args.steps, device)
            cells.append(
                f"{args.batch_size / s:>15.1f} {s / enc_s[label(p, compiled)] / passes:>8.2f}x"
            )
            if p == "fp32" and not compiled:
                steps_of[name] = obj_step
        print(f"{name:<10} {passes:>7.2f} " + " ".join(cells))

    if "profile" in sections and "fp32" in precisions:
        _header("Where an fp32 step goes (share of profiled self time)")
        print(f"{'step':<10} " + " ".join(f"{c:>18}" for c in CATEGORIES))
        torch.manual_seed(0)
        enc = Encoder(cfg).to(device)
        enc_opt = torch.optim.AdamW(enc.parameters(), lr=1e-4)

        def enc_step(_: int) -> None:
            enc_opt.zero_grad(set_to_none=True)
            enc.tokens(x).square().mean().backward()
            enc_opt.step()

        for name, fn in [("encoder", enc_step), *steps_of.items()]:
            shares = profile_shares(fn, device)
            print(f"{name:<10} " + " ".join(f"{100 * shares[c]:>17.1f}%" for c in CATEGORIES))


def data_path(args: argparse.Namespace, device: torch.device) -> None:
    """Short ``train()`` runs of the default objective over each data path."""
    _header(f"Data path (tsdividend.train.train, default objective, {args.data_steps} steps)")
    base = TrainConfig(
        encoder=EncoderConfig(d_model=args.d_model, depth=args.depth),
        steps=args.data_steps,
        batch_size=args.batch_size,
        device=device.type,
        precision="fp32",
        diag_every=0,
        checkpoint_every=10**9,
    )
    n = (args.data_steps + 1) * args.batch_size
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        write_shards("kernelsynth", n, args.context, Path(tmp) / "corpus", seed=0,
                     workers=2, shard_size=512, progress=False)  # fmt: skip
        wrote = time.perf_counter() - t
        paths = {
            "default settings": DataConfig(context=args.context),
            "on the fly, --workers 0": DataConfig(context=args.context, workers=0),
            "on the fly, --workers 1": DataConfig(context=args.context, workers=1),
            "synth shards, --workers 0": DataConfig(
                context=args.context, synth_path=str(Path(tmp) / "corpus"), workers=0
            ),
        }
        print(f"(writing the {n}-series shard corpus with 2 processes took {wrote:.1f} s, "
              f"{1e3 * wrote / n:.2f} ms a series; written once, read by every run)")  # fmt: skip
        print(f"{'data path':<28} {'samples/s':>10} {'data share':>11}")
        for i, (what, data) in enumerate(paths.items()):
            # a seed per row: no row reads series an earlier row generated (process cache)
            seed = 0 if data.synth_path else 100 + i
            cfg = TrainConfig(**{**base.__dict__, "data": data, "seed": seed})
            res = train(cfg, Path(tmp) / f"run{i}", progress=False)
            print(f"{what:<28} {res.samples_per_s:>10.1f} {100 * res.data_share:>10.1f}%")


if __name__ == "__main__":
    main()
