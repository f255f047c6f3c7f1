"""Schedules as pure functions of the step: LR warm-up + cosine, EMA momentum, the EMA rule."""

import math

import pytest

from tsdividend.schedules import cosine_interp, ema_momentum, warmup_cosine


def test_warmup_then_cosine_against_formula():
    total, warmup, base, final = 100, 10, 1e-3, 1e-5
    assert warmup_cosine(0, total, base, warmup, final) == 0.0
    assert warmup_cosine(5, total, base, warmup, final) == pytest.approx(base / 2)
    assert warmup_cosine(10, total, base, warmup, final) == pytest.approx(base)
    for s in (10, 37, 55, 99, 100):
        expect = final + (base - final) * 0.5 * (1 + math.cos(math.pi * (s - 10) / 90))
        assert warmup_cosine(s, total, base, warmup, final) == pytest.approx(expect)
    assert warmup_cosine(150, total, base, warmup, final) == pytest.approx(final)


def test_ema_momentum_endpoints_and_monotone():
    vals = [ema_momentum(s, 50, 0.996, 1.0) for s in range(51)]
    assert vals[0] == pytest.approx(0.996) and vals[-1] == pytest.approx(1.0)
    assert vals[25] == pytest.approx(0.998)
    assert all(b >= a for a, b in zip(vals, vals[1:], strict=False))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="warmup must be in"):
        warmup_cosine(0, 10, 1.0, warmup=10)
    with pytest.raises(ValueError, match="total steps must be >= 1, got 0"):
        cosine_interp(0, 0, 1.0, 0.0)
    with pytest.raises(ValueError, match="start=1.1"):
        ema_momentum(0, 10, 1.1, 1.0)


def test_ema_rule_hand_values():
    from tsdividend.schedules import auto_ema_start

    assert auto_ema_start(300) == pytest.approx(0.99)  # 1 - 3/300; time constant 100 = 300/3
    assert auto_ema_start(20_000) == pytest.approx(0.996)  # 1 - 3/20000 > 0.996: the default
    assert auto_ema_start(750) == pytest.approx(0.996)  # the break-even budget: 3 / 0.004
    assert auto_ema_start(2) == 0.0 and auto_ema_start(1) == 0.0  # floored, never negative
    for total in (1, 3, 10, 299, 300, 301, 749, 751, 4000, 20_000):
        m = auto_ema_start(total)
        assert m <= 0.996
        assert m == 0.0 or 1.0 / (1.0 - m) <= total / 3 + 1e-9  # time constant <= steps / 3


def test_ema_start_resolution_explicit_float_wins():
    from tsdividend.schedules import check_ema_options, resolve_ema_start

    assert resolve_ema_start("auto", 300) == pytest.approx(0.99)
    assert resolve_ema_start(0.9995, 300) == 0.9995  # an explicit value overrides the rule
    assert resolve_ema_start("auto", 20_000, end=0.99) == 0.99  # never above ema_end
    with pytest.raises(ValueError, match="'auto', got 'fast'"):
        resolve_ema_start("fast", 300)
    with pytest.raises(ValueError, match="ema_start"):
        check_ema_options(1.2, 1.0)
    with pytest.raises(ValueError, match="'slow'"):
        check_ema_options("slow", 1.0)
    check_ema_options("auto", 1.0)
    check_ema_options(0.99, 1.0)
