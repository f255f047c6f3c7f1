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
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs

from tsdividend.data import anomaly, bundled, classification, forecasting
from tsdividend.data.dataset import DataError, Dataset
from tsdividend.data.manifest import manifest
from tsdividend.data.sources import source_for

PATTERNS = (
    "ucr/<Name>",
    "uea/<Name>",
    "anomaly/ucr/<NNN> (3-digit id)",
    "anomaly/nab/<category>/<file stem>",
    "anomaly/msl/<channel>",
    "forecast/" + "|".join(forecasting.FORECAST_FILES),
)
TASK_OF = {
    "ucr": "classification",
    "uea": "classification",
    "anomaly/ucr": "anomaly",
    "anomaly/nab": "anomaly",
    "anomaly/msl": "anomaly",
    "forecast": "forecasting",
}
_WORD = r"[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*"  # no "/" and no ".." (stays inside the root)
_NAME_RES = {
    "ucr": re.compile(rf"^ucr/({_WORD})$"),
    "uea": re.compile(rf"^uea/({_WORD})$"),
    "anomaly/ucr": re.compile(r"^anomaly/ucr/(\d{1,3})$"),
    "anomaly/nab": re.compile(rf"^anomaly/nab/({_WORD}/{_WORD})$"),
    "anomaly/msl": re.compile(rf"^anomaly/msl/({_WORD})$"),
    "forecast": re.compile(rf"^forecast/({'|'.join(forecasting.FORECAST_FILES)})$"),
}
_SUPPORT = {  # files a family needs besides the dataset's own (labels) or carries (licences)
    "anomaly/nab": ("anomaly/nab/labels/combined_windows.json", "anomaly/nab/LICENSE.txt"),
    "anomaly/msl": ("anomaly/msl/labeled_anomalies.csv",),
}


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
    for family, regex in _NAME_RES.items():
        m = regex.match(name.strip())
        if m:
            key = m[1].zfill(3) if family == "anomaly/ucr" else m[1]
            return family, key
    raise DataError(
        f"unknown dataset name {name!r}; valid patterns: {', '.join(PATTERNS)}" + _hint(name)
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
    parts = relpath.split("/")
    if parts[0] in ("ucr", "uea") and len(parts) == 3:
        return f"{parts[0]}/{parts[1]}"
    if parts[:2] == ["anomaly", "ucr"] and anomaly.UCR_ANOMALY_FILE.match(parts[-1]):
        return f"anomaly/ucr/{parts[2][:3]}"
    if parts[:2] == ["anomaly", "nab"] and len(parts) == 4 and parts[2] != "labels":
        if parts[3].endswith(".csv"):
            return f"anomaly/nab/{parts[2]}/{parts[3].removesuffix('.csv')}"
    if parts[:2] == ["anomaly", "msl"] and len(parts) == 4 and parts[3].endswith(".npy"):
        return f"anomaly/msl/{parts[3].removesuffix('.npy')}"
    for key, (file, _) in forecasting.FORECAST_FILES.items():
        if relpath == f"forecasting/{file}":
            return f"forecast/{key}"
    return None


def catalog_files(name: str) -> list[str]:
    """Layout files (relative paths) that ``fetch`` would place for ``name``, support included."""
    family, key = parse_name(name)
    own = [p for p in manifest() if name_for_path(p) == f"{family}/{key}"]
    if not own:
        return []
    extra = list(_SUPPORT.get(family, ()))
    if family == "forecast" and key.startswith("ETT"):
        extra.append("forecasting/LICENSE_ETDataset.txt")
    return sorted(own) + [p for p in extra if p in manifest()]


def known_names() -> list[str]:
    """Every name in the fetch catalog, bundled with aeon or shipped here (no disk scan)."""
    names = {n for p in manifest() if (n := name_for_path(p))}
    return sorted(names | set(bundled.bundled_names()))


def expected_paths(root: Path, family: str, key: str) -> list[Path]:
    """The files a dataset is read from (for ``anomaly/ucr`` the glob pattern of its name)."""
    if family in ("ucr", "uea"):
        ext = "tsv" if family == "ucr" else "ts"
        return [root / family / key / f"{key}_{s}.{ext}" for s in ("TRAIN", "TEST")]
    if family == "anomaly/ucr":
        return [root / "anomaly" / "ucr" / f"{key}_UCR_Anomaly_*.txt"]
    if family == "anomaly/nab":
        return [
            root / "anomaly" / "nab" / f"{key}.csv",
            root / "anomaly/nab/labels/combined_windows.json",
        ]
    if family == "anomaly/msl":
        msl = root / "anomaly" / "msl"
        return [
            msl / "train" / f"{key}.npy",
            msl / "test" / f"{key}.npy",
            msl / "labeled_anomalies.csv",
        ]
    return [root / "forecasting" / forecasting.FORECAST_FILES[key][0]]


def locate(root: Path, family: str, key: str) -> list[Path] | None:
    """Existing files of a dataset in ``root``; None when absent.

    Raises:
        DataError: the dataset is only partly there, or an anomaly id matches several files.
    """
    paths = expected_paths(root, family, key)
    if family == "anomaly/ucr":
        found = sorted(
            p for p in paths[0].parent.glob(paths[0].name) if anomaly.UCR_ANOMALY_FILE.match(p.name)
        )
        if len(found) > 1:
            raise DataError(
                f"{paths[0].parent}: several files for id {key}: {[p.name for p in found]}"
            )
        return found or None
    present = [p.is_file() for p in paths]
    if all(present):
        return paths
    own = paths[:2] if family in ("ucr", "uea", "anomaly/msl") else paths[:1]
    if any(p.is_file() for p in own):
        missing = [str(p) for p, ok in zip(paths, present, strict=True) if not ok]
        raise DataError(f"{family}/{key}: incomplete in {root}: missing {', '.join(missing)}")
    return None


def scan_root(root: Path) -> list[str]:
    """Names of the datasets fully present in ``root`` (discovered from the layout)."""
    names: list[str] = []
    for family in ("ucr", "uea"):
        folder = root / family
        if folder.is_dir():
            names += [f"{family}/{d.name}" for d in sorted(folder.iterdir()) if d.is_dir()]
    ucr_anomaly = root / "anomaly" / "ucr"
    if ucr_anomaly.is_dir():
        names += [f"anomaly/ucr/{p.name[:3]}" for p in sorted(ucr_anomaly.glob("*.txt"))]
    nab = root / "anomaly" / "nab"
    if nab.is_dir():
        names += [
            f"anomaly/nab/{p.parent.name}/{p.stem}"
            for p in sorted(nab.glob("*/*.csv"))
            if p.parent.name != "labels"
        ]
    msl = root / "anomaly" / "msl" / "train"
    if msl.is_dir():
        names += [f"anomaly/msl/{p.stem}" for p in sorted(msl.glob("*.npy"))]
    names += [
        f"forecast/{k}"
        for k, (f, _) in forecasting.FORECAST_FILES.items()
        if (root / "forecasting" / f).is_file()
    ]
    return [n for n in names if _present(root, n)]


def _present(root: Path, name: str) -> bool:
    try:
        family, key = parse_name(name)
        return locate(root, family, key) is not None
    except DataError:
        return False


def load_dataset(name: str, data_dir: str | Path | None = None, *, min_length: int = 16) -> Dataset:
    """Load a dataset by name from the data root (or aeon's bundled / our shipped copy).

    Args:
        name: e.g. ``"ucr/GunPoint"``, ``"anomaly/ucr/025"``, ``"forecast/ETTh1"``.
        data_dir: data root; see ``resolve_data_dir``.
        min_length: series shorter than this are right-padded (mask False); 16 = one patch.

    Returns:
        The ``Dataset``; ``meta["source"]`` is ``"data-dir"``, ``"aeon-bundled"`` or ``"shipped"``
        (``forecast/ILI`` from the package's own copy).

    Raises:
        DataError: unknown name, missing files (saying where it looked and how to get them), or
            bad file content (naming file, row, column and value).
    """
    if min_length < 1:
        raise DataError(f"min_length must be >= 1, got {min_length}")
    family, key = parse_name(name)
    canonical = f"{family}/{key}"
    root = resolve_data_dir(data_dir)
    files = locate(root, family, key)
    if files is not None:
        return _LOADERS[family](canonical, key, files, min_length, "data-dir")
    bundled_copy = bundled.bundled_files(family, key)
    if bundled_copy is not None:
        src = bundled.source_label(family)
        if family == "forecast":
            return _load_forecast(canonical, key, bundled_copy, min_length, src)
        if family == "anomaly/ucr":
            return anomaly.load_ucr_anomaly_csv_pair(
                canonical, *bundled_copy, min_length=min_length, source=src
            )
        return classification.load_ts(canonical, *bundled_copy, min_length=min_length, source=src)
    raise DataError(_missing_message(canonical, root, expected_paths(root, family, key)))


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


def _load_ucr(name: str, key: str, files: list[Path], min_length: int, src: str) -> Dataset:
    return classification.load_ucr(name, *files, min_length=min_length, source=src)


def _load_uea(name: str, key: str, files: list[Path], min_length: int, src: str) -> Dataset:
    return classification.load_ts(name, *files, min_length=min_length, source=src)


def _load_ucr_anomaly(name: str, key: str, files: list[Path], min_length: int, src: str) -> Dataset:
    return anomaly.load_ucr_anomaly(name, files[0], min_length=min_length, source=src)


def _load_nab(name: str, key: str, files: list[Path], min_length: int, src: str) -> Dataset:
    return anomaly.load_nab(name, *files, f"{key}.csv", min_length=min_length, source=src)


def _load_msl(name: str, key: str, files: list[Path], min_length: int, src: str) -> Dataset:
    return anomaly.load_msl(name, key, *files, min_length=min_length, source=src)


def _load_forecast(name: str, key: str, files: list[Path], min_length: int, src: str) -> Dataset:
    rule = forecasting.FORECAST_FILES[key][1]
    return forecasting.load_forecast(name, files[0], rule, min_length=min_length, source=src)


_LOADERS: dict[str, Callable[[str, str, list[Path], int, str], Dataset]] = {
    "ucr": _load_ucr,
    "uea": _load_uea,
    "anomaly/ucr": _load_ucr_anomaly,
    "anomaly/nab": _load_nab,
    "anomaly/msl": _load_msl,
    "forecast": _load_forecast,
}


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
    order = list(TASK_OF)
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
        task = TASK_OF[parse_name(name)[0]]
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
