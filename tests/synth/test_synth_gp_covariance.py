"""The exact GP sampler against scikit-learn's kernel matrices (Monte Carlo covariance test).

For n independent zero-mean Gaussian samples the empirical covariance
``C_ij = mean_s y_si y_sj`` has standard error ``SE_ij = sqrt((K_ij^2 + K_ii K_jj) / n)``
(Isserlis). We require ``|C_ij - K_ij| <= 5 SE_ij`` for every entry: with 2080 distinct entries at
L = 64 and n = 20000 (CLT-accurate), the chance that a correct sampler fails is below
2080 * P(|Z| > 5) = 1.2e-3 (union bound); seeds are fixed, so the test is deterministic. Entries
with zero variance (DotProduct(0) at t = 0) must match to 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest

from tsdividend.synth.gp import sample_gp
from tsdividend.synth.kernels import (
    RBF,
    Constant,
    DotProduct,
    Periodic,
    Product,
    RationalQuadratic,
    Sum,
    White,
    describe,
    to_sklearn,
)
from tsdividend.synth.stationary import grid

L, N, Z_MAX = 64, 20000, 5.0


def P(steps: float) -> Periodic:
    return Periodic(float(steps))


def prod(*ks):
    out = ks[0]
    for k in ks[1:]:
        out = Product(out, k)
    return out


def worst_z(samples: np.ndarray, kernel_matrix: np.ndarray) -> float:
    """Largest |C - K| / SE over all entries (inf when a zero-variance entry differs)."""
    n = len(samples)
    emp = samples.T @ samples / n
    se = np.sqrt((kernel_matrix**2 + np.outer(np.diag(kernel_matrix), np.diag(kernel_matrix))) / n)
    diff = np.abs(emp - kernel_matrix)
    zero = se == 0
    if np.any(diff[zero] > 1e-12):
        return float("inf")
    return float((diff[~zero] / se[~zero]).max())


def reference(kernel) -> np.ndarray:
    """scikit-learn's prior covariance on the same grid (what ``sample_y`` factorises)."""
    return to_sklearn(kernel, L)(grid(L)[:, None])


COMPOSITIONS = {
    "periodic*dot": prod(P(24), DotProduct(1.0)),
    "(rbf+dot)*periodic": Product(Sum(RBF(0.1), DotProduct(1.0)), P(12)),
    "rq*dot*dot": prod(RationalQuadratic(0.1), DotProduct(0.0), DotProduct(10.0)),
    "white+periodic": Sum(White(0.1), P(7)),
    "white*dot+constant": Sum(Product(White(1.0), DotProduct(1.0)), Constant(1.0)),
    "periodic*rq*dot (factor swap)": prod(P(12), RationalQuadratic(1.0), DotProduct(1.0)),
    "periodic^2*rbf (joint circulant)": prod(P(12), P(30), RBF(0.1)),
    "periodic^3": prod(P(4), P(6), P(26)),
    "(rq+periodic)*rbf10+white": Sum(
        Product(Sum(RationalQuadratic(10.0), P(52)), RBF(10.0)), White(1.0)
    ),
}


@pytest.mark.parametrize("name", list(COMPOSITIONS))
def test_empirical_covariance_matches_sklearn_kernel(name: str) -> None:
    kernel = COMPOSITIONS[name]
    y = sample_gp(kernel, L, np.random.default_rng(11), N)
    z = worst_z(y, reference(kernel))
    assert z <= Z_MAX, f"{describe(kernel)}: worst |C - K| / SE = {z:.2f}"


@pytest.mark.parametrize(
    ("kernel", "method"),
    [
        (prod(RBF(1.0), DotProduct(1.0)), "circulant"),  # needs a padded embedding (M = 16 (L-1))
        (prod(RBF(1.0), DotProduct(1.0)), "lowrank"),
        (prod(RBF(0.1), P(24)), "circulant"),  # joint circulant of periodic x decaying
        (prod(RBF(0.1), P(24)), "lowrank"),  # periodic samples times a low-rank factor
        (prod(RationalQuadratic(1.0), P(24)), "dense"),
    ],
)
def test_each_forced_method_is_exact(kernel, method: str) -> None:
    y = sample_gp(kernel, L, np.random.default_rng(5), N, method=method)
    assert worst_z(y, reference(kernel)) <= Z_MAX


def test_circulant_is_refused_rather_than_clipped() -> None:
    # RationalQuadratic(0.1) has no valid embedding up to 64 x 2(L - 1): forcing it must raise.
    with pytest.raises(ValueError, match="no valid circulant embedding"):
        sample_gp(RationalQuadratic(0.1), L, np.random.default_rng(0), 4, method="circulant")


@pytest.mark.parametrize(
    ("sampled", "claimed"),
    [
        (prod(P(24), DotProduct(1.0)), prod(P(25), DotProduct(1.0))),  # slightly wrong period
        (P(7), Sum(White(0.1), P(7))),  # a missing noise term
        (prod(RBF(0.1), DotProduct(1.0)), prod(RBF(0.12), DotProduct(1.0))),  # wrong length scale
    ],
)
def test_the_covariance_check_detects_a_wrong_kernel(sampled, claimed) -> None:
    y = sample_gp(sampled, L, np.random.default_rng(3), N)
    assert worst_z(y, reference(sampled)) <= Z_MAX
    assert worst_z(y, reference(claimed)) > Z_MAX


def test_random_bank_compositions_at_small_lengths() -> None:
    # Breadth: 40 random KernelSynth compositions at L = 12 (n = 4000 each). 40 x 78 distinct
    # entries; P(|Z| > 5.5) = 3.8e-8 each, so a correct sampler fails with probability < 1.2e-4.
    from tsdividend.synth.kernels import random_kernel

    length, n = 12, 4000
    for i in range(40):
        rng = np.random.default_rng([17, i])
        kernel = random_kernel(rng)
        y = sample_gp(kernel, length, rng, n)
        assert worst_z(y, to_sklearn(kernel, length)(grid(length)[:, None])) <= 5.5, describe(
            kernel
        )
