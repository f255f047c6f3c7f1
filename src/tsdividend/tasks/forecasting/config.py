"""Settings of the forecasting protocol, the standard look-backs/horizons and the task record
(torch-free; the protocol is described in :mod:`tsdividend.tasks.forecasting`)."""

from __future__ import annotations

from dataclasses import dataclass

from tsdividend.config import ConfigError, check_int
from tsdividend.results.row import STUDY_REGIMES
from tsdividend.tasks.budget import StepBudget
from tsdividend.tasks.registry import TaskSpec, register_task

# name -> (look-back, horizons): PatchTST's long-horizon settings (ILI: look-back 104).
STANDARD: dict[str, tuple[int, tuple[int, ...]]] = {
    "forecast/ETTh1": (336, (96, 192, 336, 720)),
    "forecast/ETTh2": (336, (96, 192, 336, 720)),
    "forecast/Exchange": (336, (96, 192, 336, 720)),
    "forecast/ILI": (104, (24, 36, 48, 60)),
}


def _check_number(name: str, value: object, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not (value >= 0 if allow_zero else value > 0):
        raise ConfigError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")


@dataclass(frozen=True)
class ForecastingConfig:
    """Forecasting protocol settings (defaults: CPU-friendly, see docs/protocols.md).

    Attributes:
        regime: "probe" (frozen encoder, ridge head) or "finetune" (end to end).
        lookback: L; None = the dataset's standard (:data:`STANDARD`).
        horizons: H values; None = the dataset's standard.
        train_stride: step between train window starts (1 = every window).
        val_stride: step between validation window starts (test always uses every window).
        max_train_windows: seeded subsample of the (strided) train windows; None = all.
        batch_size: windows per forward pass (each carries C series).
        ridge_alphas: probe penalties, relative to the mean eigenvalue of the Gram matrix.
        steps, warmup, eval_every, patience: the fine-tune's step budget (AdamW updates of
            ``batch_size`` windows drawn from seeded permutations of the train pool; warm-up +
            cosine; validation MSE every ``eval_every`` updates; early stop after ``patience``
            updates without improvement; defaults: docs/protocols.md, "Fine-tune budgets").
        lp: LP-FT (Kumar et al. 2022): start the head at the probe's ridge solution (True) or
            at zero (False: the first forecast is the window mean).
        lr_head, lr_encoder, weight_decay: AdamW settings of the fine-tune (seed paper: head lrs
            1e-4..4e-4 over 20 full epochs and wd 1e-4; fewer updates here, so 1e-3).
        grad_clip: max gradient norm in fine-tuning.
    """

    regime: str = "probe"
    lookback: int | None = None
    horizons: tuple[int, ...] | None = None
    train_stride: int = 4
    val_stride: int = 4
    max_train_windows: int | None = None
    batch_size: int = 64
    ridge_alphas: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
    steps: int = 2000
    warmup: int = 100
    eval_every: int = 50
    patience: int = 500
    lp: bool = True
    lr_head: float = 1e-3
    lr_encoder: float = 1e-4
    weight_decay: float = 1e-4
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if self.regime not in STUDY_REGIMES:
            raise ConfigError(f"regime {self.regime!r} unknown; valid: {list(STUDY_REGIMES)}")
        if self.horizons is not None:
            object.__setattr__(self, "horizons", tuple(self.horizons))
            if not self.horizons:
                raise ConfigError("horizons must be None (the standard ones) or non-empty")
        ints = ("train_stride", "val_stride", "batch_size", "steps", "eval_every", "patience")
        for name in (*ints, "lookback", "max_train_windows"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), 1)
        for h in self.horizons or ():
            check_int("horizon", h, 1)
        object.__setattr__(self, "ridge_alphas", tuple(self.ridge_alphas))
        if not self.ridge_alphas:
            raise ConfigError("ridge_alphas must hold at least one penalty")
        for alpha in self.ridge_alphas:
            _check_number("ridge_alphas", alpha)
        for name in ("lr_head", "lr_encoder", "grad_clip", "weight_decay"):
            _check_number(name, getattr(self, name), allow_zero=name == "weight_decay")
        StepBudget(self.steps, self.warmup, self.eval_every, self.patience, self.grad_clip)

    def resolve(
        self, dataset_name: str, standard: tuple[int, tuple[int, ...]] | None = None
    ) -> tuple[int, tuple[int, ...]]:
        """(look-back, horizons): the configured ones, else the dataset's standard ones (a user
        file's ``lookback`` / ``horizons`` options come as ``standard``)."""
        std = standard or STANDARD.get(dataset_name)
        if std is None and (self.lookback is None or self.horizons is None):
            raise ConfigError(
                f"no standard look-back/horizons for {dataset_name!r} (known: {sorted(STANDARD)});"
                " set lookback and horizons"
            )
        lookback = self.lookback if self.lookback is not None else std[0]  # type: ignore[index]
        horizons = self.horizons if self.horizons is not None else std[1]  # type: ignore[index]
        return lookback, tuple(sorted(set(horizons)))


TASK = register_task(TaskSpec(
    "forecasting", ForecastingConfig, "tsdividend.tasks.forecasting.protocol:evaluate_forecasting",
    data_task="forecasting", headline=("mse@96",), headline_pattern=r"mse@(\d+)",
    description="long-horizon forecasting: linear head on the encoder's tokens, MSE/MAE",
))  # fmt: skip
