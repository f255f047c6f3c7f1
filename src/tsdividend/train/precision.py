"""Training precision: fp32, or bf16 autocast, and the measured choice between them ("auto").

bf16 autocast runs matmuls in bf16 with fp32 master weights and fp32 optimiser state. It pays
where the hardware has bf16 matmul units (CUDA GPUs from Ampere on, Intel CPUs with AMX); on a CPU
without them (AVX2 or AVX-512 without BF16) it is emulated and much slower than fp32, and ``auto``
stays in fp32 without timing (:func:`native_bf16`). Where the units exist ``auto`` does not
assume they win: it times the run's own training step (forward + backward of the
objective on a first batch, on a throwaway copy of the model so the run's state is untouched) in
both precisions and keeps bf16 only when its step takes at most :data:`BF16_MARGIN` of fp32's.
The choice and the timings are written to the run meta, and a resumed run reuses the saved
choice, so it never changes mid-run.

The loss curve under bf16 stays close to fp32's: tests/train/test_train_precision.py trains the
same run for 500 steps in both and bounds the gap of the smoothed curves by
:data:`CURVE_TOLERANCE`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

PRECISIONS = ("auto", "fp32", "bf16")

# bf16 is chosen only when its step takes at most this fraction of the fp32 step: a 10% margin
# keeps timing noise from flipping the choice when both are equally fast.
BF16_MARGIN = 0.9

# Steps shorter than this stay in fp32 without timing bf16: a tiny model gains nothing worth having,
# and at millisecond scale the machine's load, not the precision, would decide the choice.
MIN_STEP_S = 0.02

# Largest relative gap, at any step, between the 50-step moving averages of the bf16 and fp32
# loss curves of the same run (the tested tolerance; docs/training.md).
CURVE_TOLERANCE = 0.05


@dataclass(frozen=True)
class PrecisionChoice:
    """What a run trains in and why.

    Attributes:
        precision: "fp32" or "bf16".
        requested: the config's value ("auto", "fp32" or "bf16").
        fp32_s: measured seconds of one fp32 step (auto only, else None).
        bf16_s: measured seconds of one bf16 step (auto only, else None).
        reason: one sentence.
    """

    precision: str
    requested: str
    fp32_s: float | None = None
    bf16_s: float | None = None
    reason: str = ""

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 autocast can run on ``device`` at all (CPUs always can, perhaps emulated)."""
    return device.type != "cuda" or torch.cuda.is_bf16_supported()


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` has bf16 matmul hardware: a CUDA GPU with bf16, or a CPU whose
    ``/proc/cpuinfo`` flags list ``avx512_bf16`` or ``amx_bf16``. Elsewhere bf16 is emulated,
    many times slower, and ``auto`` does not time it: timing noise on tiny models could
    otherwise pick it at random, and the run's numbers would depend on the machine's load."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast(precision: str, device: torch.device) -> AbstractContextManager[object]:
    """The autocast context of a resolved precision ("fp32" = none)."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    if precision != "fp32":
        raise ValueError(f"resolved precision must be 'fp32' or 'bf16', got {precision!r}")
    return nullcontext()


def seconds_per_call(fn: Callable[[], None], device: torch.device, repeats: int = 3) -> float:
    """Median seconds of ``repeats`` calls of ``fn`` after one untimed warm-up call."""
    times = []
    for i in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def choose_precision(
    requested: str,
    device: torch.device,
    measure: Callable[[str], float],
    margin: float = BF16_MARGIN,
    native: bool | None = None,
) -> PrecisionChoice:
    """Resolve ``requested`` to "fp32" or "bf16".

    Args:
        requested: "auto", "fp32" or "bf16".
        device: the training device.
        measure: precision -> seconds of one training step in it (called for "auto" only).
        margin: bf16 is chosen when ``bf16_s <= margin * fp32_s``.
        native: whether the device has bf16 hardware (default :func:`native_bf16`); "auto"
            measures only where it has.

    Raises:
        ValueError: unknown ``requested``, or "bf16" on a CUDA device without bf16.
    """
    if requested not in PRECISIONS:
        raise ValueError(f"precision {requested!r} unknown; valid: {list(PRECISIONS)}")
    if requested == "fp32":
        return PrecisionChoice("fp32", requested, reason="requested")
    if requested == "bf16":
        if not bf16_supported(device):
            raise ValueError(f"precision 'bf16' requested but {device} does not support bf16")
        return PrecisionChoice("bf16", requested, reason="requested")
    if not (native_bf16(device) if native is None else native):
        return PrecisionChoice("fp32", requested, reason=f"{device} has no bf16 hardware")
    fp32_s = measure("fp32")
    if fp32_s < MIN_STEP_S:
        reason = f"fp32 step {fp32_s * 1e3:.1f} ms: too short for bf16 to pay"
        return PrecisionChoice("fp32", requested, fp32_s, None, reason)
    bf16_s = measure("bf16")
    faster = bf16_s <= margin * fp32_s
    reason = f"bf16 step {bf16_s * 1e3:.1f} ms vs fp32 {fp32_s * 1e3:.1f} ms: " + (
        "bf16 is faster" if faster else f"bf16 is not below {margin:.0%} of fp32"
    )
    return PrecisionChoice("bf16" if faster else "fp32", requested, fp32_s, bf16_s, reason)
