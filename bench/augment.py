"""Speed of the batched DWT views against the reference per-sample PyWavelets loop.

Times one ``dwt_soft`` + one ``dwt_perturb`` view (the seed paper's DINO / LE-JEPA pair) on a
(128, 1, 336) batch, and the same work done as the reference code did it: per sample on the CPU,
``pywt.wavedec`` -> modify details -> ``pywt.waverec``. Prints milliseconds and the ratio, both
measured in this run; adds a CUDA line when a GPU is present.

Usage: ``python bench/augment.py [--batch 128] [--length 336] [--repeats 30]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import pywt
import torch

from tsdividend.augment import make_view


def reference_views(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The reference recipe: one pywt call chain per sample (soft threshold, then detail noise)."""
    soft, noisy = np.empty_like(x), np.empty_like(x)
    n_time = x.shape[-1]
    for b in range(x.shape[0]):
        coeffs = pywt.wavedec(x[b], "db4", level=3)
        shrunk = [coeffs[0]]
        for c in coeffs[1:]:
            thr = 0.3 * np.abs(c).max(axis=-1, keepdims=True)
            shrunk.append(np.sign(c) * np.maximum(np.abs(c) - thr, 0.0))
        soft[b] = pywt.waverec(shrunk, "db4")[..., :n_time]
        coeffs = pywt.wavedec(x[b], "db4", level=3)
        s = rng.uniform(0.1, 0.3)
        noisy_c = [coeffs[0]] + [c + rng.normal(0.0, s, c.shape) for c in coeffs[1:]]
        noisy[b] = pywt.waverec(noisy_c, "db4")[..., :n_time]
    return soft, noisy


def median_ms(fn: Callable[[], object], repeats: int, sync: Callable[[], None] = lambda: None):
    for _ in range(3):  # warm-up (filter caches, allocator, kernels)
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--length", type=int, default=336)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    x = torch.randn(args.batch, 1, args.length, generator=torch.Generator().manual_seed(0))
    soft_view, perturb_view = make_view("dwt_soft"), make_view("dwt_perturb")
    gen = torch.Generator().manual_seed(1)

    def ours(data: torch.Tensor, g: torch.Generator) -> None:
        soft_view(data, generator=g)
        perturb_view(data, generator=g)

    x_np, rng = x.numpy().astype(np.float32), np.random.default_rng(1)
    ref_ms = median_ms(lambda: reference_views(x_np, rng), args.repeats)
    cpu_ms = median_ms(lambda: ours(x, gen), args.repeats)
    shape = f"({args.batch}, 1, {args.length})"
    print(f"dwt_soft + dwt_perturb on {shape}, torch threads={torch.get_num_threads()}")
    print(f"  reference per-sample pywt loop (CPU): {ref_ms:8.2f} ms")
    ratio = ref_ms / cpu_ms
    print(f"  batched ptwt (CPU):                   {cpu_ms:8.2f} ms   speed-up {ratio:.1f}x")
    if torch.cuda.is_available():
        xc, gc = x.cuda(), torch.Generator(device="cuda").manual_seed(1)
        gpu_ms = median_ms(lambda: ours(xc, gc), args.repeats, torch.cuda.synchronize)
        print(
            f"  batched ptwt ({torch.cuda.get_device_name()}): {gpu_ms:8.2f} ms   "
            f"speed-up {ref_ms / gpu_ms:.1f}x"
        )


if __name__ == "__main__":
    main()
