"""Exactness of the sampler's building blocks, each against an independent direct computation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.gaussian_process import kernels as sk

from tsdividend.synth.gp import _dot_features
from tsdividend.synth.kernels import (
    KERNEL_BANK,
    RBF,
    Constant,
    DotProduct,
    Periodic,
    Product,
    RationalQuadratic,
    Sum,
    White,
    expand,
    random_kernel,
    to_sklearn,
)
from tsdividend.synth.lines import _nufft_sampler, line_spectrum
from tsdividend.synth.stationary import (
    CLIP_TOL,
    TRUNCATION_TOL,
    circulant_root,
    grid,
    make_profile,
    pivoted_cholesky,
)


def test_bank_matches_chronos() -> None:
    periods = [k.steps for k in KERNEL_BANK if isinstance(k, Periodic)]
    assert periods == [24, 48, 96, 168, 336, 672, 7, 14, 30, 60, 365, 730, 4, 26, 52, 4, 6, 12,
                       4, 40, 10]  # fmt: skip
    assert len(KERNEL_BANK) == 33
    assert sorted(k.sigma_0 for k in KERNEL_BANK if isinstance(k, DotProduct)) == [0, 1, 10]
    assert sorted(k.length_scale for k in KERNEL_BANK if isinstance(k, RBF)) == [0.1, 1, 10]
    assert sorted(k.alpha for k in KERNEL_BANK if isinstance(k, RationalQuadratic)) == [0.1, 1, 10]
    assert sorted(k.noise_level for k in KERNEL_BANK if isinstance(k, White)) == [0.1, 1]
    # scikit-learn defaults for what Chronos leaves unset
    assert to_sklearn(Periodic(24.0), 1024).get_params()["length_scale"] == 1.0
    assert to_sklearn(RationalQuadratic(0.1), 8).get_params()["length_scale"] == 1.0
    assert to_sklearn(Constant(), 8).get_params()["constant_value"] == 1.0


def test_expand_reproduces_the_kernel_matrix() -> None:
    t = grid(40)[:, None]
    rng = np.random.default_rng(0)
    for _ in range(30):
        kernel = random_kernel(rng)
        full = to_sklearn(kernel, 40)(t)
        terms = sum(
            np.prod([to_sklearn(f, 40)(t) for f in term], axis=0) for term in expand(kernel)
        )
        np.testing.assert_allclose(terms, full, rtol=1e-12, atol=1e-12)


def test_random_kernel_size_and_ops() -> None:
    rng = np.random.default_rng(1)
    sizes = [sum(len(term) for term in expand(random_kernel(rng, 1))) for _ in range(50)]
    assert set(sizes) == {1}
    kernel = Product(Sum(RBF(1.0), White(1.0)), Constant())
    assert expand(kernel) == [(RBF(1.0), Constant()), (White(1.0), Constant())]


@pytest.mark.parametrize(
    "periods", [(24,), (4,), (365,), (4, 6), (12, 30, 52), (4, 4, 7, 26), (730, 10, 6, 4, 96)]
)
@pytest.mark.parametrize("length", [64, 1000])
def test_line_spectrum_equals_periodic_product(periods, length: int) -> None:
    factors = tuple(Periodic(float(p)) for p in periods)
    freqs, weights = line_spectrum(factors, length)
    d = np.linspace(0.0, 1.0, 101)
    direct = np.prod([np.exp(-2 * np.sin(np.pi * d / (p / length)) ** 2) for p in periods], axis=0)
    series = (weights * np.cos(2 * np.pi * np.outer(d, freqs))).sum(axis=1)
    assert np.abs(series - direct).max() <= 2 * TRUNCATION_TOL
    assert np.all(weights > 0)


@pytest.mark.parametrize("length", [64, 257, 1024])
def test_nufft_matches_direct_trigonometric_sum(length: int) -> None:
    factors = (Periodic(4.0), Periodic(6.0), Periodic(26.0))
    freqs, weights = line_spectrum(factors, length)
    sampler = _nufft_sampler(np.asarray(freqs), np.asarray(weights), length)
    rng = np.random.default_rng(2)
    coef = rng.standard_normal((3, len(freqs))) + 1j * rng.standard_normal((3, len(freqs)))
    k = np.arange(length)
    direct = (coef[:, None, :] * np.exp(2j * np.pi * np.outer(k, freqs / (length - 1)))).sum(-1)
    scale = np.abs(coef).sum(axis=1, keepdims=True)
    assert np.all(np.abs(sampler.evaluate(coef) - direct.real) <= 1e-12 * scale)


def test_nufft_sampler_covariance() -> None:
    length, n = 48, 6000
    factors = (Periodic(4.0), Periodic(6.0), Periodic(26.0))
    freqs, weights = line_spectrum(factors, length)
    y = _nufft_sampler(np.asarray(freqs), np.asarray(weights), length).sample(
        np.random.default_rng(4), n
    )
    kernel = sk.ExpSineSquared(periodicity=4 / length)
    for p in (6, 26):
        kernel = kernel * sk.ExpSineSquared(periodicity=p / length)
    K = kernel(grid(length)[:, None])
    se = np.sqrt((K**2 + np.outer(np.diag(K), np.diag(K))) / n)
    assert np.all(np.abs(y.T @ y / n - K) <= 5 * se)  # union bound over 1176 entries: < 1e-3


@pytest.mark.parametrize("sigmas", [(0.0,), (1.0,), (0.0, 10.0), (1.0, 1.0, 10.0), (0.0, 0.0)])
def test_dot_product_features(sigmas) -> None:
    t = grid(30)
    phi = _dot_features(sigmas, t)
    direct = np.prod([s * s + np.outer(t, t) for s in sigmas], axis=0)
    np.testing.assert_allclose(phi @ phi.T, direct, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "factors",
    [(RBF(0.1),), (RBF(10.0),), (RationalQuadratic(0.1),), (RationalQuadratic(1.0), RBF(1.0))],
)
def test_pivoted_cholesky_is_exact_to_tolerance(factors) -> None:
    length = 300
    t, profile = grid(length), make_profile(factors, length)
    g = pivoted_cholesky(profile, t, TRUNCATION_TOL, length)
    assert g is not None and g.shape[1] < 80  # analytic kernels: tiny numerical rank
    K = profile(np.abs(t[:, None] - t[None, :]))
    assert np.abs(K - g @ g.T).max() <= 1.01 * TRUNCATION_TOL


@pytest.mark.parametrize("factors", [(RBF(0.1),), (RBF(1.0),), (Periodic(12.0), RBF(0.1))])
def test_circulant_embedding_top_left_block_is_the_covariance(factors) -> None:
    length = 100
    profile = make_profile(factors, length)
    root, tried = circulant_root(profile, length, 64 * 2 * (length - 1))
    assert root is not None
    row = np.fft.fft(root**2).real  # first row of the embedded circulant actually sampled
    lags = np.arange(length) / (length - 1)
    assert np.abs(row[:length] - profile(lags)).max() <= CLIP_TOL
    assert tried[-1][1] <= CLIP_TOL and all(bound > CLIP_TOL for _, bound in tried[:-1])


@pytest.mark.parametrize("factors", [(Periodic(24.0),), (RationalQuadratic(0.1),)])
def test_circulant_embedding_never_clips_large_negative_eigenvalues(factors) -> None:
    length = 64
    profile = make_profile(factors, length)
    root, tried = circulant_root(profile, length, 64 * 2 * (length - 1))
    assert root is None  # rejected at every size ...
    assert len(tried) >= 6 and min(bound for _, bound in tried) > CLIP_TOL  # ... for a reason


def test_circulant_tolerance_boundary() -> None:
    # RBF(1) on 64 points: the minimal embedding has clearly negative eigenvalues (~1e-2), the
    # accepted padded one only round-off; the bound must separate them.
    profile = make_profile((RBF(1.0),), 64)
    _, tried = circulant_root(profile, 64, 64 * 2 * 63)
    bounds = dict(tried)
    assert bounds[min(bounds)] > 1e-6
    assert list(bounds.values())[-1] <= CLIP_TOL


@pytest.mark.parametrize(
    ("a", "b"), list(itertools.combinations([RBF(0.1), Periodic(7.0), Constant()], 2))
)
def test_to_sklearn_products_commute(a, b) -> None:
    t = grid(20)[:, None]
    np.testing.assert_allclose(to_sklearn(Product(a, b), 20)(t), to_sklearn(Product(b, a), 20)(t))
