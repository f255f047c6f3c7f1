"""One measurement = one row. Every task returns a list of them; stats and reports read rows."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

INITS = ("pretrained", "random", "scratch", "classical")
REGIMES = ("probe", "finetune", "zero-shot", "classical")
# The one regime -> baseline mapping: a pretrained encoder's probe is compared with the frozen
# random-init encoder of the same architecture and seed, its fine-tune with the same architecture
# trained from scratch.
BASELINE_OF: dict[str, str] = {"probe": "random", "finetune": "scratch"}
STUDY_REGIMES: tuple[str, ...] = tuple(BASELINE_OF)  # the regimes with an encoder baseline


@dataclass(frozen=True)
class ResultRow:
    """A single metric value of one (encoder, task, dataset, regime, seed).

    Attributes:
        encoder_id: checkpoint folder / config hash of the pretrained encoder, or the baseline's
            name ("random", "scratch", "minirocket", ...).
        init: one of :data:`INITS` (pretrained, random = frozen random-init encoder, scratch =
            supervised from a random init, classical = a non-neural reference).
        task: "classification", "anomaly", "forecasting" or "clustering".
        dataset: dataset name, e.g. "ucr/GunPoint".
        regime: one of :data:`REGIMES`.
        seed: seed of the stochastic parts of the evaluation.
        metric: metric name, e.g. "accuracy", "vus_pr", "mse@96".
        value: the measured value.
        higher_is_better: the metric's direction (from ``tsdividend.metrics``).
        objective, tokenizer, depth, pretrain_data: what the encoder is (None for classical).
        pretrain_size: synthetic pretraining corpus size in series (None: the unbounded stream,
            real data, or no pretraining).
        pretrain_steps, pretrain_samples: optimizer steps and series seen (steps x batch size)
            of the pretraining run (None when not pretrained).
        config_hash: hash of the resolved evaluation + encoder config.
        wall_seconds: wall time of the measurement (shared by the rows it produced).
        study: study name (issue 5), "" for standalone evaluations.
        extra: small JSON-able details (e.g. chosen hyper-parameters, n_test).
    """

    encoder_id: str
    init: str
    task: str
    dataset: str
    regime: str
    seed: int
    metric: str
    value: float
    higher_is_better: bool
    objective: str | None = None
    tokenizer: str | None = None
    depth: int | None = None
    pretrain_data: str | None = None
    pretrain_size: int | None = None
    pretrain_steps: int | None = None
    pretrain_samples: int | None = None
    config_hash: str = ""
    package_version: str = ""
    wall_seconds: float = 0.0
    study: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.init not in INITS:
            raise ValueError(f"init {self.init!r} unknown; valid: {list(INITS)}")
        if self.regime not in REGIMES:
            raise ValueError(f"regime {self.regime!r} unknown; valid: {list(REGIMES)}")
        object.__setattr__(self, "value", float(self.value))

    def to_json(self) -> dict[str, Any]:
        """Plain dict (one JSON object per line in ``--json`` output)."""
        out = dataclasses.asdict(self)
        json.dumps(out)  # fail here, not in a writer, if extra is not JSON-able
        return out
