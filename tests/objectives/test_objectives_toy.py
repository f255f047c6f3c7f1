"""Adding an objective = its module + its test: a toy objective registered from this test module
alone, built by name, trained by the one training loop, and restored from its checkpoint."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import torch
from safetensors.torch import load_file
from torch import nn

from tsdividend.config import ConfigError
from tsdividend.encoder import Encoder, EncoderConfig, row_embedding
from tsdividend.encoder.embedder import ENCODER_WEIGHTS
from tsdividend.objectives import OBJECTIVES, Batch, LossOutput, Objective, build_objective
from tsdividend.train.checkpoint import latest_checkpoint, load_checkpoint
from tsdividend.train.sources import DataConfig
from tsdividend.train.trainer import TrainConfig, train

from .conftest import sine_batch, tiny_encoder

# A name no built-in (or other test's toy) uses: registries refuse duplicates.
TOY = "toy_level_regression"


@dataclass(frozen=True)
class ToyConfig:
    """Options of the toy objective.

    Attributes:
        scale: multiplies the regression target (> 0).
    """

    scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ConfigError(f"scale must be > 0, got {self.scale!r}")


@OBJECTIVES.register(TOY)
class ToyLevelRegression(Objective[ToyConfig]):
    """Regress each channel row's observed mean from its pooled embedding (a toy, not science)."""

    config_cls = ToyConfig

    def __init__(self, encoder: Encoder, config: ToyConfig) -> None:
        super().__init__(encoder, config)
        self.head = nn.Linear(encoder.config.d_model, 1)

    def forward(self, batch: Batch) -> LossOutput:
        z = row_embedding(self.encoder, batch.x, batch.mask)  # (B*C, D)
        m = batch.mask.flatten(0, 1).float()  # (B*C, T)
        level = (batch.x.flatten(0, 1) * m).sum(1) / m.sum(1).clamp_min(1.0)
        loss = (self.head(z).squeeze(-1) - self.config.scale * level).square().mean()
        return LossOutput(loss, {"toy": loss.detach()})


def test_the_toy_is_registered_and_built_by_name():
    assert TOY in OBJECTIVES.names()
    obj = build_objective(TOY, tiny_encoder(), {"scale": 2.0})
    assert isinstance(obj, ToyLevelRegression) and obj.config.scale == 2.0
    out = obj(sine_batch(c=2))
    assert torch.isfinite(out.loss)
    assert obj.ema_schedule(10) is None and obj.downstream_encoder() is obj.encoder


def test_the_toy_trains_in_the_one_loop_and_its_checkpoint_loads(tmp_path):
    enc = EncoderConfig(d_model=16, depth=1, n_heads=2, dropout=0.0, max_len=16)
    cfg = TrainConfig(objective=TOY, objective_options={"scale": 1.0}, encoder=enc, steps=4,
                      batch_size=4, data=DataConfig(context=64), device="cpu", precision="fp32",
                      diag_every=0, checkpoint_every=4, log_every=1)  # fmt: skip
    result = train(cfg, tmp_path, progress=False)
    assert result.objective == TOY and result.steps == 4 and math.isfinite(result.final_loss)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert all(math.isfinite(r["loss"]) for r in rows)

    folder = latest_checkpoint(tmp_path)
    assert folder is not None
    fresh = build_objective(TOY, Encoder(enc, generator=torch.Generator().manual_seed(99)))
    assert load_checkpoint(folder, fresh)["step"] == 4  # strict: every key must match
    exported = load_file(str(tmp_path / ENCODER_WEIGHTS))
    state = fresh.downstream_encoder().state_dict()
    assert exported.keys() == state.keys()
    for key, value in exported.items():
        assert torch.equal(value, state[key]), key
