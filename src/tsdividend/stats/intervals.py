"""Student-t confidence interval of a mean (pure NumPy/scipy).

Used for the few-shot rows of the classification probe: the mean over ``draws`` seeded k-shot
draws and its two-sided interval ``mean +- t_{(1 + level) / 2, n - 1} * s / sqrt(n)`` (Student
1908), with ``s`` the sample standard deviation (ddof 1).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["t_interval"]


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): Student-t confidence interval of the mean of ``values``.

    Args:
        values: (n,) observations; fewer than two, or all equal, give ``(mean, mean, mean)``.
        level: two-sided confidence level in (0, 1).

    Returns:
        The sample mean and the interval's bounds, as floats.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    values = np.asarray(values, np.float64)
    mean = float(values.mean())
    if values.size < 2 or np.all(values == values[0]):
        return mean, mean, mean
    half = stats.t.ppf(0.5 + level / 2, df=values.size - 1) * stats.sem(values)
    return mean, mean - float(half), mean + float(half)
