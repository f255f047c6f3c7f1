"""Small real datasets that come with the installation, used when the data root lacks them.

Two sources, declared by each family's record (``FamilySpec.bundled``, :mod:`tsdividend.data.
families`). aeon 1.6 (BSD-3-Clause) ships, under ``aeon/datasets/data/``: univariate UCR
datasets as ``.ts`` (GunPoint, ArrowHead, ItalyPowerDemand, OSULeaf, ACSF1, PickupGestureWiimoteZ),
multivariate UEA datasets (BasicMotions, JapaneseVowels) and UCR anomaly series 135 as
``KDD-TSAD_135`` (TRAIN/TEST csv; see ``anomaly.load_ucr_anomaly_csv_pair``). This package itself
ships, under ``tsdividend/data/shipped/``, the ILI forecasting CSV ``national_illness.csv``
(``forecast/ILI``: an unmodified copy from ``junwoopark92/Self-Supervised-Contrastive-Forecsating``,
MIT; data from CDC ILINet, public domain; see ``shipped/README.md``). Together they let the default
study run with no data directory at all. Each entry is used only if its files are really present
(in the installed aeon, or in the installed package), so another aeon version degrades to "not
available" instead of failing. ``source_label`` says which of the two a name comes from
(``meta["source"]``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tsdividend.data.family import FAMILIES, families_in_order

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
AEON_SOURCE = "aeon-bundled"
SHIPPED_SOURCE = "shipped"


def aeon_data_dir() -> Path | None:
    """The ``aeon/datasets/data`` folder of the installed aeon, or None without aeon."""
    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    return path if path.is_dir() else None


def aeon_pair(folder: str, stem: str, ext: str) -> list[Path] | None:
    """aeon's ``<folder>/<stem>_TRAIN.<ext>`` and ``_TEST.<ext>`` when aeon is installed and both
    exist, else None."""
    root = aeon_data_dir()
    if root is None:
        return None
    files = [root / folder / f"{stem}_{split}.{ext}" for split in ("TRAIN", "TEST")]
    return files if all(f.is_file() for f in files) else None


def shipped_file(name: str) -> list[Path] | None:
    """``[SHIPPED_DIR / name]`` when that file exists (it ships with this package), else None."""
    path = SHIPPED_DIR / name
    return [path] if path.is_file() else None


def source_label(family: str) -> str:
    """``meta["source"]`` of a bundled copy: ``"shipped"`` (this package) or ``"aeon-bundled"``."""
    spec = FAMILIES.get(family) if family in FAMILIES else None
    return spec.bundled.source if spec is not None and spec.bundled else AEON_SOURCE


def bundled_files(family: str, key: str) -> list[Path] | None:
    """The bundled files of dataset ``family/key`` (e.g. ``"ucr", "GunPoint"``), or None.

    Returns:
        ``[TRAIN, TEST]`` paths (``.ts`` for ``ucr``/``uea``, ``.csv`` for ``anomaly/ucr``) when
        aeon ships the dataset and both files exist; ``[csv]`` for a ``forecast`` key shipped with
        this package when the file exists; else None (also for unknown families).
    """
    spec = FAMILIES.get(family) if family in FAMILIES else None
    if spec is None or spec.bundled is None or key not in spec.bundled.keys:
        return None
    return spec.bundled.files(key)


def bundled_names() -> list[str]:
    """Dataset names (``ucr/GunPoint`` ... ``forecast/ILI``) whose bundled files really exist."""
    return [
        f"{spec.name}/{key}"
        for spec in families_in_order()
        if spec.bundled is not None
        for key in spec.bundled.keys
        if spec.bundled.files(key)
    ]
