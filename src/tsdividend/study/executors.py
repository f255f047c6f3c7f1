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


class PoolExecutor:
    """A local process pool (``spawn`` start: safe with torch's thread pools).

    Args:
        fn: module-level job function (picklable).
        workers: processes (default: the CPU count).
    """

    def __init__(self, fn: Callable[[Any], Any], workers: int | None = None) -> None:
        self._fn = fn
        self.workers = workers or os.cpu_count() or 1
        ctx = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
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
    asking for ``cpus_per_job`` CPUs (and ``gpus_per_job`` GPUs); the workers must be able to
    import the same tsdividend version (a local instance inherits this environment; on a cluster
    install it on every node or pass a ``runtime_env``). Results come back to this process, which
    alone writes the store.

    Args:
        fn: module-level job function.
        workers: jobs in flight (default: the cluster's CPU count / ``cpus_per_job``).
        cpus_per_job, gpus_per_job: Ray resources of one job.
    """

    def __init__(
        self,
        fn: Callable[[Any], Any],
        workers: int | None = None,
        cpus_per_job: float = 1.0,
        gpus_per_job: float = 0.0,
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
        self._remote = ray.remote(num_cpus=cpus_per_job, num_gpus=gpus_per_job)(fn)
        self._running: dict[Any, Any] = {}

    def free(self) -> int:
        return self.workers - len(self._running)

    def busy(self) -> bool:
        return bool(self._running)

    def submit(self, job: Any) -> None:
        self._running[self._remote.remote(job)] = job

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
