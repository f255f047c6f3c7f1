"""Imports flow downward only (DESIGN.md, docs/architecture.md): every ``tsdividend`` import in
the source tree goes to a lower layer or stays inside its own package."""

from __future__ import annotations

import ast
from pathlib import Path

import tsdividend

ROOT = Path(tsdividend.__file__).parent
# Lower index = lower layer. The package facade (tsdividend/__init__.py) re-exports lazily and is
# exempt; ``report`` may read the torch-free task registry (it names each task's headline).
LAYERS = (
    {"errors"},
    {"config", "registry", "atomic", "device", "schedules", "lock"},
    {"data", "metrics", "results"},
    {"synth", "stats"},
    {"augment", "tokenizer"},
    {"encoder", "losses"},
    {"objectives"},
    {"train", "tasks", "report"},
    {"study", "pretrained"},
    {"estimators"},
    {"api", "aeon_transformer"},
    {"cli_common"},
    {"cli_data"},
    {"cli"},
)
ALLOWED_SIDEWAYS = {("report", "tasks.registry")}


def _layer(package: str) -> int:
    for i, names in enumerate(LAYERS):
        if package in names:
            return i
    raise AssertionError(f"package {package!r} has no layer: add it to LAYERS")


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        out += [(node.lineno, n) for n in names if n.startswith("tsdividend.")]
    return out


def test_imports_flow_downward() -> None:
    bad = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel == Path("__init__.py"):
            continue
        package = rel.parts[0].removesuffix(".py")
        for line, module in _imports(path):
            parts = module.split(".")
            target = parts[1]
            if target == package or (package, ".".join(parts[1:3])) in ALLOWED_SIDEWAYS:
                continue
            if _layer(target) >= _layer(package):
                bad.append(f"{rel}:{line} imports {module} ({package} -> {target})")
    assert not bad, "upward or sideways imports:\n" + "\n".join(bad)


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    """The checker itself can fail: an objective importing the trainer is flagged."""
    fake = tmp_path / "x.py"
    fake.write_text("from tsdividend.train.trainer import train\n")
    ((line, module),) = _imports(fake)
    assert line == 1 and _layer(module.split(".")[1]) > _layer("objectives")
