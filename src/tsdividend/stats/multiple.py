"""Multiple-comparison control: Holm's step-down adjustment (Holm 1979, Scand. J. Statist. 6)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values of one family of tests, in the input order.

    With the m defined p-values sorted ascending, p_(1) <= ... <= p_(m), the adjusted value of
    the i-th is ``max_{j <= i} min(1, (m - j + 1) p_(j))``; rejecting where it is below alpha
    controls the family-wise error rate at alpha. NaN entries (tests that could not run) are not
    members of the family and stay NaN.

    Args:
        pvalues: raw p-values, NaN for tests that were not run.

    Returns:
        Adjusted p-values, same length and order.
    """
    p = np.asarray(pvalues, np.float64)
    out = np.full(p.shape, math.nan)
    idx = np.flatnonzero(~np.isnan(p))
    if idx.size == 0:
        return out.tolist()
    order = idx[np.argsort(p[idx], kind="stable")]
    m = order.size
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out.tolist()
