"""Exact Gaussian-process prior sampling of KernelSynth kernels without a per-series O(L^3) step.

Chronos' KernelSynth (Ansari et al. 2024) samples with scikit-learn's
``GaussianProcessRegressor.sample_y``: an SVD of the dense L x L covariance for every series.
:func:`sample_gp` draws from the same Gaussian (same covariance on ``linspace(0, 1, L)``, up to
truncations of at most ``TRUNCATION_TOL = 1e-12`` x variance per entry, far below float32
resolution) by using the structure of the kernel bank:

1. **Sum of products.** The composition is expanded by distributivity into product terms
   (:func:`~tsdividend.synth.kernels.expand`); independent samples of the terms add up.
2. **Factors of a product term.** Constants multiply. ``White`` factors make the term diagonal
   (scikit-learn's ``WhiteKernel()(X)`` is ``noise * I``, so the product is ``noise`` times the
   other factors' diagonal): heteroscedastic white noise. ``DotProduct`` factors multiply to
   ``prod_i (s_i^2 + t t') = sum_k c_k (t t')^k`` with ``c_k >= 0`` (elementary symmetric
   polynomials of the ``s_i^2``): explicit features ``sqrt(c_k) t^k``. Periodic factors form a
   positive line spectrum ``P`` (:mod:`tsdividend.synth.lines`); RBF and RationalQuadratic factors
   form a decaying stationary kernel ``S`` (:mod:`tsdividend.synth.stationary`).
3. **Features times stationary.** ``sum_k phi_k(t) phi_k(t') R(t - t')`` is sampled as
   ``sum_k phi_k(t) g_k(t)`` with independent ``g_k ~ GP(0, R)``: its covariance is exactly that.
   For a term with both ``P`` and ``S``, ``R = P S`` is sampled either by one circulant embedding of
   the product (when ``S`` is short-range enough for the embedding to be valid), or by writing the
   low-rank ``S = sum_q F_q(t) F_q(t')`` (pivoted Cholesky) and drawing independent ``P`` samples:
   ``R`` sample ``= sum_q F_q(t) p_q(t)``. ``auto`` picks the cheaper.

The plan of every distinct factor set is computed once per length and cached, so the per-series
cost is O(L log L) (FFT) or O(L r) (low rank r <= ~60 for the bank) per term.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from tsdividend.synth.kernels import (
    RBF,
    BaseKernel,
    Constant,
    DotProduct,
    Kernel,
    Periodic,
    RationalQuadratic,
    White,
    expand,
)
from tsdividend.synth.lines import periodic_sampler
from tsdividend.synth.stationary import (
    MAX_EMBEDDING_FACTOR,
    MAX_LOWRANK,
    TRUNCATION_TOL,
    CirculantSampler,
    LowRankSampler,
    Sampler,
    StationaryMethod,
    circulant_root,
    dense_factor,
    grid,
    joint_circulant,
    make_profile,
    pivoted_cholesky,
    stationary_sampler,
)

_CHUNK_FLOATS = 1 << 22  # bound temporaries (samples x features x L) to ~32 MB


def _dot_features(sigmas: tuple[float, ...], t: np.ndarray) -> np.ndarray:
    """Features (L, m) of ``prod_i (sigma_i^2 + t t')``: ``sqrt(c_k) t^k`` for ``c_k > 0``."""
    coef: np.ndarray = np.ones(1)
    for s in sigmas:
        coef = np.convolve(coef, [s * s, 1.0])  # coef[k] multiplies (t t')^k
    ks = np.flatnonzero(coef > 0)
    return np.sqrt(coef[ks]) * t[:, None] ** ks


@functools.lru_cache(maxsize=512)
def _lowrank_factor(factors: tuple[BaseKernel, ...], length: int) -> np.ndarray:
    """(L, r) factor of a stationary product: pivoted Cholesky, else the dense eigh fallback."""
    profile, t = make_profile(factors, length), grid(length)
    g = pivoted_cholesky(profile, t, TRUNCATION_TOL, min(length, MAX_LOWRANK))
    out = dense_factor(profile, t) if g is None else g
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=512)
def _circulant_size(factors: tuple[BaseKernel, ...], length: int) -> int | None:
    """Smallest valid circulant embedding size of a stationary product (None: none <= cap)."""
    cap = MAX_EMBEDDING_FACTOR * 2 * max(length - 1, 1)
    root, _ = circulant_root(make_profile(factors, length), length, cap)
    return None if root is None else len(root)


def _combine(g: np.ndarray, feats: np.ndarray) -> np.ndarray:
    """``sum_f feats[:, f] * g[:, f, :]``: g (n, F, L), feats (L, F) -> (n, L)."""
    return np.einsum("nfl,lf->nl", g, feats)


def _sample_with(
    sampler: Sampler, feats: np.ndarray, rng: np.random.Generator, n: int
) -> np.ndarray:
    """``sum_f feats_f(t) g_f(t)`` with independent ``g_f`` from ``sampler``; (n, L)."""
    length, n_feats = feats.shape
    out = np.empty((n, length))
    step = max(1, _CHUNK_FLOATS // (feats.size + 1))
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        g = sampler.sample(rng, (hi - lo) * n_feats).reshape(hi - lo, n_feats, length)
        out[lo:hi] = _combine(g, feats)
    return out


def _mixed_sampler(
    periodics: tuple[Periodic, ...],
    decaying: tuple[BaseKernel, ...],
    length: int,
    method: StationaryMethod,
) -> tuple[CirculantSampler | None, np.ndarray | None]:
    """How to sample ``R = P * S``: (joint circulant, None) or (None, low-rank factor of S)."""
    both = periodics + decaying
    if method == "circulant":
        sampler = stationary_sampler(both, length, "circulant")
        assert isinstance(sampler, CirculantSampler)
        return sampler, None
    if method in ("lowrank", "dense"):
        sampler = stationary_sampler(decaying, length, method)
        assert isinstance(sampler, LowRankSampler)
        return None, sampler.factor
    factor = _lowrank_factor(decaying, length)
    size = _circulant_size(decaying, length)
    joint = None if size is None else joint_circulant(both, length, size)
    swap_cost = factor.shape[1] * periodic_sampler(periodics, length).cost
    if joint is not None and joint.cost < swap_cost:
        return joint, None
    return None, factor


def _sample_term(
    term: tuple[BaseKernel, ...],
    t: np.ndarray,
    rng: np.random.Generator,
    n: int,
    method: StationaryMethod,
) -> np.ndarray | None:
    """Exact samples (n, L) of one product term; None when its covariance is identically 0."""
    scale = math.prod(k.value for k in term if isinstance(k, Constant))
    sigmas = tuple(sorted(k.sigma_0 for k in term if isinstance(k, DotProduct)))
    whites = [k.noise_level for k in term if isinstance(k, White)]
    if whites:  # WhiteKernel()(X) = noise * I: the whole product is diagonal
        var = scale * math.prod(whites) * np.prod([s * s + t * t for s in sigmas], axis=0)
        return None if np.all(var == 0) else np.sqrt(var) * rng.standard_normal((n, len(t)))
    if scale == 0:
        return None
    periodics = tuple(sorted((k for k in term if isinstance(k, Periodic)), key=repr))
    decaying = tuple(sorted((k for k in term if isinstance(k, (RBF, RationalQuadratic))), key=repr))
    dots = math.sqrt(scale) * _dot_features(sigmas, t)  # (L, D)
    length = len(t)
    if not periodics and not decaying:
        return rng.standard_normal((n, dots.shape[1])) @ dots.T
    if not decaying:
        return _sample_with(periodic_sampler(periodics, length), dots, rng, n)
    if not periodics:
        return _sample_with(stationary_sampler(decaying, length, method), dots, rng, n)
    joint, factor = _mixed_sampler(periodics, decaying, length, method)
    if joint is not None:
        return _sample_with(joint, dots, rng, n)
    assert factor is not None
    feats = (dots[:, :, None] * factor[:, None, :]).reshape(length, -1)  # (L, D * r)
    return _sample_with(periodic_sampler(periodics, length), feats, rng, n)


def clear_plan_caches() -> None:
    """Forget every cached plan (line spectra, factors, embeddings); for cold-start benchmarks."""
    from tsdividend.synth import lines, stationary

    for fn in (
        _lowrank_factor,
        _circulant_size,
        lines.line_spectrum,
        lines.periodic_sampler,
        stationary.stationary_sampler,
        stationary.joint_circulant,
    ):
        fn.cache_clear()


def sample_gp(
    kernel: Kernel,
    length: int,
    rng: np.random.Generator,
    n_samples: int = 1,
    *,
    method: StationaryMethod = "auto",
) -> np.ndarray:
    """Exact zero-mean GP prior samples of ``kernel`` on ``linspace(0, 1, length)``.

    Equal in distribution to scikit-learn's ``GaussianProcessRegressor(kernel=k).sample_y(
    linspace(0, 1, L)[:, None], n_samples)`` (covariance exact to ``TRUNCATION_TOL`` x variance per
    entry), without factorising the L x L matrix per series (see the module docstring).

    Args:
        kernel: a composition from :mod:`tsdividend.synth.kernels`.
        length: number of time points L >= 1.
        rng: the generator every draw comes from (consumed in a fixed order).
        n_samples: number of independent paths.
        method: how stationary parts are sampled: ``"auto"`` (cheapest exact plan), or forced
            ``"lowrank"`` (pivoted Cholesky), ``"circulant"`` (circulant embedding; ValueError when
            no valid embedding exists), ``"dense"`` (eigh fallback). Tests force each.

    Returns:
        float64 array (n_samples, L).
    """
    t = grid(length)
    out = np.zeros((n_samples, length))
    for term in expand(kernel):
        y = _sample_term(term, t, rng, n_samples, method)
        if y is not None:
            out += y
    return out
