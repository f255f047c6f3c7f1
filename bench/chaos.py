"""Chaos: random kill -9s during pretraining (some during checkpoint writes) and during a study,
plus one corrupted checkpoint; the results must equal an uninterrupted run's.

    python bench/chaos.py [--kills 10] [--seed 0] [--out DIR]

Pretraining: a reference run, then the same command started with ``--resume`` again and again,
each process SIGKILLed after a random delay (every third kill as soon as a checkpoint's temp
folder appears, i.e. during a checkpoint write); once, before a restart, the newest checkpoint's
weights are truncated. The last start runs to the end. Printed: kills survived, steps logged
twice or missing in ``metrics.jsonl``, and whether the final weights equal the reference's bit
for bit. Study: the same with ``tsdividend run`` on a tiny spec; printed: rows lost or
duplicated, and whether every (key, value) equals the uninterrupted study's.

Not in CI (minutes); the measured output is in docs/reliability.md ("Surviving kills").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from safetensors.torch import load_file

TRAIN = ["--objective", "mae", "--depth", "1", "--d-model", "16", "--batch-size", "8",
         "--context", "64", "--steps", "1500", "--checkpoint-every", "20", "--device", "cpu",
         "--precision", "fp32"]  # fmt: skip
STUDY = """name = "chaos"
objectives = ["mae", "ntp"]
tasks = ["classification", "anomaly"]
depths = [1]
regimes = ["probe"]
[datasets]
classification = ["ucr/GunPoint", "ucr/ItalyPowerDemand"]
anomaly = ["anomaly/ucr/135"]
[train]
steps = 300
batch_size = 8
checkpoint_every = 25
data.context = 64
encoder.d_model = 16
encoder.n_heads = 2
device = "cpu"
[eval.classification]
shots = []
[eval.anomaly]
context = 64
decoder_max_epochs = 5
"""
KEY = "study, encoder_id, task, dataset, regime, seed, metric"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "tsdividend.cli", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _start(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_after(proc: subprocess.Popen, delay: float, watch: Path | None) -> bool:
    """SIGKILL ``proc`` after ``delay`` s (or as soon as a temp checkpoint folder shows up in
    ``watch``); False when it finished first."""
    deadline = time.monotonic() + delay
    before = set(watch.glob(".step-*")) if watch is not None else set()  # a killed run's leftovers
    while proc.poll() is None:
        hit = watch is not None and bool(set(watch.glob(".step-*")) - before)
        if hit or time.monotonic() >= deadline:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.005)
    return False


def _final_weights(run: Path) -> dict:
    step = json.loads((run / "latest.json").read_text())["step"]
    return load_file(str(run / "checkpoints" / f"step-{step:08d}" / "model.safetensors"))


def chaos_pretrain(root: Path, kills: int, rng: random.Random) -> None:
    ref = root / "ref"
    subprocess.run(_cli("pretrain", *TRAIN, "--out", str(ref)), env=_env(), check=True,
                   capture_output=True)  # fmt: skip
    run = root / "chaos"
    done, corrupted, during_write = 0, False, 0
    while done < kills:
        watch = run / "checkpoints" if done % 3 == 2 else None
        proc = _start(_cli("pretrain", *TRAIN, "--out", str(run), "--resume"))
        if not _kill_after(proc, rng.uniform(3.0, 8.0), watch):
            break  # finished before the kill: start a fresh chaos round is not needed
        done += 1
        during_write += watch is not None
        if done == kills // 2 and not corrupted:  # one damaged checkpoint
            steps = sorted((run / "checkpoints").glob("step-*"))
            if steps:
                weights = steps[-1] / "model.safetensors"
                weights.write_bytes(weights.read_bytes()[:100])
                corrupted = True
    last = subprocess.run(_cli("pretrain", *TRAIN, "--out", str(run), "--resume"), env=_env(),
                          capture_output=True, text=True)  # fmt: skip
    steps = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    twice = len(steps) - len(set(steps))
    missing = sorted(set(range(10, 1501, 10)) - set(steps))
    a, b = _final_weights(ref), _final_weights(run)
    same = a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)
    skipped = last.stderr.count("skipped checkpoint")
    print(f"pretrain: {done} kills survived ({during_write} aimed at checkpoint writes), "
          f"{int(corrupted)} corrupted checkpoint; final exit {last.returncode}; metrics steps "
          f"logged twice {twice}, missing {len(missing)}; final weights equal the "
          f"uninterrupted run's: {same}")  # fmt: skip
    if skipped:
        print(f"  the last resume skipped {skipped} damaged checkpoint(s)")


def _rows(store: Path) -> dict[tuple, float]:
    con = sqlite3.connect(store)
    rows = con.execute(f"SELECT {KEY}, value FROM results").fetchall()
    con.close()
    return {r[:-1]: r[-1] for r in rows}


def chaos_study(root: Path, kills: int, rng: random.Random) -> None:
    spec = root / "chaos.toml"
    spec.write_text(STUDY)
    ref = root / "study-ref"
    subprocess.run(_cli("run", "--config", str(spec), "--out", str(ref)), env=_env(),
                   check=True, capture_output=True)  # fmt: skip
    out = root / "study-chaos"
    done = 0
    while done < kills:
        proc = _start(_cli("run", "--config", str(spec), "--out", str(out)))
        if not _kill_after(proc, rng.uniform(4.0, 12.0), None):
            break
        done += 1
    last = subprocess.run(_cli("run", "--config", str(spec), "--out", str(out)), env=_env(),
                          capture_output=True, text=True)  # fmt: skip
    a, b = _rows(ref / "results.sqlite"), _rows(out / "results.sqlite")
    con = sqlite3.connect(out / "results.sqlite")
    n_rows = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    con.close()
    lost = len(set(a) - set(b))
    duplicated = n_rows - len(b)
    same = a == b
    print(f"study: {done} kills survived; final exit {last.returncode}; rows {len(b)} of "
          f"{len(a)}: lost {lost}, duplicated {duplicated}; every (key, value) equals the "
          f"uninterrupted study's: {same}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="chaos-"))
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    t = time.perf_counter()
    chaos_pretrain(root, args.kills, rng)
    chaos_study(root, args.kills, rng)
    print(f"({time.perf_counter() - t:.0f} s, folder {root})")


if __name__ == "__main__":
    main()
