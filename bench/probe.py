"""Wall time of probing one frozen encoder on every classification dataset of a data root.

For each encoder size (tiny: d_model 32, depth 2; default: ``EncoderConfig()``, 128 x 8) and each
``ucr/*`` / ``uea/*`` dataset present under the data root, a random-init encoder is evaluated by
``evaluate_classification`` (regime "probe", logistic regression, C by k-fold CV on train). Prints
per dataset: series count and length, the embedding pass (once per (encoder, dataset)), the probe
(selection + refit + test), the few-shot rows (k = 1, 5, 10 x ``--draws``) when ``--few-shot`` is
given, and the test accuracy; then the totals. The ratio column compares the probe with the
embedding pass measured in the same run (the probe should cost a fraction of it).

Usage: ``python bench/probe.py [--data-dir ../shared/data] [--sizes tiny,default]
[--device auto] [--few-shot] [--draws 10] [--threads N]``
"""

from __future__ import annotations

import argparse
import time

import torch

from tsdividend.data import list_datasets, load_dataset
from tsdividend.encoder import EncoderConfig
from tsdividend.tasks.base import EncoderUnderTest
from tsdividend.tasks.classification import ClassificationConfig, evaluate_classification
from tsdividend.tasks.probe import EmbeddingCache

SIZES = {
    "tiny": EncoderConfig(d_model=32, depth=2, n_heads=4, dropout=0.0),
    "default": EncoderConfig(),
}


def classification_names(data_dir: str) -> list[str]:
    """Classification datasets whose files are in ``data_dir`` (not aeon's bundled copies)."""
    return [d["name"] for d in list_datasets(data_dir)
            if d["task"] == "classification" and d["available"]
            and d["source"] != "aeon-bundled"]  # fmt: skip


def bench_size(size: str, names: list[str], args: argparse.Namespace) -> None:
    encoder = EncoderUnderTest("random", SIZES[size])
    cfg = ClassificationConfig(shots=(1, 5, 10) if args.few_shot else (), draws=args.draws)
    print(f"\n== {size} encoder ({sum(p.numel() for p in encoder.build(0).parameters()):,} "
          f"parameters), device {args.device} ==")  # fmt: skip
    print(f"{'dataset':28s} {'N':>6s} {'C':>3s} {'T':>5s} {'embed s':>8s} {'probe s':>8s} "
          f"{'few-shot s':>10s} {'probe/embed':>11s} {'acc':>6s}")  # fmt: skip
    totals = [0.0, 0.0, 0.0]
    for name in names:
        ds = load_dataset(name, args.data_dir)
        cache = EmbeddingCache()
        start = time.perf_counter()
        rows = evaluate_classification(encoder, ds, cfg, 0, device=args.device, cache=cache)
        total = time.perf_counter() - start
        embed = rows[0].extra["embed_seconds"]
        probe = rows[0].wall_seconds - embed
        few = total - rows[0].wall_seconds
        totals = [totals[0] + embed, totals[1] + probe, totals[2] + few]
        print(f"{name:28s} {len(ds):6d} {ds.n_channels:3d} {ds.length:5d} {embed:8.2f} "
              f"{probe:8.2f} {few:10.2f} {probe / embed:11.2f} {rows[0].value:6.3f}")  # fmt: skip
    print(f"{'TOTAL (' + str(len(names)) + ' datasets)':28s} {'':16s} {totals[0]:8.2f} "
          f"{totals[1]:8.2f} {totals[2]:10.2f} {totals[1] / totals[0]:11.2f}   "
          f"all: {sum(totals):.1f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--sizes", default="tiny,default")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--few-shot", action="store_true")
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = classification_names(args.data_dir)
    if not names:
        raise SystemExit(f"no ucr/ or uea/ datasets found under {args.data_dir!r}")
    for size in args.sizes.split(","):
        if size not in SIZES:
            raise SystemExit(f"size {size!r} unknown; valid: {list(SIZES)}")
        bench_size(size, names, args)


if __name__ == "__main__":
    main()
