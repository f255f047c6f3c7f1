"""The per-index deterministic entry point: series ``index`` of a corpus under ``seed``.

Series ``i`` under seed ``s`` draws only from generators spawned from
``numpy.random.SeedSequence([s, i])`` (child 0: the series, child 1: the anomalies of kind
``"anomaly"``), never from shared state, so it is identical whatever the batch size, worker count,
shard size or order of generation. Kind ``"anomaly"`` injects into exactly the series kind
``"kernelsynth"`` gives for the same (seed, index, length, max_kernels).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, cast

import numpy as np

from tsdividend.config import ConfigError, from_dict
from tsdividend.synth.anomalies import AnomalyConfig, inject_anomalies
from tsdividend.synth.kernelsynth import KernelSynthConfig, sample_kernelsynth
from tsdividend.synth.lmc import LMCConfig, sample_lmc
from tsdividend.synth.mixup import MixupConfig, resolve_sources, tsmixup

KIND_CONFIGS: dict[str, type] = {
    "kernelsynth": KernelSynthConfig,
    "lmc": LMCConfig,
    "mixup": MixupConfig,
    "anomaly": AnomalyConfig,
}
KINDS: tuple[str, ...] = tuple(KIND_CONFIGS)
"""Generator kinds: ``kernelsynth``, ``lmc``, ``mixup``, ``anomaly``."""

KindConfig = KernelSynthConfig | LMCConfig | MixupConfig | AnomalyConfig


class SynthSample(NamedTuple):
    """One generated series.

    Attributes:
        values: float32 (C, T).
        labels: uint8 (T,) point labels for kind ``"anomaly"``, else None.
    """

    values: np.ndarray
    labels: np.ndarray | None


def resolve_config(kind: str, options: Mapping[str, Any] | KindConfig | None = None) -> KindConfig:
    """The kind's frozen config from keyword options (unknown keys rejected, naming valid ones).

    Raises:
        ValueError: unknown kind (listing the valid ones).
        ConfigError: unknown option or invalid value.
    """
    if kind not in KIND_CONFIGS:
        raise ValueError(f"unknown synthetic kind {kind!r}; valid: {', '.join(KINDS)}")
    cls = KIND_CONFIGS[kind]
    if isinstance(options, cls):
        return cast(KindConfig, options)  # mypy does not narrow by a class held in a variable
    if options is not None and not isinstance(options, Mapping):
        raise ConfigError(f"{kind}: options must be a mapping or {cls.__name__}")
    return from_dict(cls, dict(options or {}), where=f"synth {kind} options")


def rngs(seed: int, index: int, n: int = 2) -> list[np.random.Generator]:
    """Independent generators of series ``index`` under ``seed`` (``SeedSequence([seed, index])``
    children 0..n-1; child k is the same whatever n)."""
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be >= 0, got seed={seed}, index={index}")
    children = np.random.SeedSequence([int(seed), int(index)]).spawn(n)
    return [np.random.Generator(np.random.PCG64(c)) for c in children]


def generate_sample(
    kind: str,
    index: int,
    seed: int,
    length: int,
    config: KindConfig | Mapping[str, Any] | None = None,
    sources: Any = None,
) -> SynthSample:
    """Series ``index`` of kind ``kind`` under ``seed`` with labels (kind ``"anomaly"``).

    Args:
        kind: one of :data:`KINDS`.
        index: series index >= 0.
        seed: corpus seed >= 0.
        length: series length T (the maximum for ``mixup`` with ``min_length``).
        config: the kind's config or its options as a mapping.
        sources: kind ``mixup`` only: real series (a ``Dataset``, arrays, or
            :class:`~tsdividend.synth.mixup.MixupSources`) instead of ``config.datasets``.

    Returns:
        :class:`SynthSample` with float32 values (C, T).
    """
    cfg = resolve_config(kind, config)
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    main, extra = rngs(seed, index)
    labels = None
    if isinstance(cfg, KernelSynthConfig):
        values = sample_kernelsynth(main, length, cfg)[None]
    elif isinstance(cfg, LMCConfig):
        values = sample_lmc(main, length, config=cfg)
    elif isinstance(cfg, MixupConfig):
        values = tsmixup(main, resolve_sources(cfg, sources), length, cfg)[None]
    else:
        clean = sample_kernelsynth(main, length, KernelSynthConfig(cfg.max_kernels))[None]
        values, labels = inject_anomalies(extra, clean, cfg)
    return SynthSample(values.astype(np.float32), labels)


def generate(kind: str, index: int, seed: int, length: int, **options: Any) -> np.ndarray:
    """Series ``index`` of kind ``kind`` under ``seed``: float32 (C, T), deterministic per index.

    Args:
        kind: ``"kernelsynth"`` (C = 1), ``"lmc"`` (C = ``n_channels``), ``"mixup"`` (C = 1),
            ``"anomaly"`` (C = 1, KernelSynth plus injected anomalies; labels via
            :func:`generate_sample`).
        index: series index >= 0.
        seed: corpus seed >= 0.
        length: series length T.
        **options: the kind's config fields (e.g. ``n_channels=8`` for lmc, ``datasets=[...]`` for
            mixup), plus ``sources=`` (arrays) for mixup.

    Example:
        >>> generate("kernelsynth", 3, seed=0, length=256).shape
        (1, 256)
    """
    sources = options.pop("sources", None)
    return generate_sample(kind, index, seed, length, options, sources).values
