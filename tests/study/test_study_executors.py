"""Executors and GPUs: the pool spreads its workers over the visible GPUs, Ray asks for GPUs
only for cells that can use one."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from tsdividend.study.executors import (
    THREAD_VARS,
    PoolExecutor,
    RayExecutor,
    _init_worker,
    visible_gpus,
)


def _visible(_: int) -> str:
    import torch

    return f"{os.environ.get('CUDA_VISIBLE_DEVICES', '')} {torch.get_num_threads()}"


def test_a_pool_worker_sees_only_its_gpu() -> None:
    pool = PoolExecutor(_visible, workers=1, gpus=["7"])
    try:
        pool.submit(0)
        [(_, seen, err)] = list(pool.collect())
    finally:
        pool.close()
    assert err is None and seen == f"7 {os.cpu_count()}"  # one worker: every CPU


def test_workers_are_spread_round_robin(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # restored after the test
    counter = multiprocessing.get_context("spawn").Value("i", 0)
    seen = []
    for var in THREAD_VARS:
        monkeypatch.setenv(var, "")
    for _ in range(5):
        _init_worker(counter, ["3", "5"], 2)
        seen.append(os.environ["CUDA_VISIBLE_DEVICES"])
    assert {os.environ[v] for v in THREAD_VARS} == {"2"}
    assert seen == ["3", "5", "3", "5", "3"]


def test_pool_without_gpus_leaves_the_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_gpus() == []
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0, 2")
    assert visible_gpus() == ["0", "2"]


def _ray_on(gpus: float) -> RayExecutor:
    ray = object.__new__(RayExecutor)  # the resource rule only; no Ray cluster needed
    ray._cluster_gpus, ray.eval_gpus = gpus, 0.25
    return ray


def test_ray_requests_gpus_for_gpu_cells_only() -> None:
    pretrain = SimpleNamespace(config=SimpleNamespace(device="auto"), nproc=2)
    on_cpu = SimpleNamespace(config=SimpleNamespace(device="cpu"), nproc=1)
    probe = SimpleNamespace(init="pretrained", device="auto")
    minirocket = SimpleNamespace(init="classical", device="auto")
    pinned = SimpleNamespace(init="random", device="cpu")
    gpu = _ray_on(8.0)
    assert [gpu.gpus_for(j) for j in (pretrain, on_cpu, probe, minirocket, pinned)] == [
        2.0, 0.0, 0.25, 0.0, 0.0,
    ]  # fmt: skip
    assert _ray_on(0.0).gpus_for(pretrain) == 0.0 and _ray_on(0.0).gpus_for(probe) == 0.0
