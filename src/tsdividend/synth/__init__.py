"""Synthetic corpora: KernelSynth GP series, LMC multivariate series, TSMixup, labelled anomalies.

Every series is a pure function of ``(kind, seed, index, length, options)``:

- :func:`generate` / :func:`generate_sample`: one series (float32 (C, T)) by index;
- :class:`SynthCorpus`: series ``i`` of one corpus, the generation path shared by the shard writer,
  :class:`SynthStream` and the trainer's synthetic batches (with an optional :class:`SeriesCache`);
- :func:`write_shards` / :func:`read_shards`: a resumable Parquet corpus with a manifest;
- :class:`SynthStream`: an endless or finite torch ``IterableDataset`` (torch imported lazily);
- building blocks: :func:`sample_kernelsynth` (Chronos' KernelSynth with an exact sampler that
  never factorises the L x L covariance, :func:`sample_gp`), :func:`sample_lmc` (the seed paper's
  linear model of coregionalization), :func:`tsmixup` (Chronos' TSMixup),
  :func:`inject_anomalies` (labelled anomalies).
"""

from typing import Any

from tsdividend.synth.anomalies import (
    ANOMALY_TYPES,
    Anomaly,
    AnomalyConfig,
    draw_anomalies,
    inject_anomalies,
    inject_anomaly,
)
from tsdividend.synth.corpus import SeriesCache, SynthCorpus
from tsdividend.synth.generate import (
    KINDS,
    SynthSample,
    generate,
    generate_sample,
    resolve_config,
)
from tsdividend.synth.gp import sample_gp
from tsdividend.synth.kernels import KERNEL_BANK, random_kernel, to_sklearn
from tsdividend.synth.kernelsynth import KernelSynthConfig, draw_kernelsynth, sample_kernelsynth
from tsdividend.synth.lmc import LMCConfig, sample_lmc
from tsdividend.synth.mixup import MixupConfig, MixupSources, tsmixup
from tsdividend.synth.shards import SynthRow, read_manifest, read_shards, write_shards

__all__ = [
    "ANOMALY_TYPES",
    "KERNEL_BANK",
    "KINDS",
    "Anomaly",
    "AnomalyConfig",
    "KernelSynthConfig",
    "LMCConfig",
    "MixupConfig",
    "MixupSources",
    "SeriesCache",
    "SynthCorpus",
    "SynthRow",
    "SynthSample",
    "SynthStream",
    "draw_anomalies",
    "draw_kernelsynth",
    "generate",
    "generate_sample",
    "inject_anomalies",
    "inject_anomaly",
    "random_kernel",
    "read_manifest",
    "read_shards",
    "resolve_config",
    "sample_gp",
    "sample_kernelsynth",
    "sample_lmc",
    "to_sklearn",
    "tsmixup",
    "write_shards",
]


def __getattr__(name: str) -> Any:
    # SynthStream needs torch; importing it lazily keeps shard-writing workers light.
    if name == "SynthStream":
        from tsdividend.synth.stream import SynthStream

        return SynthStream
    raise AttributeError(f"module 'tsdividend.synth' has no attribute {name!r}")
