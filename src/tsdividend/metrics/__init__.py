"""Pure NumPy metrics, each declaring its direction (``higher_is_better``).

``METRICS`` maps a metric name to a :class:`Metric`; tasks record ``METRICS[name].higher_is_better``
in every result row, and the dividend uses it to orient gains. No torch in this package.
"""

from tsdividend.metrics.anomaly import (
    auc_pr,
    auc_roc,
    best_f1,
    dominant_period,
    pa_f1,
    ucr_score_kdd21,
    ucr_score_rewicki23,
    vus,
    vus_max_window,
    vus_pr,
    vus_roc,
)
from tsdividend.metrics.base import METRICS, Metric, metric
from tsdividend.metrics.classification import accuracy, balanced_accuracy
from tsdividend.metrics.clustering import ari, nmi
from tsdividend.metrics.forecasting import mae, mse

__all__ = [
    "METRICS",
    "Metric",
    "accuracy",
    "ari",
    "auc_pr",
    "auc_roc",
    "balanced_accuracy",
    "best_f1",
    "dominant_period",
    "mae",
    "metric",
    "mse",
    "nmi",
    "pa_f1",
    "ucr_score_kdd21",
    "ucr_score_rewicki23",
    "vus",
    "vus_max_window",
    "vus_pr",
    "vus_roc",
]
