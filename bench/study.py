"""Evaluation speed: a whole study's wall time, where it goes, and the one-dataset case.

    python bench/study.py study [--preset quick] [--data-dir DIR] [--executor local|pool]
                                [--config FILE] [--out DIR]
        runs the study from scratch (fresh folder), prints its wall time and the cell seconds per
        (method, task, regime), the part of the wall time each takes.

    python bench/study.py compare STORE_A STORE_B
        checks that two studies' result stores hold the same rows (cells, metrics, values): a
        faster path must not change the protocol. Timing columns are ignored.

    python bench/study.py one [--dataset ucr/Wine] [--encoder RUN_DIR] [--data-dir DIR]
        embeds one UCR dataset with a trained encoder and runs the classification probe (default
        protocol: full-train probe + 1/5/10-shot, 10 draws each; --shots '' = the full-train
        probe only), timing it in-process (imports excluded): the "new dataset, trained
        encoder" case.

Compare timings from one machine in one session (docs/study.md, "Speed").
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from collections import defaultdict
from pathlib import Path

IDENTITY = ("encoder_id", "task", "dataset", "regime", "seed", "metric")


def _method(encoder_id: str, init: str) -> str:
    if init == "classical":
        return encoder_id.split("-")[0]
    return init if init in ("random", "scratch") else "pretrained"


def breakdown(store: Path) -> list[tuple[str, int, float]]:
    """(method/task/regime, cells, seconds) from the store's per-row cell wall time."""
    con = sqlite3.connect(store)
    cells = con.execute(
        "select encoder_id, init, task, regime, max(wall_seconds) from results "
        "group by encoder_id, task, dataset, regime, seed"
    ).fetchall()
    agg: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for encoder_id, init, task, regime, seconds in cells:
        key = f"{_method(encoder_id, init)}/{task}/{regime}"
        agg[key][0] += 1
        agg[key][1] += seconds or 0.0
    return sorted(((k, int(v[0]), v[1]) for k, v in agg.items()), key=lambda r: -r[2])


def cmd_study(args: argparse.Namespace) -> None:
    from tsdividend.api import run

    out = Path(args.out or tempfile.mkdtemp(prefix="bench-study-"))
    if out.exists():
        shutil.rmtree(out)
    t = time.perf_counter()
    outcome = run(args.preset if not args.config else None, config=args.config, out=out,
                  executor=args.executor, data_dir=args.data_dir, progress=False)  # fmt: skip
    wall = time.perf_counter() - t
    name = args.config or args.preset
    print(f"study {name}, data dir {args.data_dir}, executor {args.executor}: "
          f"{len(outcome.rows)} rows, wall {wall:.0f} s ({wall / 60:.1f} min)")  # fmt: skip
    rows = breakdown(outcome.store)
    total = sum(r[2] for r in rows)
    print(f"{'method/task/regime':<42} {'cells':>6} {'seconds':>9} {'share':>7}")
    for key, n, seconds in rows:
        print(f"{key:<42} {n:>6} {seconds:>9.1f} {100 * seconds / total:>6.1f}%")
    print(f"cell seconds {total:.0f} (the rest of the wall time: pretraining, report)")
    print(f"store: {outcome.store}")


def _rows(store: Path) -> dict[tuple, float]:
    con = sqlite3.connect(store)
    cols = ", ".join(IDENTITY)
    return {r[:-1]: r[-1] for r in con.execute(f"select {cols}, value from results")}


def cmd_compare(args: argparse.Namespace) -> None:
    a, b = _rows(Path(args.a)), _rows(Path(args.b))
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    common = set(a) & set(b)
    differ = sorted(k for k in common if not (a[k] == b[k] or (a[k] != a[k] and b[k] != b[k])))
    print(f"rows: {len(a)} vs {len(b)}; only in A {len(only_a)}, only in B {len(only_b)}, "
          f"values differing {len(differ)} of {len(common)}")  # fmt: skip
    for k in differ[:20]:
        print(f"  {k}: {a[k]!r} vs {b[k]!r}")
    for k in (only_a + only_b)[:10]:
        print(f"  missing on one side: {k}")
    raise SystemExit(0 if not (only_a or only_b or differ) else 1)


def cmd_one(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    from tsdividend.data import load_dataset
    from tsdividend.tasks.base import EncoderUnderTest
    from tsdividend.tasks.classification import evaluate_classification
    from tsdividend.tasks.classification_config import ClassificationConfig

    print(f"imports {time.perf_counter() - t0:.1f} s (not counted)")
    t = time.perf_counter()
    dataset = load_dataset(args.dataset, args.data_dir)
    encoder = EncoderUnderTest.from_arg(args.encoder)  # a run folder, or "random"
    load = time.perf_counter() - t
    t = time.perf_counter()
    shots = tuple(int(k) for k in args.shots.split(",") if k)
    cfg = ClassificationConfig(shots=shots)
    rows = evaluate_classification(encoder, dataset, cfg, seed=0, device="cpu")
    total = time.perf_counter() - t
    embed = next((r.extra.get("embed_seconds") for r in rows if r.extra), None)
    embed_s = "?" if embed is None else f"{embed:.2f}"
    print(f"{args.dataset} {dataset.X.shape}: load {load:.2f} s; embed + probe {total:.2f} s "
          f"(embedding {embed_s} s), {len(rows)} rows")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("study")
    s.add_argument("--preset", default="quick")
    s.add_argument("--config")
    s.add_argument("--data-dir")
    s.add_argument("--executor", default="local")
    s.add_argument("--out")
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    o = sub.add_parser("one")
    o.add_argument("--dataset", default="ucr/Wine")
    o.add_argument("--encoder", default="random", help="pretraining run folder or 'random'")
    o.add_argument("--data-dir")
    o.add_argument("--shots", default="1,5,10", help="few-shot k values; '' = none")
    args = parser.parse_args()
    {"study": cmd_study, "compare": cmd_compare, "one": cmd_one}[args.cmd](args)


if __name__ == "__main__":
    main()
