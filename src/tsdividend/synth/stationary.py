"""Exact samplers for stationary covariances on the regular grid ``linspace(0, 1, L)``.

Two exact methods, planned once per kernel and length and cached:

- **Circulant embedding** (Wood & Chan 1994, "Simulation of stationary Gaussian processes in
  [0, 1]^d", J. Comput. Graph. Stat. 3(4); Dietrich & Newsam 1997, "Fast and exact simulation of
  stationary Gaussian processes through circulant embedding of the covariance matrix", SIAM J. Sci.
  Comput. 18(4)). The L x L Toeplitz covariance is the top-left block of a symmetric circulant of
  size ``M >= 2(L - 1)`` whose eigenvalues are one real FFT of its first row. When they are all
  nonnegative, ``Re`` and ``Im`` of ``FFT(sqrt(lambda / M) * (xi + i eta))`` are two independent
  exact samples: O(M log M) per two samples. When the minimal embedding is not nonnegative
  definite, M is doubled (padding: the row continues with the kernel's own values) up to
  ``MAX_EMBEDDING_FACTOR * 2(L - 1)``. Negative eigenvalues are clipped to 0 only when clipping
  changes the covariance by at most :data:`CLIP_TOL` x variance entrywise (the change is bounded by
  ``sum(max(-lambda, 0)) / M``), i.e. FFT round-off; larger negatives reject the size. Nothing is
  clipped silently.
- **Pivoted Cholesky** (low rank). Kernels analytic on [0, 1] (RBF, RationalQuadratic of the
  KernelSynth bank) have Toeplitz matrices of tiny numerical rank (4 to ~60 at 1e-12, independent
  of L). The factorisation stops once every residual diagonal entry is <= :data:`TRUNCATION_TOL` x
  variance; the residual is PSD, so every covariance entry is then exact to that tolerance. Cost
  O(L r^2) once, O(L r) per sample.

A dense ``eigh`` of the Toeplitz matrix (O(L^3), once per kernel and length, cached) is the
documented last resort when neither applies; a clearly negative eigenvalue raises.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

import numpy as np
import scipy.fft
import scipy.linalg

from tsdividend.synth.kernels import BaseKernel, stationary_profile

TRUNCATION_TOL = 1e-12
"""Largest covariance error (entrywise, relative to the variance) that truncating a Bessel cosine
series, pruning spectral lines or stopping a pivoted Cholesky may introduce."""

CLIP_TOL = 1e-10
"""Largest entrywise covariance change, relative to the variance, that clipping negative circulant
eigenvalues may cause (FFT round-off is ~1e-16 x M relative to the largest eigenvalue)."""

MAX_EMBEDDING_FACTOR = 64
"""Circulant embeddings are padded up to ``MAX_EMBEDDING_FACTOR * 2(L - 1)`` points."""

MAX_LOWRANK = 512
"""A pivoted Cholesky that has not converged after this many steps is abandoned (``auto``)."""

StationaryMethod = Literal["auto", "lowrank", "circulant", "dense"]
Profile = Callable[[np.ndarray], np.ndarray]


class Sampler(Protocol):
    """Anything that draws ``n`` exact zero-mean GP paths on the grid: (n, L)."""

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray: ...

    @property
    def cost(self) -> float: ...


def grid(length: int) -> np.ndarray:
    """The KernelSynth time grid ``linspace(0, 1, length)``."""
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    return np.linspace(0.0, 1.0, length)


def make_profile(factors: tuple[BaseKernel, ...], length: int) -> Profile:
    """``d -> prod_k k(d)`` for stationary base kernels (Periodic, RBF, RQ, Constant)."""

    def profile(d: np.ndarray) -> np.ndarray:
        out = np.ones(np.shape(d))
        for kernel in factors:
            out = out * stationary_profile(kernel, d, length)
        return out

    return profile


@dataclass(frozen=True)
class LowRankSampler:
    """Samples ``z @ factor.T`` with ``z`` standard normal: covariance ``factor @ factor.T``.

    Attributes:
        factor: (L, r) float64.
        method: ``"lowrank"`` (pivoted Cholesky) or ``"dense"`` (eigh fallback).
    """

    factor: np.ndarray
    method: str

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` exact samples, shape (n, L)."""
        return rng.standard_normal((n, self.factor.shape[1])) @ self.factor.T

    @property
    def cost(self) -> float:
        """Approximate flops per sample."""
        return 2.0 * self.factor.size


@dataclass(frozen=True)
class CirculantSampler:
    """Circulant-embedding sampler; ``root`` (M,) holds ``sqrt(max(lambda, 0) / M)``."""

    root: np.ndarray
    length: int
    method: str = "circulant"

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` exact samples, shape (n, L): Re and Im of one complex FFT are independent."""
        pairs = (n + 1) // 2
        out = np.empty((2 * pairs, self.length))
        step = max(1, (1 << 20) // len(self.root))  # bound the complex temporaries to ~16 MB
        for lo in range(0, pairs, step):
            hi = min(pairs, lo + step)
            z = rng.standard_normal((2, hi - lo, len(self.root)))
            w = scipy.fft.fft((z[0] + 1j * z[1]) * self.root, axis=1)[:, : self.length]
            out[2 * lo : 2 * hi : 2], out[2 * lo + 1 : 2 * hi : 2] = w.real, w.imag
        return out[:n]

    @property
    def cost(self) -> float:
        """Approximate flops per sample (one complex FFT gives two)."""
        return circulant_cost(len(self.root))


def circulant_cost(size: int) -> float:
    """Approximate flops per sample of a size-``size`` circulant embedding."""
    return 2.5 * size * math.log2(max(size, 2)) + 4.0 * size


def pivoted_cholesky(
    profile: Profile, t: np.ndarray, tol: float, max_rank: int
) -> np.ndarray | None:
    """Low-rank factor G (L, r) of the stationary covariance ``profile(|t_i - t_j|)``.

    Greedy diagonal pivoting; stops when every residual diagonal entry is ``<= tol * profile(0)``,
    so ``|K - G G^T| <= tol * profile(0)`` entrywise (the residual is PSD).

    Returns:
        G, or None when ``max_rank`` steps (< L) do not reach the tolerance.
    """
    n = len(t)
    c0 = float(profile(np.zeros(1))[0])
    diag = np.full(n, c0)
    rows = np.empty((min(max_rank, n, 64), n))
    for r in range(min(max_rank, n)):
        p = int(np.argmax(diag))
        if diag[p] <= tol * c0:
            return rows[:r].T.copy()
        if r == len(rows):  # grow geometrically instead of preallocating max_rank rows
            rows = np.concatenate([rows, np.empty_like(rows)])
        col = profile(np.abs(t - t[p])) - rows[:r, p] @ rows[:r]
        rows[r] = col / math.sqrt(diag[p])
        diag -= rows[r] ** 2
    if max_rank >= n or float(diag.max()) <= tol * c0:
        return rows[: min(max_rank, n)].T.copy()
    return None


def circulant_root(
    profile: Profile, length: int, max_size: int, sizes: tuple[int, ...] | None = None
) -> tuple[np.ndarray | None, list[tuple[int, float]]]:
    """Smallest valid circulant embedding of the grid covariance, if any.

    Tries ``M = 2 m`` for ``m = next_fast_len(L - 1)``, then doubling ``m`` while ``M <= max_size``
    (or exactly the given ``sizes``). A size is valid when clipping its negative eigenvalues changes
    the covariance by at most ``CLIP_TOL * profile(0)`` entrywise.

    Returns:
        ``sqrt(max(lambda, 0) / M)`` (M,) or None, and ``(M, clip bound / variance)`` per size
        tried.
    """
    if length < 2:
        return None, []
    h = 1.0 / (length - 1)
    c0 = float(profile(np.zeros(1))[0])
    if sizes is None:
        m, found = scipy.fft.next_fast_len(length - 1), []
        while 2 * m <= max_size:
            found.append(2 * m)
            m = scipy.fft.next_fast_len(2 * m)
        sizes = tuple(found)
    tried: list[tuple[int, float]] = []
    for size in sizes:
        m = size // 2
        half = profile(np.arange(m + 1) * h)
        lam = scipy.fft.rfft(np.concatenate([half, half[-2:0:-1]])).real  # (m + 1,)
        neg = np.minimum(lam, 0.0)
        clip = -(neg[0] + neg[-1] + 2.0 * neg[1:-1].sum()) / size
        tried.append((size, clip / c0))
        if clip <= CLIP_TOL * c0:
            full = np.concatenate([lam, lam[-2:0:-1]])
            return np.sqrt(np.maximum(full, 0.0) / size), tried
    return None, tried


def dense_factor(profile: Profile, t: np.ndarray) -> np.ndarray:
    """Exact fallback: ``U sqrt(lambda)`` from ``eigh`` of the dense Toeplitz covariance.

    Raises:
        numpy.linalg.LinAlgError: when an eigenvalue is below ``-CLIP_TOL`` x the largest.
    """
    cov = profile(np.abs(t[:, None] - t[None, :]))
    lam, vec = scipy.linalg.eigh(cov)
    if lam[0] < -CLIP_TOL * max(lam[-1], 1e-300):
        raise np.linalg.LinAlgError(
            f"kernel matrix is not positive semi-definite: eigenvalue {lam[0]:.3e} "
            f"(largest {lam[-1]:.3e})"
        )
    keep = lam > TRUNCATION_TOL * lam[-1]
    return vec[:, keep] * np.sqrt(lam[keep])


_S = TypeVar("_S", bound="LowRankSampler | CirculantSampler")


def _frozen(sampler: _S) -> _S:
    arr = sampler.factor if isinstance(sampler, LowRankSampler) else sampler.root
    arr.flags.writeable = False  # cached and shared: never mutate
    return sampler


@functools.lru_cache(maxsize=512)
def stationary_sampler(
    factors: tuple[BaseKernel, ...], length: int, method: StationaryMethod = "auto"
) -> LowRankSampler | CirculantSampler:
    """Plan an exact sampler for a product of stationary kernels (cached per arguments).

    Args:
        factors: stationary base kernels, multiplied.
        length: grid length L.
        method: ``"auto"``: the cheaper per sample of a pivoted Cholesky (rank <= MAX_LOWRANK)
            and the smallest valid circulant embedding, else the dense fallback; ``"lowrank"``,
            ``"circulant"``, ``"dense"`` force one (ValueError when it is not exact here).
    """
    profile = make_profile(factors, length)
    t = grid(length)
    if method == "dense":
        return _frozen(LowRankSampler(dense_factor(profile, t), "dense"))
    low = None
    if method in ("auto", "lowrank"):
        max_rank = length if method == "lowrank" else min(length, MAX_LOWRANK)
        g = pivoted_cholesky(profile, t, TRUNCATION_TOL, max_rank)
        low = None if g is None else LowRankSampler(g, "lowrank")
        if method == "lowrank":
            if low is None:
                raise ValueError(f"pivoted Cholesky did not converge for {factors}")
            return _frozen(low)
    min_size = 2 * scipy.fft.next_fast_len(max(length - 1, 1))
    if low is not None and low.cost <= circulant_cost(min_size):
        return _frozen(low)
    max_size = MAX_EMBEDDING_FACTOR * 2 * max(length - 1, 1)
    root, tried = circulant_root(profile, length, max_size)
    circ = None if root is None else CirculantSampler(root, length)
    if method == "circulant":
        if circ is None:
            raise ValueError(f"no valid circulant embedding up to M={max_size}: tried {tried}")
        return _frozen(circ)
    candidates = [s for s in (low, circ) if s is not None]
    if candidates:
        return _frozen(min(candidates, key=lambda s: s.cost))
    return _frozen(LowRankSampler(dense_factor(profile, t), "dense"))


@functools.lru_cache(maxsize=1024)
def joint_circulant(
    factors: tuple[BaseKernel, ...], length: int, size: int
) -> CirculantSampler | None:
    """Circulant sampler of a stationary product at exactly embedding size ``size``, if valid."""
    root, _ = circulant_root(make_profile(factors, length), length, size, sizes=(size,))
    return None if root is None else _frozen(CirculantSampler(root, length))
