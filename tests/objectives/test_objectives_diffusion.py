"""Diffusion: cosine schedule, per-patch noising, shifted causal context, self-only decoder."""

from __future__ import annotations

import math

import pytest
import torch

from tsdividend.config import ConfigError
from tsdividend.objectives import Batch
from tsdividend.objectives.diffusion import (
    DiffusionConfig,
    DiffusionObjective,
    cosine_alpha_bar,
)

from .conftest import fit, mean_first_last, sine_batch, tiny_encoder

P = 16


def _reference_alpha_bar(timesteps: int, s: float) -> list[float]:
    """Nichol & Dhariwal 2021, eq. 17 and the beta clip at 0.999, one step at a time."""

    def f(t: float) -> float:
        return math.cos((t / timesteps + s) / (1 + s) * math.pi / 2) ** 2

    out, prod = [], 1.0
    for t in range(1, timesteps + 1):
        beta = min(1 - (f(t) / f(0)) / (f(t - 1) / f(0)), 0.999)
        prod *= 1 - beta
        out.append(prod)
    return out


@pytest.mark.parametrize(("timesteps", "s"), [(1000, 0.008), (10, 0.008), (50, 0.1)])
def test_cosine_schedule_matches_the_formula(timesteps, s):
    got = cosine_alpha_bar(timesteps, s)
    ref = torch.tensor(_reference_alpha_bar(timesteps, s))
    assert got.shape == (timesteps,) and got.dtype == torch.float32
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-9)
    assert (got[1:] < got[:-1]).all()


def test_cosine_schedule_known_values():
    abar = cosine_alpha_bar(1000)
    # Without the clip abar(t) = f(t) / f(0) exactly; the clip only acts at the very end.
    f0 = math.cos(0.008 / 1.008 * math.pi / 2) ** 2
    for t in (0, 250, 500, 750):
        expected = math.cos(((t + 1) / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2 / f0
        assert float(abar[t]) == pytest.approx(expected, rel=1e-5)
    assert float(abar[499]) == pytest.approx(0.4936, abs=1e-3)  # half-way: about half signal
    assert 0 < float(abar[-1]) < 1e-6


def _run_with_hook(obj: DiffusionObjective, batch: Batch):
    seen = {}

    def pre(module, args):
        seen["args"] = [a.detach() for a in args]

    def post(module, args, out):
        seen["pred"] = out.detach()

    h1 = obj.decoder.register_forward_pre_hook(pre)
    h2 = obj.decoder.register_forward_hook(post)
    loss = obj(batch).loss.detach()
    h1.remove()
    h2.remove()
    return loss, seen


def test_noising_is_per_patch_and_loss_is_x0_mse_over_observed():
    torch.manual_seed(0)
    obj = DiffusionObjective(tiny_encoder(), DiffusionObjective.tiny_config())
    batch = sine_batch(b=3, c=2, t=120)
    loss, seen = _run_with_hook(obj, batch)
    noisy, t, _, _ = seen["args"]
    x0 = obj.encoder.patchify(batch.x, batch.mask)
    # Same draws in the same order as the objective: timesteps, then Gaussian noise.
    g = torch.Generator().manual_seed(1)  # sine_batch(seed=0)'s generator
    t_ref = torch.randint(0, 1000, (6, 8), generator=g)
    eps = torch.randn(6, 8, P, generator=g)
    assert torch.equal(t, t_ref)
    assert all(len(set(row.tolist())) > 4 for row in t)  # one timestep per patch
    abar = _reference_alpha_bar(1000, 0.008)
    total = 0.0
    for r in range(6):
        num, den = 0.0, 0
        for j in range(8):
            a = abar[int(t[r, j])]
            for p in range(P):
                if x0.observed[r, j, p]:
                    clean = float(x0.values[r, j, p])
                    expected = math.sqrt(a) * clean + math.sqrt(1 - a) * float(eps[r, j, p])
                    assert float(noisy[r, j, p]) == pytest.approx(expected, abs=1e-5)
                    num += (float(seen["pred"][r, j, p]) - clean) ** 2
                    den += 1
                else:
                    assert float(noisy[r, j, p]) == 0.0
        total += num / den
    assert float(loss) == pytest.approx(total / 6, rel=1e-5)


def test_context_j_sees_only_clean_patches_before_j():
    # NuTime tokens embed each window on its own, so any dependence is through attention.
    torch.manual_seed(0)
    obj = DiffusionObjective(tiny_encoder("nutime"), DiffusionObjective.tiny_config()).eval()
    x = sine_batch(b=2, t=128).x
    ctx = obj.encode_context(x)[0]
    assert ctx.shape == (2, 8, 32)
    for j in (0, 3, 7):
        x2 = x.clone()
        x2[..., j * P : (j + 1) * P] += 3.0
        ctx2 = obj.encode_context(x2)[0]
        torch.testing.assert_close(ctx2[:, : j + 1], ctx[:, : j + 1])
        if j < 7:
            assert not torch.allclose(ctx2[:, j + 1], ctx[:, j + 1])


def test_decoder_query_j_uses_encoder_output_j_only():
    torch.manual_seed(0)
    obj = DiffusionObjective(tiny_encoder(), DiffusionObjective.tiny_config()).eval()
    noisy, ctx = torch.randn(2, 8, P), torch.randn(2, 8, 32)
    t = torch.randint(0, 1000, (2, 8))
    pos = obj.encoder.position_table()[1:9]
    out = obj.decoder(noisy, t, ctx, pos)
    ctx2 = ctx.clone()
    ctx2[:, 5] += 1.0
    out2 = obj.decoder(noisy, t, ctx2, pos)
    changed = (out2 - out).abs().amax(dim=(0, 2)) > 0
    assert changed.tolist() == [j == 5 for j in range(8)]
    t2 = t.clone()
    t2[:, 2] = (t2[:, 2] + 500) % 1000
    changed = (obj.decoder(noisy, t2, ctx, pos) - out).abs().amax(dim=(0, 2)) > 0
    assert changed.tolist() == [j == 2 for j in range(8)]


def test_config_errors_name_the_bad_value():
    with pytest.raises(ConfigError, match="timesteps must be an int >= 1, got 0"):
        DiffusionConfig(timesteps=0)
    with pytest.raises(ConfigError, match="decoder_depth must be an int, got 1.5"):
        DiffusionConfig(decoder_depth=1.5)
    with pytest.raises(ConfigError, match="cosine_s must be a number > 0, got 0"):
        DiffusionConfig(cosine_s=0)
    with pytest.raises(ConfigError, match="dropout must be a number in \\[0, 1\\), got 1"):
        DiffusionConfig(dropout=1)


def test_downstream_is_the_online_encoder_and_depth_is_configurable():
    enc = tiny_encoder()
    obj = DiffusionObjective(enc, DiffusionConfig(decoder_depth=2, dropout=0.0))
    assert obj.downstream_encoder() is enc and len(obj.decoder.mlps) == 2
    assert torch.isfinite(obj(sine_batch(b=2)).loss)


@pytest.mark.parametrize("tokenizer", ["patch", "nutime"])
def test_loss_falls_on_sines(tokenizer):
    torch.manual_seed(0)
    obj = DiffusionObjective(tiny_encoder(tokenizer), DiffusionObjective.tiny_config())
    first, last = mean_first_last(fit(obj, sine_batch(b=8), 40, lr=3e-3), 5)
    assert last < 0.5 * first, (first, last)  # measured about 0.2x
