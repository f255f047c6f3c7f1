"""MAE: exact per-series mask counts, visible-only statistics, exact masked loss, falling loss."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from tsdividend.config import ConfigError
from tsdividend.objectives.mae import MAEConfig, MAEObjective, hidden_steps, random_patch_mask

from .conftest import fit, paired_loss_ratio, sine_batch, tiny_encoder

P = S = 16  # the tiny encoder's patch length and stride


def test_mask_count_is_exact_per_series_and_skips_padding():
    n = 21
    n_obs = torch.arange(n + 1)  # rows with 0 .. 21 observed patches
    padding = torch.arange(n)[None, :] >= n_obs[:, None]
    padding = padding[:, torch.randperm(n, generator=torch.Generator().manual_seed(0))]
    masked = random_patch_mask(padding, 0.4, torch.Generator().manual_seed(1))
    for row in range(n + 1):
        expected = min(round(0.4 * int(n_obs[row])), max(int(n_obs[row]) - 1, 0))
        assert int(masked[row].sum()) == expected, row
    assert not (masked & padding).any()
    assert int(masked[n].sum()) == 8  # round(0.4 * 21); PatchTST's int(21 * 0.6) keeps 12


def test_mask_positions_are_per_series_uniform_and_seeded():
    padding = torch.zeros(4000, 10, dtype=torch.bool)
    masked = random_patch_mask(padding, 0.4, torch.Generator().manual_seed(0))
    assert (masked.sum(1) == 4).all()
    assert len({tuple(r.tolist()) for r in masked[:50]}) > 40  # rows draw their own positions
    freq = masked.float().mean(0)
    assert torch.allclose(freq, torch.full((10,), 0.4), atol=0.03), freq
    again = random_patch_mask(padding, 0.4, torch.Generator().manual_seed(0))
    assert torch.equal(masked, again)


@pytest.mark.parametrize(("patch_len", "stride"), [(4, 4), (4, 2), (5, 3)])
def test_hidden_steps_cover_the_masked_patches(patch_len, stride):
    g = torch.Generator().manual_seed(0)
    length = 17
    n = 1 + math.ceil(max(length - patch_len, 0) / stride)
    masked = torch.rand(3, n, generator=g) < 0.4
    hidden = hidden_steps(masked, length, patch_len, stride)
    for r in range(3):
        for t in range(length):
            covered = any(
                masked[r, j] and j * stride <= t < j * stride + patch_len for j in range(n)
            )
            assert bool(hidden[r, t]) == covered


def _reference_loss(x, mask, masked, pred) -> float:
    """Explicit loops: statistics over observed, unmasked steps; error over masked, observed."""
    b, c, t = x.shape
    rows = []
    for bi in range(b):
        for ci in range(c):
            r = bi * c + ci
            hidden = [bool(masked[r, s // P]) for s in range(t)]
            vis = [float(x[bi, ci, s]) for s in range(t) if mask[bi, ci, s] and not hidden[s]]
            mean = sum(vis) / len(vis)
            std = math.sqrt(sum((v - mean) ** 2 for v in vis) / len(vis) + 1e-5)
            every = [float(x[bi, ci, s]) for s in range(t) if mask[bi, ci, s]]
            m_all = sum(every) / len(every)
            std_all = math.sqrt(sum((v - m_all) ** 2 for v in every) / len(every) + 1e-5)
            std = max(std, std_all)  # target_floor: at least the whole window's std
            total, count = 0.0, 0
            for s in range(t):
                if mask[bi, ci, s] and hidden[s]:
                    target = (float(x[bi, ci, s]) - mean) / std
                    total += (float(pred[r, s // P, s % P]) - target) ** 2
                    count += 1
            rows.append(total / count if count else 0.0)
    return sum(rows) / len(rows)


def test_loss_matches_loop_reference_with_missing_values():
    torch.manual_seed(0)
    obj = MAEObjective(tiny_encoder(), MAEConfig())
    batch = sine_batch(b=3, c=2, t=120)
    batch.mask[2, 0, 30:70] = False  # patch 2 entirely missing in this row
    batch.x = torch.where(batch.mask, batch.x, torch.zeros(()))
    seen = {}
    handle = obj.head.register_forward_hook(lambda m, i, o: seen.setdefault("pred", o.detach()))
    loss = obj(batch).loss.detach()
    handle.remove()
    _, _, observed, masked = obj.predict(batch.x, batch.mask, torch.Generator().manual_seed(1))
    assert not masked[4, 2]  # a padded patch is never masked
    assert masked.sum(1).tolist() == [round(0.4 * int(k)) for k in observed.any(-1).sum(1)]
    assert float(loss) == pytest.approx(_reference_loss(batch.x, batch.mask, masked, seen["pred"]))


@pytest.mark.parametrize("tokenizer", ["patch", "nutime"])
def test_masked_values_never_reach_the_encoder(tokenizer):
    torch.manual_seed(0)
    obj = MAEObjective(tiny_encoder(tokenizer), MAEConfig()).eval()
    batch = sine_batch(b=4, t=128)
    pred, _, _, masked = obj.predict(batch.x, batch.mask, torch.Generator().manual_seed(3))
    steps = masked.repeat_interleave(P, dim=1).reshape(batch.x.shape)
    x2 = torch.where(steps, batch.x + 4.0 * torch.rand(batch.x.shape), batch.x)
    pred2 = obj.predict(x2, batch.mask, torch.Generator().manual_seed(3))[0]
    torch.testing.assert_close(pred2, pred)


def test_patchtst_statistics_leak_the_masked_values():
    torch.manual_seed(0)
    obj = MAEObjective(tiny_encoder(), MAEConfig(visible_stats=False)).eval()
    batch = sine_batch(b=4, t=128)
    pred, _, _, masked = obj.predict(batch.x, batch.mask, torch.Generator().manual_seed(3))
    steps = masked.repeat_interleave(P, dim=1).reshape(batch.x.shape)
    pred2 = obj.predict(batch.x + 4.0 * steps, batch.mask, torch.Generator().manual_seed(3))[0]
    assert not torch.allclose(pred2, pred)


def test_config_errors_name_the_bad_value():
    for bad in (0, 1.0, -0.1, "0.4", True):
        with pytest.raises(ConfigError, match="mask_ratio must be a number in \\(0, 1\\)"):
            MAEConfig(mask_ratio=bad)
    with pytest.raises(ConfigError, match="visible_stats must be a bool"):
        MAEConfig(visible_stats=1)


def test_downstream_is_the_online_encoder():
    enc = tiny_encoder()
    assert MAEObjective(enc, MAEConfig()).downstream_encoder() is enc


@pytest.mark.parametrize("tokenizer", ["patch", "nutime"])
def test_loss_falls_on_sines(tokenizer):
    torch.manual_seed(0)
    obj = MAEObjective(tiny_encoder(tokenizer), MAEObjective.tiny_config())
    initial, base = copy.deepcopy(obj), sine_batch(b=16)
    fit(obj, base, 60, lr=3e-3)
    # paired held-out masks: 1.0 exactly if training did nothing; measured 0.60-0.65 (patch) and
    # 0.57-0.59 (nutime) over 3 seeds
    ratio = paired_loss_ratio(obj, initial, base)
    assert ratio < 0.85, ratio
