"""Settings of the anomaly protocol and its task record (torch-free; the protocol is described
in :mod:`tsdividend.tasks.anomaly`)."""

from __future__ import annotations

from dataclasses import dataclass

from tsdividend.config import ConfigError, check_int
from tsdividend.metrics.anomaly import VUS_BUFFERS
from tsdividend.results.row import STUDY_REGIMES
from tsdividend.tasks.budget import StepBudget
from tsdividend.tasks.registry import TaskSpec, register_task

SCORERS = ("recon", "knn")
UCR_METRICS = ("ucr_score_kdd21", "ucr_score_rewicki23", "vus_pr", "auc_pr", "auc_roc")
OTHER_METRICS = ("vus_pr", "auc_pr", "best_f1", "pa_f1")


@dataclass(frozen=True)
class AnomalyConfig:
    """Anomaly protocol settings (defaults and their sources).

    Attributes:
        context: window length in steps (336: the seed paper's look-back).
        k: neighbours of the kNN scorer (5).
        val_fraction: last fraction of the training windows that validates the decoder (0.2,
            as the seed paper's anomaly head: early stopping on the last 20% of train).
        decoder_lr: AdamW learning rate of the decoder (1e-3, the seed paper's head).
        decoder_weight_decay: AdamW weight decay (1e-2, torch's AdamW default).
        decoder_max_epochs: epochs at most (200: a UCR prefix gives only a few hundred tokens,
            i.e. a few steps per epoch).
        decoder_patience: epochs without a validation improvement before stopping (5; the seed
            paper's head uses 3 with far more data per epoch).
        decoder_batch_size: token rows per decoder step (64).
        tolerance: UCR score tolerance in steps (100, Wu & Keogh 2021 / KDD Cup 2021); the
            floor of the Rewicki et al. 2023 rule, whose tolerance is max(anomaly length, 100).
        vus_buffer: VUS buffer rule (:func:`tsdividend.metrics.vus_max_window`): "fixed"
            (default: ``vus_max_window`` for every series, so no dataset's metric depends on a
            period estimate; fixed before any score was read) or "period" (the VUS authors'
            setting: 2 x the dominant period of the first channel's training part).
        vus_max_window: largest VUS buffer of the "fixed" rule (100: buffers l = 0..100, soft
            labels reach l // 2 <= 50 steps beyond an anomaly; the value of the first
            implementation, kept so stores stay comparable).
        embed_batch_size: windows per encoder forward pass (256).
        regime: "probe" (frozen encoder) or "finetune" (encoder + decoder end to end).
        encoder_lr: fine-tune AdamW learning rate of the encoder (1e-4: the seed paper's
            PatchTST-MAE rate, a tenth of the decoder's; weight decay is decoder_weight_decay).
        finetune_steps, finetune_warmup, finetune_eval_every, finetune_patience,
            finetune_grad_clip: the fine-tune's step budget (AdamW updates, warm-up + cosine,
            validation reconstruction error every ``finetune_eval_every`` updates, early stop
            after ``finetune_patience`` updates without improvement; docs/protocols.md,
            "Fine-tune budgets").
        finetune_lp: LP-FT (Kumar et al. 2022): start from the probe's decoder fitted on the
            frozen encoder (True) or from the seeded random decoder (False).
        finetune_batch_sizes: candidate windows per fine-tune step; one fine-tune per candidate
            and the lowest validation reconstruction error wins (small batches give several steps
            per epoch when a short training prefix yields fewer than ten fitting windows).
    """

    context: int = 336
    k: int = 5
    val_fraction: float = 0.2
    decoder_lr: float = 1e-3
    decoder_weight_decay: float = 1e-2
    decoder_max_epochs: int = 200
    decoder_patience: int = 5
    decoder_batch_size: int = 64
    tolerance: int = 100
    vus_buffer: str = "fixed"
    vus_max_window: int = 100
    embed_batch_size: int = 256
    regime: str = "probe"
    encoder_lr: float = 1e-4
    finetune_steps: int = 1000
    finetune_warmup: int = 50
    finetune_eval_every: int = 10
    finetune_patience: int = 300
    finetune_grad_clip: float | None = 1.0
    finetune_lp: bool = True
    finetune_batch_sizes: tuple[int, ...] = (4, 16)

    def __post_init__(self) -> None:
        for name in ("context", "k", "decoder_max_epochs", "decoder_patience"):
            check_int(name, getattr(self, name), 1)
        for name in ("decoder_batch_size", "embed_batch_size"):
            check_int(name, getattr(self, name), 1)
        StepBudget(
            self.finetune_steps,
            self.finetune_warmup,
            self.finetune_eval_every,
            self.finetune_patience,
            self.finetune_grad_clip,
        )
        object.__setattr__(self, "finetune_batch_sizes", tuple(self.finetune_batch_sizes))
        if not self.finetune_batch_sizes:
            raise ConfigError("finetune_batch_sizes must list at least one batch size")
        for bs in self.finetune_batch_sizes:
            check_int("finetune_batch_sizes entry", bs, 1)
        check_int("tolerance", self.tolerance, 0)
        check_int("vus_max_window", self.vus_max_window, 0)
        if self.vus_buffer not in VUS_BUFFERS:
            raise ConfigError(f"vus_buffer {self.vus_buffer!r} unknown; valid: {list(VUS_BUFFERS)}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if not (self.decoder_lr > 0 and self.encoder_lr > 0 and self.decoder_weight_decay >= 0):
            raise ConfigError(
                "need decoder_lr > 0, encoder_lr > 0 and decoder_weight_decay >= 0, got "
                f"{self.decoder_lr}, {self.encoder_lr}, {self.decoder_weight_decay}"
            )
        if self.regime not in STUDY_REGIMES:
            raise ConfigError(f"regime {self.regime!r} unknown; valid: {list(STUDY_REGIMES)}")


TASK = register_task(TaskSpec(
    "anomaly", AnomalyConfig, "tsdividend.tasks.anomaly.protocol:evaluate_anomaly",
    data_task="anomaly", headline=("recon/vus_pr", "knn/vus_pr"),
    description="anomaly detection on one series: reconstruction and kNN scorers, VUS-PR",
))  # fmt: skip
