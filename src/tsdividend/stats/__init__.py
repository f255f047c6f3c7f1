"""Statistics of result rows: the pre-training dividend, bootstrap CIs, tests and ranks.

Pure functions of :class:`~tsdividend.results.ResultRow` lists (no torch, no trainer).
"""

from tsdividend.stats.bootstrap import hierarchical_bootstrap
from tsdividend.stats.dividend import DividendRow, dividend, dividend_rows, summarize_dividends
from tsdividend.stats.ranks import average_ranks, nemenyi_cd

__all__ = [
    "DividendRow",
    "average_ranks",
    "dividend",
    "dividend_rows",
    "hierarchical_bootstrap",
    "nemenyi_cd",
    "summarize_dividends",
]
