"""Batched discrete-wavelet (DWT) augmentations on the tensor's device.

The seed paper's DINO and LE-JEPA views modify the detail coefficients of a multilevel DWT and
reconstruct (Razmadze, Major, Shavit 2026, arXiv 2605.19462; reference code
``TSDiNO/data_agumentation.py::DWTAugmentation``). The reference ran ``pywt`` per sample on the
CPU inside the training step; here ``ptwt`` decomposes all B * C series at once with conv1d on
whatever device holds the tensor, and autograd flows through (the DWT is linear).

Conventions:
    * Coefficients are a list ``[cA_n, cD_n, ..., cD_1]`` (PyWavelets order), each (B, C, n_k).
    * Boundary mode: ``"symmetric"`` by default (PyWavelets' default, so the reference's); any of
      :data:`BOUNDARY_MODES` gives the same coefficients as ``pywt.wavedec(..., mode=mode)``.
    * Level: the requested level is clamped to ``pywt.dwt_max_level(T, wavelet.dec_len)`` (see
      :func:`dwt_level`); a series too short for even one level (T < 2 * (dec_len - 1), i.e.
      T < 14 for db4) is an error rather than a silent no-op.
    * Randomness is per sample (one draw per batch element, shared by its channels, as the
      reference drew once per ``pywt`` call on one sample), from an explicit generator.
    * Inputs are expected z-normalised per series (as in the reference), so noise scales are
      relative to unit variance.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import ptwt
import pywt
import torch
from torch import Tensor

from tsdividend.augment.time import (
    _as_bct,
    _check_prob,
    _check_range,
    _float_dtype,
    _normal,
    _uniform,
)

__all__ = [
    "BOUNDARY_MODES",
    "dwt_level",
    "wavedec",
    "waverec",
    "soft_threshold_coeffs",
    "high_perturb_coeffs",
    "zero_out_coeffs",
    "low_pass_coeffs",
    "band_scale_coeffs",
    "soft_threshold",
    "high_perturb",
    "zero_out",
    "low_pass",
    "band_scale",
]

BOUNDARY_MODES: tuple[str, ...] = ("symmetric", "reflect", "zero", "periodic", "constant")
"""Boundary extensions supported by both ptwt and PyWavelets (PyWavelets' names and meanings)."""

Coeffs = list[Tensor]


@functools.lru_cache(maxsize=64)
def _wavelet(name: str) -> pywt.Wavelet:
    """The discrete PyWavelets wavelet called ``name`` (cached: building one parses tables)."""
    if name not in pywt.wavelist(kind="discrete"):
        families = ", ".join(pywt.families(short=True)[:7])
        raise ValueError(
            f"unknown discrete wavelet {name!r}; valid: any name in "
            f"pywt.wavelist(kind='discrete'), e.g. db4, sym8, coif2, haar (families: {families})"
        )
    return pywt.Wavelet(name)


def _check_mode(mode: str) -> None:
    if mode not in BOUNDARY_MODES:
        raise ValueError(f"unknown boundary mode {mode!r}; valid: {', '.join(BOUNDARY_MODES)}")


def dwt_level(length: int, wavelet: str = "db4", level: int = 3) -> int:
    """Decomposition level actually used for series of ``length``: ``level`` clamped to pywt's max.

    Args:
        length: series length T.
        wavelet: PyWavelets discrete wavelet name.
        level: requested level (>= 1).

    Returns:
        ``min(level, pywt.dwt_max_level(length, dec_len))``.

    Raises:
        ValueError: if ``level`` < 1 or the series is too short for one level.
    """
    if level < 1:
        raise ValueError(f"level must be >= 1, got {level!r}")
    w = _wavelet(wavelet)
    max_level = pywt.dwt_max_level(length, w.dec_len)
    if max_level < 1:
        raise ValueError(
            f"series of length {length} is too short for a {wavelet} DWT: "
            f"need length >= {2 * (w.dec_len - 1)}"
        )
    return min(level, max_level)


def wavedec(x: Tensor, wavelet: str = "db4", level: int = 3, mode: str = "symmetric") -> Coeffs:
    """Multilevel DWT along the last axis of all series at once (``pywt.wavedec`` equivalent).

    Args:
        x: (..., T) float32 or float64 tensor, any device.
        wavelet: PyWavelets discrete wavelet name.
        level: requested level, clamped by :func:`dwt_level`.
        mode: boundary extension, one of :data:`BOUNDARY_MODES`.

    Returns:
        ``[cA_n, cD_n, ..., cD_1]``, each (..., n_k), same dtype and device as ``x``.
    """
    _check_mode(mode)
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"wavedec needs float32 or float64 input, got {x.dtype}")
    n = dwt_level(x.shape[-1], wavelet, level)
    # Autocast would hand ptwt's convolutions bf16/fp16 tensors, which it rejects; the DWT is
    # data preparation, so it always runs in the input's float32/64.
    with torch.autocast(x.device.type, enabled=False):
        return list(ptwt.wavedec(x, _wavelet(wavelet), mode=mode, level=n))  # type: ignore[arg-type]


def waverec(coeffs: Sequence[Tensor], wavelet: str = "db4", length: int | None = None) -> Tensor:
    """Inverse of :func:`wavedec` (``pywt.waverec`` equivalent), optionally cropped.

    Args:
        coeffs: ``[cA_n, cD_n, ..., cD_1]``, each (..., n_k).
        wavelet: the wavelet used for the decomposition.
        length: crop the result to this many steps (the original T; an odd T reconstructs to
            T + 1). None keeps the full reconstruction.

    Returns:
        (..., length) tensor.
    """
    with torch.autocast(coeffs[0].device.type, enabled=False):
        y = ptwt.waverec(list(coeffs), _wavelet(wavelet))
    return y if length is None else y[..., :length]


# ---------------------------------------------------------------- coefficient-domain modes


def _batch(coeffs: Coeffs) -> int:
    if coeffs[0].ndim != 3:
        raise ValueError(f"coefficients must be (B, C, n), got {tuple(coeffs[0].shape)}")
    return coeffs[0].shape[0]


def soft_threshold_coeffs(coeffs: Coeffs, sigma: float = 0.3) -> Coeffs:
    """Adaptive soft threshold of every detail band; the approximation is returned as is.

    Per band and per series: ``thr = sigma * max|c|``, ``c <- sign(c) * max(|c| - thr, 0)``.

    Args:
        coeffs: ``[cA_n, cD_n, ..., cD_1]``, each (B, C, n_k).
        sigma: threshold as a fraction of the band's largest magnitude, in [0, 1] (paper: 0.3).
    """
    _check_prob("sigma", sigma)
    out = [coeffs[0]]
    for c in coeffs[1:]:
        thr = sigma * c.abs().amax(dim=-1, keepdim=True)
        out.append(torch.sign(c) * torch.relu(c.abs() - thr))
    return out


def high_perturb_coeffs(
    coeffs: Coeffs, lo: float = 0.1, hi: float = 0.3, *, generator: torch.Generator
) -> Coeffs:
    """Add N(0, s^2) noise to every detail coefficient, with s ~ U(lo, hi) drawn per sample.

    Args:
        coeffs: ``[cA_n, cD_n, ..., cD_1]``, each (B, C, n_k).
        lo: smallest noise std (paper: 0.1).
        hi: largest noise std (paper: 0.3).
        generator: source of randomness.
    """
    _check_range("(lo, hi)", lo, hi)
    std = _uniform((_batch(coeffs), 1, 1), lo, hi, generator, coeffs[0])
    return [coeffs[0]] + [c + std * _normal(tuple(c.shape), generator, c) for c in coeffs[1:]]


def zero_out_coeffs(
    coeffs: Coeffs, ratio: float = 0.4, finest_levels: int = 2, *, generator: torch.Generator
) -> Coeffs:
    """Zero each coefficient of the ``finest_levels`` finest detail bands with probability ratio.

    Coarser bands and the approximation are untouched; ``finest_levels`` is clamped to the number
    of detail bands (short series have fewer levels). Each coefficient of each series gets its
    own coin, so about ``ratio`` of them are zeroed.

    Args:
        coeffs: ``[cA_n, cD_n, ..., cD_1]``, each (B, C, n_k).
        ratio: fraction of coefficients zeroed (reference default: 0.4).
        finest_levels: how many of the finest bands are touched, >= 1 (reference default: 2).
        generator: source of randomness.
    """
    _check_prob("ratio", ratio)
    if finest_levels < 1:
        raise ValueError(f"finest_levels must be >= 1, got {finest_levels!r}")
    _batch(coeffs)
    first = max(1, len(coeffs) - finest_levels)
    out = list(coeffs[:first])
    for c in coeffs[first:]:
        keep = _uniform(tuple(c.shape), 0.0, 1.0, generator, c) >= ratio
        out.append(c * keep)
    return out


def low_pass_coeffs(coeffs: Coeffs) -> Coeffs:
    """Zero every detail band (keep only the approximation)."""
    return [coeffs[0]] + [torch.zeros_like(c) for c in coeffs[1:]]


def band_scale_coeffs(
    coeffs: Coeffs,
    approx_range: tuple[float, float] = (0.8, 1.2),
    detail_range: tuple[float, float] = (0.4, 1.6),
    *,
    generator: torch.Generator,
) -> Coeffs:
    """Scale the approximation and each detail band by their own per-sample uniform factors.

    Args:
        coeffs: ``[cA_n, cD_n, ..., cD_1]``, each (B, C, n_k).
        approx_range: (lo, hi) of the approximation factor (reference: 0.8, 1.2).
        detail_range: (lo, hi) of each detail band's factor (reference: 0.4, 1.6).
        generator: source of randomness.
    """
    _check_range("approx_range", *approx_range)
    _check_range("detail_range", *detail_range)
    batch = _batch(coeffs)
    out = []
    for k, c in enumerate(coeffs):
        lo, hi = approx_range if k == 0 else detail_range
        out.append(c * _uniform((batch, 1, 1), lo, hi, generator, c))
    return out


# ---------------------------------------------------------------- signal-domain modes


def _through_dwt(
    x: Tensor, op: Callable[[Coeffs], Coeffs], wavelet: str, level: int, mode: str
) -> Tensor:
    """``waverec(op(wavedec(x)))`` cropped to T; (B, T) or (B, C, T) in, same shape/dtype out."""
    x3, _ = _as_bct(x)
    xc = x3.to(_float_dtype(x3))  # ptwt supports float32/64 only
    y = waverec(op(wavedec(xc, wavelet, level, mode)), wavelet, length=x3.shape[-1])
    return y.to(x.dtype).reshape(x.shape)


def soft_threshold(
    x: Tensor, sigma: float = 0.3, *, wavelet: str = "db4", level: int = 3, mode: str = "symmetric"
) -> Tensor:
    """Denoised ("clean, smooth") view: soft-threshold the detail bands (see
    :func:`soft_threshold_coeffs`). Paper's teacher / view-1: db4, level 3, sigma 0.3.

    Args:
        x: (B, C, T) or (B, T) series.
        sigma: threshold fraction of each band's max magnitude.
        wavelet: PyWavelets discrete wavelet name.
        level: requested DWT level (clamped, see :func:`dwt_level`).
        mode: boundary extension, one of :data:`BOUNDARY_MODES`.

    Returns:
        Tensor with the shape, dtype and device of ``x``.
    """
    return _through_dwt(x, lambda c: soft_threshold_coeffs(c, sigma), wavelet, level, mode)


def high_perturb(
    x: Tensor,
    lo: float = 0.1,
    hi: float = 0.3,
    *,
    generator: torch.Generator,
    wavelet: str = "db4",
    level: int = 3,
    mode: str = "symmetric",
) -> Tensor:
    """Perturbed view: Gaussian noise on all detail bands, std ~ U(lo, hi) per sample (see
    :func:`high_perturb_coeffs`). Paper's student / view-2: db4, level 3, U(0.1, 0.3).

    Args:
        x: (B, C, T) or (B, T) series.
        lo: smallest noise std.
        hi: largest noise std.
        generator: source of randomness.
        wavelet: PyWavelets discrete wavelet name.
        level: requested DWT level (clamped, see :func:`dwt_level`).
        mode: boundary extension, one of :data:`BOUNDARY_MODES`.

    Returns:
        Tensor with the shape, dtype and device of ``x``.
    """

    def op(c: Coeffs) -> Coeffs:
        return high_perturb_coeffs(c, lo, hi, generator=generator)

    return _through_dwt(x, op, wavelet, level, mode)


def zero_out(
    x: Tensor,
    ratio: float = 0.4,
    finest_levels: int = 2,
    *,
    generator: torch.Generator,
    wavelet: str = "db4",
    level: int = 3,
    mode: str = "symmetric",
) -> Tensor:
    """Drop about ``ratio`` of the finest detail coefficients (see :func:`zero_out_coeffs`).

    Args:
        x: (B, C, T) or (B, T) series.
        ratio: fraction of coefficients zeroed in the touched bands.
        finest_levels: number of finest detail bands touched.
        generator: source of randomness.
        wavelet: PyWavelets discrete wavelet name.
        level: requested DWT level (clamped, see :func:`dwt_level`).
        mode: boundary extension, one of :data:`BOUNDARY_MODES`.

    Returns:
        Tensor with the shape, dtype and device of ``x``.
    """

    def op(c: Coeffs) -> Coeffs:
        return zero_out_coeffs(c, ratio, finest_levels, generator=generator)

    return _through_dwt(x, op, wavelet, level, mode)


def low_pass(x: Tensor, *, wavelet: str = "db4", level: int = 3, mode: str = "symmetric") -> Tensor:
    """Keep only the level-``level`` approximation (all detail bands zeroed).

    Args:
        x: (B, C, T) or (B, T) series.
        wavelet: PyWavelets discrete wavelet name.
        level: requested DWT level (clamped, see :func:`dwt_level`).
        mode: boundary extension, one of :data:`BOUNDARY_MODES`.

    Returns:
        Tensor with the shape, dtype and device of ``x``.
    """
    return _through_dwt(x, low_pass_coeffs, wavelet, level, mode)


def band_scale(
    x: Tensor,
    approx_range: tuple[float, float] = (0.8, 1.2),
    detail_range: tuple[float, float] = (0.4, 1.6),
    *,
    generator: torch.Generator,
    wavelet: str = "db4",
    level: int = 3,
    mode: str = "symmetric",
) -> Tensor:
    """Random per-band gains (see :func:`band_scale_coeffs`).

    Args:
        x: (B, C, T) or (B, T) series.
        approx_range: (lo, hi) of the approximation factor.
        detail_range: (lo, hi) of each detail band's factor.
        generator: source of randomness.
        wavelet: PyWavelets discrete wavelet name.
        level: requested DWT level (clamped, see :func:`dwt_level`).
        mode: boundary extension, one of :data:`BOUNDARY_MODES`.

    Returns:
        Tensor with the shape, dtype and device of ``x``.
    """

    def op(c: Coeffs) -> Coeffs:
        return band_scale_coeffs(c, approx_range, detail_range, generator=generator)

    return _through_dwt(x, op, wavelet, level, mode)
