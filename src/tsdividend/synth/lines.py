"""Products of periodic (``ExpSineSquared``) kernels as exact positive line spectra.

``exp(-2 sin^2(pi d / p) / l^2) = exp(-z) exp(z cos(2 pi d / p))`` with ``z = 1 / l^2``, and the
generating function of the modified Bessel functions (Abramowitz & Stegun 9.6.34) gives
``sum_n a_n cos(2 pi n d / p)`` with ``a_0 = ive(0, z)``, ``a_n = 2 ive(n, z)`` (all positive,
``sum a_n = 1``, decaying like ``(z/2)^n / n!``). The series is cut where the dropped mass is below
the budget; a product of periodic kernels is the convolution of their line sets
(``cos a cos b = (cos(a + b) + cos(a - b)) / 2``), pruned the same way. Every dropped line is a PSD
kernel bounded by its weight, so the covariance error is at most the total dropped weight
(<= ``TRUNCATION_TOL``).

A line process ``y(t) = sum_j sqrt(w_j) (xi_j cos(2 pi f_j t) + eta_j sin(2 pi f_j t))`` has exactly
that covariance. With few lines it is a feature matrix product; with many (products of 3+ periodic
factors reach 10^3 to 10^5 lines) it is evaluated by a Taylor-expansion non-uniform FFT (Anderson &
Dahleh 1996, "Rapid computation of the discrete Fourier transform", SIAM J. Sci. Comput. 17(4)):
each frequency is split into the nearest point of an oversampled FFT grid plus an offset whose
phase ``exp(2 pi i delta (k - c) / Q)`` is expanded to an order where the remainder is < 1e-16.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft
from scipy.special import ive

from tsdividend.synth.kernels import Periodic
from tsdividend.synth.stationary import TRUNCATION_TOL, grid

MAX_FEATURE_FLOATS = 1 << 18
"""Feature matrices larger than this (2 MiB) are not cached: such spectra use the NUFFT."""


def _periodic_lines(kernel: Periodic, length: int, budget: float) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies in cycles per unit time, weights) of one periodic kernel's cosine series."""
    z = 1.0 / kernel.length_scale**2
    n = np.arange(int(z + 40.0 * math.sqrt(z) + 60.0))
    a = ive(n, z)
    a[1:] *= 2.0
    tail = np.cumsum(a[::-1])[::-1]  # tail[k] = sum_{n >= k} a_n
    keep = int(np.argmax(tail <= budget)) if tail[-1] <= budget else len(n)
    return n[:keep] * (length / kernel.steps), a[:keep]


def _prune(freqs: np.ndarray, weights: np.ndarray, budget: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge identical frequencies, then drop the lightest lines of total weight <= budget."""
    uniq, inverse = np.unique(freqs, return_inverse=True)
    merged = np.zeros(len(uniq))
    np.add.at(merged, inverse, weights)
    order = np.argsort(merged, kind="stable")
    keep = np.sort(order[np.cumsum(merged[order]) > budget])
    return uniq[keep], merged[keep]


@functools.lru_cache(maxsize=4096)
def line_spectrum(periodics: tuple[Periodic, ...], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Positive line spectrum of a product of periodic kernels, ``k(d) = sum w_j cos(2 pi f_j d)``.

    Args:
        periodics: the periodic factors (their order only changes float rounding; sort them).
        length: series length L (periodicity = steps / L).

    Returns:
        (frequencies (J,) >= 0 in cycles per unit time, weights (J,) > 0), read-only.
    """
    budget = TRUNCATION_TOL / (2 * len(periodics))
    freqs, weights = _periodic_lines(periodics[0], length, budget)
    for kernel in periodics[1:]:
        f2, w2 = _periodic_lines(kernel, length, budget)
        f = np.concatenate([(freqs[:, None] + f2).ravel(), np.abs(freqs[:, None] - f2).ravel()])
        w = np.tile((weights[:, None] * w2).ravel() / 2.0, 2)
        freqs, weights = _prune(f, w, budget)
    for arr in (freqs, weights):
        arr.flags.writeable = False
    return freqs, weights


@dataclass(frozen=True)
class FeatureLineSampler:
    """Line process as ``z @ features.T``; ``features`` (L, F) with cos / sin columns."""

    features: np.ndarray

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` exact samples, shape (n, L)."""
        return rng.standard_normal((n, self.features.shape[1])) @ self.features.T

    @property
    def cost(self) -> float:
        """Approximate flops per sample."""
        return 2.0 * self.features.size

    @property
    def nbytes(self) -> int:
        """Memory held (the cache's measure)."""
        return int(self.features.nbytes)


@dataclass(frozen=True)
class NufftLineSampler:
    """Line process evaluated on the grid by a Taylor NUFFT (see module docstring).

    Attributes:
        nu: (J,) line frequencies in cycles per grid step, reduced modulo 1.
        root: (J,) ``sqrt(w_j)``.
        bins: (J,) FFT bin of each line, ``m_j = round(nu_j Q) mod Q``.
        shift: (J,) ``exp(2 pi i delta_j c / Q)`` with ``delta_j = nu_j Q - round(nu_j Q)`` and
            ``c = (L - 1) / 2`` the grid centre.
        delta: (J,) the offsets ``delta_j`` in [-1/2, 1/2] bins.
        powers: (order, L) ``(2 pi i (k - c) / Q)^p / p!``.
        size: Q, the oversampled FFT length (>= 2L).
    """

    nu: np.ndarray
    root: np.ndarray
    bins: np.ndarray
    shift: np.ndarray
    delta: np.ndarray
    powers: np.ndarray
    size: int

    @functools.cached_property
    def order(self) -> np.ndarray:
        """Lines sorted by FFT bin (computed once per cached sampler)."""
        return np.argsort(self.bins, kind="stable")

    @property
    def nbytes(self) -> int:
        """Memory held (the cache's measure)."""
        arrays = (self.nu, self.root, self.bins, self.shift, self.delta, self.powers)
        return int(sum(a.nbytes for a in arrays))

    def evaluate(self, coef: np.ndarray) -> np.ndarray:
        """``Re sum_j coef[:, j] exp(2 pi i nu_j k)`` for k = 0..L-1: (n, J) complex -> (n, L)."""
        length = self.powers.shape[1]
        bins = self.bins[self.order]
        firsts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
        term = np.ascontiguousarray((coef * self.shift).T[self.order])  # (J, n), sorted by bin
        delta = self.delta[self.order, None]
        out = np.zeros((length, len(coef)), dtype=complex)
        binned = np.zeros((self.size, len(coef)), dtype=complex)
        for power in self.powers:
            binned[bins[firsts]] = np.add.reduceat(term, firsts, axis=0)  # lines -> FFT bins
            out += power[:, None] * (self.size * scipy.fft.ifft(binned, axis=0)[:length])
            term *= delta
        return out.real.T

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` exact samples, shape (n, L)."""
        out = np.empty((n, self.powers.shape[1]))
        step = max(1, (1 << 20) // len(self.root))
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            z = rng.standard_normal((2, hi - lo, len(self.root)))
            # Re((xi - i eta) e^{i theta}) = xi cos(theta) + eta sin(theta)
            out[lo:hi] = self.evaluate((z[0] - 1j * z[1]) * self.root)
        return out

    @property
    def cost(self) -> float:
        """Approximate flops per sample."""
        # + ~1e5 flop-equivalents per Taylor order: the fixed cost of its numpy calls
        per_order = 8.0 * len(self.root) + 5.0 * self.size * math.log2(self.size) + 1e5
        return len(self.powers) * per_order


def _nufft_sampler(freqs: np.ndarray, weights: np.ndarray, length: int) -> NufftLineSampler:
    q = scipy.fft.next_fast_len(2 * length)
    nu = (freqs / (length - 1)) % 1.0  # cycles per grid step; e^{2 pi i nu k} is 1-periodic in nu
    bins = np.rint(nu * q)
    delta = nu * q - bins
    centre = (length - 1) / 2.0
    x = 2j * np.pi * (np.arange(length) - centre) / q  # |delta x| <= pi (L - 1) / (2 Q) < pi / 4
    bound = np.pi * (length - 1) / (2 * q)
    order = next(p for p in range(1, 60) if bound**p / math.factorial(p) < 1e-17)
    powers = np.stack([x**p / math.factorial(p) for p in range(order)])
    shift = np.exp(2j * np.pi * delta * centre / q)
    return NufftLineSampler(
        nu, np.sqrt(weights), bins.astype(np.int64) % q, shift, delta, powers, q
    )


def _features(freqs: np.ndarray, weights: np.ndarray, t: np.ndarray) -> np.ndarray:
    pos = freqs > 0
    phase = 2.0 * np.pi * np.outer(t, freqs[pos])
    root = np.sqrt(weights[pos])
    parts = [np.cos(phase) * root, np.sin(phase) * root]
    if not pos.all():  # the constant (zero-frequency) line needs no sine
        parts.insert(0, np.full((len(t), 1), math.sqrt(weights[~pos].sum())))
    return np.concatenate(parts, axis=1)


SAMPLER_CACHE_BYTES = 256 << 20
"""Byte budget of :func:`periodic_sampler`'s cache. KernelSynth draws ~700 distinct periodic
products in its first 5,000 series of 336 steps (~160 KB each on average, 3 MB at most): 128
entries missed 19.5% of the calls (each miss ~2 ms, a third of a series' cost), 1,024 miss 8.4%
(the first sight of each key); a byte budget bounds the memory whatever the lengths."""


class BytesLRU:
    """Least-recently-used cache of a pure function, bounded by the bytes of its results (the
    ``nbytes`` they report); thread-safe. ``cache_clear()`` empties it."""

    def __init__(self, fn: Callable[..., Any], limit: int) -> None:
        self.fn, self.limit = fn, limit
        self._items: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any) -> Any:
        with self._lock:
            hit = self._items.get(args)
            if hit is not None:
                self._items.move_to_end(args)
                return hit[0]
        value = self.fn(*args)  # outside the lock: a pure function, a race only repeats work
        size = int(value.nbytes)
        with self._lock:
            if args not in self._items and size <= self.limit:
                self._items[args] = (value, size)
                self._bytes += size
                while self._bytes > self.limit:
                    _, (_, dropped) = self._items.popitem(last=False)
                    self._bytes -= dropped
        return value

    def cache_clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


def _cached_by_bytes(fn: Callable[..., Any]) -> BytesLRU:
    return BytesLRU(fn, SAMPLER_CACHE_BYTES)


@_cached_by_bytes
def periodic_sampler(
    periodics: tuple[Periodic, ...], length: int
) -> FeatureLineSampler | NufftLineSampler:
    """Exact sampler (cached, :data:`SAMPLER_CACHE_BYTES`) of the zero-mean GP whose kernel is
    the product of ``periodics``."""
    freqs, weights = line_spectrum(periodics, length)
    n_feats = 2 * len(freqs)
    if length >= 2:
        nufft = _nufft_sampler(np.asarray(freqs), np.asarray(weights), length)
        if n_feats * length > MAX_FEATURE_FLOATS or nufft.cost < 2.0 * n_feats * length:
            return nufft
    feats = _features(freqs, weights, grid(length))
    feats.flags.writeable = False
    return FeatureLineSampler(feats)
