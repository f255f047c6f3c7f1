"""One conformance suite over every registered objective (DESIGN.md, house style 12)."""

from __future__ import annotations

import pytest
import torch

from tsdividend.encoder import Encoder
from tsdividend.objectives import OBJECTIVES, build_objective

from .conftest import sine_batch, tiny_encoder

NAMES = OBJECTIVES.names()
EXPECTED = ["ntp", "mae", "diffusion", "jepa", "lejepa", "dino", "byol", "hybrid"]


def _build(name: str, tokenizer: str = "patch", seed: int = 0):
    torch.manual_seed(seed)
    cls = OBJECTIVES.get(name)
    return cls(tiny_encoder(tokenizer, seed), cls.tiny_config())


def test_registry_lists_every_objective():
    assert sorted(NAMES) == sorted(EXPECTED)


@pytest.mark.parametrize("tokenizer", ["patch", "nutime"])
@pytest.mark.parametrize("name", NAMES)
def test_finite_loss_and_every_trainable_parameter_gets_a_gradient(name, tokenizer):
    obj = _build(name, tokenizer)
    obj.train()
    out = obj(sine_batch(c=2))
    assert out.loss.ndim == 0 and torch.isfinite(out.loss), out.loss
    for key, value in out.logs.items():
        assert torch.as_tensor(value).numel() == 1, key
    out.loss.backward()
    for pname, p in obj.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, f"{name}: {pname} got no gradient"
            assert torch.isfinite(p.grad).all(), f"{name}: {pname} has a non-finite gradient"
        else:
            assert p.grad is None, f"{name}: frozen {pname} got a gradient"


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_loss_and_state_round_trip(name):
    a, b = _build(name), _build(name)
    la, lb = a(sine_batch()).loss, b(sine_batch()).loss
    assert torch.equal(la, lb)
    c = _build(name, seed=7)
    c.load_state_dict(a.state_dict())
    assert torch.equal(c(sine_batch()).loss, la)


@pytest.mark.parametrize("name", NAMES)
def test_downstream_encoder_and_hook(name):
    obj = _build(name)
    enc = obj.downstream_encoder()
    assert isinstance(enc, Encoder)
    obj.on_after_step(1, 10)
    emb = enc.eval().embed(sine_batch().x)
    assert emb.shape == (8, 32) and torch.isfinite(emb).all()
    if enc is not obj.encoder:  # an EMA target: frozen, moved only by on_after_step
        assert all(not p.requires_grad for p in enc.parameters())


def test_unknown_objective_and_option_are_named():
    with pytest.raises(KeyError, match="unknown objective 'simclr'; valid:"):
        build_objective("simclr", tiny_encoder())
    if "mae" in NAMES:
        with pytest.raises(ValueError, match="unknown key"):
            build_objective("mae", tiny_encoder(), {"mask_ration": 0.4})
