# ruff: noqa: E501
"""``uea/<Name>``: the UEA multivariate classification archive (Bagnall et al. 2018).

Files ``uea/<Name>/<Name>_TRAIN.ts`` and ``_TEST.ts``, read with aeon's ``.ts`` reader
(:func:`~tsdividend.data.classification.load_ts`); split = the files' TRAIN/TEST. aeon 1.6 ships
BasicMotions and JapaneseVowels (the fallback without a data root, and ``fetch`` copies them from
the installed aeon); NATOPS comes from ``Navidfoumani/Disjoint-CNN`` (MIT).
"""

from __future__ import annotations

from pathlib import Path

from tsdividend.data import classification
from tsdividend.data.bundled import AEON_SOURCE, aeon_pair
from tsdividend.data.dataset import Dataset
from tsdividend.data.family import (
    WORD,
    Bundled,
    FamilySpec,
    parse_manifest,
    register_family,
    split_pair,
    subdirs,
)
from tsdividend.data.sources import AEON, Source

DISJOINT_CNN = ("Navidfoumani/Disjoint-CNN", "38180ccc1f050a3fee6961f5b4ea3bc132016ab3")
BUNDLED = ("BasicMotions", "JapaneseVowels")


def _read(name: str, key: str, files: list[Path], min_length: int, source: str) -> Dataset:
    return classification.load_ts(name, files[0], files[1], min_length=min_length, source=source)


def _key_of_path(relpath: str) -> str | None:
    parts = relpath.split("/")
    return parts[1] if parts[0] == "uea" and len(parts) == 3 else None


def _source(relpath: str) -> Source | None:
    parts = relpath.split("/")
    if parts[0] != "uea" or len(parts) != 3:
        return None
    if parts[1] == "NATOPS":
        return Source(*DISJOINT_CNN, f"Multivariate_ts/NATOPS/{parts[2]}")
    return Source(*AEON, f"aeon/datasets/data/{parts[1]}/{parts[2]}")


_MANIFEST = """\
uea/BasicMotions/BasicMotions_TEST.ts	227713	79213102bc6fca1a398ad98ce1185dff0208fa3d1465e687f48288946b0ff8dc
uea/BasicMotions/BasicMotions_TRAIN.ts	227790	8dc43cc6306cb679c888c01e26f91772ac4441a916da43bac8b79734a538b9d6
uea/JapaneseVowels/JapaneseVowels_TEST.ts	649132	b3d41d6a0ca3bcad3afb9ca7d4365382aa51341e2e58bae2a574babdda5b9462
uea/JapaneseVowels/JapaneseVowels_TRAIN.ts	487971	68a430eabd919cc77f40b1f5f3bc0dcafacc1486bca9260785aeb7d262cc78cd
uea/NATOPS/NATOPS_TEST.ts	2119227	3a9a41a948c30d19db6b9e0ec44d946d42199c4f8724c2aa6e8b71b28612404e
uea/NATOPS/NATOPS_TRAIN.ts	2119514	3567f0aa297e89327215ee1147537e06f7bdc51f48ac8d2c39aaa34fb1eab1b7
"""

SPEC = register_family(
    FamilySpec(
        name="uea",
        pattern="uea/<Name>",
        task="classification",
        key_re=WORD,
        paths=lambda root, key: split_pair(root, "uea", key, "ts"),
        scan=lambda root: subdirs(root / "uea"),
        read=_read,
        own=2,
        key_of_path=_key_of_path,
        bundled=Bundled(BUNDLED, lambda key: aeon_pair(key, key, "ts"), AEON_SOURCE),
        manifest=parse_manifest(_MANIFEST),
        source=_source,
    )
)
