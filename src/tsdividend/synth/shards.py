"""Resumable Parquet shards of a synthetic corpus, with a manifest.

Layout of ``out/``::

    manifest.json          corpus identity, schema, finished shards (file, rows, sha256)
    shard-00000.parquet    rows [0, shard_size)
    shard-00001.parquet    rows [shard_size, 2 * shard_size) ...

Parquet schema (one row per series): ``index`` int64, ``n_channels`` int32, ``length`` int32,
``values`` list<float32> (the (C, T) series flattened row-major, C * T values), and for kind
``"anomaly"`` ``labels`` list<uint8> (T point labels).

Every shard and every manifest version is written to a temporary file in ``out/`` and moved into
place with ``os.replace`` (:mod:`tsdividend.atomic`); the manifest is rewritten after each finished
shard. Rerunning the same call after a kill keeps every shard the manifest lists whose sha256 still
matches, regenerates the others (series depend only on (seed, index): rows are
:meth:`~tsdividend.synth.corpus.SynthCorpus.sample`, the generation path the stream and the trainer
share), and never duplicates a row. Rerunning with different parameters
into the same folder raises. One writer per folder at a time.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import multiprocessing
from collections import OrderedDict
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress

from tsdividend import __version__
from tsdividend.atomic import atomic_target, file_sha256, write_json
from tsdividend.config import to_dict
from tsdividend.synth.corpus import SynthCorpus, univariate_samples
from tsdividend.synth.generate import resolve_config
from tsdividend.synth.mixup import MixupConfig, resolve_sources

FORMAT = "tsdividend-synth-shards"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SCHEMA_DOC = {
    "index": "int64 series index",
    "n_channels": "int32 C",
    "length": "int32 T",
    "values": "list<float32>: the (C, T) series flattened row-major",
    "labels": "list<uint8>: T point labels (kind 'anomaly' only)",
}
# Manifest fields that must match for a rerun to resume instead of failing.
_IDENTITY = (
    "format",
    "format_version",
    "kind",
    "n",
    "length",
    "seed",
    "shard_size",
    "options",
    "sources_sha256",
    "package_version",
)


class SynthRow(NamedTuple):
    """One stored series: ``index``, float32 ``values`` (C, T), uint8 ``labels`` (T,) or None."""

    index: int  # type: ignore[assignment]  # shadows tuple.index; the field name is public API
    values: np.ndarray
    labels: np.ndarray | None


def shard_name(shard: int) -> str:
    """File name of shard number ``shard``: ``shard-00000.parquet``."""
    return f"shard-{shard:05d}.parquet"


def _list_array(arrays: list[np.ndarray], dtype: pa.DataType) -> pa.Array:
    offsets = np.concatenate([[0], np.cumsum([a.size for a in arrays])]).astype(np.int32)
    flat = np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, type=dtype))


def _make_shard(
    out: str,
    kind: str,
    shard: int,
    start: int,
    stop: int,
    length: int,
    seed: int,
    options: dict[str, Any],
    on_row: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Generate rows [start, stop) and write them atomically as shard ``shard``; its entry."""
    corpus = SynthCorpus.of(kind, seed, length, options)
    if isinstance(corpus.config, MixupConfig):  # load the mixed datasets once per shard
        corpus = dataclasses.replace(corpus, sources=resolve_sources(corpus.config))
    samples = []
    for sample in corpus.samples(range(start, stop)):
        samples.append(sample)
        if on_row is not None:
            on_row()
    columns = {
        "index": pa.array(np.arange(start, stop, dtype=np.int64)),
        "n_channels": pa.array([s.values.shape[0] for s in samples], pa.int32()),
        "length": pa.array([s.values.shape[1] for s in samples], pa.int32()),
        "values": _list_array([s.values for s in samples], pa.float32()),
    }
    if kind == "anomaly":
        labels = [s.labels for s in samples if s.labels is not None]
        assert len(labels) == len(samples), "kind 'anomaly' labels every series"
        columns["labels"] = _list_array(labels, pa.uint8())
    dest = Path(out) / shard_name(shard)
    with atomic_target(dest) as tmp:
        pq.write_table(pa.table(columns), tmp, compression="zstd")
        sha, size = file_sha256(tmp), tmp.stat().st_size
    return {
        "shard": shard,
        "file": dest.name,
        "start": start,
        "stop": stop,
        "rows": stop - start,
        "sha256": sha,
        "bytes": size,
    }


def _identity(kind: str, n: int, length: int, seed: int, shard_size: int, options: dict) -> dict:
    cfg = resolve_config(kind, options)
    fingerprint = None
    if isinstance(cfg, MixupConfig):
        pool = resolve_sources(cfg)
        cfg = dataclasses.replace(cfg, datasets=tuple(pool.names))  # record the resolved names
        fingerprint = pool.fingerprint()
    opts = to_dict(cfg)
    opts.pop("data_dir", None)  # a location, not content: the content is in sources_sha256
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "n": n,
        "length": length,
        "seed": seed,
        "shard_size": shard_size,
        "options": opts,
        "sources_sha256": fingerprint,
        "package_version": __version__,
    }


def _check_folder(out: Path, identity: dict[str, Any]) -> dict[str, Any]:
    """Existing manifest (identity verified) or a fresh one; refuses foreign non-empty folders."""
    path = out / MANIFEST
    if path.exists():
        manifest = json.loads(path.read_text())
        for key in _IDENTITY:
            if manifest.get(key) != identity[key]:
                raise ValueError(
                    f"{out} already holds a different synthetic corpus: {key} is "
                    f"{manifest.get(key)!r} there but {identity[key]!r} was requested; "
                    "rerun with the original parameters to resume, or use another output folder"
                )
        return manifest
    ours = ("shard-", ".shard-", f".{MANIFEST}.")
    foreign = sorted(p.name for p in out.iterdir() if not p.name.startswith(ours))
    if foreign:
        raise ValueError(
            f"{out} is not empty and has no {MANIFEST} ({foreign[:5]}); use an empty folder"
        )
    manifest = {**identity, "schema": SCHEMA_DOC, "complete": False, "shards": []}
    write_json(path, manifest)
    return manifest


def write_shards(
    kind: str,
    n: int,
    length: int,
    out: str | Path,
    *,
    seed: int = 0,
    workers: int = 1,
    shard_size: int = 1000,
    progress: bool = True,
    **kind_options: Any,
) -> Path:
    """Write ``n`` series of ``kind`` as Parquet shards plus ``manifest.json``; resumable.

    Args:
        kind: ``"kernelsynth"``, ``"lmc"``, ``"mixup"`` or ``"anomaly"``.
        n: number of series (indices 0..n-1).
        length: series length T.
        out: output folder (created; must be empty or hold this same corpus).
        seed: corpus seed; series i depends only on (seed, i).
        workers: processes (``ProcessPoolExecutor``, spawned) generating shards in parallel.
        shard_size: rows per shard.
        progress: show a rich progress bar on stderr.
        **kind_options: the kind's config fields (e.g. ``n_channels`` for lmc, ``datasets`` and
            ``data_dir`` for mixup; mixup sources must be named datasets here).

    Returns:
        Path of ``manifest.json``.

    Raises:
        ValueError: bad argument, or ``out`` holds a different corpus or foreign files.
    """
    for name, value, low in (
        ("n", n, 1),
        ("length", length, 1),
        ("workers", workers, 1),
        ("shard_size", shard_size, 1),
        ("seed", seed, 0),
    ):
        if int(value) < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
    if "sources" in kind_options:
        raise ValueError("write_shards records its inputs: pass mixup sources as datasets=[names]")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    identity = _identity(kind, n, length, seed, shard_size, kind_options)
    manifest = _check_folder(out, identity)
    for pattern in (".shard-*.part", f".{MANIFEST}.*.part"):  # temp files of a killed run
        for stale in out.glob(pattern):
            stale.unlink(missing_ok=True)
    done = {
        e["shard"]: e
        for e in manifest["shards"]
        if (out / e["file"]).exists() and file_sha256(out / e["file"]) == e["sha256"]
    }
    n_shards = -(-n // shard_size)
    todo = [k for k in range(n_shards) if k not in done]
    options = dict(identity["options"])
    if kind == "mixup":
        options["data_dir"] = kind_options.get("data_dir")

    def record(entry: dict[str, Any]) -> None:
        done[entry["shard"]] = entry
        manifest["shards"] = [done[k] for k in sorted(done)]
        manifest["complete"] = len(done) == n_shards
        write_json(out / MANIFEST, manifest)

    console = Console(stderr=True)
    columns = [*Progress.get_default_columns(), MofNCompleteColumn()]
    with Progress(*columns, console=console, disable=not progress) as bar:
        task = bar.add_task(
            f"{kind} x{n}", total=n, completed=sum(e["rows"] for e in done.values())
        )
        jobs = [
            (str(out), kind, k, k * shard_size, min(n, (k + 1) * shard_size), length, seed, options)
            for k in todo
        ]
        if workers == 1 or len(jobs) <= 1:
            for job in jobs:
                record(_make_shard(*job, on_row=lambda: bar.advance(task)))
        else:
            ctx = multiprocessing.get_context("spawn")  # parent threads (BLAS, torch) stay out
            with cf.ProcessPoolExecutor(min(workers, len(jobs)), mp_context=ctx) as pool:
                futures = [pool.submit(_make_shard, *job) for job in jobs]
                for future in cf.as_completed(futures):
                    entry = future.result()
                    record(entry)
                    bar.advance(task, entry["rows"])
    return out / MANIFEST


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a shard folder (``path`` is the folder or its manifest.json)."""
    path = Path(path)
    path = path / MANIFEST if path.is_dir() else path
    if not path.exists():
        raise FileNotFoundError(f"no {MANIFEST} at {path}; write the corpus with write_shards")
    return json.loads(path.read_text())


def read_shards(
    path: str | Path, *, verify: bool = True, allow_partial: bool = False
) -> Iterator[SynthRow]:
    """Iterate the stored series in index order, one shard in memory at a time.

    Args:
        path: shard folder (or its manifest.json).
        verify: check every shard's sha256 against the manifest before reading it.
        allow_partial: read an unfinished corpus (only its finished shards) instead of raising.

    Yields:
        :class:`SynthRow` (index, float32 values (C, T), uint8 labels (T,) or None).
    """
    manifest = read_manifest(path)
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    if not manifest.get("complete") and not allow_partial:
        have = sum(e["rows"] for e in manifest["shards"])
        raise ValueError(
            f"{folder} is incomplete ({have} of {manifest['n']} series); rerun "
            "write_shards with the same arguments to finish it"
        )
    for entry in sorted(manifest["shards"], key=lambda e: e["shard"]):
        file = folder / entry["file"]
        if verify and file_sha256(file) != entry["sha256"]:
            raise ValueError(
                f"{file} does not match its sha256 in the manifest; rerun write_shards"
            )
        table = pq.read_table(file)
        index = table.column("index").to_numpy()
        chans, lens = table.column("n_channels").to_numpy(), table.column("length").to_numpy()
        values = table.column("values").combine_chunks()
        flat, offsets = values.values.to_numpy(), values.offsets.to_numpy()
        labels = None
        if "labels" in table.column_names:
            lab = table.column("labels").combine_chunks()
            labels = (lab.values.to_numpy(), lab.offsets.to_numpy())
        for r in range(len(index)):
            x = flat[offsets[r] : offsets[r + 1]].reshape(int(chans[r]), int(lens[r]))
            y = None if labels is None else labels[0][labels[1][r] : labels[1][r + 1]]
            yield SynthRow(int(index[r]), x, y)


class ShardCorpus:
    """Random access by index to a corpus written by :func:`write_shards` (``tsdividend synth``).

    Series ``i`` is row ``i`` of the stored corpus, so its values equal
    ``SynthCorpus.of(kind, seed, length, options).sample(i).values`` for the manifest's identity:
    training on the shards and generating on the fly give the same numbers. Shards are loaded
    whole (sha256 checked against the manifest once, on load) and the ``cache_shards`` most
    recently used stay in memory; the trainer reads indices in order, so one shard is read per
    ``shard_size`` series.

    Args:
        path: shard folder (or its manifest.json); the corpus must be complete.
        cache_shards: shards kept in memory (>= 1).
        verify: check each shard's sha256 when it is loaded.

    Raises:
        FileNotFoundError: no manifest at ``path``.
        ValueError: an incomplete corpus, a foreign manifest format, or series of differing
            shapes (each names the folder and what is wrong).
    """

    def __init__(self, path: str | Path, *, cache_shards: int = 4, verify: bool = True) -> None:
        self.manifest = read_manifest(path)
        self.folder = Path(path) if Path(path).is_dir() else Path(path).parent
        m = self.manifest
        if m.get("format") != FORMAT:
            raise ValueError(f"{self.folder}: {MANIFEST} is not a {FORMAT} manifest")
        if not m.get("complete"):
            have = sum(e["rows"] for e in m["shards"])
            raise ValueError(
                f"{self.folder} is incomplete ({have} of {m['n']} series); rerun `tsdividend "
                "synth` with the same arguments to finish it"
            )
        self.kind: str = m["kind"]
        self.seed: int = int(m["seed"])
        self.length: int = int(m["length"])
        self.n: int = int(m["n"])
        self.shard_size: int = int(m["shard_size"])
        self._entries = {int(e["shard"]): e for e in m["shards"]}
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_shards = max(1, int(cache_shards))
        self._verify = verify

    def __len__(self) -> int:
        return self.n

    def identity(self) -> dict[str, Any]:
        """What the corpus is (kind, n, length, seed, options), JSON-able, plus its folder."""
        keys = ("kind", "n", "length", "seed", "options", "sources_sha256", "package_version")
        return {"path": str(self.folder), **{k: self.manifest.get(k) for k in keys}}

    def _shard(self, k: int) -> np.ndarray:
        """Values of shard ``k`` as one float32 array (rows, C, T)."""
        values = self._cache.get(k)
        if values is not None:
            self._cache.move_to_end(k)
            return values
        entry = self._entries[k]
        file = self.folder / entry["file"]
        if not file.exists():
            raise FileNotFoundError(f"{file} (listed in {self.folder / MANIFEST}) is missing")
        if self._verify and file_sha256(file) != entry["sha256"]:
            raise ValueError(f"{file} does not match its sha256 in the manifest; rerun synth")
        table = pq.read_table(file, columns=["n_channels", "length", "values"])
        chans, lens = table.column("n_channels").to_numpy(), table.column("length").to_numpy()
        shapes = set(zip(chans.tolist(), lens.tolist(), strict=True))
        if len(shapes) > 1 or int(lens[0]) != self.length:
            raise ValueError(
                f"{file}: series of differing shapes (channels {sorted(set(chans.tolist()))}, "
                f"lengths {sorted(set(lens.tolist()))}); pretraining needs one (C, T) shape"
            )
        flat = table.column("values").combine_chunks().values.to_numpy()
        values = flat.reshape(len(chans), int(chans[0]), self.length)
        values.setflags(write=False)
        self._cache[k] = values
        while len(self._cache) > self._cache_shards:
            self._cache.popitem(last=False)
        return values

    def series(self, index: int) -> np.ndarray:
        """Values (C, T) float32 of series ``index`` (read-only)."""
        if not 0 <= index < self.n:
            raise IndexError(f"series {index} is outside the corpus at {self.folder} (n={self.n})")
        k, r = divmod(index, self.shard_size)
        return self._shard(k)[r]

    @cached_property
    def n_channels(self) -> int:
        """Channels C of a series (read off series 0 once: every later batch needs it, and
        shard 0 may long be evicted)."""
        return int(self.series(0).shape[0])

    @property
    def n_samples(self) -> int:
        """Univariate samples the corpus holds (:meth:`univariate`'s index range): n x C."""
        return self.n * self.n_channels

    def univariate(self, indices: np.ndarray) -> np.ndarray:
        """Univariate samples, mapped as :func:`~tsdividend.synth.corpus.univariate_samples`;
        float32 (n, T)."""
        return univariate_samples(self.series, self.n_channels, self.length, indices)
