import math

import pytest
from scipy.stats import chi2

from tsdividend.stats import average_ranks, friedman, gated_cd, holm, nemenyi_cd, q_alpha

# Demsar 2006, Table 5a: q_0.05 of the two-tailed Nemenyi test, k = 2..10 methods.
DEMSAR_Q05 = {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102,
              10: 3.164}  # fmt: skip


def test_average_ranks_hand_computed():
    scores = {"A": {"x": 0.9, "y": 0.8}, "B": {"x": 0.7, "y": 0.8}, "C": {"x": 0.1, "y": 0.2}}
    assert average_ranks(scores) == {"A": 1.25, "B": 1.75, "C": 3.0}
    assert average_ranks(scores, higher_is_better=False) == {"A": 2.75, "B": 2.25, "C": 1.0}


def test_q_alpha_reproduces_demsar_table_and_extends_past_ten():
    for k, q in DEMSAR_Q05.items():
        assert abs(q_alpha(k) - q) < 1e-3, k  # the table is given to 3 decimals
    # k = 3 and k = 12 from the studentized range table (df = inf): 3.314 and 4.622, / sqrt 2
    assert q_alpha(3) == pytest.approx(3.314 / math.sqrt(2), abs=1e-3)
    assert q_alpha(12) == pytest.approx(4.622 / math.sqrt(2), abs=1e-3)
    assert nemenyi_cd(3, 10) == pytest.approx(q_alpha(3) * math.sqrt(12 / 60))
    assert nemenyi_cd(12, 5) == pytest.approx(q_alpha(12) * math.sqrt(12 * 13 / 30))
    with pytest.raises(ValueError, match="k must be >= 2"):
        q_alpha(1)


def test_friedman_statistic_hand_computed():
    # ranks per dataset (higher is better): A 1,2,1,1  B 2,1,3,2  C 3,3,2,3 (no ties)
    scores = {"A": {"d1": 0.9, "d2": 0.8, "d3": 0.9, "d4": 0.9},
              "B": {"d1": 0.8, "d2": 0.9, "d3": 0.7, "d4": 0.8},
              "C": {"d1": 0.7, "d2": 0.7, "d3": 0.8, "d4": 0.6}}  # fmt: skip
    n, k = 4, 3
    r = {"A": 1.25, "B": 2.0, "C": 2.75}
    assert average_ranks(scores) == r
    # chi2_F = 12 n / (k (k+1)) * sum R_j^2 - 3 n (k+1) = 4 * 13.125 - 48 = 4.5
    hand = 12 * n / (k * (k + 1)) * sum(v * v for v in r.values()) - 3 * n * (k + 1)
    assert hand == pytest.approx(4.5)
    res = friedman(scores)
    assert res.statistic == pytest.approx(4.5) and (res.k, res.n) == (3, 4)
    assert res.pvalue == pytest.approx(chi2.sf(4.5, k - 1))  # = exp(-2.25) = 0.105
    assert res.pvalue == pytest.approx(math.exp(-2.25))


def test_friedman_needs_three_methods_and_gates_the_cd():
    two = {"A": {f"d{i}": 1.0 for i in range(6)}, "B": {f"d{i}": 0.0 for i in range(6)}}
    res = friedman(two)
    assert math.isnan(res.pvalue)
    cd, why = gated_cd(res)
    assert math.isnan(cd) and "3 methods" in why
    # 3 methods, 6 datasets, A always best and C always worst: Friedman rejects
    strong = {m: {f"d{i}": v + 0.01 * i for i in range(6)} for m, v in
              (("A", 0.9), ("B", 0.5), ("C", 0.1))}  # fmt: skip
    res = friedman(strong)
    assert res.pvalue < 0.05
    cd, why = gated_cd(res)
    assert why == "" and cd == pytest.approx(nemenyi_cd(3, 6))
    # the same on 4 datasets: no CD below 5 datasets, whatever Friedman says
    four = {m: {d: v for d, v in s.items() if d < "d4"} for m, s in strong.items()}
    cd, why = gated_cd(friedman(four))
    assert math.isnan(cd) and "datasets" in why
    # no rejection: no CD
    mixed = {"A": {f"d{i}": float(i % 3) for i in range(6)},
             "B": {f"d{i}": float((i + 1) % 3) for i in range(6)},
             "C": {f"d{i}": float((i + 2) % 3) for i in range(6)}}  # fmt: skip
    res = friedman(mixed)
    assert res.pvalue > 0.05
    cd, why = gated_cd(res)
    assert math.isnan(cd) and "does not reject" in why


def test_holm_hand_computed():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> max(0.06, 0.04) = 0.06
    out = holm([0.01, 0.04, 0.03, 0.005, math.nan])
    assert out[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02]) and math.isnan(out[4])
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm([]) == []
