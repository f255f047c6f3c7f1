"""NTP: k-ahead targets, context-only normalisation, exact masked loss, and a falling loss."""

from __future__ import annotations

import math

import pytest
import torch

from tsdividend.config import ConfigError
from tsdividend.objectives import Batch
from tsdividend.objectives.heads import ResidualMLP
from tsdividend.objectives.ntp import NTPConfig, NTPObjective

from .conftest import fit, mean_first_last, sine_batch, tiny_encoder

P = S = 16  # the tiny encoder's patch length and stride


def _capture_pred(obj: NTPObjective, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    seen = {}
    handle = obj.head.register_forward_hook(lambda m, i, o: seen.setdefault("pred", o.detach()))
    loss = obj(batch).loss.detach()
    handle.remove()
    return loss, seen["pred"]


def _reference_loss(x, mask, pred, k: int, last_only: bool) -> float:
    """Explicit loops: stats over the context's observed steps, target = patch i + k."""
    b, c, t = x.shape
    n = 1 + math.ceil(max(t - P, 0) / S)
    n_ctx = n - k
    t_ctx = (n_ctx - 1) * S + P
    first = n_ctx - min(k, n_ctx) if last_only else 0
    rows = []
    for bi in range(b):
        for ci in range(c):
            ctx = [float(x[bi, ci, s]) for s in range(t_ctx) if mask[bi, ci, s]]
            mean = sum(ctx) / len(ctx)
            std = math.sqrt(sum((v - mean) ** 2 for v in ctx) / len(ctx) + 1e-5)
            every = [float(x[bi, ci, s]) for s in range(t) if mask[bi, ci, s]]
            m_all = sum(every) / len(every)
            std_all = math.sqrt(sum((v - m_all) ** 2 for v in every) / len(every) + 1e-5)
            std = max(std, std_all)  # target_floor: at least the whole window's std
            total, count = 0.0, 0
            for i in range(first, n_ctx):
                for p in range(P):
                    step = (i + k) * S + p
                    if step < t and mask[bi, ci, step]:
                        target = (float(x[bi, ci, step]) - mean) / std
                        total += (float(pred[bi * c + ci, i, p]) - target) ** 2
                        count += 1
            rows.append(total / count if count else 0.0)
    return sum(rows) / len(rows)


@pytest.mark.parametrize(("k", "positions"), [(1, "all"), (3, "all"), (2, "last")])
def test_targets_are_k_ahead_patches_and_loss_matches_loop_reference(k, positions):
    torch.manual_seed(0)
    obj = NTPObjective(tiny_encoder(), NTPConfig(horizon=k, positions=positions))
    batch = sine_batch(b=3, c=2, t=120)  # 8 patches, the last one right-padded
    batch.mask[1, 1, 40:60] = False  # a gap inside the context
    batch.x = torch.where(batch.mask, batch.x, torch.zeros(()))
    loss, pred = _capture_pred(obj, batch)
    assert pred.shape == (6, 8 - k, P)
    ref = _reference_loss(batch.x, batch.mask, pred, k, positions == "last")
    assert float(loss) == pytest.approx(ref, rel=1e-5)


@pytest.mark.parametrize("tokenizer", ["patch", "nutime"])
@pytest.mark.parametrize("floor", [True, False])
def test_predictions_never_see_the_values_after_the_context(tokenizer, floor):
    torch.manual_seed(0)
    obj = NTPObjective(tiny_encoder(tokenizer), NTPConfig(horizon=2, target_floor=floor)).eval()
    batch = sine_batch(b=2, t=128)
    pred, target, _ = obj.predict(batch.x, batch.mask)
    t_ctx = (8 - 2 - 1) * S + P
    x2 = batch.x.clone()
    x2[..., t_ctx:] += 5.0 * torch.randn(x2[..., t_ctx:].shape)
    pred2, target2, _ = obj.predict(x2, batch.mask)
    torch.testing.assert_close(pred2, pred)  # the horizon patches are never tokenized
    if not floor:  # context-only statistics; the floor lets later values set the targets' scale
        torch.testing.assert_close(target2[:, :-2], target[:, :-2])
    assert not torch.allclose(target2[:, -2:], target[:, -2:])


def test_predictions_are_causal_within_the_context_with_nutime_tokens():
    torch.manual_seed(0)
    obj = NTPObjective(tiny_encoder("nutime"), NTPConfig()).eval()
    batch = sine_batch(b=2, t=128)
    pred = obj.predict(batch.x, batch.mask)[0]
    x2 = batch.x.clone()
    x2[..., 3 * S : 4 * S] += 3.0  # patch 3
    pred2 = obj.predict(x2, batch.mask)[0]
    torch.testing.assert_close(pred2[:, :3], pred[:, :3])
    assert not torch.allclose(pred2[:, 3], pred[:, 3])


def test_heads_residual_and_linear():
    enc = tiny_encoder()
    res = NTPObjective(enc, NTPConfig()).head
    assert isinstance(res, ResidualMLP) and res.fc1.out_features == enc.config.mlp_hidden
    h = torch.randn(4, 32)
    manual = res.fc2(torch.nn.functional.gelu(res.fc1(h))) + res.skip(h)
    torch.testing.assert_close(res(h), manual)
    lin = NTPObjective(enc, NTPConfig(head="linear")).head
    assert isinstance(lin, torch.nn.Linear) and lin.out_features == P


def test_config_and_length_errors_name_the_bad_value():
    with pytest.raises(ConfigError, match="horizon must be an int >= 1, got 0"):
        NTPConfig(horizon=0)
    with pytest.raises(ConfigError, match="positions 'first' unknown; valid"):
        NTPConfig(positions="first")
    with pytest.raises(ConfigError, match="head 'mlp' unknown; valid"):
        NTPConfig(head="mlp")
    obj = NTPObjective(tiny_encoder(), NTPConfig(horizon=8))
    with pytest.raises(ValueError, match="horizon=8 needs more than 8 patches"):
        obj(sine_batch(b=2, t=128))


def test_downstream_is_the_online_encoder():
    enc = tiny_encoder()
    assert NTPObjective(enc, NTPConfig()).downstream_encoder() is enc


@pytest.mark.parametrize("tokenizer", ["patch", "nutime"])
def test_loss_falls_on_sines(tokenizer):
    torch.manual_seed(0)
    obj = NTPObjective(tiny_encoder(tokenizer), NTPObjective.tiny_config())
    first, last = mean_first_last(fit(obj, sine_batch(b=8), 40, lr=3e-3), 5)
    assert last < 0.5 * first, (first, last)  # measured about 0.1x
