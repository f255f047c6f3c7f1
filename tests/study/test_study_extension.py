"""Extending the package from one module (issue 10): a toy objective, a toy task and a toy
dataset family, each registered at import of THIS test module, run through a study on a tiny
grid (real-data pretraining on the toy family, the toy task evaluated against the random
baseline) and reported."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from tsdividend.config import from_dict
from tsdividend.data import Dataset
from tsdividend.data.family import WORD, FamilySpec, register_family
from tsdividend.encoder import Encoder, row_embedding
from tsdividend.objectives import OBJECTIVES, Batch, LossOutput, Objective
from tsdividend.report import build_report
from tsdividend.results import ResultStore
from tsdividend.study import StudySpec, run_study
from tsdividend.tasks.probe import result_rows
from tsdividend.tasks.registry import TaskSpec, register_task

# Names no built-in and no other test's toy uses (registries refuse duplicates).
OBJ, TASK, FAM = "ext_level", "ext_centroid", "extfam"


@dataclass(frozen=True)
class LevelConfig:
    """The toy objective has no options."""


@OBJECTIVES.register(OBJ)
class Level(Objective[LevelConfig]):
    """Regress each window's observed mean from its pooled embedding (a toy, not science)."""

    config_cls = LevelConfig

    def __init__(self, encoder: Encoder, config: LevelConfig) -> None:
        super().__init__(encoder, config)
        self.head = nn.Linear(encoder.config.d_model, 1)

    def forward(self, batch: Batch) -> LossOutput:
        z = row_embedding(self.encoder, batch.x, batch.mask)
        m = batch.mask.flatten(0, 1).float()
        level = (batch.x.flatten(0, 1) * m).sum(1) / m.sum(1).clamp_min(1.0)
        loss = (self.head(z).squeeze(-1) - level).square().mean()
        return LossOutput(loss, {"level": loss.detach()})


@dataclass(frozen=True)
class CentroidConfig:
    regime: str = "probe"


def evaluate_centroid(encoder, dataset: Dataset, cfg: CentroidConfig, seed: int, *,
                      device: str = "auto") -> list:  # fmt: skip
    """Nearest class centroid of the frozen embeddings: fitted on train, scored on test."""
    t0 = time.perf_counter()
    emb = encoder.embedder(seed, device=device)
    tr, te = dataset.splits["train"], dataset.splits["test"]
    z_tr, z_te = (
        emb.embed(dataset.X[tr], dataset.mask[tr]),
        emb.embed(dataset.X[te], dataset.mask[te]),
    )
    classes = np.unique(dataset.y[tr])
    centroids = np.stack([z_tr[dataset.y[tr] == c].mean(0) for c in classes])
    pred = classes[((z_te[:, None, :] - centroids[None]) ** 2).sum(-1).argmin(1)]
    acc = float((pred == dataset.y[te]).mean())
    return result_rows(encoder, TASK, dataset.name, cfg.regime, seed, {"accuracy": acc},
                       wall_seconds=time.perf_counter() - t0, eval_config=cfg)  # fmt: skip


register_task(TaskSpec(TASK, CentroidConfig, evaluate_centroid, data_task="classification",
                       headline=("accuracy",), regimes=("probe",)))  # fmt: skip


def _read(name: str, key: str, files: list[Path], min_length: int, source: str) -> Dataset:
    """``<root>/extfam/<key>.npz`` with X (N, T), y (N,), is_train (N,)."""
    with np.load(files[0]) as f:
        X, y, is_train = f["X"].astype(np.float32)[:, None, :], f["y"], f["is_train"]
    return Dataset(name=name, task="classification", X=X, mask=np.ones_like(X, bool),
                   y=y.astype(np.int64), classes=("0", "1"),
                   splits={"train": np.flatnonzero(is_train), "test": np.flatnonzero(~is_train)},
                   meta={"source": source})  # fmt: skip


register_family(FamilySpec(
    name=FAM, pattern=f"{FAM}/<key>", task="classification", key_re=WORD,
    paths=lambda root, key: [root / FAM / f"{key}.npz"],
    scan=lambda root: sorted(p.stem for p in (root / FAM).glob("*.npz")), read=_read,
))  # fmt: skip


def _write(root: Path) -> None:
    """Two classes: sines and square-ish waves, 24 train and 12 test series of length 64."""
    rng = np.random.default_rng(0)
    t = np.linspace(0, 4 * np.pi, 64)
    y = np.arange(36) % 2
    X = np.where(y[:, None] == 0, np.sin(t), np.sign(np.sin(t))) + 0.1 * rng.standard_normal(
        (36, 64)
    )
    (root / FAM).mkdir(parents=True)
    np.savez(root / FAM / "a.npz", X=X, y=y, is_train=np.arange(36) < 24)


def test_a_toy_objective_task_and_family_run_through_a_study(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _write(root)
    spec = from_dict(StudySpec, {
        "name": "ext", "objectives": [OBJ], "tasks": [TASK], "depths": [1],
        "pretrain_sources": ["real"], "datasets": {TASK: [f"{FAM}/a"]},
        "train": {"steps": 3, "batch_size": 4, "device": "cpu",
                  "data": {"context": 32, "real_datasets": [f"{FAM}/a"]},
                  "encoder": {"d_model": 16, "n_heads": 2}},
    })  # fmt: skip
    store = run_study(spec, tmp_path / "out", data_dir=root, progress=False, strict=True)
    with ResultStore(store) as s:
        rows = s.rows()
    assert {(r.init, r.task, r.dataset, r.metric) for r in rows} == {
        ("pretrained", TASK, f"{FAM}/a", "accuracy"),
        ("random", TASK, f"{FAM}/a", "accuracy"),
    }
    pre = next(r for r in rows if r.init == "pretrained")
    assert pre.objective == OBJ and pre.pretrain_data == "real" and 0.0 <= pre.value <= 1.0
    (meta,) = [
        json.loads(p.read_text()) for p in (tmp_path / "out").glob("encoders/*/encoder.json")
    ]
    assert meta["corpus"]["real"]["datasets"] == [f"{FAM}/a"]  # pretrained on the toy family
    md = build_report(tmp_path / "out", n_boot=50)["markdown"].read_text()
    assert f"{TASK} (accuracy" in md and OBJ in md
