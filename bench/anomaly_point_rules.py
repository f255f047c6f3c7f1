"""Where do matrix-profile point scores put a planted discord? (docs/protocols.md, "Matrix profile")

Synthetic series only (no benchmark data, no study score): a sine of period 50 with noise 0.05,
a normal prefix of 2,000 steps, T = 5,000, and one planted discord of length L in {5, 20, 60,
150} of five kinds (flat, doubled frequency, bump, level shift, noise burst) at a random place
in [3000, 4000). Subsequence scores without stumpy: each subsequence's smallest z-normalised
distance to the subsequences 1..8 periods earlier (for a periodic series the nearest earlier
neighbour is a whole number of periods back: the left matrix profile on those candidates).
For each window m it prints, over the 20 series, how often the argmax of the point scores lies
inside the discord and within 100 steps of it (the UCR tolerance), and the median signed offset
from the discord's centre, for three subsequence -> point rules: ``max`` (the replaced rule),
``centre`` (TSB-UAD) and ``mean`` (the default).

Run: ``python bench/anomaly_point_rules.py`` (10-20 s on one core).
"""

from __future__ import annotations

import numpy as np

from tsdividend.tasks.baselines.matrix_profile import pair_distances, point_scores

KINDS = ("flat", "frequency", "bump", "shift", "noise")
LENGTHS = (5, 20, 60, 150)
T, N_TRAIN, PERIOD = 5000, 2000, 50


def max_over_covering(sub: np.ndarray, m: int) -> np.ndarray:
    """The replaced rule: a point gets the max over the subsequences covering it."""
    pad = np.full(m - 1, -np.inf)
    return np.lib.stride_tricks.sliding_window_view(np.concatenate([pad, sub, pad]), m).max(1)


def planted(kind: str, length: int, rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    """One noisy sine with a discord of ``kind`` at a random ``[b, b + length)``."""
    t = np.arange(T)
    x = np.sin(2 * np.pi * t / PERIOD) + 0.05 * rng.normal(size=T)
    b = int(rng.integers(3000, 4000))
    e = b + length
    if kind == "flat":
        x[b:e] = 0.0
    elif kind == "frequency":
        x[b:e] = np.sin(2 * np.pi * t[b:e] / (PERIOD / 2))
    elif kind == "bump":
        x[b:e] += 1.5 * np.hanning(length)
    elif kind == "shift":
        x[b:e] += 3.0
    else:
        x[b:e] += 0.5 * rng.normal(size=length)
    return x, b, e


def main() -> None:
    rng = np.random.default_rng(0)
    print("m    rule    inside  within100  median offset from centre")
    for m in (100, 200, 400):
        found: dict[str, list[tuple[int, float]]] = {"max": [], "centre": [], "mean": []}
        for kind in KINDS:
            for length in LENGTHS:
                x, b, e = planted(kind, length, rng)
                scored = np.arange(N_TRAIN - m + 1, T - m + 1)
                near = [pair_distances(x, scored, scored - k * PERIOD, m) for k in range(1, 9)]
                sub = np.full(T - m + 1, -np.inf)
                sub[scored] = np.min(near, axis=0)
                rules = {
                    "max": max_over_covering(sub, m),
                    "centre": point_scores(sub, m, "centre"),
                    "mean": point_scores(sub, m, "mean"),
                }
                for name, points in rules.items():
                    top = int(np.argmax(points[N_TRAIN:])) + N_TRAIN
                    gap = 0 if b <= top < e else (b - top if top < b else top - e + 1)
                    found[name].append((gap, top - (b + e - 1) / 2))
        for name, res in found.items():
            gap = np.array([g for g, _ in res])
            off = np.array([o for _, o in res])
            print(f"{m:<4} {name:<7} {np.mean(gap == 0):.2f}    {np.mean(gap <= 100):.2f}"
                  f"       {np.median(off):+.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
