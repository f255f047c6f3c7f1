"""Dataset names -> files -> readers; the data root; listing and summaries.

Names and the files they read, relative to the data root (the layout of the benchmark folder):

- ``ucr/<Name>``: ``ucr/<Name>/<Name>_TRAIN.tsv`` and ``_TEST.tsv``;
- ``uea/<Name>``: ``uea/<Name>/<Name>_TRAIN.ts`` and ``_TEST.ts``;
- ``anomaly/ucr/<NNN>`` (3-digit id): ``anomaly/ucr/NNN_UCR_Anomaly_<name>_<trainEnd>_<b>_<e>.txt``;
- ``anomaly/nab/<category>/<stem>``: ``anomaly/nab/<category>/<stem>.csv`` and
  ``anomaly/nab/labels/combined_windows.json``;
- ``anomaly/msl/<channel>``: ``anomaly/msl/train/<channel>.npy``, ``test/<channel>.npy`` and
  ``anomaly/msl/labeled_anomalies.csv``;
- ``forecast/ETTh1|ETTh2|Exchange|ILI``: ``forecasting/ETTh1.csv``, ``ETTh2.csv``,
  ``exchange_rate.csv``, ``national_illness.csv``.

The data root is ``--data-dir``, else ``$TSDIVIDEND_DATA``, else the user cache dir. A name whose
files are not in the root falls back to aeon's bundled copy when there is one, and ``forecast/ILI``
to the copy shipped inside this package (``bundled.py``, ``shipped/README.md``).

Everything family-specific (name regex, task, layout, reader, bundled copy, fetch catalog) is in
the family's record (:class:`~tsdividend.data.family.FamilySpec`, one module per built-in family in
:mod:`tsdividend.data.families`); this module only reads the ``FAMILIES`` registry.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import platformdirs

import tsdividend.data.families  # noqa: F401  (registers the built-in families)
from tsdividend.data import bundled
from tsdividend.data.dataset import DataError, Dataset
from tsdividend.data.family import FAMILIES, families_in_order
from tsdividend.data.manifest import manifest
from tsdividend.data.sources import source_for
from tsdividend.data.userfiles import is_file_ref

PATTERNS = tuple(spec.pattern for spec in families_in_order())
"""Name patterns of the built-in families (those registered later are in :func:`patterns`)."""


def patterns() -> list[str]:
    """Name patterns of every registered family, in registration order."""
    return [spec.pattern for spec in families_in_order()]


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data root: ``data_dir``, else ``$TSDIVIDEND_DATA``, else the user cache dir.

    The user cache dir is ``platformdirs.user_cache_dir("tsdividend")``; the path need not exist.
    """
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser()
    env = os.environ.get("TSDIVIDEND_DATA", "")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("tsdividend"))


def parse_name(name: str) -> tuple[str, str]:
    """Split a dataset name into (family, key), e.g. ``("anomaly/ucr", "025")``.

    Raises:
        DataError: the name fits no pattern; lists the patterns and close known names.
    """
    for spec in families_in_order():
        key = spec.parse(name.strip())
        if key is not None:
            return spec.name, key
    raise DataError(
        f"unknown dataset name {name!r}; valid patterns: {', '.join(patterns())}" + _hint(name)
    )


def _hint(name: str) -> str:
    """Close known names (case-insensitive; within the same family when the name has one)."""
    names = known_names()
    head, _, tail = name.strip().rpartition("/")
    same = {n.rpartition("/")[2].lower(): n for n in names if n.rpartition("/")[0] == head}
    pool, query = (same, tail.lower()) if same else ({n.lower(): n for n in names}, name.lower())
    close = [pool[k] for k in difflib.get_close_matches(query, list(pool), n=3, cutoff=0.6)]
    return f"; did you mean {', '.join(close)}?" if close else ""


def name_for_path(relpath: str) -> str | None:
    """The dataset name a layout file belongs to (``ucr/GunPoint/GunPoint_TRAIN.tsv`` ->
    ``ucr/GunPoint``), or None for support files (labels, licences, READMEs)."""
    for spec in families_in_order():
        key = spec.key_of_path(relpath)
        if key is not None:
            return f"{spec.name}/{key}"
    return None


def catalog_files(name: str) -> list[str]:
    """Layout files (relative paths) that ``fetch`` would place for ``name``, support included."""
    family, key = parse_name(name)
    own = [p for p in manifest() if name_for_path(p) == f"{family}/{key}"]
    if not own:
        return []
    extra = FAMILIES.get(family).support(key)
    return sorted(own) + [p for p in extra if p in manifest()]


def known_names() -> list[str]:
    """Every name in the fetch catalog, bundled with aeon or shipped here (no disk scan)."""
    names = {n for p in manifest() if (n := name_for_path(p))}
    return sorted(names | set(bundled.bundled_names()))


def expected_paths(root: Path, family: str, key: str) -> list[Path]:
    """The files a dataset is read from (for ``anomaly/ucr`` the glob pattern of its name)."""
    return FAMILIES.get(family).paths(root, key)


def locate(root: Path, family: str, key: str) -> list[Path] | None:
    """Existing files of a dataset in ``root``; None when absent.

    Raises:
        DataError: the dataset is only partly there, or an anomaly id matches several files.
    """
    return FAMILIES.get(family).find(root, key)


def scan_root(root: Path) -> list[str]:
    """Names of the datasets fully present in ``root`` (discovered from the layout)."""
    names = [f"{spec.name}/{key}" for spec in families_in_order() for key in spec.scan(root)]
    return [n for n in names if _present(root, n)]


def _present(root: Path, name: str) -> bool:
    try:
        family, key = parse_name(name)
        return locate(root, family, key) is not None
    except DataError:
        return False


def load_dataset(
    name: str, data_dir: str | Path | None = None, *, min_length: int = 16,
    task: str | None = None,
) -> Dataset:  # fmt: skip
    """Load a dataset by name from the data root (or aeon's bundled / our shipped copy).

    Args:
        name: e.g. ``"ucr/GunPoint"``, ``"anomaly/ucr/025"``, ``"forecast/ETTh1"``; or the
            user's file ``PATH[:key=value]...`` (:func:`tsdividend.data.userfiles.
            load_user_dataset`).
        data_dir: data root; see ``resolve_data_dir``.
        min_length: series shorter than this are right-padded (mask False); 16 = one patch.
        task: the task a user file is read for (its ``task=`` option wins); catalog names
            carry their own.

    Returns:
        The ``Dataset``; ``meta["source"]`` is ``"data-dir"``, ``"aeon-bundled"`` or ``"shipped"``
        (``forecast/ILI`` from the package's own copy).

    Raises:
        DataError: unknown name, missing files (saying where it looked and how to get them), or
            bad file content (naming file, row, column and value).
    """
    if min_length < 1:
        raise DataError(f"min_length must be >= 1, got {min_length}")
    if is_file_ref(name):  # the user's own file: PATH[:key=value]...
        from tsdividend.data.userfiles import load_user_dataset  # noqa: PLC0415

        return load_user_dataset(name, task, min_length=min_length)
    family, key = parse_name(name)
    spec = FAMILIES.get(family)
    canonical = f"{family}/{key}"
    root = resolve_data_dir(data_dir)
    files = spec.find(root, key)
    if files is not None:
        return spec.read(canonical, key, files, min_length, "data-dir")
    bundled_copy = bundled.bundled_files(family, key)
    if bundled_copy is not None and spec.bundled is not None:
        read = spec.bundled.read or spec.read
        return read(canonical, key, bundled_copy, min_length, bundled.source_label(family))
    raise DataError(_missing_message(canonical, root, spec.paths(root, key)))


def _missing_message(name: str, root: Path, looked: list[Path]) -> str:
    files = catalog_files(name)
    if files and all(source_for(p) is not None for p in files):
        how = f"run `tsdividend data fetch {name}` (downloads into the data root)"
    elif files:
        how = "fetch cannot download all of its files; see `tsdividend data fetch " + name + "`"
    else:
        how = "it is not in the fetch catalog: put the files at the paths above"
    return (
        f"{name}: not found in data root {root} (looked for {', '.join(map(str, looked))}); "
        f"{how}, or point --data-dir / TSDIVIDEND_DATA at a folder with this layout"
        + ("" if name in known_names() else _hint(name))
    )


def list_datasets(data_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """One row per known name: ``{"name", "task", "available", "source"}``.

    ``source`` is ``"data-dir"`` (present in the data root), ``"aeon-bundled"``, ``"shipped"``
    (``forecast/ILI``, copy inside this package), ``"fetchable"`` (every file downloadable by
    ``fetch``) or ``"manual"`` (catalogued, some file has no public URL). Names come from a scan of
    the data root, the fetch catalog, aeon's bundled data and the package's shipped data.
    """
    root = resolve_data_dir(data_dir)
    local = set(scan_root(root))
    shipped = set(bundled.bundled_names())
    order = FAMILIES.names()
    rows = []
    for name in sorted(
        local | shipped | set(known_names()), key=lambda n: (order.index(parse_name(n)[0]), n)
    ):
        if name in local:
            source = "data-dir"
        elif name in shipped:
            source = bundled.source_label(parse_name(name)[0])
        elif all(source_for(p) is not None for p in catalog_files(name)):
            source = "fetchable"
        else:
            source = "manual"
        task = FAMILIES.get(parse_name(name)[0]).task
        rows.append(
            {
                "name": name,
                "task": task,
                "available": source in ("data-dir", bundled.AEON_SOURCE, bundled.SHIPPED_SOURCE),
                "source": source,
            }
        )
    return rows


def dataset_info(name: str, data_dir: str | Path | None = None) -> dict[str, Any]:
    """Summary of a dataset: ``{"name", "task", "n_train", "n_test", "n_channels", "length",
    "n_classes"}``.

    ``n_train``/``n_test`` count series for archives split by series and time steps for archives
    split in time; ``length`` is the (maximum) series length; None where not applicable.
    """
    ds = load_dataset(name, data_dir)
    if ds.splits:
        n_train, n_test = (len(ds.splits[k]) if k in ds.splits else None for k in ("train", "test"))
    else:
        n_train, n_test = (
            ds.time_splits[k][1] - ds.time_splits[k][0] if k in ds.time_splits else None
            for k in ("train", "test")
        )
    return {
        "name": ds.name,
        "task": ds.task,
        "n_train": n_train,
        "n_test": n_test,
        "n_channels": ds.n_channels,
        "length": ds.length,
        "n_classes": ds.n_classes,
    }
