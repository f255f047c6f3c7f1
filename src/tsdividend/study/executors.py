"""Executors run study jobs; the runner alone decides what runs and writes the results.

A job is a picklable :class:`~tsdividend.study.jobs.PretrainJob` or
:class:`~tsdividend.study.jobs.EvalJob`; ``run_job`` turns it into its result in whatever process
the executor chooses. Every executor has the same two calls: ``submit(job)`` while ``free()`` is
positive, and ``collect()``, which blocks until at least one job has finished and yields
``(job, result, error)`` triples (exactly one of result / error is None). Only the parent process
touches the results store, so SQLite never sees concurrent writers.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

EXECUTORS = ("local", "pool", "ray")

Outcome = tuple[Any, Any, BaseException | None]


class LocalExecutor:
    """Runs each job in this process, one at a time, when it is collected."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self._fn = fn
        self._queue: deque[Any] = deque()

    def free(self) -> int:
        return 1 - len(self._queue)

    def busy(self) -> bool:
        return bool(self._queue)

    def submit(self, job: Any) -> None:
        self._queue.append(job)

    def collect(self) -> Iterator[Outcome]:
        job = self._queue.popleft()
        try:
            result = self._fn(job)
        except Exception as err:  # a failed cell is reported, the study goes on
            yield job, None, err
        else:
            yield job, result, None

    def close(self) -> None:
        self._queue.clear()


def visible_gpus() -> list[str]:
    """The CUDA devices this process may use, as ``CUDA_VISIBLE_DEVICES`` entries (none without
    CUDA); read from the variable when set, else counted by torch."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip() and d.strip() != "-1"]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


def _init_worker(counter: Any, gpus: list[str], threads: int) -> None:
    """Pool worker initializer (runs before the worker imports torch or numpy): worker ``i`` (in
    start order) sees GPU ``i mod len(gpus)`` only, and every thread pool (torch, BLAS, numba)
    gets ``threads`` threads, so the workers together do not oversubscribe the CPUs."""
    with counter.get_lock():
        i = counter.value
        counter.value += 1
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[i % len(gpus)]
    for var in THREAD_VARS:
        os.environ[var] = str(threads)


class PoolExecutor:
    """A local process pool (``spawn`` start: safe with torch's thread pools).

    With visible GPUs the workers are spread over them round-robin: each worker process sees one
    GPU (its ``CUDA_VISIBLE_DEVICES``), so cells on device "auto" or "cuda" use that one. Each
    worker's thread pools get ``cpu_count // workers`` threads (at least one).

    Args:
        fn: module-level job function (picklable).
        workers: processes (default: the CPU count).
        gpus: GPUs to spread the workers over (default :func:`visible_gpus`; ``[]`` = none).
    """

    def __init__(
        self, fn: Callable[[Any], Any], workers: int | None = None, gpus: list[str] | None = None
    ) -> None:
        self._fn = fn
        self.workers = workers or os.cpu_count() or 1
        self.gpus = visible_gpus() if gpus is None else list(gpus)
        ctx = multiprocessing.get_context("spawn")
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(ctx.Value("i", 0), self.gpus, threads),
        )
        self._running: dict[Future, Any] = {}

    def free(self) -> int:
        return self.workers - len(self._running)

    def busy(self) -> bool:
        return bool(self._running)

    def submit(self, job: Any) -> None:
        self._running[self._pool.submit(self._fn, job)] = job

    def collect(self) -> Iterator[Outcome]:
        done, _ = wait(list(self._running), return_when=FIRST_COMPLETED)
        for fut in done:
            job = self._running.pop(fut)
            err = fut.exception()
            yield job, (None if err else fut.result()), err

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor:
    """Ray tasks (optional extra ``tsdividend[ray]``): spreads cells over a Ray cluster.

    Connects to the cluster named by ``$RAY_ADDRESS`` (e.g. ``ray://head:10001`` or ``auto``)
    when set, else starts a local Ray instance with ``workers`` CPUs. Every job is a Ray task
    asking for ``cpus_per_job`` CPUs and, when the cluster has GPUs and the job may use one
    (device "auto" or "cuda"), GPUs: a whole one for a pretraining cell, ``eval_gpus`` of one for
    an evaluation cell (small models: several share a GPU); the workers must be able to
    import the same tsdividend version (a local instance inherits this environment; on a cluster
    install it on every node or pass a ``runtime_env``). Results come back to this process, which
    alone writes the store.

    Args:
        fn: module-level job function.
        workers: jobs in flight (default: the cluster's CPU count / ``cpus_per_job``).
        cpus_per_job: Ray CPUs of one job.
        eval_gpus: GPU fraction of an evaluation cell on a GPU cluster.
    """

    def __init__(
        self,
        fn: Callable[[Any], Any],
        workers: int | None = None,
        cpus_per_job: float = 1.0,
        eval_gpus: float = 0.25,
    ) -> None:
        try:
            import ray
        except ImportError as err:
            raise ValueError("executor 'ray' needs Ray: pip install 'tsdividend[ray]'") from err
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            address = os.environ.get("RAY_ADDRESS") or None
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address is None:
                kwargs["num_cpus"] = workers or os.cpu_count() or 1
            ray.init(address=address, **kwargs)
            self._started = True
        cluster_cpus = ray.cluster_resources().get("CPU", 1.0)
        self.workers = workers or max(1, int(cluster_cpus // cpus_per_job))
        self._remote = ray.remote(num_cpus=cpus_per_job)(fn)
        self._cluster_gpus = ray.cluster_resources().get("GPU", 0.0)
        self.eval_gpus = eval_gpus
        self._running: dict[Any, Any] = {}

    def gpus_for(self, job: Any) -> float:
        """GPUs a job asks Ray for (0 on a cluster without GPUs or for a CPU-only job)."""
        if not self._cluster_gpus or getattr(job, "device", "auto") == "cpu":
            return 0.0
        if getattr(job, "init", None) == "classical":  # MiniRocket, matrix profile ...: CPU
            return 0.0
        config = getattr(job, "config", None)  # a PretrainJob carries its TrainConfig
        if config is not None:
            return 0.0 if config.device == "cpu" else float(getattr(job, "nproc", 1))
        return self.eval_gpus

    def free(self) -> int:
        return self.workers - len(self._running)

    def busy(self) -> bool:
        return bool(self._running)

    def submit(self, job: Any) -> None:
        self._running[self._remote.options(num_gpus=self.gpus_for(job)).remote(job)] = job

    def collect(self) -> Iterator[Outcome]:
        done, _ = self._ray.wait(list(self._running), num_returns=1)
        for ref in done:
            job = self._running.pop(ref)
            try:
                result = self._ray.get(ref)
            except Exception as err:  # RayTaskError also subclasses the task's own error
                yield job, None, err
            else:
                yield job, result, None

    def close(self) -> None:
        for ref in self._running:
            self._ray.cancel(ref, force=True)
        self._running.clear()
        if self._started:
            self._ray.shutdown()


def make_executor(
    name: str, fn: Callable[[Any], Any], workers: int | None = None
) -> LocalExecutor | PoolExecutor | RayExecutor:
    """The executor called ``name`` (one of :data:`EXECUTORS`)."""
    if name == "local":
        return LocalExecutor(fn)
    if name == "pool":
        return PoolExecutor(fn, workers)
    if name == "ray":
        return RayExecutor(fn, workers)
    raise ValueError(f"executor {name!r} unknown; valid: {list(EXECUTORS)}")
