"""Pretraining data: the synthetic stream, a real corpus of train splits, or a mix.

A source is a pure function of (step, shard): ``batch(step, shard, size)`` returns the same
(size, 1, L) windows whatever process asks, so resuming at step ``s`` needs no saved position and
data-parallel ranks together see exactly the single-process global batch.

- ``synthetic``: sample ``step * global_batch + shard * size + j`` of the generator (KernelSynth by
  default), drawn exactly per index through :class:`~tsdividend.synth.corpus.SynthCorpus`, the
  generation path the shard writer (``tsdividend synth``) and ``SynthStream`` share.
- ``real``: random windows of the train splits of real datasets, channels split into univariate
  series as NuTime does (``tsdividend.data.WindowSampler``), uniform over every kept window
  position, degenerate windows (mostly missing, constant, flat) filtered out
  (:class:`~tsdividend.data.sampler.WindowFilter`); the test splits are never read.
  :meth:`PretrainSource.describe` returns what the corpus holds (written to the run's meta).
- ``mix``: each sample is synthetic with probability ``synthetic_ratio``, else real.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from queue import Full, Queue
from typing import Any, TypeVar

import numpy as np
import torch

from tsdividend.config import HASH_OMIT_DEFAULT
from tsdividend.data import DataError, Dataset, WindowSampler, list_datasets, load_dataset
from tsdividend.data.family import family_of
from tsdividend.data.sampler import RULES, WindowFilter
from tsdividend.synth.corpus import SeriesCache, SynthCorpus
from tsdividend.synth.shards import ShardCorpus

T = TypeVar("T")

SOURCES = ("synthetic", "real", "mix")

# Used when no real dataset names are given: every available classification, anomaly and
# forecasting dataset's train split (with no data dir: the small sets bundled with aeon).
DEFAULT_REAL_TASKS = ("classification", "anomaly", "forecasting")


@dataclass(frozen=True)
class DataConfig:
    """Where pretraining windows come from.

    Attributes:
        source: "synthetic", "real" or "mix".
        context: window length L in steps (336 = 21 patches of 16, the seed paper's context).
        synth_kind: synthetic generator ("kernelsynth" or "lmc"; LMC channels are used as
            univariate series).
        real_datasets: dataset names for the real corpus; empty = every available dataset.
        synthetic_ratio: fraction of synthetic samples in "mix", in [0, 1].
        synth_corpus_size: distinct synthetic series (sample ``i`` is series ``i mod N``, so
            the corpus repeats every N samples); 0 = a fresh series for every sample (the
            on-the-fly stream; with ``synth_path``, every stored series). The data-scale study
            sweeps it at a fixed number of steps.
        synth_path: a corpus written by ``tsdividend synth`` (its folder): synthetic samples
            are read from its shards instead of generated; sample ``i`` is stored series ``i``
            (``i mod n`` past its ``n`` series), so the batches equal on-the-fly generation with
            the corpus's kind and seed. Its kind must equal ``synth_kind`` and its length
            ``context``.
        data_dir: data root for real datasets (else $TSDIVIDEND_DATA, else the cache).
        workers: background processes preparing batches (0 = in the training process).
        filter_windows: drop degenerate real windows (the rules of
            :class:`~tsdividend.data.sampler.WindowFilter`); False samples every window.
    """

    source: str = "synthetic"
    context: int = 336
    synth_kind: str = "kernelsynth"
    real_datasets: tuple[str, ...] = ()
    synthetic_ratio: float = 0.5
    synth_corpus_size: int = 0
    data_dir: str | None = None
    workers: int = 0
    filter_windows: bool = True
    synth_path: str | None = field(default=None, metadata=HASH_OMIT_DEFAULT)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"data source {self.source!r} unknown; valid: {list(SOURCES)}")
        if self.context < 16:
            raise ValueError(f"context must be >= 16 steps, got {self.context}")
        if not 0.0 <= self.synthetic_ratio <= 1.0:
            raise ValueError(f"synthetic_ratio must be in [0, 1], got {self.synthetic_ratio}")
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, got {self.workers}")
        if self.synth_corpus_size < 0:
            raise ValueError(f"synth_corpus_size must be >= 0, got {self.synth_corpus_size}")
        if self.synth_corpus_size and self.source == "real":
            raise ValueError("synth_corpus_size bounds synthetic series; source 'real' has none")
        if self.synth_path is not None and self.source == "real":
            raise ValueError("synth_path holds synthetic series; source 'real' has none")


def real_corpus(names: Sequence[str], data_dir: str | None) -> list[Dataset]:
    """Load the datasets whose train splits form the real corpus (all available ones if empty).

    Raises:
        DataError: a named data root that does not exist (as ``tsdividend run`` refuses it:
            silently training on the bundled sets instead would be a different run), or no
            dataset at all.
    """
    if data_dir is not None and not Path(data_dir).is_dir():
        raise DataError(f"data dir {data_dir} not found: real pretraining reads its train "
                        "splits (point --data-dir at the benchmark data)")  # fmt: skip
    if not names:
        names = [
            row["name"]
            for row in list_datasets(data_dir)
            if row["available"] and row["task"] in DEFAULT_REAL_TASKS
        ]
    if not names:
        raise DataError("no real dataset available for pretraining; set --data-dir")
    return [load_dataset(n, data_dir) for n in names]


def family(name: str) -> str:
    """The dataset family a name belongs to (``ucr``, ``anomaly/nab``, ... or any registered
    family, :data:`~tsdividend.data.family.FAMILIES`); for a name of no registered family, the
    first path part (the first two for ``anomaly/...``)."""
    spec = family_of(name)
    if spec is not None:
        return spec.name
    parts = name.split("/")
    return "/".join(parts[:2]) if parts[0] == "anomaly" and len(parts) > 2 else parts[0]


def describe_corpus(
    config: DataConfig, sampler: WindowSampler | None = None, stored: ShardCorpus | None = None
) -> dict[str, Any]:
    """What a pretraining run trains on, as a JSON-able dict (the run meta's ``"corpus"``).

    Args:
        config: the run's :class:`DataConfig`.
        sampler: the real-window sampler already built for ``config`` (else built here: it loads
            the datasets, seconds to a minute).
        stored: the corpus at ``config.synth_path`` already opened (else opened here).

    Returns:
        ``source``, ``context`` and, when synthetic series are drawn, ``synthetic``
        (``generator``, ``series``, ``share``); for ``real``/``mix`` also ``real``: ``split``,
        ``n_datasets``, ``datasets`` (names), ``sampling`` and ``weighting`` (sentences),
        ``filters`` (rule -> reason with its threshold; empty when off), ``counts`` (``series``,
        ``windows``, one entry per rule of ``RULES`` = windows dropped by it, ``kept``),
        ``families`` (archive -> ``datasets``, ``windows``, ``kept``, ``share`` of the kept
        windows) and ``per_dataset`` (the same counts for each dataset), plus ``share`` (the
        fraction of samples that are real).
    """
    out: dict[str, Any] = {"source": config.source, "context": config.context}
    if config.source != "real":
        out["synthetic"] = {
            "generator": config.synth_kind,
            "series": config.synth_corpus_size or "a fresh series for every sample",
            "share": 1.0 if config.source == "synthetic" else config.synthetic_ratio,
        }
        if config.synth_path is not None:
            stored = stored or ShardCorpus(config.synth_path)
            out["synthetic"]["stored"] = stored.identity()
            out["synthetic"]["series"] = config.synth_corpus_size or stored.n_samples
    if config.source == "synthetic":
        return out
    if sampler is None:
        rule = WindowFilter() if config.filter_windows else None
        corpus = real_corpus(config.real_datasets, config.data_dir)
        sampler = WindowSampler(corpus, config.context, split="train", window_filter=rule)
    counts = sampler.counts()
    keys = ("series", "windows", *RULES, "kept")
    total = {k: int(sum(int(c[k]) for c in counts)) for k in keys}
    families: dict[str, dict[str, Any]] = {}
    for c in counts:
        f = families.setdefault(family(str(c["name"])), {"datasets": 0, "windows": 0, "kept": 0})
        f["datasets"] += 1
        f["windows"] += int(c["windows"])
        f["kept"] += int(c["kept"])
    for f in families.values():
        f["share"] = round(f["kept"] / max(total["kept"], 1), 4)
    rule = sampler.window_filter
    out["real"] = {
        "split": "train (test splits are never read)",
        "n_datasets": len(counts),
        "datasets": [str(c["name"]) for c in counts],
        "sampling": (
            f"windows of {config.context} steps; every channel is a univariate series; the "
            "start is uniform over every kept window position of every (series, channel); a "
            f"series shorter than {config.context} steps is taken whole, right-padded (masked)"
        ),
        "weighting": "by kept window positions: a dataset weighs in proportion to its kept "
        "windows (long series weigh more; see families/share)",
        "filters": {} if rule is None else rule.describe(),
        "counts": total,
        "families": families,
        "per_dataset": counts,
        "share": 1.0 if config.source == "real" else 1.0 - config.synthetic_ratio,
    }
    return out


def check_stored(shards: ShardCorpus, config: DataConfig) -> None:
    """Raise ValueError naming the folder when a stored corpus cannot serve ``config``."""
    where = shards.folder
    if shards.kind != config.synth_kind:
        raise ValueError(
            f"{where} holds a {shards.kind!r} corpus but data.synth_kind is "
            f"{config.synth_kind!r}; set synth_kind = {shards.kind!r}"
        )
    if shards.length != config.context:
        raise ValueError(
            f"{where} holds series of {shards.length} steps but data.context is "
            f"{config.context}; write the corpus with --length {config.context}"
        )
    if config.synth_corpus_size > shards.n_samples:
        raise ValueError(
            f"synth_corpus_size {config.synth_corpus_size} exceeds the {shards.n_samples} "
            f"samples of {where}"
        )


# Generated synthetic series shared by every PretrainSource of this process: a finite corpus is
# generated once, and every encoder of a study that trains here (same seed and context) reuses it.
_SERIES_CACHE = SeriesCache(max_bytes=512 * 2**20)


@dataclass
class PretrainSource:
    """Deterministic batches of (size, 1, L) float32 windows and bool masks.

    Args:
        config: the :class:`DataConfig`.
        seed: run seed.
        global_batch: samples per optimiser step over all shards (index arithmetic only).
    """

    config: DataConfig
    seed: int
    global_batch: int
    _sampler: WindowSampler | None = field(default=None, init=False, repr=False)
    _corpus: SynthCorpus | None = field(default=None, init=False, repr=False)
    _stored: ShardCorpus | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.config.synth_path is not None:
            self.stored_corpus()  # a wrong path or a mismatched corpus fails before training
        if self.config.source != "synthetic":
            corpus = real_corpus(self.config.real_datasets, self.config.data_dir)
            rule = WindowFilter() if self.config.filter_windows else None
            self._sampler = WindowSampler(
                corpus, self.config.context, split="train", window_filter=rule
            )

    def describe(self) -> dict[str, Any]:
        """The pretraining corpus, JSON-able (the run meta's ``"corpus"``); see
        :func:`describe_corpus`."""
        stored = None if self.config.synth_path is None else self.stored_corpus()
        return describe_corpus(self.config, self._sampler, stored)

    def batch(self, step: int, shard: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Windows for ``shard`` (of ``size`` samples) of optimiser step ``step``."""
        cfg = self.config
        rng = np.random.default_rng([self.seed, step, shard, 7])
        first = step * self.global_batch + shard * size
        n_synth = {"synthetic": size, "real": 0}.get(cfg.source)
        is_synth = (
            np.ones(size, bool)
            if n_synth == size
            else np.zeros(size, bool)
            if n_synth == 0
            else rng.random(size) < cfg.synthetic_ratio
        )
        x = np.zeros((size, 1, cfg.context), np.float32)
        mask = np.ones((size, 1, cfg.context), bool)
        idx = np.flatnonzero(is_synth)
        if idx.size:
            x[idx, 0] = self._synthetic(first + idx)
        rest = np.flatnonzero(~is_synth)
        if rest.size:
            assert self._sampler is not None
            x[rest], mask[rest] = self._sampler.sample(rest.size, rng)
        return x, mask

    def _synthetic(self, indices: np.ndarray) -> np.ndarray:
        """Univariate synthetic series for sample ``indices``; a multivariate generator's series
        ``k`` supplies samples ``k * C .. k * C + C - 1`` (its channels, as univariate series);
        a bounded corpus (``synth_corpus_size = N``) makes sample ``i`` sample ``i mod N``."""
        cfg = self.config
        if cfg.synth_path is not None:
            stored = self.stored_corpus()
            return stored.univariate(indices % (cfg.synth_corpus_size or stored.n_samples))
        if cfg.synth_corpus_size:
            indices = indices % cfg.synth_corpus_size
        if self._corpus is None:  # built on first use: a bad synth_kind fails at the first batch
            self._corpus = SynthCorpus.of(cfg.synth_kind, self.seed, cfg.context)
        return self._corpus.univariate(indices, _SERIES_CACHE)

    def stored_corpus(self) -> ShardCorpus:
        """The corpus at ``config.synth_path``, opened and checked against the config once.

        Raises:
            ValueError: its kind is not ``synth_kind``, its length not ``context``, or it holds
                fewer samples than ``synth_corpus_size``.
        """
        if self._stored is None:
            cfg = self.config
            assert cfg.synth_path is not None
            self._stored = ShardCorpus(cfg.synth_path)
            check_stored(self._stored, cfg)
        return self._stored


class ShardStream(torch.utils.data.IterableDataset):
    """For each step ``start .. total - 1``, in order, the batches of this process's shards,
    stacked: x (len(shards), size, 1, L) and mask alike.

    With ``DataLoader(num_workers=W)`` worker ``w`` prepares steps ``start + w, start + w + W, ...``
    and the loader returns them round-robin, so the order (and content) never depends on W.
    """

    def __init__(
        self, source: PretrainSource, start: int, total: int, shards: Sequence[int], size: int
    ) -> None:
        super().__init__()
        self.source = source
        self.start, self.total = start, total
        self.shards, self.size = tuple(shards), size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        w, n_w = (0, 1) if info is None else (info.id, info.num_workers)
        for step in range(self.start + w, self.total, n_w):
            parts = [self.source.batch(step, s, self.size) for s in self.shards]
            yield (
                torch.from_numpy(np.stack([p[0] for p in parts])),
                torch.from_numpy(np.stack([p[1] for p in parts])),
            )


def run_ahead(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """``items`` in order, prepared up to ``depth`` ahead by a daemon thread.

    With ``--workers 0`` the batches of a step are generated while the previous step trains:
    generation is NumPy and the model's step runs in torch ops that release the GIL, so the two
    overlap without a worker process (whose start and memory cost more on small machines). The
    values and their order are those of ``items`` (batches are pure functions of (seed, step,
    shard)); an error raised while preparing is raised here; closing the iterator stops the
    thread.
    """
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        queue.put(("item", item), timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(("end", None))
        except BaseException as e:  # handed to the consumer, raised in its thread
            queue.put(("error", e))

    thread = threading.Thread(target=produce, name="tsdividend-data", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
