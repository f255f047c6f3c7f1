"""Statistics of result rows: the pre-training dividend, bootstrap CIs, tests and ranks.

Pure functions of :class:`~tsdividend.results.ResultRow` lists (no torch, no trainer).
"""

from tsdividend.stats.bootstrap import hierarchical_bootstrap
from tsdividend.stats.dividend import (
    DividendRow,
    DividendSummary,
    dividend,
    dividend_rows,
    relative_gain,
    summarize_dividends,
)
from tsdividend.stats.multiple import holm
from tsdividend.stats.ranks import (
    FriedmanResult,
    average_ranks,
    friedman,
    gated_cd,
    nemenyi_cd,
    q_alpha,
)

__all__ = [
    "DividendRow",
    "DividendSummary",
    "FriedmanResult",
    "average_ranks",
    "dividend",
    "dividend_rows",
    "friedman",
    "gated_cd",
    "hierarchical_bootstrap",
    "holm",
    "nemenyi_cd",
    "q_alpha",
    "relative_gain",
    "summarize_dividends",
]
