"""``fetch``: download a dataset's files into the cache, verified by sha256, written atomically.

Each file of the layout has a pinned public URL (``sources.py``) and a sha256 (``manifest.py``).
A file already present with the right hash is skipped. A download streams into a temporary file
in the destination folder, is hashed on the way, and is moved into place with ``os.replace`` only
when the hash matches, so a failed, interrupted or corrupted download leaves no file behind.
Files that are verbatim copies of aeon's bundled data are copied from the installed aeon (after
the same hash check) before any network access is tried.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tsdividend.atomic import atomic_target, file_sha256
from tsdividend.data import bundled
from tsdividend.data.catalog import catalog_files, parse_name, resolve_data_dir
from tsdividend.data.dataset import DataError
from tsdividend.data.manifest import manifest
from tsdividend.data.sources import is_aeon_file, source_for, unfetchable_reason

CHUNK = 1 << 20
TIMEOUT_S = 60.0


def fetch(
    name: str,
    data_dir: str | Path | None = None,
    *,
    base_url: str | None = None,
    progress: bool = True,
) -> Path:
    """Download the files of dataset ``name`` into the data root, verifying each sha256.

    Args:
        name: dataset name, e.g. ``"forecast/ETTh1"``.
        data_dir: data root to fill (default: ``resolve_data_dir()``: ``$TSDIVIDEND_DATA`` or
            the user cache dir). The layout matches the benchmark folder, so ``load_dataset(name,
            data_dir)`` reads the result.
        base_url: replaces ``https://raw.githubusercontent.com`` in every URL (mirrors, tests).
        progress: print one line per file to stderr.

    Returns:
        The data root holding the dataset.

    Raises:
        DataError: unknown name, a name outside the fetch catalog, a file without public URL
            (before anything is downloaded), an HTTP/network failure, or a hash mismatch (the
            bad download is deleted).
    """
    parse_name(name)  # unknown names fail here with the valid patterns
    root = resolve_data_dir(data_dir)
    files = catalog_files(name)
    if not files:
        family, key = parse_name(name)
        if bundled.bundled_files(family, key) is not None:
            _say(progress, f"{name}: bundled with aeon; nothing to download")
            return root
        raise DataError(f"{name}: not in the fetch catalog; put its files under {root} yourself")
    table = manifest()
    todo = [p for p in files if not _verified(root / p, table[p][1])]
    blocked = [p for p in todo if source_for(p) is None]
    if blocked:
        reasons = "; ".join(f"{p}: {unfetchable_reason(p) or 'no public source'}" for p in blocked)
        raise DataError(
            f"{name}: cannot fetch {len(blocked)} file(s) ({reasons}); place them under {root}"
        )
    for i, rel in enumerate(todo, 1):
        size, sha = table[rel]
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        for stale in dest.parent.glob(f".{dest.name}.*.part"):  # a killed earlier download's
            stale.unlink(missing_ok=True)
        if is_aeon_file(rel) and _copy_from_aeon(rel, dest, sha):
            _say(progress, f"[{i}/{len(todo)}] {rel}: copied from the installed aeon")
            continue
        url = source_for(rel).url(base_url)  # type: ignore[union-attr]
        _say(progress, f"[{i}/{len(todo)}] {rel} <- {url} ({size / 1e6:.1f} MB)")
        _download(url, dest, sha)
    _say(progress, f"{name}: {len(files)} file(s) verified in {root}")
    return root


def _verified(path: Path, sha: str) -> bool:
    return path.is_file() and file_sha256(path) == sha


def _say(progress: bool, msg: str) -> None:
    if progress:
        print(msg, file=sys.stderr, flush=True)


def _copy_from_aeon(rel: str, dest: Path, sha: str) -> bool:
    """Copy an aeon-shipped file into place if the installed copy has the catalogued hash."""
    data = bundled.aeon_data_dir()
    if data is None:
        return False
    src = data / Path(rel).parent.name / Path(rel).name
    if not src.is_file() or file_sha256(src) != sha:
        return False
    with atomic_target(dest) as tmp:
        shutil.copyfile(src, tmp)
    return True


def _download(url: str, dest: Path, sha: str) -> None:
    """Stream ``url`` into ``dest`` atomically, checking the sha256 before the final rename."""
    with atomic_target(dest) as tmp:
        h = hashlib.sha256()
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp, tmp.open("wb") as out:
                for block in iter(lambda: resp.read(CHUNK), b""):
                    h.update(block)
                    out.write(block)
        except urllib.error.HTTPError as e:
            raise DataError(f"{url}: HTTP {e.code} {e.reason}") from None
        except (urllib.error.URLError, OSError) as e:
            raise DataError(
                f"{url}: download failed ({e}); check the network or --data-dir"
            ) from None
        if h.hexdigest() != sha:
            raise DataError(
                f"{url}: sha256 mismatch (expected {sha}, got {h.hexdigest()}); "
                f"the download was discarded, {dest} not written"
            )
