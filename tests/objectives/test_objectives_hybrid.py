import copy

import pytest
import torch

from tsdividend.config import ConfigError, from_dict
from tsdividend.objectives.hybrid import Hybrid, HybridConfig
from tsdividend.objectives.lejepa import LeJEPA
from tsdividend.objectives.mae import MAEObjective

from .conftest import fit, paired_loss_ratio, sine_batch, tiny_encoder


def test_loss_is_the_alpha_weighted_sum_of_its_parts():
    torch.manual_seed(0)
    cfg = Hybrid.tiny_config()
    obj = Hybrid(
        tiny_encoder(), HybridConfig(alpha=0.3, generative=cfg.generative, latent=cfg.latent)
    )
    out = obj(sine_batch())
    # The parts, run alone on an identical batch (same generator state), give the same numbers.
    batch = sine_batch()
    gen = obj.generative(batch).loss
    lat = obj.latent(batch).loss
    assert torch.allclose(out.loss, 0.3 * gen + 0.7 * lat, atol=1e-6)
    assert obj.generative.encoder is obj.latent.encoder is obj.encoder
    assert isinstance(obj.generative, MAEObjective) and isinstance(obj.latent, LeJEPA)


def test_alpha_validated_and_nested_config_from_dict():
    with pytest.raises(ConfigError, match="alpha must be a number in"):
        HybridConfig(alpha=1.5)
    cfg = from_dict(HybridConfig, {"alpha": 0.8, "generative": {"mask_ratio": 0.5}})
    assert cfg.generative.mask_ratio == 0.5 and cfg.alpha == 0.8


def test_loss_falls():
    torch.manual_seed(0)
    obj = Hybrid(tiny_encoder(), Hybrid.tiny_config())
    initial, base = copy.deepcopy(obj), sine_batch(b=16)
    fit(obj, base, 40, lr=3e-3)
    # paired held-out draws: 1.0 exactly if training did nothing; measured 0.61-0.66 over 3 seeds
    ratio = paired_loss_ratio(obj, initial, base)
    assert ratio < 0.85, ratio
