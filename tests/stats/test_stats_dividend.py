import math

import numpy as np
import pytest

from tsdividend.results import ResultRow
from tsdividend.stats import (
    average_ranks,
    dividend,
    dividend_rows,
    hierarchical_bootstrap,
    nemenyi_cd,
    summarize_dividends,
)


def test_dividend_direction_hand_computed():
    assert dividend(0.9, 0.6, True) == pytest.approx(0.5)  # accuracy 0.6 -> 0.9: +50%
    assert dividend(0.3, 0.4, False) == pytest.approx(0.25)  # MSE 0.4 -> 0.3: +25%
    assert dividend(0.5, 0.4, False) == pytest.approx(-0.25)
    # scores divide by max(|baseline|, 0.05): NMI 0.001 -> 0.013 is +24%, not +1,200%
    assert dividend(0.013, 0.001, True) == pytest.approx(0.24)
    assert dividend(1.0, 0.0, True) == pytest.approx(20.0)
    assert dividend(0.0, -0.02, True) == pytest.approx(0.4)  # ARI can be negative
    assert dividend(0.5, 0.25, True) == pytest.approx(1.0)  # above the floor: plain relative gain
    assert math.isnan(dividend(0.1, 0.0, False))  # an error baseline of 0: undefined


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
    assert pairs[("probe", "a")].dividend == pytest.approx(0.5)
    assert pairs[("finetune", "a")].dividend == pytest.approx(1.0)


def test_summary_mean_ci_and_wilcoxon():
    rows = []
    for i, ds in enumerate("abcdefgh"):
        for seed in range(3):
            base = 0.5 + 0.01 * i
            rows.append(_row("random", "probe", ds, seed, base))
            rows.append(_row("pretrained", "probe", ds, seed, base * (1.2 + 0.01 * seed),
                             enc="run1"))  # fmt: skip
    (s,) = summarize_dividends(dividend_rows(rows), n_boot=500)
    assert s.n_datasets == 8 and s.mean == pytest.approx(0.21)
    assert s.ci_low <= s.mean <= s.ci_high and s.ci_high - s.ci_low < 0.02
    assert s.wilcoxon_p < 0.01  # 8 of 8 datasets improve


def test_bootstrap_covers_and_degenerates():
    assert hierarchical_bootstrap({"a": [2.0]}) == (2.0, 2.0, 2.0)
    rng = np.random.default_rng(0)
    vals = {f"d{i}": list(rng.normal(1.0, 1.0, size=3)) for i in range(30)}
    mean, lo, hi = hierarchical_bootstrap(vals, n_boot=1000)
    assert lo < 1.0 < hi and lo < mean < hi


def test_average_ranks_and_cd_hand_computed():
    scores = {"A": {"x": 0.9, "y": 0.8}, "B": {"x": 0.7, "y": 0.8}, "C": {"x": 0.1, "y": 0.2}}
    assert average_ranks(scores) == {"A": 1.25, "B": 1.75, "C": 3.0}
    assert average_ranks(scores, higher_is_better=False) == {"A": 2.75, "B": 2.25, "C": 1.0}
    assert nemenyi_cd(3, 10) == pytest.approx(2.343 * math.sqrt(12 / 60))
    with pytest.raises(ValueError, match="k must be in"):
        nemenyi_cd(11, 5)
