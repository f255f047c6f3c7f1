"""Small real datasets that come with the installation, used when the data root lacks them.

Two sources. aeon 1.6 (BSD-3-Clause) ships, under ``aeon/datasets/data/``: univariate UCR
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

BUNDLED_UCR = (
    "GunPoint",
    "ArrowHead",
    "ItalyPowerDemand",
    "OSULeaf",
    "ACSF1",
    "PickupGestureWiimoteZ",
)
BUNDLED_UEA = ("BasicMotions", "JapaneseVowels")
BUNDLED_UCR_ANOMALY = {"135": ("KDD-TSAD_135", "135_UCR_Anomaly_InternalBleeding16")}
# forecast key -> file under SHIPPED_DIR (shipped with this package, not with aeon)
SHIPPED_FORECAST = {"ILI": "national_illness.csv"}
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


def source_label(family: str) -> str:
    """``meta["source"]`` of a bundled copy: ``"shipped"`` (this package) or ``"aeon-bundled"``."""
    return SHIPPED_SOURCE if family == "forecast" else AEON_SOURCE


def bundled_files(family: str, key: str) -> list[Path] | None:
    """The bundled files of dataset ``family/key`` (e.g. ``"ucr", "GunPoint"``), or None.

    Returns:
        ``[TRAIN, TEST]`` paths (``.ts`` for ``ucr``/``uea``, ``.csv`` for ``anomaly/ucr``) when
        aeon ships the dataset and both files exist; ``[csv]`` for a ``forecast`` key shipped with
        this package (``SHIPPED_FORECAST``) when the file exists; else None.
    """
    if family == "forecast":
        if key not in SHIPPED_FORECAST:
            return None
        path = SHIPPED_DIR / SHIPPED_FORECAST[key]
        return [path] if path.is_file() else None
    root = aeon_data_dir()
    if root is None:
        return None
    if family in ("ucr", "uea") and key in (BUNDLED_UCR if family == "ucr" else BUNDLED_UEA):
        files = [root / key / f"{key}_{split}.ts" for split in ("TRAIN", "TEST")]
    elif family == "anomaly/ucr" and key in BUNDLED_UCR_ANOMALY:
        folder, stem = BUNDLED_UCR_ANOMALY[key]
        files = [root / folder / f"{stem}_{split}.csv" for split in ("TRAIN", "TEST")]
    else:
        return None
    return files if all(f.is_file() for f in files) else None


def bundled_names() -> list[str]:
    """Dataset names (``ucr/GunPoint`` ... ``forecast/ILI``) whose bundled files really exist."""
    names = [f"ucr/{k}" for k in BUNDLED_UCR if bundled_files("ucr", k)]
    names += [f"uea/{k}" for k in BUNDLED_UEA if bundled_files("uea", k)]
    names += [f"anomaly/ucr/{k}" for k in BUNDLED_UCR_ANOMALY if bundled_files("anomaly/ucr", k)]
    names += [f"forecast/{k}" for k in SHIPPED_FORECAST if bundled_files("forecast", k)]
    return names
