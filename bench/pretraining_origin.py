"""Does pretraining on real data train? Synthetic vs real corpus at one budget, and every objective.

Issue 9 measured MAE (default encoder: patch, d_model 128, depth 8; 1,500 steps x 128) on the real
corpus (every available train split) at a loss median of 12.6 (max 175) and a probe accuracy
below the random encoder's. This script repeats that comparison after the fix (degenerate
windows filtered from the real corpus, reconstruction targets with a floored std):

* :func:`mae_synthetic_vs_real`: MAE pretrained on synthetic (KernelSynth) and on real windows at
  the same budget; prints the loss median / maximum / median of the last 20 logs of each run and
  the linear-probe accuracy (``evaluate_classification``, regime "probe") of both encoders and of
  the random encoder of the same architecture on the development UCR sets available.
* :func:`objectives_on_real`: every objective at the quick preset's budget (patch 16, d_model 64,
  depth 2, 4 heads, 300 steps x 64, context 128, the preset's objective options) on the real
  corpus, probed on a fixed list of development UCR sets against the random encoder.

Usage: ``python bench/pretraining_origin.py --data-dir ../shared/data [--steps 1500]
[--batch-size 128] [--objectives] [--out DIR]``. Heavy: on a shared machine run it when nothing
else is (its numbers are accuracies and losses, but its seconds are then comparable).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tsdividend.data import list_datasets, load_dataset
from tsdividend.encoder import EncoderConfig
from tsdividend.tasks.base import EncoderUnderTest
from tsdividend.tasks.classification import ClassificationConfig, evaluate_classification
from tsdividend.train.sources import DataConfig
from tsdividend.train.trainer import TrainConfig, train

OBJECTIVES = ("ntp", "mae", "diffusion", "jepa", "lejepa", "dino", "byol", "hybrid")
# Fixed before any run: small development UCR sets of different kinds (motion, power, outlines,
# ECG, simulated), each probed in seconds by a small encoder.
QUICK_UCR = (
    "ucr/GunPoint", "ucr/ItalyPowerDemand", "ucr/ArrowHead", "ucr/ECG200", "ucr/Trace",
    "ucr/CBF", "ucr/Coffee", "ucr/SyntheticControl",
)  # fmt: skip


def ucr_names(data_dir: str | None) -> list[str]:
    """Every ``ucr/*`` classification set whose files are in ``data_dir``."""
    return [d["name"] for d in list_datasets(data_dir)
            if d["task"] == "classification" and d["available"]
            and d["name"].startswith("ucr/") and d["source"] != "aeon-bundled"]  # fmt: skip


def loss_stats(folder: Path) -> dict[str, float]:
    """Median, maximum and median of the last 20 logged losses of a run's ``metrics.jsonl``."""
    rows = [json.loads(s) for s in (folder / "metrics.jsonl").read_text().splitlines() if s]
    losses = [float(r["loss"]) for r in rows]
    return {"median": statistics.median(losses), "max": max(losses),
            "last20": statistics.median(losses[-20:]), "logs": len(losses)}  # fmt: skip


def probe_accuracies(
    encoder: EncoderUnderTest, names: Sequence[str], data_dir: str | None, seed: int = 0
) -> dict[str, float]:
    """Test accuracy of the linear probe (C chosen on the training split) per dataset."""
    cfg = ClassificationConfig(shots=())
    out = {}
    for name in names:
        rows = evaluate_classification(encoder, load_dataset(name, data_dir), cfg, seed,
                                       device="cpu")  # fmt: skip
        out[name] = next(r.value for r in rows if r.metric == "accuracy")
    return out


def pretrain(cfg: TrainConfig, out: Path) -> dict[str, Any]:
    """Train ``cfg`` into ``out`` and summarise it: loss statistics, seconds, corpus counts."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. NAB's constant art_flatline (filtered anyway)
        train(cfg, out, progress=False)
    meta = json.loads((out / "encoder.json").read_text())
    corpus = meta.get("corpus", {}).get("real", {})
    return {**loss_stats(out), "seconds": time.perf_counter() - start,
            "corpus_counts": corpus.get("counts"), "folder": str(out)}  # fmt: skip


def target_audit(
    data_dir: str | None, context: int = 336, n: int = 8000, *, filter_windows: bool = False,
    seed: int = 0, top: int = 10,
) -> dict[str, Any]:  # fmt: skip
    """Which real windows give huge MAE losses? Per archive, the per-window MSE of predicting 0
    (the normalised mean, i.e. an untrained head) on the masked values, with visible-only
    statistics (the old targets) and with the floored std (the fix), for ``n`` drawn windows.

    Returns:
        ``{"families": {archive: {"share", "constant", "flat", "visible": {median, p99, max},
        "floored": {...}}}, "top": [worst windows: dataset, channel, losses, flat share]}``.
    """
    import numpy as np
    import torch

    from tsdividend.data.sampler import WindowFilter, WindowSampler
    from tsdividend.losses.reconstruction import floored_stats
    from tsdividend.objectives.mae import hidden_steps, random_patch_mask
    from tsdividend.tokenizer import instance_stats, unfold_windows
    from tsdividend.train.sources import family, real_corpus

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corpus = real_corpus((), data_dir)
    sampler = WindowSampler(corpus, context, window_filter=WindowFilter() if filter_windows
                            else None)  # fmt: skip
    pick = np.random.default_rng(seed).integers(0, sampler.n_windows, n)
    cand = sampler._cand[pick]  # noqa: SLF001 - the bench names each window's origin
    X, M = sampler.sample(n, np.random.default_rng(seed))  # the same draw as ``pick``
    x, m = torch.from_numpy(X), torch.from_numpy(M)
    _, observed = unfold_windows(x, m, 16, 16)
    padding = ~observed.reshape(n, -1, 16).any(-1)
    masked = random_patch_mask(padding, 0.4, torch.Generator().manual_seed(seed))
    seen = m & ~hidden_steps(masked, context, 16, 16).reshape(n, 1, context)
    w = (m & ~seen)[:, 0]

    def zero_loss(stats: Any) -> np.ndarray:
        t = torch.where(m, stats.normalize(x), 0.0)[:, 0]
        return ((t.square() * w).sum(1) / w.sum(1).clamp_min(1)).numpy()

    old, new = zero_loss(instance_stats(x, seen)), zero_loss(floored_stats(x, seen, m))
    xv, ov = X[:, 0], M[:, 0]
    pairs = ov[:, 1:] & ov[:, :-1]
    flat = (pairs & (xv[:, 1:] == xv[:, :-1])).sum(1) / np.maximum(pairs.sum(1), 1)
    const = np.where(ov, xv, -np.inf).max(1) == np.where(ov, xv, np.inf).min(1)
    names = [str(c["name"]) for c in sampler.counts()]
    fams = np.array([family(names[d]) for d in cand[:, 0]])

    def q(v: np.ndarray) -> dict[str, float]:
        return {"median": float(np.median(v)), "p99": float(np.quantile(v, 0.99)),
                "max": float(v.max())}  # fmt: skip

    out: dict[str, Any] = {"families": {}, "top": []}
    for f in sorted(set(fams)):
        i = fams == f
        out["families"][f] = {"share": float(i.mean()), "constant": float(const[i].mean()),
                              "flat": float((flat[i] >= 0.9).mean()), "visible": q(old[i]),
                              "floored": q(new[i])}  # fmt: skip
    for k in np.argsort(-old)[:top]:
        out["top"].append({"dataset": names[cand[k, 0]],
                           "channel": int(cand[k, 2]), "visible": float(old[k]),
                           "floored": float(new[k]), "flat": float(flat[k])})  # fmt: skip
    return out


def _mean(values: dict[str, float]) -> float:
    return sum(values.values()) / max(len(values), 1)


def probed(
    encoder: EncoderUnderTest, run: dict[str, Any], names: Sequence[str], data_dir: str | None,
    seed: int,
) -> dict[str, Any]:  # fmt: skip
    """``run`` plus the encoder's ``probe`` accuracies (dataset -> accuracy) and ``probe_mean``."""
    probe = probe_accuracies(encoder, names, data_dir, seed)
    return {**run, "probe": probe, "probe_mean": _mean(probe)}


def pretrain_and_probe(
    cfg: TrainConfig, out: Path, names: Sequence[str], data_dir: str | None, seed: int
) -> dict[str, Any]:
    """:func:`pretrain` ``cfg`` into ``out``, then probe its downstream encoder (:func:`probed`)."""
    run = pretrain(cfg, out)
    return probed(EncoderUnderTest.from_arg(str(out)), run, names, data_dir, seed)


def mae_synthetic_vs_real(
    data_dir: str | None, steps: int = 1500, batch_size: int = 128, *,
    encoder: EncoderConfig | None = None, context: int = 336, datasets: Sequence[str] = (),
    out: str | Path | None = None, seed: int = 0, filter_windows: bool = True,
    objective_options: dict[str, Any] | None = None, log_every: int = 10,
) -> dict[str, Any]:  # fmt: skip
    """Pretrain MAE on synthetic and on real windows at one budget; probe both and the random
    encoder on the development UCR sets.

    Args:
        data_dir: the data root (its available train splits form the real corpus).
        steps, batch_size: the budget of both runs.
        encoder: the architecture (default: ``EncoderConfig()``, patch, d_model 128, depth 8).
        context: window length.
        datasets: UCR sets to probe (default: every ``ucr/*`` set in ``data_dir``).
        out: folder for the two runs (default: a temporary folder, deleted).
        seed: run and probe seed.
        filter_windows: filter degenerate real windows (False reproduces the unfiltered corpus).
        objective_options: MAE options (e.g. ``{"target_floor": False}`` for the old targets).
        log_every: steps between logged losses (the statistics are over the logs).

    Returns:
        ``{"synthetic": {...}, "real": {...}, "random": {...}}``: loss ``median``/``max``/
        ``last20`` and ``seconds`` of each run, and per encoder ``probe`` (dataset -> accuracy)
        and ``probe_mean``.
    """
    encoder = encoder or EncoderConfig()
    names = list(datasets) or ucr_names(data_dir)
    tmp = None if out is not None else tempfile.TemporaryDirectory(prefix="tsd-origin-")
    root = Path(out if out is not None else tmp.name)  # type: ignore[union-attr]
    base = TrainConfig(objective="mae", objective_options=dict(objective_options or {}),
                       encoder=encoder, steps=steps, batch_size=batch_size, seed=seed,
                       checkpoint_every=steps, log_every=log_every, diag_every=0)  # fmt: skip
    result: dict[str, Any] = {}
    try:
        for source in ("synthetic", "real"):
            data = DataConfig(source=source, context=context, filter_windows=filter_windows,
                              data_dir=None if source == "synthetic" else data_dir)  # fmt: skip
            result[source] = pretrain_and_probe(replace(base, data=data), root / source, names,
                                                data_dir, seed)  # fmt: skip
        result["random"] = probed(EncoderUnderTest("random", encoder), {}, names, data_dir, seed)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return result


def objectives_on_real(
    data_dir: str | None, objectives: Sequence[str] = OBJECTIVES, *,
    datasets: Sequence[str] = QUICK_UCR, source: str = "real", out: str | Path | None = None,
    seed: int = 0, filter_windows: bool = True, options: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Every objective at the quick preset's budget on ``source`` data, probed against random.

    ``filter_windows`` False and ``options`` (objective -> extra options, e.g.
    ``{"mae": {"target_floor": False}}``) reproduce the state before the fix.

    Returns:
        ``{objective: {"median", "max", "last20", "seconds", "probe", "probe_mean"},
        "random": {"probe", "probe_mean"}}``.
    """
    from tsdividend.study.spec import load_spec

    spec = load_spec("quick")
    names = [n for n in datasets if n in set(ucr_names(data_dir))]
    tmp = None if out is not None else tempfile.TemporaryDirectory(prefix="tsd-origin-")
    root = Path(out if out is not None else tmp.name)  # type: ignore[union-attr]
    result: dict[str, Any] = {}
    try:
        for obj in objectives:
            cfg = spec.train_config(obj, "patch", 2, source, 0, seed, data_dir)
            cfg = replace(cfg, device="cpu", data=replace(cfg.data, filter_windows=filter_windows),
                          objective_options={**cfg.objective_options,
                                             **(options or {}).get(obj, {})})  # fmt: skip
            run = result[obj] = pretrain_and_probe(cfg, root / obj, names, data_dir, seed)
            print(f"  {obj:10s} loss median {run['median']:.3g} max {run['max']:.3g} last20 "
                  f"{run['last20']:.3g}  probe {run['probe_mean']:.3f}  "
                  f"({run['seconds']:.0f} s)", flush=True)  # fmt: skip
        rand = EncoderUnderTest("random", spec.encoder_config("patch", 2))
        result["random"] = probed(rand, {}, names, data_dir, seed)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return result


def print_comparison(result: dict[str, Any]) -> None:
    """The synthetic vs real table of :func:`mae_synthetic_vs_real`."""
    print(f"{'MAE corpus':12s} {'loss median':>11s} {'max':>9s} {'last 20':>9s} "
          f"{'seconds':>8s} {'probe mean':>10s}")  # fmt: skip
    for source in ("synthetic", "real"):
        r = result[source]
        print(f"{source:12s} {r['median']:11.3g} {r['max']:9.3g} {r['last20']:9.3g} "
              f"{r['seconds']:8.0f} {r['probe_mean']:10.3f}")  # fmt: skip
    print(f"{'random':12s} {'':40s} {result['random']['probe_mean']:10.3f}")
    names = list(result["random"]["probe"])
    print(f"probe on {len(names)} UCR sets; per dataset (synthetic / real / random):")
    for n in names:
        print(f"  {n:28s} {result['synthetic']['probe'][n]:.3f} {result['real']['probe'][n]:.3f} "
              f"{result['random']['probe'][n]:.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--context", type=int, default=336)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--datasets", default="", help="comma-separated UCR sets to probe")
    parser.add_argument("--no-filter", action="store_true", help="the unfiltered real corpus")
    parser.add_argument("--no-floor", action="store_true", help="MAE's unfloored targets")
    parser.add_argument(
        "--objectives",
        action="store_true",
        help="also every objective at the quick preset's budget on real data",
    )
    parser.add_argument("--out", default=None, help="keep the runs here (default: temporary)")
    parser.add_argument("--json", default=None, help="write all numbers to this JSON file")
    parser.add_argument(
        "--audit",
        action="store_true",
        help="also the per-window MAE target audit of the unfiltered corpus",
    )
    args = parser.parse_args()
    enc = replace(EncoderConfig(), d_model=args.d_model, depth=args.depth)
    names = [n for n in args.datasets.split(",") if n]
    out = Path(args.out) if args.out else None
    result: dict[str, Any] = {"mae": mae_synthetic_vs_real(
        args.data_dir, args.steps, args.batch_size, encoder=enc, context=args.context,
        datasets=names, out=out / "mae" if out else None, filter_windows=not args.no_filter,
        objective_options={"target_floor": False} if args.no_floor else None)}  # fmt: skip
    print(f"MAE, encoder d_model {enc.d_model} depth {enc.depth}, {args.steps} steps x "
          f"{args.batch_size}, context {args.context}")  # fmt: skip
    print_comparison(result["mae"])
    if args.objectives:
        print("every objective, quick preset budget, real corpus:")
        result["objectives"] = objectives_on_real(
            args.data_dir, out=out / "objectives" if out else None
        )
        print(f"  {'random':10s} probe {result['objectives']['random']['probe_mean']:.3f}")
    if args.audit:
        result["audit"] = audit = target_audit(args.data_dir, args.context)
        print("per-window MSE of an untrained MAE head (predicting 0) on the unfiltered corpus:")
        print(f"  {'archive':12s} {'share':>6s} {'const':>6s} {'flat':>6s} {'visible med':>11s} "
              f"{'p99':>9s} {'max':>9s} {'floored max':>11s}")  # fmt: skip
        for f, r in audit["families"].items():
            v = r["visible"]
            print(f"  {f:12s} {r['share']:6.3f} {r['constant']:6.3f} {r['flat']:6.3f} "
                  f"{v['median']:11.3g} {v['p99']:9.3g} {v['max']:9.3g} "
                  f"{r['floored']['max']:11.3g}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
