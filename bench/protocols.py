"""Do the evaluation protocols give numbers a reviewer would accept? (issue 9, "How it is checked")

Sections (``main`` runs them in order; each is a function of the parsed arguments, so more can
be added):

* :func:`section_finetune`: on the development UCR sets of the data root, for one encoder
  architecture (default: the quick preset's, patch 16, d_model 64, depth 2, 4 heads; ``--encoder
  default`` for the 128 x 8 one), per dataset and as means: the frozen random-encoder probe, the
  scratch fine-tune without LP (a random head), the scratch LP-FT (the study's fine-tune: head
  first fitted on the frozen random encoder), MiniRocket; the selected step of each fine-tune and
  whether it converged (selected step < budget). Then the issue's targets: scratch fine-tune
  mean >= random probe mean, and no dataset more than 0.05 below its random probe.
* :func:`section_origin`: MAE pretrained on synthetic and on real windows at the same budget
  (``--origin-steps`` x ``--origin-batch``, the encoder above, context 336): loss median / max /
  median of the last 20 logs of each run, and the probe mean accuracy of both encoders and of the
  random encoder on the same UCR sets (``bench/pretraining_origin.py``; ``--origin-steps 0``
  skips it).

Every number comes from the library's own protocols (``evaluate_classification`` with the default
``ClassificationConfig`` budget unless ``--steps`` etc. override it; ``run_baseline``): every
choice on TRAIN only (k-fold), test read once. Skips cleanly (exit 0, one line) when the data
root is missing.

Usage: ``python bench/protocols.py [--data-dir ../shared/data] [--encoder quick|default]
[--datasets ucr/GunPoint,...] [--max-datasets N] [--seed 0] [--threads 1] [--steps N
--patience N --eval-every N --warmup N] [--origin-steps 1500 --origin-batch 128]``.
``--max-datasets N`` keeps the N sets with the smallest (training series x length), a rule that
does not look at any score.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

from tsdividend.data import list_datasets, load_dataset
from tsdividend.encoder import EncoderConfig
from tsdividend.tasks.base import EncoderUnderTest
from tsdividend.tasks.baselines import run_baseline
from tsdividend.tasks.classification import ClassificationConfig, evaluate_classification

ENCODERS = {
    "quick": EncoderConfig(d_model=64, depth=2, n_heads=4, patch_len=16, stride=16),
    "default": EncoderConfig(),
}


def ucr_names(data_dir: str, limit: int | None) -> list[str]:
    """UCR sets with files under ``data_dir``, the ``limit`` smallest by train size x length."""
    names = [d["name"] for d in list_datasets(data_dir)
             if d["task"] == "classification" and d["available"]
             and d["source"] != "aeon-bundled" and d["name"].startswith("ucr/")]  # fmt: skip
    if limit is None:
        return sorted(names)
    sizes = []
    for name in names:
        ds = load_dataset(name, data_dir)
        sizes.append((ds.splits["train"].size * ds.length, name))
    return [name for _, name in sorted(sizes)[:limit]]


def finetune_config(args: argparse.Namespace, lp: bool) -> ClassificationConfig:
    """The default fine-tune settings, with the budget fields given on the command line."""
    cfg = ClassificationConfig(regime="finetune", shots=(), lp=lp)
    changes = {k: getattr(args, k) for k in ("steps", "patience", "eval_every", "warmup")
               if getattr(args, k) is not None}  # fmt: skip
    return dataclasses.replace(cfg, **changes)


def section_finetune(args: argparse.Namespace) -> None:
    """Random probe vs scratch fine-tune (plain, LP-FT) vs MiniRocket on the development sets."""
    names = (
        args.datasets.split(",") if args.datasets else ucr_names(args.data_dir, args.max_datasets)
    )
    enc_cfg = ENCODERS[args.encoder]
    plain, lpft = finetune_config(args, False), finetune_config(args, True)
    print(f"\n## Fine-tune vs probe ({args.encoder} encoder: d_model {enc_cfg.d_model}, depth "
          f"{enc_cfg.depth}, {enc_cfg.n_heads} heads, patch {enc_cfg.patch_len}; seed {args.seed};"
          f" budget {lpft.steps} steps, warm-up {lpft.warmup}, eval every {lpft.eval_every}, "
          f"patience {lpft.patience}, batch {lpft.batch_size}, lr {lpft.lr}, folds <= "
          f"{lpft.folds})\n")  # fmt: skip
    print(
        "| dataset | random probe | scratch FT | scratch LP-FT | MiniRocket | best step FT / "
        "LP-FT | converged | seconds |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    table = []
    for name in names:
        ds = load_dataset(name, args.data_dir)
        start = time.perf_counter()
        probe = evaluate_classification(EncoderUnderTest("random", enc_cfg), ds,
                                        ClassificationConfig(shots=()), args.seed,
                                        device=args.device)[0]  # fmt: skip
        ft = [evaluate_classification(EncoderUnderTest("scratch", enc_cfg), ds, cfg, args.seed,
                                      device=args.device)[0] for cfg in (plain, lpft)]  # fmt: skip
        mr = run_baseline("minirocket", "classification", ds, args.seed)
        mr_acc = next(r.value for r in mr if r.metric == "accuracy")
        conv = [bool(r.extra["converged"]) for r in ft]
        table.append((probe.value, ft[0].value, ft[1].value, mr_acc, *conv))
        steps = " / ".join(str(r.extra["best_step"]) for r in ft)
        print(f"| {name} | {probe.value:.3f} | {ft[0].value:.3f} | {ft[1].value:.3f} | "
              f"{mr_acc:.3f} | {steps} | {sum(conv)}/2 | {time.perf_counter() - start:.0f} |",
              flush=True)  # fmt: skip
    if not table:
        print("no dataset")
        return
    arr = np.asarray(table, np.float64)
    mean = arr.mean(axis=0)
    print(f"| **mean of {len(table)}** | {mean[0]:.3f} | {mean[1]:.3f} | {mean[2]:.3f} | "
          f"{mean[3]:.3f} | | {arr[:, 4:].mean():.0%} | |")  # fmt: skip
    for col, label in ((1, "scratch FT (plain)"), (2, "scratch LP-FT (the study's fine-tune)")):
        worst = float((arr[:, col] - arr[:, 0]).min())
        ok = mean[col] >= mean[0] and worst >= -0.05
        print(f"\n{label}: mean {mean[col]:.3f} vs random probe {mean[0]:.3f}; worst dataset "
              f"{worst:+.3f} vs its probe -> target {'MET' if ok else 'NOT met'}")  # fmt: skip
    print(f"converged fine-tune rows: {int(arr[:, 4:].sum())}/{arr[:, 4:].size}")


def section_origin(args: argparse.Namespace) -> None:
    """MAE on synthetic vs real data at one budget: losses and probe accuracy (module docstring)."""
    if args.origin_steps <= 0:
        return
    from pretraining_origin import mae_synthetic_vs_real, print_comparison

    names = (
        args.datasets.split(",") if args.datasets else ucr_names(args.data_dir, args.max_datasets)
    )
    print(
        f"\n## MAE: synthetic vs real pretraining ({args.encoder} encoder, "
        f"{args.origin_steps} steps x {args.origin_batch}, context 336)\n",
        flush=True,
    )
    result = mae_synthetic_vs_real(args.data_dir, args.origin_steps, args.origin_batch,
                                   encoder=ENCODERS[args.encoder], datasets=names,
                                   seed=args.seed)  # fmt: skip
    print_comparison(result)


SECTIONS = [section_finetune, section_origin]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--encoder", choices=sorted(ENCODERS), default="quick")
    parser.add_argument("--datasets", default=None, help="comma-separated names (default: all)")
    parser.add_argument("--max-datasets", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--origin-steps", type=int, default=1500, help="0 skips the MAE section")
    parser.add_argument("--origin-batch", type=int, default=128)
    for name in ("steps", "patience", "eval-every", "warmup"):
        parser.add_argument(f"--{name}", type=int, default=None)
    args = parser.parse_args(argv)
    if not Path(args.data_dir).is_dir():
        print(f"skipped: data root {args.data_dir} not found (pass --data-dir)")
        return 0
    torch.set_num_threads(args.threads)  # one thread: the box is shared (see bench/probe.py)
    for section in SECTIONS:
        section(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
