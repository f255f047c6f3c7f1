import json

import pytest
import torch
from torch import nn

from tsdividend.train.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)


def _model_and_opt(seed: int):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.05)
    return model, opt


def _step(model, opt, i: int) -> None:
    g = torch.Generator().manual_seed(i)
    x = torch.randn(16, 4, generator=g)
    loss = model(x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()


def test_resume_continues_bit_identically(tmp_path):
    ref, ref_opt = _model_and_opt(0)
    for i in range(6):
        _step(ref, ref_opt, i)

    a, a_opt = _model_and_opt(0)
    for i in range(3):
        _step(a, a_opt, i)
    save_checkpoint(tmp_path, 3, a, a_opt, {"note": "x"})
    b, b_opt = _model_and_opt(123)  # different init: everything must come from the checkpoint
    meta = load_checkpoint(latest_checkpoint(tmp_path), b, b_opt)
    assert meta["step"] == 3 and meta["note"] == "x"
    for i in range(3, 6):
        _step(b, b_opt, i)
    for (k, v1), v2 in zip(ref.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(v1, v2), k


def test_keeps_last_checkpoints_and_pointer(tmp_path):
    model, opt = _model_and_opt(0)
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, step, model, opt, {}, keep=2)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["step-00000002", "step-00000003"]
    assert json.loads((tmp_path / "latest.json").read_text())["step"] == 3
    assert latest_checkpoint(tmp_path / "nothing-here") is None


def test_mismatched_model_is_a_clear_error(tmp_path):
    model, opt = _model_and_opt(0)
    save_checkpoint(tmp_path, 1, model, opt, {})
    other = nn.Linear(4, 1)
    with pytest.raises(CheckpointError, match="does not match the model"):
        load_checkpoint(latest_checkpoint(tmp_path), other)
    (latest_checkpoint(tmp_path) / "optimizer.safetensors").unlink()
    with pytest.raises(CheckpointError, match="missing optimizer.safetensors"):
        load_checkpoint(latest_checkpoint(tmp_path), model, opt)


def test_shared_submodules_round_trip(tmp_path):
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = nn.Linear(3, 3)
            self.a = nn.ModuleDict({"core": self.core})  # the same module reachable twice

    m = Shared()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    save_checkpoint(tmp_path, 1, m, opt, {})
    m2 = Shared()
    load_checkpoint(latest_checkpoint(tmp_path), m2, torch.optim.SGD(m2.parameters(), lr=0.1))
    assert torch.equal(m2.core.weight, m.core.weight) and m2.a["core"] is m2.core
