"""Pure NumPy metrics, each declaring its direction (``higher_is_better``).

``METRICS`` maps a metric name to a :class:`Metric`; tasks record ``METRICS[name].higher_is_better``
in every result row, and the dividend uses it to orient gains. No torch in this package.
"""

from tsdividend.metrics.base import METRICS, Metric, metric
from tsdividend.metrics.classification import accuracy, balanced_accuracy
from tsdividend.metrics.clustering import ari, nmi
from tsdividend.metrics.forecasting import mae, mse

__all__ = [
    "METRICS",
    "Metric",
    "accuracy",
    "ari",
    "balanced_accuracy",
    "mae",
    "metric",
    "mse",
    "nmi",
]
