"""Speed of the exact KernelSynth sampler against scikit-learn's ``sample_y`` (the reference).

Chronos' KernelSynth draws every series with
``GaussianProcessRegressor(kernel=k).sample_y(t[:, None], 1)``: a dense L x L kernel matrix and an
SVD per series. For series i the benchmark draws one composition from ``SeedSequence([seed, i])``
exactly as :func:`tsdividend.synth.sample_kernelsynth` does, then samples it both ways at L = 1024:

- reference: ``GaussianProcessRegressor(kernel=to_sklearn(k), optimizer=None).sample_y(...,
  random_state=i)`` on the first ``--ref-n`` compositions;
- ours: :func:`tsdividend.synth.sample_gp` on the same compositions from cold plan caches (mostly
  one-off planning when ``--ref-n`` is small), again with their plans cached (the per-series cost
  of exactly those kernels), and on ``--n`` compositions (including those) from cold caches, which
  is what a corpus writer sees.

Prints series/s and the ratios, all measured in this run (target: >= 100x).

Usage: ``python bench/synth.py [--length 1024] [--ref-n 20] [--n 1000] [--seed 0]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.gaussian_process import GaussianProcessRegressor

from tsdividend.synth.generate import rngs
from tsdividend.synth.gp import clear_plan_caches, sample_gp
from tsdividend.synth.kernels import random_kernel, to_sklearn


def compositions(seed: int, n: int) -> list:
    """(kernel, generator positioned after the composition draw) for series 0..n-1."""
    out = []
    for i in range(n):
        rng = rngs(seed, i)[0]  # the generator generate("kernelsynth", i, seed, L) uses
        out.append((random_kernel(rng, 5), rng))
    return out


def time_ours(items: list, length: int, cold: bool = True) -> float:
    if cold:
        clear_plan_caches()
    start = time.perf_counter()
    for kernel, rng in items:
        sample_gp(kernel, length, rng)
    return time.perf_counter() - start


def time_sklearn(items: list, length: int) -> tuple[float, int]:
    t = np.linspace(0.0, 1.0, length)[:, None]
    failures = 0
    start = time.perf_counter()
    for i, (kernel, _) in enumerate(items):
        gpr = GaussianProcessRegressor(kernel=to_sklearn(kernel, length), optimizer=None)
        try:
            gpr.sample_y(t, 1, random_state=i)
        except np.linalg.LinAlgError:  # Chronos retries these with a new composition
            failures += 1
    return time.perf_counter() - start, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=1024)
    parser.add_argument("--ref-n", type=int, default=20, help="series timed with scikit-learn")
    parser.add_argument("--n", type=int, default=1000, help="series timed with our sampler")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    same = compositions(args.seed, args.ref_n)
    ref_s, failures = time_sklearn(same, args.length)
    ours_same_s = time_ours(compositions(args.seed, args.ref_n), args.length)
    ours_warm_s = time_ours(compositions(args.seed, args.ref_n), args.length, cold=False)
    ours_many_s = time_ours(compositions(args.seed, args.n), args.length)

    ref_rate = args.ref_n / ref_s
    same_rate = args.ref_n / ours_same_s
    warm_rate = args.ref_n / ours_warm_s
    many_rate = args.n / ours_many_s
    print(f"KernelSynth at L={args.length}, seed {args.seed}")
    print(
        f"  sklearn sample_y   {ref_rate:10.1f} series/s  ({args.ref_n} series, "
        f"{failures} LinAlgError)"
    )
    print(f"  ours, same series  {same_rate:10.1f} series/s  (cold plan caches)")
    print(f"  ours, same series  {warm_rate:10.1f} series/s  (plans cached)")
    print(f"  ours, {args.n} series {many_rate:9.1f} series/s  (cold caches at start)")
    print(
        f"  speed-up on the same {args.ref_n} compositions: {same_rate / ref_rate:.0f}x cold, "
        f"{warm_rate / ref_rate:.0f}x with plans cached; over {args.n} series from a cold start: "
        f"{many_rate / ref_rate:.0f}x (target >= 100x)"
    )


if __name__ == "__main__":
    main()
