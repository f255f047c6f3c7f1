"""Classical references in the same harness: where self-supervised learning stands.

``run_baseline(name, task, dataset, seed, **cfg) -> list[ResultRow]`` runs one registered
baseline (rows with ``init = regime = "classical"`` and ``encoder_id = name``):

=================  ==============  ============================================================
name               task            method
=================  ==============  ============================================================
minirocket         classification  MiniRocket (aeon) + RidgeClassifierCV (Dempster et al. 2021)
matrix_profile     anomaly         left matrix-profile discords (stumpy), window from train
dlinear            forecasting     DLinear (Zeng et al. 2023), closed-form ridge fit
seasonal_naive     forecasting     repeat the last season of the look-back window
raw_kmeans         clustering      k-means on z-normalised raw series
=================  ==============  ============================================================

Protocol details and deviations: docs/protocols.md ("Classical references").
"""

from tsdividend.tasks.baselines import forecast, matrix_profile, minirocket, raw_kmeans
from tsdividend.tasks.baselines.base import BASELINES, Baseline, register_baseline, run_baseline
from tsdividend.tasks.baselines.forecast import DLinearConfig, SeasonalNaiveConfig
from tsdividend.tasks.baselines.matrix_profile import MatrixProfileConfig
from tsdividend.tasks.baselines.minirocket import MiniRocketConfig
from tsdividend.tasks.baselines.raw_kmeans import RawKMeansConfig

__all__ = [
    "BASELINES",
    "Baseline",
    "DLinearConfig",
    "MatrixProfileConfig",
    "MiniRocketConfig",
    "RawKMeansConfig",
    "SeasonalNaiveConfig",
    "forecast",
    "matrix_profile",
    "minirocket",
    "raw_kmeans",
    "register_baseline",
    "run_baseline",
]
