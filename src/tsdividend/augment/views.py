"""Composable augmentation views: typed steps, a pipeline, and the named views of the papers.

A step is a frozen dataclass (its config, validated on construction) that is also callable:
``step(x, generator=g, mask=m) -> (x, mask)``. Shape-preserving steps carry a probability ``p``
applied PER SAMPLE (the reference LE-JEPA code flipped one coin per batch) and never change
unobserved positions (``mask`` False), so fill values stay what the data layer wrote. A
:class:`ViewPipeline` runs steps in order; :func:`make_view` builds the named views below.

Named views (``VIEWS.names()``):
    ``identity``        no change.
    ``dwt_soft``        soft threshold, sigma 0.3, db4, level 3 (seed paper: DINO teacher/global
                        view, LE-JEPA view 1).
    ``dwt_perturb``     detail noise, std ~ U(0.1, 0.3), db4, level 3 (seed paper: DINO
                        student/local view, LE-JEPA view 2).
    ``lejepa_generic``  jitter std ~ U(0, 0.05), amplitude scale U(0.8, 1.2), FFT band mask <= 30%
                        of the bins, each with p = 0.5 per sample (seed paper, LE-JEPA).
    ``lejepa_soft``     ``lejepa_generic`` then ``dwt_soft`` with p = 0.5 (LE-JEPA view 1).
    ``lejepa_perturb``  ``lejepa_generic`` then ``dwt_perturb`` with p = 0.5 (LE-JEPA view 2).
    ``rrc``             NuTime random resized crop, scale 0.8..1.0, back to the input length.

The LE-JEPA channel drop (p = 0.2) is left out: it is a no-op on the univariate series the
paper pretrains on, and the encoder here is channel-independent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from tsdividend.augment import time as taug
from tsdividend.augment import wavelet as waug
from tsdividend.registry import Registry

__all__ = [
    "Augmentation",
    "Jitter",
    "AmplitudeScale",
    "FFTBandMask",
    "RandomResizedCrop",
    "SoftThreshold",
    "HighPerturb",
    "ZeroOut",
    "LowPass",
    "BandScale",
    "ViewPipeline",
    "VIEWS",
    "make_view",
]


class Augmentation(Protocol):
    """Anything a :class:`ViewPipeline` can run."""

    def __call__(
        self, x: Tensor, *, generator: torch.Generator, mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None]: ...


@dataclass(frozen=True, kw_only=True)
class _PerSampleStep(ABC):
    """A shape-preserving step applied to each sample with probability ``p``."""

    p: float = 1.0

    def __post_init__(self) -> None:
        taug._check_prob("p", self.p)

    @abstractmethod
    def transform(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """Apply the augmentation to every sample of ``x`` (B, C, T) or (B, T)."""

    def __call__(
        self, x: Tensor, *, generator: torch.Generator, mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """Augment a random subset of the batch; unobserved positions keep their input values."""
        if mask is not None:
            taug._check_mask(mask, x)
        y = taug.apply_per_sample(self.transform, x, self.p, generator=generator)
        if mask is not None:
            y = torch.where(mask, y, x)
        return y, mask


@dataclass(frozen=True, kw_only=True)
class Jitter(_PerSampleStep):
    """Gaussian jitter, std ~ U(sigma) per sample. Default (0, 0.05): seed paper, LE-JEPA."""

    sigma: tuple[float, float] = (0.0, 0.05)

    def __post_init__(self) -> None:
        super().__post_init__()
        taug._check_range("sigma", *self.sigma)

    def transform(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return taug.jitter(x, self.sigma, generator=generator)


@dataclass(frozen=True, kw_only=True)
class AmplitudeScale(_PerSampleStep):
    """Per-sample gain ~ U(lo, hi). Default (0.8, 1.2): seed paper, LE-JEPA."""

    lo: float = 0.8
    hi: float = 1.2

    def __post_init__(self) -> None:
        super().__post_init__()
        taug._check_range("(lo, hi)", self.lo, self.hi)

    def transform(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return taug.amplitude_scale(x, self.lo, self.hi, generator=generator)


@dataclass(frozen=True, kw_only=True)
class FFTBandMask(_PerSampleStep):
    """Zero a contiguous band of up to ``max_ratio`` of the rfft bins. Default 0.3: LE-JEPA."""

    max_ratio: float = 0.3

    def __post_init__(self) -> None:
        super().__post_init__()
        taug._check_prob("max_ratio", self.max_ratio)

    def transform(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return taug.fft_band_mask(x, self.max_ratio, generator=generator)


@dataclass(frozen=True, kw_only=True)
class RandomResizedCrop:
    """NuTime random resized crop (always applied, may change the length; carries the mask).

    Defaults: scale (0.8, 1.0) from NuTime's ``TSRandomResizedCrop``; ``out_length`` None keeps
    the input length T (NuTime resizes to 512).
    """

    scale: tuple[float, float] = (0.8, 1.0)
    out_length: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.scale[0] <= self.scale[1] <= 1.0:
            raise ValueError(f"scale must satisfy 0 < lo <= hi <= 1, got {self.scale!r}")
        if self.out_length is not None and self.out_length < 1:
            raise ValueError(f"out_length must be >= 1 or None, got {self.out_length!r}")

    def __call__(
        self, x: Tensor, *, generator: torch.Generator, mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None]:
        return taug.random_resized_crop(x, self.scale, self.out_length, mask, generator=generator)


@dataclass(frozen=True, kw_only=True)
class _WaveletStep(_PerSampleStep):
    """Shared DWT settings. Defaults db4, level 3: seed paper; boundary "symmetric": PyWavelets'
    default, which the reference code used."""

    wavelet: str = "db4"
    level: int = 3
    mode: str = "symmetric"

    def __post_init__(self) -> None:
        super().__post_init__()
        waug._wavelet(self.wavelet)
        waug._check_mode(self.mode)
        if self.level < 1:
            raise ValueError(f"level must be >= 1, got {self.level!r}")


@dataclass(frozen=True, kw_only=True)
class SoftThreshold(_WaveletStep):
    """Soft threshold of the detail bands at ``sigma`` * max|c|. Default 0.3: seed paper."""

    sigma: float = 0.3

    def __post_init__(self) -> None:
        super().__post_init__()
        taug._check_prob("sigma", self.sigma)

    def transform(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return waug.soft_threshold(
            x, self.sigma, wavelet=self.wavelet, level=self.level, mode=self.mode
        )


@dataclass(frozen=True, kw_only=True)
class HighPerturb(_WaveletStep):
    """Detail-band noise, std ~ U(lo, hi) per sample. Default (0.1, 0.3): seed paper."""

    lo: float = 0.1
    hi: float = 0.3

    def __post_init__(self) -> None:
        super().__post_init__()
        taug._check_range("(lo, hi)", self.lo, self.hi)

    def transform(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return waug.high_perturb(
            x,
            self.lo,
            self.hi,
            generator=generator,
            wavelet=self.wavelet,
            level=self.level,
            mode=self.mode,
        )


@dataclass(frozen=True, kw_only=True)
class ZeroOut(_WaveletStep):
    """Zero ~``ratio`` of the ``finest_levels`` finest detail bands. Defaults 0.4 and 2: the
    reference DWT config."""

    ratio: float = 0.4
    finest_levels: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        taug._check_prob("ratio", self.ratio)
        if self.finest_levels < 1:
            raise ValueError(f"finest_levels must be >= 1, got {self.finest_levels!r}")

    def transform(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return waug.zero_out(
            x,
            self.ratio,
            self.finest_levels,
            generator=generator,
            wavelet=self.wavelet,
            level=self.level,
            mode=self.mode,
        )


@dataclass(frozen=True, kw_only=True)
class LowPass(_WaveletStep):
    """Keep only the wavelet approximation (reference DWT mode ``low_pass``)."""

    def transform(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return waug.low_pass(x, wavelet=self.wavelet, level=self.level, mode=self.mode)


@dataclass(frozen=True, kw_only=True)
class BandScale(_WaveletStep):
    """Per-sample band gains. Defaults approx U(0.8, 1.2), details U(0.4, 1.6): reference."""

    approx_range: tuple[float, float] = (0.8, 1.2)
    detail_range: tuple[float, float] = (0.4, 1.6)

    def __post_init__(self) -> None:
        super().__post_init__()
        taug._check_range("approx_range", *self.approx_range)
        taug._check_range("detail_range", *self.detail_range)

    def transform(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return waug.band_scale(
            x,
            self.approx_range,
            self.detail_range,
            generator=generator,
            wavelet=self.wavelet,
            level=self.level,
            mode=self.mode,
        )


@dataclass(frozen=True)
class ViewPipeline:
    """Run augmentation steps in order.

    Args:
        steps: the steps, e.g. ``(Jitter(p=0.5), SoftThreshold(p=0.5))``.
    """

    steps: tuple[Augmentation, ...] = ()

    def __call__(
        self, x: Tensor, *, generator: torch.Generator, mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """Make one view.

        Args:
            x: (B, C, T) or (B, T) series.
            generator: the only source of randomness (same seed, same view).
            mask: optional bool tensor shaped like ``x``, True = observed.

        Returns:
            ``(view, mask)``; the length changes only through a crop step with ``out_length``.
            Views are data preparation: made with autocast off, in ``x``'s dtype (float32 for
            anything narrower), whatever precision the training step runs in.
        """
        if x.dtype in (torch.float16, torch.bfloat16):
            x = x.float()
        with torch.autocast(x.device.type, enabled=False):
            for step in self.steps:
                x, mask = step(x, generator=generator, mask=mask)
        return x, mask


VIEWS: Registry[Callable[[], ViewPipeline]] = Registry("view")


def make_view(name: str) -> ViewPipeline:
    """The named view ``name`` (see the module docstring); unknown names list the valid ones."""
    return VIEWS.get(name)()


def _lejepa_generic() -> tuple[Augmentation, ...]:
    return (Jitter(p=0.5), AmplitudeScale(p=0.5), FFTBandMask(p=0.5))


VIEWS.register("identity")(lambda: ViewPipeline())
VIEWS.register("dwt_soft")(lambda: ViewPipeline((SoftThreshold(),)))
VIEWS.register("dwt_perturb")(lambda: ViewPipeline((HighPerturb(),)))
VIEWS.register("lejepa_generic")(lambda: ViewPipeline(_lejepa_generic()))
VIEWS.register("lejepa_soft")(lambda: ViewPipeline(_lejepa_generic() + (SoftThreshold(p=0.5),)))
VIEWS.register("lejepa_perturb")(lambda: ViewPipeline(_lejepa_generic() + (HighPerturb(p=0.5),)))
VIEWS.register("rrc")(lambda: ViewPipeline((RandomResizedCrop(),)))
