"""Settings of the clustering protocol and its task record (torch-free).

The protocol itself is :func:`tsdividend.tasks.clustering.evaluate_clustering`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tsdividend.config import ConfigError, check_int
from tsdividend.results.row import STUDY_REGIMES
from tsdividend.tasks.classification_config import ClassificationConfig
from tsdividend.tasks.registry import TaskSpec, register_task


@dataclass(frozen=True)
class ClusteringConfig:
    """Settings of the clustering protocol.

    Attributes:
        split: which split is clustered ("test", as the issue asks; "train" is allowed).
        n_init: k-means restarts (10, scikit-learn's classic default).
        max_iter: Lloyd iterations per restart (300, scikit-learn's default).
        standardize: z-score each embedding feature before k-means (True).
        embed_batch_size: series per forward pass when embedding.
        regime: "probe" (frozen encoder) or "finetune" (classification fine-tune on train first).
        finetune: the fine-tune settings (the classification protocol's defaults; the rows
            carry its best_step, budget_steps and converged).
    """

    split: str = "test"
    n_init: int = 10
    max_iter: int = 300
    standardize: bool = True
    embed_batch_size: int = 256
    regime: str = "probe"
    finetune: ClassificationConfig = field(
        default_factory=lambda: ClassificationConfig(regime="finetune")
    )

    def __post_init__(self) -> None:
        if self.regime not in STUDY_REGIMES:
            raise ConfigError(f"regime {self.regime!r} unknown; valid: {list(STUDY_REGIMES)}")
        if self.regime == "finetune" and self.split != "test":
            raise ConfigError("regime 'finetune' trains on the train split: cluster split 'test'")
        if self.split not in ("train", "test"):
            raise ConfigError(f"split {self.split!r} unknown; valid: ['train', 'test']")
        check_int("n_init", self.n_init, 1)
        check_int("max_iter", self.max_iter, 1)
        check_int("embed_batch_size", self.embed_batch_size, 1)
        if not isinstance(self.standardize, bool):
            raise ConfigError(f"standardize must be a bool, got {self.standardize!r}")


TASK = register_task(TaskSpec(
    "clustering", ClusteringConfig, "tsdividend.tasks.clustering:evaluate_clustering",
    data_task="classification", headline=("nmi",),
    description="k-means on (frozen or fine-tuned) embeddings of labelled series; NMI and ARI",
))  # fmt: skip
