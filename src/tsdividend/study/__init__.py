"""The dividend study: a validated grid (spec), its cells as jobs, executors and the runner."""

from tsdividend.study.executors import (
    EXECUTORS,
    LocalExecutor,
    PoolExecutor,
    RayExecutor,
    make_executor,
)
from tsdividend.study.jobs import EvalJob, PretrainJob, expand_grid, run_job
from tsdividend.study.runner import RESULTS, StudyError, run_study
from tsdividend.study.spec import (
    TASKS,
    StudySpec,
    available_presets,
    load_spec,
)

__all__ = [
    "EXECUTORS",
    "RESULTS",
    "TASKS",
    "EvalJob",
    "LocalExecutor",
    "PoolExecutor",
    "PretrainJob",
    "RayExecutor",
    "StudyError",
    "StudySpec",
    "available_presets",
    "expand_grid",
    "load_spec",
    "make_executor",
    "run_job",
    "run_study",
]
