import math

import pytest

from tsdividend.train.schedules import cosine_interp, ema_momentum, warmup_cosine


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
