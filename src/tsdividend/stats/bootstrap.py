"""Hierarchical bootstrap over (dataset, seed) for a mean over datasets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def hierarchical_bootstrap(
    values: Mapping[str, Sequence[float]],
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean over datasets of the per-dataset mean over seeds, with a percentile bootstrap CI.

    Each replicate resamples the datasets with replacement and, within each drawn dataset, its
    seeds with replacement, so both sources of variation (which datasets, which seeds) widen the
    interval.

    Args:
        values: dataset -> values over seeds (at least one each).
        n_boot: bootstrap replicates.
        level: confidence level of the interval.
        seed: seed of the resampling.

    Returns:
        (mean, low, high); with a single dataset and a single seed low == high == mean.
    """
    if not values:
        raise ValueError("hierarchical_bootstrap needs at least one dataset")
    groups = [np.asarray(v, np.float64) for v in values.values()]
    if any(g.size == 0 for g in groups):
        raise ValueError("every dataset needs at least one value")
    mean = float(np.mean([g.mean() for g in groups]))
    rng = np.random.default_rng([seed, 2024])
    k = len(groups)
    sizes = np.array([g.size for g in groups])
    padded = np.zeros((k, sizes.max()))
    for i, g in enumerate(groups):
        padded[i, : g.size] = g
    # Vectorised over replicates: (n_boot, k) dataset draws, then for each drawn slot its own
    # resample of that dataset's seeds (positions beyond the dataset's seed count are unused).
    picks = rng.integers(0, k, size=(n_boot, k))
    n_seeds = sizes[picks]  # (n_boot, k)
    draws = (rng.random((n_boot, k, sizes.max())) * n_seeds[..., None]).astype(np.int64)
    vals = padded[picks[..., None], draws]  # (n_boot, k, S)
    used = np.arange(sizes.max()) < n_seeds[..., None]
    slot_means = (vals * used).sum(-1) / n_seeds
    reps = slot_means.mean(-1)
    alpha = (1.0 - level) / 2
    low, high = np.quantile(reps, [alpha, 1.0 - alpha])
    return mean, float(low), float(high)
