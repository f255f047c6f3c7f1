"""Augmentations for self-supervised views: batched DWT modes and generic time-domain transforms.

All functions take (B, C, T) (or (B, T)) tensors on any device, draw randomness per sample from an
explicit ``torch.Generator``, and keep autograd working. ``make_view(name)`` builds the named views
used by the objectives (``VIEWS.names()`` lists them).
"""

from tsdividend.augment.time import (
    amplitude_scale,
    apply_per_sample,
    fft_band_mask,
    jitter,
    random_resized_crop,
)
from tsdividend.augment.views import (
    VIEWS,
    AmplitudeScale,
    Augmentation,
    BandScale,
    FFTBandMask,
    HighPerturb,
    Jitter,
    LowPass,
    RandomResizedCrop,
    SoftThreshold,
    ViewPipeline,
    ZeroOut,
    make_view,
)
from tsdividend.augment.wavelet import (
    BOUNDARY_MODES,
    band_scale,
    band_scale_coeffs,
    dwt_level,
    high_perturb,
    high_perturb_coeffs,
    low_pass,
    low_pass_coeffs,
    soft_threshold,
    soft_threshold_coeffs,
    wavedec,
    waverec,
    zero_out,
    zero_out_coeffs,
)

__all__ = [
    "BOUNDARY_MODES",
    "VIEWS",
    "AmplitudeScale",
    "Augmentation",
    "BandScale",
    "FFTBandMask",
    "HighPerturb",
    "Jitter",
    "LowPass",
    "RandomResizedCrop",
    "SoftThreshold",
    "ViewPipeline",
    "ZeroOut",
    "amplitude_scale",
    "apply_per_sample",
    "band_scale",
    "band_scale_coeffs",
    "dwt_level",
    "fft_band_mask",
    "high_perturb",
    "high_perturb_coeffs",
    "jitter",
    "low_pass",
    "low_pass_coeffs",
    "make_view",
    "random_resized_crop",
    "soft_threshold",
    "soft_threshold_coeffs",
    "wavedec",
    "waverec",
    "zero_out",
    "zero_out_coeffs",
]
