"""sha256 and size of every file of the benchmark layout (the fetch catalog's checksums).

Each family carries the lines of its own files (``FamilySpec.manifest``, taken from
``MANIFEST.tsv`` of the project's benchmark data folder, whose files are byte-identical copies of
the public sources in :mod:`tsdividend.data.sources`); :func:`manifest` is their union.
"""

from __future__ import annotations

from functools import cache

from tsdividend.data.family import FamilySpec, families_in_order


def manifest() -> dict[str, tuple[int, str]]:
    """Relative path -> (size in bytes, sha256 hex digest) for every catalogued file, sorted by
    path (cached per set of registered families; do not mutate)."""
    return _merged(tuple(families_in_order()))


@cache
def _merged(specs: tuple[FamilySpec, ...]) -> dict[str, tuple[int, str]]:
    table: dict[str, tuple[int, str]] = {}
    for spec in specs:
        table.update(spec.manifest)
    return dict(sorted(table.items()))
