"""One conformance suite over every registered objective (DESIGN.md, house style 12)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
import torch

import tsdividend.objectives as package
from tsdividend.encoder import Encoder
from tsdividend.objectives import MODULES, OBJECTIVES, Objective, build_objective

from .conftest import sine_batch, tiny_encoder

NAMES = OBJECTIVES.names()


def _build(name: str, tokenizer: str = "patch", seed: int = 0):
    torch.manual_seed(seed)
    cls = OBJECTIVES.get(name)
    return cls(tiny_encoder(tokenizer, seed), cls.tiny_config())


def _package_objectives() -> dict[str, list[type]]:
    """Module name -> the concrete Objective classes defined in it, for every package module."""
    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        found[info.name] = [
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj)
            and issubclass(obj, Objective)
            and obj.__module__ == module.__name__
            and not inspect.isabstract(obj)
        ]
    return found


def test_every_objective_module_registers_its_objective_once():
    registered = [OBJECTIVES.get(name) for name in NAMES]
    assert len(set(registered)) == len(registered), "one class registered under two names"
    for module, classes in _package_objectives().items():
        for cls in classes:
            assert cls in registered, f"{module}.{cls.__name__} is not registered"
            assert not hasattr(cls, "name"), "the registered name is the only name"


def test_built_ins_are_listed_first_in_the_documented_order():
    # generative, latent, hybrid (objectives/__init__.py); anything else follows
    builtin = [n for n in NAMES if OBJECTIVES.get(n).__module__.startswith(package.__name__)]
    assert NAMES[: len(MODULES)] == builtin[: len(MODULES)] == list(MODULES)
    assert MODULES == ("ntp", "mae", "diffusion", "jepa", "lejepa", "dino", "byol", "hybrid")


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
