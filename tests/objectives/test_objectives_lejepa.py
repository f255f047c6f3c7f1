"""LeJEPA: invariance and per-view SIGReg against explicit loops, shared directions, loss falls."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch

from tsdividend.config import ConfigError
from tsdividend.losses.multiview import sigreg_per_view, view_invariance
from tsdividend.losses.sigreg import sigreg
from tsdividend.objectives import Batch
from tsdividend.objectives.lejepa import LeJEPA, LeJEPAConfig

from .conftest import paired_loss_ratio, sine_batch, tiny_encoder


def _lejepa(seed: int = 0, **options) -> LeJEPA:
    torch.manual_seed(seed)
    return LeJEPA(tiny_encoder(seed=seed), replace(LeJEPA.tiny_config(), **options))


def _batch(base: Batch, seed: int, shared_seed: int, step: int = 0, total: int = 1) -> Batch:
    g, sg = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(shared_seed)
    return Batch(base.x, base.mask, g, sg, step, total)


def _with_embeddings(obj: LeJEPA, z: torch.Tensor) -> LeJEPA:
    """Make the objective see fixed view embeddings (what an encoder + projector would give)."""
    obj.view_embeddings = lambda batch: z  # type: ignore[method-assign]
    return obj


def _invariance_loop(z: torch.Tensor) -> torch.Tensor:
    """mean_n mean_v ||z_v,n - mean_v' z_v',n||^2, one sample and one view at a time."""
    v, n, _ = z.shape
    total = 0.0
    for i in range(n):
        center = sum(z[j, i] for j in range(v)) / v
        total += sum(float(((z[j, i] - center) ** 2).sum()) for j in range(v)) / v
    return torch.tensor(total / n)


def test_invariance_and_loss_match_explicit_loops_over_views():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(3, 10, 8, generator=g) + torch.randn(1, 10, 8, generator=g)
    ref = _invariance_loop(z)
    torch.testing.assert_close(view_invariance(z, "sum").mean(), ref)
    torch.testing.assert_close(view_invariance(z, "mean").mean(), ref / 8)
    obj = _with_embeddings(_lejepa(), z)
    batch = _batch(sine_batch(), 1, 2)
    out = obj(batch)
    torch.testing.assert_close(out.logs["invariance"], ref / 8)  # default: the official scale
    dirs = obj.slice_directions(_batch(sine_batch(), 1, 2))
    per_view = torch.stack([sigreg(z[v], dirs) for v in range(3)]).mean()
    torch.testing.assert_close(out.logs["sigreg"], per_view)
    torch.testing.assert_close(out.loss, 0.98 * ref / 8 + 0.02 * per_view)


def test_sigreg_per_view_equals_the_mean_of_single_view_sigreg():
    z = torch.randn(4, 64, 6, generator=torch.Generator().manual_seed(1))
    dirs = torch.nn.functional.normalize(torch.randn(6, 20), dim=0)
    expected = torch.stack([sigreg(z[v], dirs) for v in range(4)]).mean()
    torch.testing.assert_close(sigreg_per_view(z, dirs), expected)


def test_sigreg_part_small_for_gaussian_embeddings_large_for_collapsed_or_shifted():
    g = torch.Generator().manual_seed(0)
    n, d = 512, 8
    gauss = torch.randn(2, n, d, generator=g)
    cases = {
        "gaussian": gauss,
        "constant": torch.full((2, n, d), 0.7),
        "shifted": gauss + 2.0,
        "low_rank": gauss[..., :1].expand(2, n, d) / d**0.5,  # collapsed onto one direction
    }
    stat = {
        name: _with_embeddings(_lejepa(), z)(_batch(sine_batch(), 1, 2)).logs["sigreg"]
        for name, z in cases.items()
    }
    assert stat["gaussian"] < 2.0, stat  # O(1) under the null, whatever N
    for name in ("constant", "shifted", "low_rank"):
        assert stat[name] > 20 * stat["gaussian"], stat


def test_directions_come_only_from_the_shared_generator():
    obj, base = _lejepa(), sine_batch()
    a = obj.slice_directions(_batch(base, seed=1, shared_seed=7))
    b = obj.slice_directions(_batch(base, seed=2, shared_seed=7))  # another rank, same step
    c = obj.slice_directions(_batch(base, seed=1, shared_seed=8))  # next step
    assert a.shape == (8, 32) and torch.allclose(a.norm(dim=0), torch.ones(32))
    assert torch.equal(a, b) and not torch.allclose(a, c)
    # End to end with deterministic views the loss depends only on the directions.
    same = _lejepa(views=("identity", "identity"))
    la = same(_batch(base, seed=1, shared_seed=7)).loss
    assert torch.equal(la, same(_batch(base, seed=2, shared_seed=7)).loss)
    assert not torch.equal(la, same(_batch(base, seed=1, shared_seed=8)).loss)


def test_views_use_the_per_rank_generator_and_pool_by_the_encoder_rule():
    obj, base = _lejepa(), sine_batch(c=2)
    z1 = obj.view_embeddings(_batch(base, 1, 2))
    assert z1.shape == (2, 16, 8)
    assert torch.equal(z1, obj.view_embeddings(_batch(base, 1, 3)))
    assert not torch.allclose(z1, obj.view_embeddings(_batch(base, 5, 2)))
    plain = _lejepa(views=("identity", "identity"), projector=False).eval()
    z = plain.view_embeddings(_batch(base, 1, 2))  # (V, B*C, D) per channel row
    emb = plain.encoder.embed(base.x, base.mask)  # (B, C*D): THE pooling rule
    torch.testing.assert_close(z[0].reshape(8, 64), emb)
    # identical views: zero up to float rounding (the reduction order differs between CPUs)
    assert abs(float(plain(_batch(base, 1, 2)).logs["invariance"])) < 1e-12


def test_config_errors_name_the_values():
    with pytest.raises(ConfigError, match=r"views must list >= 2 view names, got \('dwt_soft',\)"):
        LeJEPAConfig(views=("dwt_soft",))
    with pytest.raises(ConfigError, match="view 'dwt_hard' unknown; valid:"):
        LeJEPAConfig(views=("dwt_soft", "dwt_hard"))
    with pytest.raises(ConfigError, match=r"sigreg_weight must be in \[0, 1\], got 1.5"):
        LeJEPAConfig(sigreg_weight=1.5)
    with pytest.raises(ConfigError, match="invariance_reduction 'max' unknown"):
        LeJEPAConfig(invariance_reduction="max")


def test_loss_falls_on_sines():
    obj, base, steps = _lejepa(), sine_batch(b=8), 60
    initial = copy.deepcopy(obj)
    opt = torch.optim.AdamW(obj.parameters(), lr=2e-3)
    for s in range(steps):
        loss = obj(_batch(base, 100 + s, 200 + s, s, steps)).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        obj.on_after_step(s + 1, steps)
    # paired held-out views and slices: 1.0 exactly if training did nothing; measured 0.32-0.45
    # over 3 seeds
    ratio = paired_loss_ratio(obj, initial, base)
    assert ratio < 0.75, ratio


@pytest.mark.parametrize("tokenizer", ["patch", "nutime"])
def test_padded_series_give_finite_loss_and_gradients_under_bf16_autocast(tokenizer):
    torch.manual_seed(0)
    obj = LeJEPA(tiny_encoder(tokenizer), LeJEPA.tiny_config())
    base = sine_batch(b=4, c=2)
    mask = base.mask.clone()
    mask[1, 0], mask[2, :, 50:] = False, False  # a missing channel, a short series
    x = torch.where(mask, base.x, torch.zeros(()))
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the DWT views must run in float32
        loss = obj(_batch(Batch(x, mask, base.generator, base.shared_generator), 1, 2)).loss
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in obj.parameters() if p.grad is not None)
