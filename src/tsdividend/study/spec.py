"""The study spec: the grid of a dividend study, validated, from TOML or a preset name.

A study crosses objectives x tokenizers x depths x pretraining data (source and size) x seeds
with tasks x datasets x regimes. One pretraining cell = one (objective, tokenizer, depth, source,
size, seed), resolved into a :class:`~tsdividend.train.TrainConfig`; each pretrained encoder is
evaluated at its own seed, next to the random-init (probe) and from-scratch (fine-tune) baselines
of the same architecture and the classical references of each task.

Presets are TOML files shipped in ``tsdividend/study/presets/`` (``quick``, ``paper``,
``depth``, ``origin``, ``scale``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from tsdividend.config import ConfigError, check_int, from_dict, load_toml, to_dict
from tsdividend.data import list_datasets, resolve_data_dir
from tsdividend.encoder import EncoderConfig
from tsdividend.objectives import OBJECTIVES
from tsdividend.tasks.anomaly import AnomalyConfig
from tsdividend.tasks.baselines import BASELINES
from tsdividend.tasks.classification import ClassificationConfig
from tsdividend.tasks.clustering import ClusteringConfig
from tsdividend.tasks.forecasting import ForecastingConfig
from tsdividend.tokenizer import TOKENIZERS
from tsdividend.train.sources import SOURCES
from tsdividend.train.trainer import OptimConfig

TASKS = ("classification", "anomaly", "forecasting", "clustering")
TASK_CONFIGS: dict[str, type] = {
    "classification": ClassificationConfig,
    "anomaly": AnomalyConfig,
    "forecasting": ForecastingConfig,
    "clustering": ClusteringConfig,
}
STUDY_REGIMES = ("probe", "finetune")
# the Dataset.task each study task reads (clustering clusters labelled classification data)
DATA_TASK = {"classification": "classification", "anomaly": "anomaly",
             "forecasting": "forecasting", "clustering": "classification"}  # fmt: skip
PRESET_DIR = Path(__file__).resolve().parent / "presets"  # shipped in the wheel


def _names(where: str, values: tuple, valid: list[str] | tuple[str, ...]) -> None:
    if not values:
        raise ConfigError(f"{where} must not be empty; valid: {list(valid)}")
    for v in values:
        if v not in valid:
            raise ConfigError(f"{where}: {v!r} unknown; valid: {list(valid)}")
    if len(set(values)) != len(values):
        raise ConfigError(f"{where} has duplicates: {list(values)}")


@dataclass(frozen=True)
class Schedule:
    """The pretraining schedule and the shared encoder shape of every cell.

    Attributes:
        steps, batch_size: optimiser steps and global batch (the default pretraining size is
            ``steps * batch_size`` samples).
        context: pretraining window length in steps.
        d_model, n_heads, patch_len, stride, dropout: encoder shape (depth and tokenizer are grid
            axes).
        lr, weight_decay, warmup_frac: AdamW settings (``tsdividend.train.OptimConfig``).
        synth_kind: synthetic generator ("kernelsynth" or "lmc").
        real_datasets: datasets whose train splits form the real corpus (empty = all available).
        synthetic_ratio: synthetic share of the "mix" source.
        checkpoint_every: steps between checkpoints (what a killed study resumes from).
        device: "auto", "cpu" or "cuda", for pretraining and evaluation.
        nproc_per_node: processes per pretraining cell; > 1 runs it under ``torchrun``
            (data parallel: one GPU each, or gloo processes on a CPU). The cell's config is
            its one-process equivalent, ``grad_accum = nproc_per_node`` (same global batch,
            same shards, same weights up to summation order), and so is its hash.
    """

    steps: int = 200
    batch_size: int = 32
    context: int = 336
    d_model: int = 64
    n_heads: int = 4
    patch_len: int = 16
    stride: int = 16
    dropout: float = 0.1
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_frac: float = 0.05
    synth_kind: str = "kernelsynth"
    real_datasets: tuple[str, ...] = ()
    synthetic_ratio: float = 0.5
    checkpoint_every: int = 100
    device: str = "auto"
    nproc_per_node: int = 1

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "context", "d_model", "n_heads", "patch_len",
                     "stride", "checkpoint_every", "nproc_per_node"):  # fmt: skip
            check_int(f"schedule.{name}", getattr(self, name), 1)
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"schedule.device {self.device!r} unknown; valid: auto, cpu, cuda")


@dataclass(frozen=True)
class StudySpec:
    """A dividend study (see the module docstring); every field is checked on construction.

    Attributes:
        name: study name, written into every row's ``study``.
        objectives: pretraining objectives (``OBJECTIVES.names()``).
        tokenizers: tokenizers (``TOKENIZERS.names()``).
        depths: transformer depths.
        pretrain_sources: "synthetic", "real" and/or "mix".
        corpus_sizes: sizes of the synthetic pretraining corpus in distinct series
            (``DataConfig.synth_corpus_size``), each trained for the same ``schedule.steps``;
            empty = the unbounded stream (a fresh series for every sample). Not with the
            "real" source, whose corpus is the datasets' train splits.
        seeds: pretraining and evaluation seeds (encoder seed s is evaluated at seed s).
        tasks: downstream tasks.
        datasets: task -> dataset names or glob patterns such as ``"ucr/*"`` (every task in
            ``tasks`` needs an entry, which may be empty).
        datasets_with_data_dir: task -> names or patterns added when a data dir is given.
        regimes: "probe" and/or "finetune".
        task_regimes: task -> regimes, overriding ``regimes`` for that task.
        baselines: classical references (``BASELINES.names()``), each run on its task's datasets.
        schedule: :class:`Schedule`.
        objective_options: objective -> its ``objective_options``.
        objective_optim: objective -> fields of its ``OptimConfig`` over the schedule's
            (e.g. the seed paper's per-objective learning rates).
        eval: task -> fields of its ``<Task>Config`` (``regime`` is set by the grid).
    """

    name: str
    objectives: tuple[str, ...]
    tasks: tuple[str, ...]
    datasets: dict[str, Any]
    tokenizers: tuple[str, ...] = ("patch",)
    depths: tuple[int, ...] = (4,)
    pretrain_sources: tuple[str, ...] = ("synthetic",)
    corpus_sizes: tuple[int, ...] = ()
    seeds: tuple[int, ...] = (0,)
    datasets_with_data_dir: dict[str, Any] = field(default_factory=dict)
    regimes: tuple[str, ...] = ("probe",)
    task_regimes: dict[str, Any] = field(default_factory=dict)
    baselines: tuple[str, ...] = ()
    schedule: Schedule = field(default_factory=Schedule)
    objective_options: dict[str, Any] = field(default_factory=dict)
    objective_optim: dict[str, Any] = field(default_factory=dict)
    eval: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"name must be a non-empty string, got {self.name!r}")
        _names("objectives", self.objectives, OBJECTIVES.names())
        _names("tokenizers", self.tokenizers, TOKENIZERS.names())
        _names("pretrain_sources", self.pretrain_sources, SOURCES)
        _names("tasks", self.tasks, TASKS)
        _names("regimes", self.regimes, STUDY_REGIMES)
        for name, values in (("depths", self.depths), ("seeds", self.seeds)):
            if not values or len(set(values)) != len(values):
                raise ConfigError(f"{name} must be non-empty without duplicates, got {values}")
        for d in self.depths:
            check_int("depths", d, 1)
        for s in self.seeds:
            check_int("seeds", s, 0)
        for n in self.corpus_sizes:
            check_int("corpus_sizes", n, 1)
        if len(set(self.corpus_sizes)) != len(self.corpus_sizes):
            raise ConfigError(f"corpus_sizes has duplicates: {list(self.corpus_sizes)}")
        if self.corpus_sizes and "real" in self.pretrain_sources:
            raise ConfigError("corpus_sizes bounds the synthetic corpus; pretrain_sources 'real' "
                              "has none (use 'synthetic' or 'mix')")  # fmt: skip
        self._check_task_tables()
        for b in self.baselines:
            if b not in BASELINES.names():
                raise ConfigError(f"baselines: {b!r} unknown; valid: {BASELINES.names()}")
        for where, table in (("objective_options", self.objective_options),
                             ("objective_optim", self.objective_optim)):  # fmt: skip
            for key, opts in table.items():
                if key not in self.objectives or not isinstance(opts, dict):
                    raise ConfigError(
                        f"{where}: {key!r} must be one of the study's objectives "
                        f"{list(self.objectives)} with a table value"
                    )
        for objective in self.objectives:
            self.optim_config(objective)
        for task in TASKS:
            for regime in STUDY_REGIMES:
                self.eval_config(task, regime)  # validates the overrides now, not mid-study
        for tok in self.tokenizers:
            for depth in self.depths:
                self.encoder_config(tok, depth)

    def _check_task_tables(self) -> None:
        tables = (("datasets", self.datasets), ("datasets_with_data_dir",
                  self.datasets_with_data_dir), ("task_regimes", self.task_regimes),
                  ("eval", self.eval))  # fmt: skip
        for where, table in tables:
            if not isinstance(table, dict):
                raise ConfigError(f"{where} must be a table task -> value, got {table!r}")
            for task in table:
                if task not in TASKS:
                    raise ConfigError(f"{where}: task {task!r} unknown; valid: {list(TASKS)}")
        missing = [t for t in self.tasks if t not in self.datasets]
        if missing:
            raise ConfigError(f"datasets has no entry for task(s) {missing} (use [] for none)")
        for where, table in (("datasets", self.datasets),
                             ("datasets_with_data_dir", self.datasets_with_data_dir)):  # fmt: skip
            for task, names in table.items():
                if not isinstance(names, (list, tuple)) or not all(
                    isinstance(n, str) for n in names
                ):
                    raise ConfigError(f"{where}.{task} must be a list of dataset names")
        for task, regimes in self.task_regimes.items():
            _names(f"task_regimes.{task}", tuple(regimes), STUDY_REGIMES)

    # --- resolution -------------------------------------------------------------------------

    def eval_config(self, task: str, regime: str) -> Any:
        """The task's protocol config with the spec's overrides, at ``regime``."""
        overrides = dict(self.eval.get(task, {}))
        if "regime" in overrides:
            raise ConfigError(f"eval.{task}.regime is set by the grid; use regimes/task_regimes")
        return from_dict(TASK_CONFIGS[task], {**overrides, "regime": regime}, where=f"eval.{task}")

    def task_datasets(self, task: str, with_data_dir: bool) -> list[str]:
        """Datasets of ``task`` (plus the data-dir extras when a data dir is given)."""
        names = list(self.datasets.get(task, ()))
        if with_data_dir:
            names += [n for n in self.datasets_with_data_dir.get(task, ()) if n not in names]
        return names

    def regimes_for(self, task: str) -> tuple[str, ...]:
        return tuple(self.task_regimes.get(task, self.regimes))

    def encoder_config(self, tokenizer: str, depth: int) -> EncoderConfig:
        s = self.schedule
        n_tokens = -(-max(s.context - s.patch_len, 0) // s.stride) + 2  # patches + CLS
        try:
            return EncoderConfig(tokenizer=tokenizer, patch_len=s.patch_len, stride=s.stride,
                                 d_model=s.d_model, depth=depth, n_heads=s.n_heads,
                                 dropout=s.dropout, max_len=max(512, n_tokens))  # fmt: skip
        except (TypeError, ValueError) as err:
            raise ConfigError(f"encoder ({tokenizer}, depth {depth}): {err}") from err

    def optim_config(self, objective: str) -> OptimConfig:
        """The schedule's AdamW settings with ``objective_optim[objective]`` over them."""
        s = self.schedule
        base = {"lr": s.lr, "weight_decay": s.weight_decay, "warmup_frac": s.warmup_frac}
        return from_dict(OptimConfig, {**base, **self.objective_optim.get(objective, {})},
                         where=f"objective_optim.{objective}")  # fmt: skip

    def sizes(self) -> tuple[int, ...]:
        """Synthetic corpus sizes to pretrain on (0 = the unbounded stream)."""
        return self.corpus_sizes or (0,)


def _is_pattern(name: str) -> bool:
    return any(c in name for c in "*?[")


def resolve_datasets(spec: StudySpec, data_dir: str | Path | None) -> dict[str, list[str]]:
    """task -> dataset names of the study, with glob patterns (``"ucr/*"``, ``"anomaly/ucr/0*"``)
    expanded to the matching datasets available for that task (in the data root, or shipped
    with aeon / tsdividend), in sorted order; the data-dir extras only when ``data_dir`` is given.

    Raises:
        ConfigError: a pattern matches no available dataset.
    """
    listing: list[dict[str, Any]] | None = None
    out: dict[str, list[str]] = {}
    for task in spec.tasks:
        names: list[str] = []
        for entry in spec.task_datasets(task, data_dir is not None):
            hits = [entry]
            if _is_pattern(entry):
                if listing is None:
                    listing = [r for r in list_datasets(data_dir) if r["available"]]
                hits = sorted(
                    r["name"]
                    for r in listing
                    if r["task"] == DATA_TASK[task] and fnmatchcase(r["name"], entry)
                )
                if not hits:
                    raise ConfigError(
                        f"datasets of {task}: pattern {entry!r} matches no "
                        f"available dataset in {resolve_data_dir(data_dir)}"
                    )
            names += [h for h in hits if h not in names]
        out[task] = names
    return out  # fmt: skip


def unavailable_datasets(names: Iterable[str], data_dir: str | Path | None) -> list[str]:
    """The ``names`` that cannot be loaded here (not in the data root, not shipped), sorted."""
    available = {r["name"] for r in list_datasets(data_dir) if r["available"]}
    return sorted({n for n in names if n not in available})


def load_spec(source: str | Path, overrides: dict[str, Any] | None = None) -> StudySpec:
    """A spec from a preset name (``tsdividend/study/presets/<name>.toml``) or a TOML file path.

    Args:
        source: preset name (``available_presets()``) or a path to a ``.toml`` file.
        overrides: dotted-path assignments applied afterwards (``{"schedule.steps": 50}``).

    Raises:
        ConfigError: unknown preset (listing the valid ones), unknown key or bad value.
    """
    path = Path(source)
    if not (path.suffix == ".toml" or path.exists()):
        path = PRESET_DIR / f"{source}.toml"
        if not path.is_file():
            raise ConfigError(f"study preset {source!r} unknown; valid: {available_presets()} "
                              "(or a path to a .toml file)")  # fmt: skip
    spec = load_toml(StudySpec, path)
    if overrides:
        data = to_dict(spec)
        for dotted, value in overrides.items():
            node = data
            *parents, last = dotted.split(".")
            for part in parents:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ConfigError(f"override {dotted!r}: {part!r} is not a table")
            node[last] = value
        spec = from_dict(StudySpec, data, where=f"{path} + overrides")
    return spec


def available_presets() -> list[str]:
    """Names of the preset TOML files in ``tsdividend/study/presets/``."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))
