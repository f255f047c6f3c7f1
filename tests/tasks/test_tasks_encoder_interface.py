"""The narrow encoder interface: probes need only an embedder, the run folder is read once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from tsdividend.config import to_dict
from tsdividend.encoder import Encoder, EncoderConfig
from tsdividend.encoder.embedder import ENCODER_META, load_encoder
from tsdividend.tasks.base import EncoderUnderTest
from tsdividend.tasks.classification import ClassificationConfig, evaluate_classification
from tsdividend.tasks.clustering import ClusteringConfig, evaluate_clustering
from tsdividend.tasks.probe import EmbeddingCache

TINY = EncoderConfig(d_model=16, depth=1, n_heads=2, dropout=0.0)


class MomentFeatures:
    """A classical feature extractor with the probe interface only: per channel mean, std and
    mean absolute difference of the observed values (no torch module, no build)."""

    init = "pretrained"
    max_length = None

    def __init__(self) -> None:
        self.calls = 0

    def embedder(self, seed: int, device: str = "auto", batch_size: int = 256) -> MomentFeatures:
        return self

    def embed(self, X: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        self.calls += 1
        x = np.where(mask, X, np.nan) if mask is not None else X
        diff = np.nanmean(np.abs(np.diff(x, axis=-1)), axis=-1)
        return np.concatenate([np.nanmean(x, -1), np.nanstd(x, -1), diff], axis=1)

    def cache_key(self, seed: int) -> tuple:
        return ("moments",)

    def row_fields(self) -> dict[str, Any]:
        return {"encoder_id": "moments", "init": self.init, "config_hash": "moments-v1"}


def test_probes_run_on_any_object_with_embed_and_row_fields(two_frequencies) -> None:
    features, ds, cache = MomentFeatures(), two_frequencies, EmbeddingCache()
    cfg = ClassificationConfig(shots=())
    rows = evaluate_classification(features, ds, cfg, 0, device="cpu", cache=cache)
    acc = next(r for r in rows if r.metric == "accuracy")
    assert acc.encoder_id == "moments" and acc.value == 1.0  # 2 vs 9 cycles: the diff separates
    clus = evaluate_clustering(features, ds, ClusteringConfig(), 0, device="cpu", cache=cache)
    assert {r.metric for r in clus} == {"nmi", "ari"}
    assert features.calls == 1  # one embedding pass, shared through the cache


def _run_folder(tmp_path: Path) -> Path:
    enc = Encoder(TINY, generator=torch.Generator().manual_seed(5))
    save_file({k: v.contiguous() for k, v in enc.state_dict().items()},
              str(tmp_path / "encoder.safetensors"))  # fmt: skip
    meta = {
        "encoder_config": to_dict(TINY),
        "objective": "ntp",
        "config_hash": "h123",
        "train_config": {
            "steps": 20,
            "batch_size": 8,
            "data": {"source": "synthetic", "synth_corpus_size": 64},
        },
    }
    (tmp_path / ENCODER_META).write_text(json.dumps(meta))
    return tmp_path


def test_run_folder_meta_is_read_once_and_weights_load_straight(tmp_path: Path) -> None:
    folder = _run_folder(tmp_path)
    eut = EncoderUnderTest.from_arg(str(folder), encoder_id="ntp-h123")
    (folder / ENCODER_META).unlink()  # build() must not read the description again
    built = eut.build(0)
    reference = load_encoder(_run_folder(tmp_path), device="cpu").encoder
    for (name, a), (_, b) in zip(built.state_dict().items(), reference.state_dict().items(),
                                 strict=True):  # fmt: skip
        assert torch.equal(a, b), name
    assert not built.training  # a pretrained module comes in eval mode, as the loader's
    assert eut.build(0) is not built  # a fresh module per call (fine-tunes train their own)


def test_row_fields_carry_identity_and_pretraining_columns(tmp_path: Path) -> None:
    eut = EncoderUnderTest.from_arg(str(_run_folder(tmp_path)), encoder_id="ntp-h123")
    fields = eut.row_fields()
    assert (fields["encoder_id"], fields["init"], fields["config_hash"]) == (
        "ntp-h123",
        "pretrained",
        "h123",
    )
    assert (fields["pretrain_size"], fields["pretrain_steps"], fields["pretrain_samples"]) == (
        64,
        20,
        160,
    )
    rand = EncoderUnderTest("random", TINY).row_fields()
    assert rand["encoder_id"] == "random" and rand["pretrain_steps"] is None
    assert rand["pretrain_size"] is None and rand["pretrain_samples"] is None
    assert EncoderUnderTest.from_arg(str(tmp_path)).row_fields()["encoder_id"] == str(tmp_path)


def test_cache_key_ignores_the_seed_of_pretrained_weights_only(tmp_path: Path) -> None:
    eut = EncoderUnderTest.from_arg(str(_run_folder(tmp_path)))
    assert eut.cache_key(0) == eut.cache_key(1)
    rand = EncoderUnderTest("random", TINY)
    assert rand.cache_key(0) != rand.cache_key(1)
    assert rand.cache_key(0) != EncoderUnderTest("scratch", TINY).cache_key(0)


def test_unknown_init_and_missing_folder_are_named() -> None:
    with pytest.raises(ValueError, match="init 'frozen' unknown"):
        EncoderUnderTest("frozen", TINY)
    with pytest.raises(FileNotFoundError, match="encoder.json not found"):
        EncoderUnderTest.from_arg("/nonexistent/run")
