"""Probe selection under different training-row orders: the old single split vs k-fold CV.

For each dataset, a random-init quick-size encoder (patch 16, d_model 64, depth 2, 4 heads, as
``study/presets/quick.toml``) embeds every series once. The training rows are then given in
``--orders`` different orders (order 0 = the file's; the others seeded permutations of the same
rows) and probed by:

* ``old``: the selection this project used before issue 9: C chosen on ONE stratified 20%
  validation split of train (``tasks.base.stratified_split``, which draws validation rows by
  position, so the split depends on the row order), refit on all of train;
* ``kfold``: :func:`tsdividend.tasks.probe.fit_probe` (canonical row order, stratified
  ``min(5, smallest class)``-fold CV on train), logistic;
* ``kfold-rR``: the same with the folds drawn ``--repeats`` R times (``repeats=R``);
* ``ts2vec``: the same with ``classifier="ts2vec"`` (TS2Vec's SVM protocol).

Prints the test accuracy and chosen C per order, and the spread (max - min) over orders. Then
the same with the file's row order and ``--orders`` different SELECTION seeds (which rows go to
the validation split / which fold): k-fold CV is order-invariant by construction, and this second
table shows how much its choice still depends on the fold draw. The test split is only ever
scored; nothing here is chosen by it.

Usage: ``python bench/probe_selection.py [--data-dir ../shared/data]
[--datasets ucr/GunPoint,ucr/CBF,ucr/ECG200] [--orders 3] [--repeats 5] [--seed 0]
[--threads 1]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV, PredefinedSplit

from tsdividend.data import load_dataset
from tsdividend.encoder import EncoderConfig
from tsdividend.tasks.base import EncoderUnderTest, stratified_split
from tsdividend.tasks.probe_fit import C_GRID, fit_probe, make_classifier, quiet_fit

QUICK = EncoderConfig(patch_len=16, stride=16, d_model=64, depth=2, n_heads=4)


def old_probe(
    Z: np.ndarray, y: np.ndarray, Z_test: np.ndarray, seed: int
) -> tuple[np.ndarray, float]:
    """The pre-issue-9 selection: C by accuracy on one stratified 20% split, refit on all."""
    fit_idx, val_idx = stratified_split(y, 0.2, seed)
    fold = np.full(y.size, -1)
    fold[val_idx] = 0
    search = GridSearchCV(make_classifier("logistic", 1.0), {"clf__C": list(C_GRID)},
                          scoring="accuracy", cv=PredefinedSplit(fold), refit=True)  # fmt: skip
    quiet_fit(search, Z, y)
    return search.predict(Z_test), float(search.best_params_["clf__C"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--datasets", default="ucr/GunPoint,ucr/CBF,ucr/ECG200")
    parser.add_argument("--orders", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5, help="fold draws of kfold-rR")
    parser.add_argument("--seed", type=int, default=0, help="encoder init and selection seed")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    encoder = EncoderUnderTest("random", QUICK)
    print(f"random quick-size encoder {QUICK}, seed {args.seed}, {args.orders} row orders")
    print(f"{'dataset':18s} {'varied':8s} {'method':8s} {'accuracy per variant':>20s} "
          f"{'spread':>7s} {'mean':>6s}  C per variant")  # fmt: skip
    summary: dict[str, list[float]] = {}
    for name in args.datasets.split(","):
        ds = load_dataset(name, args.data_dir)
        Z = encoder.embedder(args.seed, device="cpu").embed(ds.X, ds.mask)
        tr, te = ds.splits["train"], ds.splits["test"]
        start = time.perf_counter()
        for axis in ("order", "sel-seed"):
            methods = {"kfold": ("logistic", 1), "ts2vec": ("ts2vec", 1),
                       f"kfold-r{args.repeats}": ("logistic", args.repeats)}  # fmt: skip
            results: dict[str, list[tuple[float, float]]] = {"old": []}
            results.update({m: [] for m in methods})
            for v in range(args.orders):
                rng = np.random.default_rng([args.seed, v])
                perm = rng.permutation(tr.size) if axis == "order" and v else np.arange(tr.size)
                sel = args.seed + v if axis == "sel-seed" else args.seed
                Z_tr, y_tr = Z[tr][perm], ds.y[tr][perm]
                pred, C = old_probe(Z_tr, y_tr, Z[te], sel)
                results["old"].append((float(np.mean(pred == ds.y[te])), C))
                for method, (kind, repeats) in methods.items():
                    fit = fit_probe(Z_tr, y_tr, Z[te], classifier=kind, repeats=repeats, seed=sel)
                    results[method].append((float(np.mean(fit.pred == ds.y[te])), fit.C))
            for method, res in results.items():
                acc = [a for a, _ in res]
                summary.setdefault(f"{method} by {axis}", []).append(max(acc) - min(acc))
                summary.setdefault(f"{method} mean", []).append(float(np.mean(acc)))
                print(f"{name:18s} {axis:8s} {method:8s} {' '.join(f'{a:.3f}' for a in acc):>20s} "
                      f"{max(acc) - min(acc):7.3f} {np.mean(acc):6.3f}  "
                      f"{' '.join(f'{c:g}' for _, c in res)}")  # fmt: skip
        print(f"{'':18s} ({time.perf_counter() - start:.1f} s for {tr.size} train / {te.size} "
              f"test series)")  # fmt: skip
    print("mean over datasets of the spread (max - min accuracy) / of the mean accuracy:")
    for key, vals in summary.items():
        print(f"  {key:20s} {np.mean(vals):.3f}")


if __name__ == "__main__":
    main()
