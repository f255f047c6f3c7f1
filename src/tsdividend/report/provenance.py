"""Where the numbers come from: the source tree's git commit and the machine.

Every probe is best effort: a missing ``git``, a source tree outside a repository, or an
unreadable ``/proc/cpuinfo`` omits that entry and never raises.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        res = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10,
                             check=False)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def git_commit(package_dir: Path | None = None) -> dict[str, str | bool] | None:
    """The commit of the git work tree that holds the package's source, with a dirty flag.

    Returns None when the package does not sit in a git work tree as a tracked file (e.g. an
    installed wheel under a virtual environment that itself lies inside some repository).
    """
    if package_dir is None:
        import tsdividend

        package_dir = Path(tsdividend.__file__).resolve().parent
    if _git(["ls-files", "--error-unmatch", "__init__.py"], package_dir) is None:
        return None
    commit = _git(["rev-parse", "HEAD"], package_dir)
    if not commit:
        return None
    status = _git(["status", "--porcelain", "--untracked-files=no"], package_dir)
    return {"commit": commit, "dirty": bool(status)}


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (Linux), else :func:`platform.processor`."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_info() -> dict[str, object]:
    """CPU model and count, GPU model(s) when torch sees CUDA, torch's thread count, Python and
    OS. torch is imported here only (the report module itself never imports it)."""
    info: dict[str, object] = {"cpu": cpu_model(), "cpu_count": os.cpu_count(),
                               "python": sys.version.split()[0],
                               "platform": platform.platform()}  # fmt: skip
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            n = torch.cuda.device_count()
            info["gpu"] = ", ".join(torch.cuda.get_device_name(i) for i in range(n))
    except Exception:  # noqa: BLE001 - provenance must never break a report
        pass
    return info


def provenance_info() -> dict[str, object]:
    """``machine`` (see :func:`machine_info`) and, when there is one, ``git`` (commit, dirty)."""
    out: dict[str, object] = {"machine": machine_info()}
    if (git := git_commit()) is not None:
        out["git"] = git
    return out
