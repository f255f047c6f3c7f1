"""DINO: loss math against explicit loops, centring, teacher EMA, prototypes, freezing, training."""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest
import torch

from tsdividend.augment import make_view
from tsdividend.config import ConfigError
from tsdividend.encoder.pooling import row_embedding
from tsdividend.losses.distillation import dino_loss, update_center
from tsdividend.objectives import build_objective
from tsdividend.objectives import dino as dino_module
from tsdividend.objectives.dino import DINO, DINOConfig
from tsdividend.objectives.scaling import scaled_view

from .conftest import paired_loss_ratio, sine_batch, tiny_encoder


def _build(**changes) -> DINO:
    torch.manual_seed(0)
    return DINO(tiny_encoder(), dataclasses.replace(DINO.tiny_config(), **changes))


def _reference_dino(student, teacher, center, tau_s, tau_t, skip_same):
    """Explicit loops over (teacher view i, student view j, sample n, prototype k), on nested
    Python lists."""
    v_t, n, k, v_s = len(teacher), len(teacher[0]), len(center), len(student)
    total, pairs = 0.0, 0
    for i in range(v_t):
        for j in range(v_s):
            if skip_same and i == j:
                continue
            pair = 0.0
            for s in range(n):
                t_exp = [math.exp((teacher[i][s][q] - center[q]) / tau_t) for q in range(k)]
                s_exp = [math.exp(student[j][s][q] / tau_s) for q in range(k)]
                for q in range(k):
                    pair -= t_exp[q] / sum(t_exp) * math.log(s_exp[q] / sum(s_exp))
            total += pair / n
            pairs += 1
    return total / pairs


@pytest.mark.parametrize("skip_same", [False, True])
def test_dino_loss_matches_explicit_loops(skip_same):
    g = torch.Generator().manual_seed(3)
    student = torch.randn(3, 4, 6, generator=g, dtype=torch.float64).tolist()
    teacher = torch.randn(2, 4, 6, generator=g, dtype=torch.float64).tolist()
    center = (0.3 * torch.randn(6, generator=g, dtype=torch.float64)).tolist()
    got = dino_loss(
        torch.tensor(student), torch.tensor(teacher), torch.tensor(center), 0.1, 0.04, skip_same
    )
    want = _reference_dino(student, teacher, center, 0.1, 0.04, skip_same)
    assert got.item() == pytest.approx(want, rel=1e-4)


def test_dino_loss_rejects_bad_shapes():
    with pytest.raises(ValueError, match="shapes disagree"):
        dino_loss(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), torch.zeros(4))
    with pytest.raises(ValueError, match="no .* pair left"):
        dino_loss(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), torch.zeros(3), skip_same_view=True)


def test_update_center_formula():
    c, b = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([3.0, 0.0, -1.0])
    want = torch.tensor([0.9 * 1 + 0.1 * 3, 0.9 * -2 + 0.1 * 0, 0.9 * 0.5 + 0.1 * -1])
    torch.testing.assert_close(update_center(c, b, 0.9), want)


def _teacher_scores(obj: DINO, seed: int) -> torch.Tensor:
    """The teacher's (B*C, K) scores of ``sine_batch(seed=seed)``, recomputed independently:
    the teacher view is the objective's first draw from the batch generator."""
    batch = sine_batch(seed=seed)
    x_t, m_t = scaled_view(make_view("dwt_soft"), batch.x, batch.mask, batch.generator)
    with torch.no_grad():
        return obj.teacher_head(obj.teacher_encoder.embed(x_t, m_t))  # C = 1: THE pooling


def test_center_update_uses_the_teacher_scores_of_every_micro_batch():
    obj = _build()
    obj.center.fill_(0.25)
    want_scores = torch.cat([_teacher_scores(obj, 0), _teacher_scores(obj, 5)])
    obj(sine_batch(seed=0))
    obj(sine_batch(seed=5))  # a second micro-batch (gradient accumulation)
    obj.on_after_step(1, 10)
    want = 0.9 * 0.25 + 0.1 * want_scores.mean(dim=0)
    torch.testing.assert_close(obj.center, want, rtol=1e-5, atol=1e-6)
    before = obj.center.clone()
    obj.on_after_step(2, 10)  # nothing pending: the centre stays
    assert torch.equal(obj.center, before)


def test_center_is_all_reduced_as_sum_and_count(monkeypatch):
    """Two simulated ranks with unequal halves (3 and 5 series) give the single-process centre of
    all 8: the all-reduce (faked here: it adds the other rank's stats) sums scores and counts."""
    full = sine_batch(b=8)
    want = 0.1 * _teacher_scores(_build(), 0).mean(dim=0)
    ranks = [_build(), _build()]
    for obj, rows in zip(ranks, (slice(0, 3), slice(3, 8)), strict=True):
        part = dataclasses.replace(full, x=full.x[rows], mask=full.mask[rows])
        obj(part)
    other = torch.cat([ranks[1]._pending_sum, torch.tensor([float(ranks[1]._pending_count)])])
    monkeypatch.setattr(dino_module.dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dino_module.dist, "get_world_size", lambda: 2)
    monkeypatch.setattr(dino_module.dist, "all_reduce", lambda t: t.add_(other))
    ranks[0].on_after_step(1, 10)
    torch.testing.assert_close(ranks[0].center, want, rtol=1e-5, atol=1e-6)


def test_loss_is_float32_under_bf16_autocast():
    obj = _build(n_local_crops=1)
    want = obj(sine_batch(c=2)).loss
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = obj(sine_batch(c=2)).loss
    assert got.dtype == torch.float32
    assert abs(got.item() - want.item()) < 0.05 * want.item()


def test_teacher_gets_no_gradient_and_moves_only_in_on_after_step():
    obj = _build(freeze_last_layer_steps=0)
    teacher0 = [p.clone() for p in obj.teacher_encoder.parameters()]
    opt = torch.optim.SGD([p for p in obj.parameters() if p.requires_grad], lr=0.1)
    obj(sine_batch()).loss.backward()
    assert all(p.grad is None for p in obj.teacher_encoder.parameters())
    assert all(p.grad is None for p in obj.teacher_head.parameters())
    opt.step()
    assert all(
        torch.equal(a, b) for a, b in zip(teacher0, obj.teacher_encoder.parameters(), strict=True)
    )
    student = [p.detach().clone() for p in obj.encoder.parameters()]
    assert not all(torch.equal(a, b) for a, b in zip(teacher0, student, strict=True))
    obj.on_after_step(3, 10)
    # the EMA rule's start for 10 steps: min(0.996, 1 - 3/10) = 0.7
    m = 1 - (1 - 0.7) * (1 + math.cos(math.pi * 3 / 10)) / 2
    for t0, s, t1 in zip(teacher0, student, obj.teacher_encoder.parameters(), strict=True):
        torch.testing.assert_close(t1, m * t0 + (1 - m) * s)
    assert obj.downstream_encoder() is obj.teacher_encoder


def test_prototypes_have_unit_norm_rows_and_scores_are_cosines():
    obj = _build()
    head = obj.head
    z = torch.randn(5, 32)
    scores = head(z)
    w = torch.nn.functional.normalize(head.prototypes.detach(), dim=-1)
    torch.testing.assert_close(w.norm(dim=-1), torch.ones(len(w)))
    u = torch.nn.functional.normalize(head.mlp(z), dim=-1)
    torch.testing.assert_close(scores, u @ w.T)
    assert scores.abs().max() <= 1 + 1e-6
    with torch.no_grad():
        head.prototypes.mul_(7.0)  # the magnitude is frozen at 1: rescaling changes nothing
    torch.testing.assert_close(head(z), scores)


@pytest.mark.parametrize("step, frozen", [(0, True), (3, True), (4, False)])
def test_last_layer_frozen_for_the_first_steps(step, frozen):
    obj = _build(freeze_last_layer_steps=4)
    batch = dataclasses.replace(sine_batch(), step=step)
    obj(batch).loss.backward()
    grad = obj.head.prototypes.grad
    assert grad is not None and torch.isfinite(grad).all()
    assert (grad.abs().max() == 0) == frozen
    assert obj.head.mlp[0].weight.grad.abs().max() > 0


def test_local_crops_are_short_student_views():
    obj = _build(n_local_crops=2, local_crop_scale=(0.3, 0.5))
    batch = sine_batch(b=4, c=2)
    x, m = obj._local_crops(batch.x, batch.mask, torch.Generator().manual_seed(0))
    assert x.shape == m.shape == (8, 2, 64)
    out = obj(batch)
    out.loss.backward()
    assert torch.isfinite(out.loss) and obj.encoder.cls_token.grad.abs().max() > 0


def test_config_errors_name_the_bad_value():
    with pytest.raises(ConfigError, match="teacher_view 'dwt' unknown; valid:"):
        DINOConfig(teacher_view="dwt")
    with pytest.raises(ConfigError, match="teacher_temp must be > 0"):
        DINOConfig(teacher_temp=0.0)
    with pytest.raises(ConfigError, match="local_crop_scale"):
        DINOConfig(local_crop_scale=(0.6, 0.5))
    with pytest.raises(ValueError, match="unknown key"):
        build_objective("dino", tiny_encoder(), {"n_prototype": 8})


def test_representations_mean_is_the_pooling_rule_and_cls_is_row_zero():
    enc = tiny_encoder()
    batch = sine_batch(b=4, c=2)
    mean = row_embedding(enc, batch.x, batch.mask, "mean")
    torch.testing.assert_close(mean.reshape(4, -1), enc.embed(batch.x, batch.mask))
    tb = enc.tokenize(batch.x, batch.mask)
    out = enc.forward_tokens(tb.tokens, key_padding_mask=tb.padding, use_cls=True)
    torch.testing.assert_close(row_embedding(enc, batch.x, batch.mask, "cls"), out[:, 0])
    with pytest.raises(ValueError, match="representation 'last' unknown"):
        row_embedding(enc, batch.x, batch.mask, "last")
    obj = _build(representation="cls")
    obj(batch).loss.backward()
    assert obj.encoder.cls_token.grad.abs().max() > 0


def test_loss_falls_on_sines():
    """80 AdamW steps (lr 1e-4) on a fixed batch of sines, fresh views each step, then the trained
    objective's loss over that of its initial copy on the same held-out views, with the trained
    centre given to both (the centre moves even when nothing trains: with lr = 0 the per-step
    loss rises 1.3x as the centre catches up, while this ratio is exactly 1.0). Measured
    0.47-0.58 over 3 seeds; the per-step losses of steps 15-24 vs the last 10, the statistic used
    before, ranged 0.79-0.96 over the same seeds. Also: the teacher has not collapsed to uniform
    (entropy log K; measured 1.7-2.5 vs log 32 = 3.47)."""
    # ema_start pinned to the per-paper 0.996 (the default "auto" rule would give
    # 1 - 3/80 = 0.9625 here, a teacher with a 27-step time constant): this test is about the
    # distillation loss in the slow-teacher regime DINO is designed for, not about the EMA rule
    # (tested in test_objectives_ema.py). The pin is not what makes it pass: with "auto" the
    # ratio below measured 0.47 at seed 0, as with 0.996 (0.49).
    obj = _build(freeze_last_layer_steps=5, ema_start=0.996)
    initial = copy.deepcopy(obj)
    opt = torch.optim.AdamW([p for p in obj.parameters() if p.requires_grad], lr=1e-4)
    base = sine_batch(b=16)
    losses, entropy, total = [], 0.0, 80
    for step in range(total):
        g = torch.Generator().manual_seed(100 + step)
        batch = dataclasses.replace(base, generator=g, step=step, total_steps=total)
        out = obj(batch)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        obj.on_after_step(step + 1, total)
        losses.append(out.loss.item())
        entropy = out.logs["teacher_entropy"].item()
    initial.center.copy_(obj.center)
    ratio = paired_loss_ratio(obj, initial, base)
    print(f"dino loss {losses[0]:.4f} (step 0) -> {sum(losses[-10:]) / 10:.4f}; paired {ratio:.3f}")
    assert ratio < 0.8, ratio
    assert entropy < 0.9 * math.log(obj.config.n_prototypes), entropy
