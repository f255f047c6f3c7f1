"""Generic time-domain augmentations: jitter, amplitude scaling, random resized crop, FFT band mask.

Every function is batched over a (B, C, T) tensor (a (B, T) tensor is read as C = 1), draws its
randomness PER SAMPLE from an explicit ``torch.Generator`` and works on any device. The reference
LE-JEPA code flipped one coin per batch for each augmentation; :func:`apply_per_sample` flips one
coin per sample instead.

Random numbers are drawn on the generator's device and moved to the data's device, so a CPU
generator also drives CUDA data (and gives the same draws on both); pass a generator on the data's
device to avoid the host-to-device copy of large noise tensors.

Sources:
    Jitter std ~ U(0, 0.05), amplitude scale ~ U(0.8, 1.2), FFT band mask of up to 30% of the rfft
    bins: the LE-JEPA augmentation pipeline of Razmadze, Major, Shavit 2026 (arXiv 2605.19462),
    ``LE-JEPA/augmentations.py``. Random resized crop, scale 0.8..1.0, linear resize: NuTime
    (Lin et al. 2024), ``TSRandomResizedCrop``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

__all__ = [
    "jitter",
    "amplitude_scale",
    "random_resized_crop",
    "fft_band_mask",
    "apply_per_sample",
]


# ---------------------------------------------------------------- shared checks and draws


def _check_prob(name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")


def _check_range(name: str, lo: float, hi: float, *, minimum: float = 0.0) -> None:
    if not (minimum <= lo <= hi and math.isfinite(hi)):
        raise ValueError(f"{name} must satisfy {minimum} <= lo <= hi < inf, got ({lo!r}, {hi!r})")


def _as_bct(x: Tensor, name: str = "x") -> tuple[Tensor, bool]:
    """View ``x`` as (B, C, T); also return whether it was (B, T) so callers can undo it."""
    if x.ndim == 2:
        return x.unsqueeze(1), True
    if x.ndim == 3:
        return x, False
    raise ValueError(f"{name} must have shape (B, C, T) or (B, T), got {tuple(x.shape)}")


def _check_mask(mask: Tensor, x: Tensor) -> None:
    if mask.dtype != torch.bool or mask.shape != x.shape:
        raise ValueError(
            f"mask must be a bool tensor shaped like x {tuple(x.shape)}, "
            f"got {mask.dtype} {tuple(mask.shape)}"
        )


def _float_dtype(x: Tensor) -> torch.dtype:
    """Dtype to compute in: float32/float64 as given; half types go through float32."""
    return x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32


def _uniform(
    shape: tuple[int, ...], lo: float, hi: float, generator: torch.Generator, like: Tensor
) -> Tensor:
    """U(lo, hi) draws of ``shape`` made on the generator's device, returned on ``like``'s."""
    u = torch.rand(shape, generator=generator, device=generator.device, dtype=_float_dtype(like))
    return (lo + (hi - lo) * u).to(device=like.device, dtype=like.dtype)


def _normal(shape: tuple[int, ...], generator: torch.Generator, like: Tensor) -> Tensor:
    """Standard normal draws of ``shape`` made on the generator's device, returned on ``like``'s."""
    z = torch.randn(shape, generator=generator, device=generator.device, dtype=_float_dtype(like))
    return z.to(device=like.device, dtype=like.dtype)


# ---------------------------------------------------------------- per-sample application


def apply_per_sample(
    fn: Callable[[Tensor, torch.Generator], Tensor],
    x: Tensor,
    p: float,
    *,
    generator: torch.Generator,
) -> Tensor:
    """Apply a shape-preserving augmentation to a random subset of the batch (one coin per sample).

    ``fn`` runs on the whole batch and ``torch.where`` keeps its output only for the chosen
    samples: this costs some compute but needs no host sync (no ``nonzero``) and consumes the
    generator identically whatever the coins say. ``p`` = 0 and 1 skip the coins entirely.

    Args:
        fn: ``fn(x, generator) -> Tensor`` of the same shape as ``x``.
        x: (B, ...) batch.
        p: probability that a sample is augmented.
        generator: source of the coins (and passed on to ``fn``).

    Returns:
        (B, ...) tensor: ``fn(x)[b]`` for the chosen samples, ``x[b]`` for the others.
    """
    _check_prob("p", p)
    if p == 0.0:
        return x
    if p == 1.0:
        return fn(x, generator)
    coins = torch.rand(x.shape[0], generator=generator, device=generator.device) < p
    y = fn(x, generator)
    if y.shape != x.shape:
        raise ValueError(
            f"apply_per_sample needs a shape-preserving fn: {tuple(x.shape)} -> {tuple(y.shape)}"
        )
    chosen = coins.to(x.device).view(-1, *([1] * (x.ndim - 1)))
    return torch.where(chosen, y, x)


# ---------------------------------------------------------------- augmentations


def jitter(
    x: Tensor, sigma: tuple[float, float] = (0.0, 0.05), *, generator: torch.Generator
) -> Tensor:
    """Add Gaussian noise whose std is drawn per sample.

    Args:
        x: (B, C, T) or (B, T) series.
        sigma: (lo, hi); each sample's noise std is U(lo, hi), shared by its channels. (0, 0.05)
            is the LE-JEPA reference setting (inputs z-normalised, so relative to unit variance).
        generator: source of randomness.

    Returns:
        Tensor shaped like ``x``: ``x + s_b * N(0, 1)``.
    """
    _check_range("sigma", *sigma)
    x3, _ = _as_bct(x)
    std = _uniform((x3.shape[0], 1, 1), sigma[0], sigma[1], generator, x3)
    return x + (std * _normal(tuple(x3.shape), generator, x3)).view_as(x)


def amplitude_scale(
    x: Tensor, lo: float = 0.8, hi: float = 1.2, *, generator: torch.Generator
) -> Tensor:
    """Multiply each sample by one factor ~ U(lo, hi) (shared by its channels).

    Args:
        x: (B, C, T) or (B, T) series.
        lo: smallest factor (LE-JEPA: 0.8).
        hi: largest factor (LE-JEPA: 1.2).
        generator: source of randomness.

    Returns:
        Tensor shaped like ``x``.
    """
    _check_range("(lo, hi)", lo, hi)
    factor = _uniform((x.shape[0],), lo, hi, generator, x)
    return x * factor.view(-1, *([1] * (x.ndim - 1)))


def fft_band_mask(x: Tensor, max_ratio: float = 0.3, *, generator: torch.Generator) -> Tensor:
    """Zero a random contiguous band of rfft bins per sample and transform back.

    With F = T // 2 + 1 bins and K = floor(max_ratio * F), each sample draws a band width
    k ~ U{1..K} and a start ~ U{0..F-k}; the band is the same for all channels of the sample.
    When K = 0 (very short series) nothing is masked.

    Args:
        x: (B, C, T) or (B, T) real series.
        max_ratio: largest fraction of the rfft bins to zero (LE-JEPA: 0.3).
        generator: source of randomness.

    Returns:
        Tensor shaped like ``x``: ``irfft(rfft(x) * keep, n=T)``.
    """
    _check_prob("max_ratio", max_ratio)
    x3, _ = _as_bct(x)
    n_time = x3.shape[-1]
    n_bins = n_time // 2 + 1
    widest = int(math.floor(max_ratio * n_bins))
    if widest == 0:
        return x
    spec = torch.fft.rfft(x3.to(_float_dtype(x3)), dim=-1)  # (B, C, F)
    batch = x3.shape[0]
    u = torch.rand((2, batch), generator=generator, device=generator.device)
    u = u.to(x3.device)
    width = (1 + torch.floor(u[0] * widest)).long().clamp(max=widest)
    start = torch.floor(u[1] * (n_bins - width + 1)).long().clamp(max=n_bins - width)
    bins = torch.arange(n_bins, device=x3.device)
    band = (bins >= start[:, None]) & (bins < (start + width)[:, None])  # (B, F)
    spec = spec.masked_fill(band[:, None, :], 0)
    return torch.fft.irfft(spec, n=n_time, dim=-1).to(x.dtype).reshape(x.shape)


def random_resized_crop(
    x: Tensor,
    scale: tuple[float, float] = (0.8, 1.0),
    out_length: int | None = None,
    mask: Tensor | None = None,
    *,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor | None]:
    """NuTime's random resized crop: a random contiguous segment, linearly resized.

    Per sample: valid length V = T, or, with a mask, the index after the last time step observed
    in any channel (trailing padding of variable-length series is dropped first, as NuTime drops
    the all-NaN tail); segment length L = round(V * U(scale)) clipped to [1, V]; start ~ U{0..V-L}.
    The segment is resized to ``out_length`` exactly like ``F.interpolate(mode="linear",
    align_corners=False)`` (gather + lerp, vectorised over the batch; source indices are clamped
    inside the segment, so its ends are exact). A sample with no observed step uses V = T.

    Args:
        x: (B, C, T) or (B, T) series.
        scale: (lo, hi) fraction of the valid length kept, 0 < lo <= hi <= 1 (NuTime: 0.8, 1.0).
        out_length: output length; default T.
        mask: optional bool tensor shaped like ``x``, True = observed. An output point is observed
            iff the source points it interpolates between (with non-zero weight) are observed.
        generator: source of randomness.

    Returns:
        ``(x_out, mask_out)``: (B, C, out_length) (or (B, out_length)) values, and the resized
        mask (None when ``mask`` is None).
    """
    if not 0.0 < scale[0] <= scale[1] <= 1.0:
        raise ValueError(f"scale must satisfy 0 < lo <= hi <= 1, got {scale!r}")
    x3, squeeze = _as_bct(x)
    batch, _, n_time = x3.shape
    n_out = n_time if out_length is None else out_length
    if n_out < 1:
        raise ValueError(f"out_length must be >= 1, got {out_length!r}")
    dev = x3.device
    valid = torch.full((batch,), n_time, device=dev, dtype=torch.long)
    m3 = None
    if mask is not None:
        _check_mask(mask, x)
        m3 = mask.view_as(x3)
        steps = torch.arange(1, n_time + 1, device=dev)
        last = (m3.any(dim=1) * steps).amax(dim=1)  # index after the last observed step, or 0
        valid = torch.where(last > 0, last, valid)
    u = torch.rand((2, batch), generator=generator, device=generator.device)
    u = u.to(dev)
    frac = scale[0] + (scale[1] - scale[0]) * u[0]
    seg = torch.round(valid * frac).long().clamp(min=1)
    seg = torch.minimum(seg, valid)
    start = torch.floor(u[1] * (valid - seg + 1)).long()
    start = torch.minimum(start, valid - seg)

    # Source coordinate of each output point, as F.interpolate(linear, align_corners=False).
    # float64 keeps the weights exact for long series; MPS has no float64.
    coord = torch.float32 if dev.type == "mps" else torch.float64
    j = torch.arange(n_out, device=dev, dtype=coord)
    src = ((j[None, :] + 0.5) * (seg[:, None].to(coord) / n_out) - 0.5).clamp(min=0.0)
    i0 = torch.minimum(torch.floor(src).long(), seg[:, None] - 1)
    i1 = torch.minimum(i0 + 1, seg[:, None] - 1)
    weight = src - i0
    idx0 = (start[:, None] + i0)[:, None, :].expand(-1, x3.shape[1], -1)
    idx1 = (start[:, None] + i1)[:, None, :].expand(-1, x3.shape[1], -1)
    x0 = torch.gather(x3, 2, idx0)
    x1 = torch.gather(x3, 2, idx1)
    out = x0 + weight[:, None, :].to(x3.dtype) * (x1 - x0)
    mask_out = None
    if m3 is not None:
        exact = (weight == 0)[:, None, :]
        mask_out = torch.gather(m3, 2, idx0) & (torch.gather(m3, 2, idx1) | exact)
    if squeeze:
        out = out.squeeze(1)
        mask_out = None if mask_out is None else mask_out.squeeze(1)
    return out, mask_out
