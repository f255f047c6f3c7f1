"""The cells of a study as picklable jobs, and the function that runs one job in any process.

Pretraining jobs are keyed by the hash of their resolved :class:`TrainConfig` and write only
their own folder ``OUT/encoders/<hash>/``; evaluation jobs return result rows and write nothing
(the parent process stores them), so jobs can run in any order and in any process.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tsdividend.atomic import write_json
from tsdividend.config import config_hash, to_dict
from tsdividend.data import Dataset, load_dataset
from tsdividend.encoder import EncoderConfig
from tsdividend.results.row import BASELINE_OF
from tsdividend.study.spec import StudySpec, resolve_datasets
from tsdividend.tasks.base import EncoderLike, EncoderUnderTest
from tsdividend.tasks.baselines import BASELINES, run_baseline
from tsdividend.tasks.external import ExternalEncoder
from tsdividend.tasks.registry import TASKS
from tsdividend.train.launch import RESULT_FILE
from tsdividend.train.trainer import TrainConfig, train

DONE_MARK = "study_done.json"  # written once a pretraining cell has finished all its steps


@dataclass(frozen=True)
class PretrainJob:
    """One pretraining cell: its resolved config and where it trains."""

    key: str
    encoder_id: str
    config: TrainConfig
    folder: str
    pretrain_size: int  # synthetic corpus size in series; 0 = the unbounded stream
    nproc: int = 1  # > 1: torchrun data parallelism over this many processes


@dataclass(frozen=True)
class EvalJob:
    """One evaluation cell (``cell`` holds the store's CELL fields, its ``encoder_id`` the id
    every row of the cell carries).

    ``init`` is "pretrained" (``encoder_dir`` is its folder and ``needs`` the pretraining key),
    "random"/"scratch" (``encoder_config`` gives the architecture) or "classical"
    (``baseline`` names it). An external encoder's cells (any init but classical) carry its
    ``external = (name, factory)``.
    """

    cell: dict[str, Any]
    init: str
    eval_config: Any = None
    encoder_dir: str | None = None
    encoder_config: EncoderConfig | None = None
    baseline: str | None = None
    needs: str | None = None
    data_dir: str | None = None
    device: str = "auto"
    external: tuple[str, str] | None = None


def expand_grid(
    spec: StudySpec, out: Path, data_dir: str | None = None
) -> tuple[list[PretrainJob], list[EvalJob]]:
    """Every pretraining and evaluation cell of ``spec`` (pretraining cells deduplicated by
    config hash; evaluation cells in a stable order)."""
    pretrain: dict[str, PretrainJob] = {}
    evals: list[EvalJob] = []
    archs = [(tok, depth) for tok in spec.tokenizers for depth in spec.depths]
    task_data = resolve_datasets(spec, data_dir)

    def cells(encoder_id: str, seed: int, **kw: Any) -> list[EvalJob]:
        return [
            EvalJob(
                cell={
                    "study": spec.name,
                    "encoder_id": encoder_id,
                    "task": task,
                    "dataset": ds,
                    "regime": regime,
                    "seed": seed,
                },
                eval_config=spec.eval_config(task, regime),
                data_dir=data_dir,
                device=spec.device,
                **kw,
            )  # fmt: skip
            for task in spec.tasks
            for ds in task_data[task]
            for regime in spec.regimes_for(task)
            if kw["init"] == "pretrained" or BASELINE_OF[regime] == kw["init"]
        ]

    for objective in spec.objectives:
        for tok, depth in archs:
            for source in spec.pretrain_sources:
                for size in spec.sizes():
                    for seed in spec.seeds:
                        for steps in spec.steps_axis():
                            cfg = spec.train_config(objective, tok, depth, source, size, seed,
                                                    data_dir, steps=steps)  # fmt: skip
                            key = config_hash(cfg)
                            job = PretrainJob(key, f"{objective}-{key}", cfg,
                                              str(out / "encoders" / key), size,
                                              spec.nproc_per_node)  # fmt: skip
                            if key in pretrain:
                                continue
                            pretrain[key] = job
                            evals += cells(job.encoder_id, seed, init="pretrained",
                                           encoder_dir=job.folder, needs=key)  # fmt: skip
    for tok, depth in archs:
        for seed in spec.seeds:
            for init in BASELINE_OF.values():
                eid = init if len(archs) == 1 else f"{init}-{tok}-d{depth}"
                evals += cells(eid, seed, init=init, encoder_config=spec.encoder_config(tok, depth))
    for entry in spec.encoders:
        ext = ExternalEncoder(entry["name"], entry["factory"])
        inits = ["pretrained", *(BASELINE_OF.values() if ext.has_baselines else ())]
        for seed in spec.seeds:
            for init in inits:
                eid = ext.baseline(init).row_fields()["encoder_id"]
                evals += cells(eid, seed, init=init, external=(ext.name, ext.factory))
    for name in spec.baselines:
        task = BASELINES.get(name).task
        if task not in spec.tasks:
            continue
        for ds in task_data[task]:
            for seed in spec.seeds:
                cell = {"study": spec.name, "encoder_id": name, "task": task, "dataset": ds,
                        "regime": "classical", "seed": seed}  # fmt: skip
                evals.append(
                    EvalJob(
                        cell,
                        "classical",
                        baseline=name,
                        data_dir=data_dir,
                        eval_config=spec.eval_config(task, "probe"),
                    )
                )
    return list(pretrain.values()), evals


def _train_data_parallel(job: PretrainJob) -> dict[str, Any]:
    """Train ``job`` with ``torchrun --nproc-per-node job.nproc`` (gloo on CPU, nccl on GPUs;
    the global batch and the weights equal a one-process run with ``grad_accum = nproc``)."""
    folder = Path(job.folder)
    config = folder / "study_train_config.json"
    write_json(config, to_dict(dataclasses.replace(job.config, grad_accum=1)))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc-per-node={job.nproc}", "-m", "tsdividend.train.launch", str(config),
           str(folder)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"torchrun pretraining of {job.encoder_id} failed "
                           f"(exit {done.returncode}): {' | '.join(tail)}")  # fmt: skip
    return json.loads((folder / RESULT_FILE).read_text())


def is_trained(job: PretrainJob) -> bool:
    return (Path(job.folder) / DONE_MARK).is_file()


@lru_cache(maxsize=8)
def _dataset(name: str, data_dir: str | None, task: str) -> Dataset:
    return load_dataset(name, data_dir, task=TASKS.get(task).data_task)


def run_job(job: PretrainJob | EvalJob) -> Any:
    """Run one job in this process: train (resuming a partial run) or evaluate one cell."""
    if isinstance(job, PretrainJob):
        if not is_trained(job):
            if job.nproc > 1:
                result = _train_data_parallel(job)
            else:
                result = train(job.config, job.folder, resume=True, progress=False).to_json()
            write_json(Path(job.folder) / DONE_MARK, {"config_hash": job.key, **result})
        return job.key
    cell = job.cell
    dataset = _dataset(cell["dataset"], job.data_dir, cell["task"])
    if job.init == "classical":
        assert job.baseline is not None
        rows = run_baseline(
            job.baseline,
            cell["task"],
            dataset,
            cell["seed"],
            **shared_metric_options(job.baseline, job.eval_config),
        )
    else:
        eid = cell["encoder_id"]
        encoder: EncoderLike
        if job.external is not None:
            encoder = ExternalEncoder(*job.external, init=job.init, encoder_id=eid)
        elif job.init == "pretrained":
            encoder = EncoderUnderTest.from_arg(str(job.encoder_dir), encoder_id=eid)
        else:
            encoder = EncoderUnderTest(job.init, job.encoder_config or EncoderConfig(),
                                       encoder_id=eid)  # fmt: skip
        evaluate = TASKS.get(cell["task"]).evaluator()
        rows = evaluate(encoder, dataset, job.eval_config, cell["seed"], device=job.device)
    return [dataclasses.replace(row, study=cell["study"]) for row in rows]


# Metric settings a classical reference takes from its task's protocol config, so that the
# reference and the encoders are scored by the same rule (UCR tolerance, VUS buffer).
SHARED_METRIC_FIELDS = ("tolerance", "vus_buffer", "vus_max_window")


def shared_metric_options(baseline: str, eval_config: Any) -> dict[str, Any]:
    """The :data:`SHARED_METRIC_FIELDS` that both the baseline's config and ``eval_config``
    (the study's protocol config of the baseline's task) have, with the protocol's values."""
    if eval_config is None:
        return {}
    mine = {f.name for f in dataclasses.fields(BASELINES.get(baseline).config_cls)}
    return {name: getattr(eval_config, name) for name in SHARED_METRIC_FIELDS
            if name in mine and hasattr(eval_config, name)}  # fmt: skip


def describe_jobs(pretrain: list[PretrainJob], evals: list[EvalJob]) -> dict[str, Any]:
    """Summary for ``study.json``: the encoder cells and their configs."""
    return {
        "encoders": {j.key: {"encoder_id": j.encoder_id, "pretrain_size": j.pretrain_size,
                             "train_config": to_dict(j.config)} for j in pretrain},
        "n_eval_cells": len(evals),
    }  # fmt: skip
