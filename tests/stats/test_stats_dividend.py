import math

import numpy as np
import pytest

from tsdividend.results import ResultRow
from tsdividend.stats import (
    dividend,
    dividend_rows,
    hierarchical_bootstrap,
    relative_gain,
    summarize_dividends,
)


def test_dividend_direction_hand_computed():
    assert dividend(0.9, 0.6, True) == pytest.approx(0.3)  # accuracy 0.6 -> 0.9: +30 points
    assert dividend(0.3, 0.4, False) == pytest.approx(0.25)  # MSE 0.4 -> 0.3: 25% reduction
    assert dividend(0.5, 0.4, False) == pytest.approx(-0.25)
    assert dividend(1.0, 0.0, True) == pytest.approx(1.0)  # ucr_score 0 -> 1: +100 points
    assert dividend(0.0, -0.02, True) == pytest.approx(0.02)  # ARI can be negative
    assert math.isnan(dividend(0.1, 0.0, False))  # an error baseline of 0: undefined


def test_relative_gain_has_no_floor_and_is_undefined_near_zero():
    assert relative_gain(0.46, 0.1, True) == pytest.approx(3.6)  # +360%, not floored
    assert relative_gain(0.013, 0.02, True) == pytest.approx(-0.35)
    assert math.isnan(relative_gain(0.46, 0.0004, True))  # |baseline| < 0.01
    assert math.isnan(relative_gain(1.0, 0.0, True))
    assert relative_gain(0.0, -0.02, True) == pytest.approx(1.0)  # divides by |baseline|
    assert relative_gain(0.3, 0.4, False) == pytest.approx(0.25)
    assert math.isnan(relative_gain(0.3, 0.0, False))


def _row(init, regime, ds, seed, value, metric="accuracy", hib=True, enc=None):
    return ResultRow(enc or init, init, "classification", ds, regime, seed, metric, value, hib,
                     objective="mae" if init == "pretrained" else None, tokenizer="patch",
                     depth=8)  # fmt: skip


def test_pairs_with_the_right_baseline_per_regime_and_seed():
    rows = [
        _row("pretrained", "probe", "a", 0, 0.9, enc="run1"),
        _row("random", "probe", "a", 0, 0.6),
        _row("random", "probe", "a", 1, 0.1),  # other seed: not the baseline of seed 0
        _row("pretrained", "finetune", "a", 0, 0.8, enc="run1"),
        _row("scratch", "finetune", "a", 0, 0.4),
        _row("random", "finetune", "a", 0, 0.01),  # never a fine-tune baseline
        _row("pretrained", "probe", "b", 0, 0.7, enc="run1"),  # no baseline: left out
    ]
    pairs = {(p.regime, p.dataset): p for p in dividend_rows(rows)}
    assert set(pairs) == {("probe", "a"), ("finetune", "a")}
    assert pairs[("probe", "a")].dividend == pytest.approx(0.3)
    assert pairs[("probe", "a")].relative == pytest.approx(0.5)
    assert pairs[("finetune", "a")].dividend == pytest.approx(0.4)


def test_headline_is_the_signed_mean_difference_not_the_mean_ratio():
    """+360% and -50% relative gains: the mean score falls, and so must the headline."""
    rows = [_row("random", "probe", "a", 0, 0.1), _row("pretrained", "probe", "a", 0, 0.46,
                                                          enc="run1"),
            _row("random", "probe", "b", 0, 0.8), _row("pretrained", "probe", "b", 0, 0.4,
                                                         enc="run1")]  # fmt: skip
    (s,) = summarize_dividends(dividend_rows(rows), n_boot=100)
    assert s.mean == pytest.approx(0.5 * (0.36 - 0.4)) and s.mean == pytest.approx(-0.02)
    assert (s.wins, s.ties, s.losses) == (1, 0, 1)
    assert s.score_mean == pytest.approx(0.43) and s.baseline_mean == pytest.approx(0.45)
    assert s.relative_mean == pytest.approx(0.5 * (3.6 - 0.5))  # the seed paper's +155%
    assert s.interval == "none" and math.isnan(s.ci_low) and math.isnan(s.ci_high)
    assert s.per_dataset == pytest.approx({"a": 0.36, "b": -0.4})


def test_binary_ucr_score_gives_zero_with_one_win_one_loss():
    rows = [_row("random", "probe", "a", 0, 0.0, "ucr_score"),
            _row("pretrained", "probe", "a", 0, 1.0, "ucr_score", enc="run1"),
            _row("random", "probe", "b", 0, 1.0, "ucr_score"),
            _row("pretrained", "probe", "b", 0, 0.0, "ucr_score", enc="run1")]  # fmt: skip
    (s,) = summarize_dividends(dividend_rows(rows), n_boot=100)
    assert s.mean == 0.0 and (s.wins, s.ties, s.losses) == (1, 0, 1)
    # relative gain: undefined on "a" (baseline 0), -100% on "b"
    assert s.n_relative_undefined == 1 and s.relative_mean == pytest.approx(-1.0)


def test_ties_within_tolerance_and_wilcoxon_nan_when_all_tie():
    rows = []
    for ds in "abc":
        rows += [_row("random", "probe", ds, 0, 0.5), _row("pretrained", "probe", ds, 0,
                                                             0.5 + 1e-12, enc="r")]  # fmt: skip
    (s,) = summarize_dividends(dividend_rows(rows), n_boot=100)
    assert (s.wins, s.ties, s.losses) == (0, 3, 0)
    assert math.isnan(s.wilcoxon_p) and math.isnan(s.wilcoxon_holm)


def test_interval_only_over_five_datasets_or_labelled_seeds_only():
    def summary(n_ds: int, n_seeds: int):
        rows = []
        for i in range(n_ds):
            for seed in range(n_seeds):
                rows += [_row("random", "probe", f"d{i}", seed, 0.5),
                         _row("pretrained", "probe", f"d{i}", seed, 0.6 + 0.01 * (i + seed),
                              enc="r")]  # fmt: skip
        (s,) = summarize_dividends(dividend_rows(rows), n_boot=200)
        return s

    for n_ds in (2, 3, 4):
        s = summary(n_ds, 3)
        assert s.interval == "none" and math.isnan(s.ci_low), n_ds
    s = summary(1, 3)
    assert s.interval == "seeds only" and s.ci_low <= s.mean <= s.ci_high and s.n_seeds == 3
    assert summary(1, 1).interval == "none"
    s = summary(5, 2)
    assert s.interval == "datasets" and s.ci_low <= s.mean <= s.ci_high


def test_summary_mean_ci_wilcoxon_and_holm():
    rows = []
    for i, ds in enumerate("abcdefgh"):
        for seed in range(3):
            base = 0.5 + 0.01 * i
            rows.append(_row("random", "probe", ds, seed, base))
            rows.append(_row("pretrained", "probe", ds, seed, base + 0.1 + 0.01 * seed,
                             enc="run1"))  # fmt: skip
            rows.append(_row("pretrained", "probe", ds, seed, base - 0.05 + 0.01 * i,
                             enc="run2"))  # fmt: skip
    out = {s.encoder_id: s for s in summarize_dividends(dividend_rows(rows), n_boot=500)}
    s = out["run1"]
    assert s.n_datasets == 8 and s.mean == pytest.approx(0.11) and s.interval == "datasets"
    assert s.ci_low <= s.mean <= s.ci_high and s.ci_high - s.ci_low < 0.02
    assert s.wilcoxon_p < 0.01 and s.wins == 8  # 8 of 8 datasets improve
    # one family of two tests: the smaller p doubles, the larger is max(p, that)
    p1, p2 = out["run1"].wilcoxon_p, out["run2"].wilcoxon_p
    assert p1 < p2
    assert out["run1"].wilcoxon_holm == pytest.approx(min(1.0, 2 * p1))
    assert out["run2"].wilcoxon_holm == pytest.approx(max(min(1.0, 2 * p1), p2))


def test_error_metrics_use_the_relative_reduction():
    rows = [_row("random", "probe", "a", 0, 2.0, "mse", False),
            _row("pretrained", "probe", "a", 0, 1.0, "mse", False, enc="r"),
            _row("random", "probe", "b", 0, 0.1, "mse", False),
            _row("pretrained", "probe", "b", 0, 0.12, "mse", False, enc="r")]  # fmt: skip
    (s,) = summarize_dividends(dividend_rows(rows), n_boot=100)
    assert s.mean == pytest.approx(0.5 * (0.5 - 0.2)) and not s.higher_is_better


def test_bootstrap_covers_and_degenerates():
    assert hierarchical_bootstrap({"a": [2.0]}) == (2.0, 2.0, 2.0)
    rng = np.random.default_rng(0)
    vals = {f"d{i}": list(rng.normal(1.0, 1.0, size=3)) for i in range(30)}
    mean, lo, hi = hierarchical_bootstrap(vals, n_boot=1000)
    assert lo < 1.0 < hi and lo < mean < hi
