# ruff: noqa: E501
"""``forecast/ETTh1|ETTh2|Exchange|ILI``: long-horizon forecasting benchmarks, one CSV each.

Files ``forecasting/ETTh1.csv``, ``ETTh2.csv``, ``exchange_rate.csv``, ``national_illness.csv``
(:data:`~tsdividend.data.forecasting.FORECAST_FILES`), read by
:func:`~tsdividend.data.forecasting.load_forecast` with the file's split rule. ``forecast/ILI`` also
ships inside this package (``shipped/``). ETT comes from ``zhouhaoyi/ETDataset`` (CC BY-ND 4.0,
its LICENSE comes along), Exchange and ILI from ``junwoopark92/Self-Supervised-Contrastive-
Forecsating`` (MIT).
"""

from __future__ import annotations

from pathlib import Path

from tsdividend.data import forecasting
from tsdividend.data.bundled import SHIPPED_SOURCE, shipped_file
from tsdividend.data.dataset import Dataset
from tsdividend.data.family import Bundled, FamilySpec, parse_manifest, register_family
from tsdividend.data.forecasting import FORECAST_FILES
from tsdividend.data.sources import Source

ETDATASET = ("zhouhaoyi/ETDataset", "1d16c8f4f943005d613b5bc962e9eeb06058cf07")
SSCF = (
    "junwoopark92/Self-Supervised-Contrastive-Forecsating",
    "f394705adbf5217811276f5e59576c6e7ea7586c",
)
ETT_LICENSE = "forecasting/LICENSE_ETDataset.txt"
# forecast key -> file under SHIPPED_DIR (shipped with this package, not with aeon)
SHIPPED = {"ILI": "national_illness.csv"}
_SOURCES = {
    "forecasting/ETTh1.csv": (ETDATASET, "ETT-small/ETTh1.csv"),
    "forecasting/ETTh2.csv": (ETDATASET, "ETT-small/ETTh2.csv"),
    ETT_LICENSE: (ETDATASET, "LICENSE"),
    "forecasting/exchange_rate.csv": (SSCF, "dataset/exchange_rate/exchange_rate.csv"),
    "forecasting/national_illness.csv": (SSCF, "dataset/illness/national_illness.csv"),
}


def _read(name: str, key: str, files: list[Path], min_length: int, source: str) -> Dataset:
    rule = FORECAST_FILES[key][1]
    return forecasting.load_forecast(name, files[0], rule, min_length=min_length, source=source)


def _scan(root: Path) -> list[str]:
    return [k for k, (f, _) in FORECAST_FILES.items() if (root / "forecasting" / f).is_file()]


def _key_of_path(relpath: str) -> str | None:
    for key, (file, _) in FORECAST_FILES.items():
        if relpath == f"forecasting/{file}":
            return key
    return None


def _source(relpath: str) -> Source | None:
    if relpath in _SOURCES:
        (repo, ref), path = _SOURCES[relpath]
        return Source(repo, ref, path)
    return None


_MANIFEST = """\
forecasting/ETTh1.csv	2589657	f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066
forecasting/ETTh2.csv	2417960	a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b
forecasting/LICENSE_ETDataset.txt	17818	83cbb5c31415b1d0ee1d20d35dae3fda3a045b85fae9364cc57facc9cd6e0946
forecasting/exchange_rate.csv	630212	d55e7aa2641009814a18ba3279431b13f6d413b0eab195b9ff21988d8cf94e97
forecasting/national_illness.csv	66653	8594cecb98c6f2f9dc014eca11c4d5d1e38ad5ce6ed0592d4abe65b146fce395
"""

SPEC = register_family(
    FamilySpec(
        name="forecast",
        pattern="forecast/" + "|".join(FORECAST_FILES),
        task="forecasting",
        key_re="|".join(FORECAST_FILES),
        paths=lambda root, key: [root / "forecasting" / FORECAST_FILES[key][0]],
        scan=_scan,
        read=_read,
        key_of_path=_key_of_path,
        support=lambda key: (ETT_LICENSE,) if key.startswith("ETT") else (),
        bundled=Bundled(tuple(SHIPPED), lambda key: shipped_file(SHIPPED[key]), SHIPPED_SOURCE),
        manifest=parse_manifest(_MANIFEST),
        source=_source,
    )
)
