"""The dataset-family record and its registry: one ``FamilySpec`` per archive format.

A family is everything the catalog needs to know about one naming scheme (``ucr/<Name>``,
``anomaly/msl/<channel>``, ...): how names look, which task they serve, where their files sit
under the data root, how to find them there, how to read them, which copy ships with the
installation, and which files ``fetch`` can download (size, sha256, public URL). ``catalog``,
``bundled``, ``manifest`` and ``sources`` only read these records, so adding a family is one
module that calls :func:`register_family` (see docs/data.md, "Adding a dataset family"); the
built-in families are the modules of :mod:`tsdividend.data.families`.

Example (a family of csv files ``<root>/toy/<key>.csv``)::

    register_family(FamilySpec(
        name="toy", pattern="toy/<key>", task="classification", key_re=WORD,
        paths=lambda root, key: [root / "toy" / f"{key}.csv"],
        scan=lambda root: [p.stem for p in sorted((root / "toy").glob("*.csv"))],
        read=read_toy,   # (name, key, files, min_length, source) -> Dataset
    ))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from tsdividend.data.dataset import TASKS, DataError, Dataset
from tsdividend.registry import Registry

if TYPE_CHECKING:  # sources.py imports this module; the type is only needed for annotations
    from tsdividend.data.sources import Source

WORD = r"[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*"
"""One name segment: no ``/`` and no ``..``, so a name never leaves the data root."""

Reader = Callable[[str, str, list[Path], int, str], Dataset]
"""``(name, key, files, min_length, source) -> Dataset``: ``files`` as located (or bundled),
``source`` the provenance label that goes to ``meta["source"]``."""


@dataclass(frozen=True, eq=False)
class Bundled:
    """Copies of some datasets of a family that come with the installation (aeon or this package).

    Attributes:
        keys: the keys that may be bundled (each is used only if ``files(key)`` finds its files).
        files: key -> the bundled files, or None when absent (e.g. another aeon version).
        source: ``meta["source"]`` of a bundled copy (``"aeon-bundled"`` or ``"shipped"``).
        read: reader of the bundled files; None = the family's own reader.
    """

    keys: tuple[str, ...]
    files: Callable[[str], list[Path] | None]
    source: str
    read: Reader | None = None


def _no_key(relpath: str) -> str | None:
    return None


def _no_source(relpath: str) -> Source | None:
    return None


def _no_support(key: str) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True, eq=False)
class FamilySpec:
    """One dataset family: names, task, file layout, reader, bundled copies and fetch catalog.

    Attributes:
        name: the family, the name prefix before the key (``"ucr"``, ``"anomaly/nab"``).
        pattern: how names look, for error messages (``"ucr/<Name>"``).
        task: the task its datasets serve (one of ``tsdividend.data.TASKS``).
        key_re: regex of the key (the part after ``name + "/"``); a name matches
            ``^<name>/(<key_re>)$``. Keep ``/`` and ``..`` out of it unless the layout needs them.
        paths: ``(root, key) -> files`` the dataset is read from, in the reader's order (for a
            glob layout, the pattern); shown in "not found" errors.
        scan: ``root -> keys`` that may be present in ``root`` (each is then checked with
            ``locate``; a key whose files are incomplete is left out).
        read: the :data:`Reader`.
        own: how many of the first ``paths`` belong to this dataset alone (the rest are shared
            support files such as label tables): a dataset with some but not all of its files is
            an error, not "absent". Ignored when ``locate`` is given.
        locate: ``(root, key) -> files or None``; default: all of ``paths`` present, None when
            none of the first ``own`` is, else a ``DataError`` naming the missing files.
        canonical: key -> canonical key (``anomaly/ucr`` zero-pads ids to 3 digits).
        key_of_path: layout-relative path (``ucr/GunPoint/GunPoint_TRAIN.tsv``) -> key, or None
            for files that belong to no single dataset (labels, licences, READMEs).
        support: key -> layout-relative files a dataset needs or carries besides its own (label
            tables, licences); ``fetch`` places those that are in the manifest.
        bundled: copies that come with the installation, or None.
        manifest: layout-relative path -> (size in bytes, sha256) of every file ``fetch`` knows
            (see :func:`parse_manifest`); empty = nothing to fetch.
        source: layout-relative path -> its pinned public :class:`~tsdividend.data.sources.Source`,
            or None (no public URL, or not a file of this family).
        unfetchable: path -> why it has no public source (said by ``fetch``).
    """

    name: str
    pattern: str
    task: str
    key_re: str
    paths: Callable[[Path, str], list[Path]]
    scan: Callable[[Path], list[str]]
    read: Reader
    own: int = 1
    locate: Callable[[Path, str], list[Path] | None] | None = None
    canonical: Callable[[str], str] = str
    key_of_path: Callable[[str], str | None] = _no_key
    support: Callable[[str], tuple[str, ...]] = _no_support
    bundled: Bundled | None = None
    manifest: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    source: Callable[[str], Source | None] = _no_source
    unfetchable: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"family {self.name!r}: task {self.task!r} unknown; valid: {TASKS}")
        if not re.fullmatch(rf"{WORD}(?:/{WORD})*", self.name):
            raise ValueError(f"family name {self.name!r} must be '/'-separated words")
        if self.own < 1:
            raise ValueError(f"family {self.name!r}: own must be >= 1, got {self.own}")

    @cached_property
    def name_re(self) -> re.Pattern[str]:
        """``^<name>/(<key_re>)$``."""
        return re.compile(rf"^{re.escape(self.name)}/({self.key_re})$")

    def parse(self, name: str) -> str | None:
        """The canonical key of ``name`` (already stripped), or None when it is not ours."""
        m = self.name_re.match(name)
        return self.canonical(m[1]) if m else None

    def find(self, root: Path, key: str) -> list[Path] | None:
        """Existing files of dataset ``key`` in ``root``; None when absent.

        Raises:
            DataError: the dataset is only partly there (or the family's ``locate`` says why).
        """
        if self.locate is not None:
            return self.locate(root, key)
        paths = self.paths(root, key)
        present = [p.is_file() for p in paths]
        if all(present):
            return paths
        if any(p.is_file() for p in paths[: self.own]):
            missing = [str(p) for p, ok in zip(paths, present, strict=True) if not ok]
            raise DataError(
                f"{self.name}/{key}: incomplete in {root}: missing {', '.join(missing)}"
            )
        return None


FAMILIES: Registry[FamilySpec] = Registry("dataset family")
"""Every dataset family by name, in registration order (the order of listings and patterns)."""


def register_family(spec: FamilySpec) -> FamilySpec:
    """Register ``spec`` under ``spec.name`` (a duplicate name is an error); returns it."""
    return FAMILIES.register(spec.name)(spec)


def family_of(name: str) -> FamilySpec | None:
    """The registered family whose ``name + "/"`` starts ``name`` (the longest), or None."""
    hits = [FAMILIES.get(f) for f in FAMILIES if name.startswith(f + "/")]
    return max(hits, key=lambda s: len(s.name), default=None)


def parse_manifest(table: str) -> dict[str, tuple[int, str]]:
    """``path<TAB>size<TAB>sha256`` lines -> ``{path: (size, sha256)}``."""
    out = {}
    for line in table.splitlines():
        if line.strip():
            path, size, sha = line.split("\t")
            out[path] = (int(size), sha)
    return out


def split_pair(root: Path, folder: str, key: str, ext: str) -> list[Path]:
    """``<root>/<folder>/<key>/<key>_TRAIN.<ext>`` and ``_TEST.<ext>`` (the UCR/UEA layout)."""
    return [root / folder / key / f"{key}_{s}.{ext}" for s in ("TRAIN", "TEST")]


def subdirs(folder: Path) -> list[str]:
    """Names of the sub-folders of ``folder`` (sorted; none when it does not exist)."""
    return [d.name for d in sorted(folder.iterdir()) if d.is_dir()] if folder.is_dir() else []


def stems(folder: Path, glob: str) -> list[str]:
    """File stems matching ``glob`` in ``folder`` (sorted; none when it does not exist)."""
    return [p.stem for p in sorted(folder.glob(glob))] if folder.is_dir() else []


def families_in_order() -> Sequence[FamilySpec]:
    """The registered families, in registration order."""
    return [FAMILIES.get(f) for f in FAMILIES]
