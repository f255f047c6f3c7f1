"""The study report: dividend tables, plots, Markdown and self-contained HTML.

Reads only a :class:`~tsdividend.results.store.ResultStore` and computes with
:mod:`tsdividend.stats`; never imports torch models or the trainer.
"""

from tsdividend.report.render import build_report, package_versions
from tsdividend.report.tables import analyze, dividend_table_text, headline_metric

__all__ = [
    "analyze",
    "build_report",
    "dividend_table_text",
    "headline_metric",
    "package_versions",
]
