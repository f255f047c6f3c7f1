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

from tsdividend.config import ConfigError, check_int, load_toml, override
from tsdividend.data import list_datasets, resolve_data_dir
from tsdividend.data.userfiles import is_file_ref
from tsdividend.encoder import EncoderConfig
from tsdividend.objectives import OBJECTIVES
from tsdividend.results.row import BASELINE_OF, STUDY_REGIMES
from tsdividend.tasks.baselines import BASELINES
from tsdividend.tasks.external import load_factory
from tsdividend.tasks.registry import TASKS
from tsdividend.tokenizer import TOKENIZERS
from tsdividend.train.sources import SOURCES
from tsdividend.train.trainer import TrainConfig

PRESET_DIR = Path(__file__).resolve().parent / "presets"  # shipped in the wheel


def _names(where: str, values: tuple, valid: list[str] | tuple[str, ...]) -> None:
    if not values:
        raise ConfigError(f"{where} must not be empty; valid: {list(valid)}")
    for v in values:
        if v not in valid:
            raise ConfigError(f"{where}: {v!r} unknown; valid: {list(valid)}")
    if len(set(values)) != len(values):
        raise ConfigError(f"{where} has duplicates: {list(values)}")


# What a study sets on top of TrainConfig's defaults before its own [train] table: rows of a
# study are logged every 10 steps, checkpointed every 100 (what a killed study resumes from), and
# no embedding diagnostics run (they cost a forward pass the report does not read).
STUDY_TRAIN_DEFAULTS: dict[str, Any] = {"checkpoint_every": 100, "log_every": 10,
                                        "diag_every": 0}  # fmt: skip
# The grid axes of a pretraining cell, as the TrainConfig paths they set (never set in [train]).
AXES = {"objective": "objective", "tokenizer": "encoder.tokenizer", "depth": "encoder.depth",
        "source": "data.source", "size": "data.synth_corpus_size", "seed": "seed"}  # fmt: skip
# Set per cell from other parts of the spec: objective_options, objective_optim, nproc_per_node
# and the run's data dir.
CELL_SET = (*AXES.values(), "objective_options", "grad_accum", "data.data_dir")


def flatten_overrides(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A TOML table of TrainConfig overrides (nested tables and/or dotted keys) as dotted paths:
    ``{"encoder": {"d_model": 64}, "steps": 50}`` -> ``{"encoder.d_model": 64, "steps": 50}``."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten_overrides(value, path + "."))
        else:
            out[path] = value
    return out


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
            (``DataConfig.synth_corpus_size``), each trained for the same ``train.steps``;
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
        train: overrides of :class:`~tsdividend.train.TrainConfig` shared by every pretraining
            cell (TOML ``[train]``: nested tables or dotted keys, e.g. ``steps = 300``,
            ``encoder.d_model = 64``, ``data.context = 128``, ``optim.lr = 5e-4``), applied
            over TrainConfig's defaults and :data:`STUDY_TRAIN_DEFAULTS`. Any TrainConfig field
            may be set except the grid axes and what the spec sets per cell (:data:`CELL_SET`).
        nproc_per_node: processes per pretraining cell; > 1 runs it under ``torchrun`` (data
            parallel: one GPU each, or gloo processes on a CPU). The cell's config is its
            one-process equivalent, ``grad_accum = nproc_per_node`` (same global batch, same
            shards, same weights up to summation order), and so is its hash.
        objective_options: objective -> its ``objective_options``.
        objective_optim: objective -> fields of its ``OptimConfig`` over ``train``'s (e.g. the
            seed paper's per-objective learning rates).
        eval: task -> fields of its ``<Task>Config`` (``regime`` is set by the grid).
        budgets: pretraining budgets in optimizer steps (a grid axis: every objective is
            pretrained once per budget, at ``train.batch_size``; the report draws each task's
            score against the samples seen); empty = ``train.steps``.
        encoders: external encoders evaluated beside the objectives (TOML ``[[encoders]]``
            tables with ``name`` and ``factory = "pkg.module:factory"``;
            :mod:`tsdividend.tasks.external`): every task, dataset, regime and seed of the grid,
            plus their own random / scratch baselines when the factory takes ``pretrained``.
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
    train: dict[str, Any] = field(default_factory=dict)
    nproc_per_node: int = 1
    objective_options: dict[str, Any] = field(default_factory=dict)
    objective_optim: dict[str, Any] = field(default_factory=dict)
    eval: dict[str, Any] = field(default_factory=dict)
    encoders: tuple[dict[str, Any], ...] = ()
    budgets: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"name must be a non-empty string, got {self.name!r}")
        _names("objectives", self.objectives, OBJECTIVES.names())
        _names("tokenizers", self.tokenizers, TOKENIZERS.names())
        _names("pretrain_sources", self.pretrain_sources, SOURCES)
        _names("tasks", self.tasks, TASKS.names())
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
        check_int("nproc_per_node", self.nproc_per_node, 1)
        for budget in self.budgets:
            check_int("budgets", budget, 1)
        if len(set(self.budgets)) != len(self.budgets):
            raise ConfigError(f"budgets has duplicates: {list(self.budgets)}")
        if self.budgets and "steps" in flatten_overrides(self.train):
            raise ConfigError("set the budgets axis or train.steps, not both")
        self._check_encoders()
        self._check_train_table()
        for objective in self.objectives:  # every cell resolves now, not mid-study
            for tok in self.tokenizers:
                for depth in self.depths:
                    for source in self.pretrain_sources:
                        for steps in self.steps_axis():
                            self.train_config(objective, tok, depth, source, self.sizes()[0], 0,
                                              steps=steps)  # fmt: skip
        for task in dict.fromkeys([*self.tasks, *self.eval]):
            for regime in TASKS.get(task).regimes:
                self.eval_config(task, regime)  # validates the overrides now, not mid-study

    def _check_encoders(self) -> None:
        taken = {*self.objectives, *self.baselines, *BASELINE_OF.values()}
        for i, entry in enumerate(self.encoders):
            where = f"encoders[{i}]"
            if not isinstance(entry, dict) or set(entry) != {"name", "factory"}:
                raise ConfigError(f"{where} must be a table with exactly the keys name and "
                                  f"factory, got {entry!r}")  # fmt: skip
            name = entry["name"]
            if not isinstance(name, str) or not name or any(c.isspace() for c in name):
                raise ConfigError(f"{where}.name must be one non-empty word, got {name!r}")
            if name in taken:
                raise ConfigError(f"{where}.name {name!r} is already an objective, baseline "
                                  "or another encoder of the study")  # fmt: skip
            taken.add(name)
            try:
                load_factory(str(entry["factory"]))
            except ValueError as e:
                raise ConfigError(f"{where}.factory: {e}") from None

    def _check_train_table(self) -> None:
        if not isinstance(self.train, dict):
            raise ConfigError(f"train must be a table of TrainConfig overrides, got {self.train!r}")
        for path in flatten_overrides(self.train):
            if path in CELL_SET or path.startswith("objective_options."):
                raise ConfigError(
                    f"train.{path} is set per cell (grid axes: objectives, tokenizers, depths, "
                    "pretrain_sources, corpus_sizes, seeds; objective_options; nproc_per_node; "
                    "the run's data dir); set it there"
                )

    def _check_task_tables(self) -> None:
        tables = (("datasets", self.datasets), ("datasets_with_data_dir",
                  self.datasets_with_data_dir), ("task_regimes", self.task_regimes),
                  ("eval", self.eval))  # fmt: skip
        for where, table in tables:
            if not isinstance(table, dict):
                raise ConfigError(f"{where} must be a table task -> value, got {table!r}")
            for task in table:
                if task not in TASKS:
                    raise ConfigError(f"{where}: task {task!r} unknown; valid: {TASKS.names()}")
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
            _names(f"task_regimes.{task}", tuple(regimes), TASKS.get(task).regimes)
        for task in self.tasks:
            if task not in self.task_regimes:
                bad = [r for r in self.regimes if r not in TASKS.get(task).regimes]
                if bad:
                    raise ConfigError(f"regimes {bad} do not apply to task {task!r} (its "
                                      f"regimes: {list(TASKS.get(task).regimes)}); set "
                                      f"task_regimes.{task}")  # fmt: skip

    # --- resolution -------------------------------------------------------------------------

    def eval_config(self, task: str, regime: str) -> Any:
        """The task's protocol config with the spec's ``eval.<task>`` overrides, at ``regime``
        (:meth:`TaskSpec.make_config <tsdividend.tasks.registry.TaskSpec.make_config>`)."""
        return TASKS.get(task).make_config(regime, self.eval.get(task, {}), where=f"eval.{task}")

    def task_datasets(self, task: str, with_data_dir: bool) -> list[str]:
        """Datasets of ``task`` (plus the data-dir extras when a data dir is given)."""
        names = list(self.datasets.get(task, ()))
        if with_data_dir:
            names += [n for n in self.datasets_with_data_dir.get(task, ()) if n not in names]
        return names

    def regimes_for(self, task: str) -> tuple[str, ...]:
        return tuple(self.task_regimes.get(task, self.regimes))

    def steps_axis(self) -> tuple[int | None, ...]:
        """The pretraining budgets (steps) of the grid; ``(None,)`` = ``train.steps`` alone."""
        return self.budgets or (None,)

    def train_config(
        self, objective: str, tokenizer: str, depth: int, source: str, size: int, seed: int,
        data_dir: str | None = None, *, steps: int | None = None,
    ) -> TrainConfig:  # fmt: skip
        """The resolved :class:`TrainConfig` of one pretraining cell (its hash is the cache key).

        TrainConfig's defaults, then :data:`STUDY_TRAIN_DEFAULTS`, then ``train``, then
        ``objective_optim[objective]`` (as ``optim.*``), then the cell (grid axes,
        ``objective_options[objective]``, ``grad_accum = nproc_per_node``, the data dir for
        real or mixed data), all with :func:`tsdividend.config.override`. Derived last:
        ``checkpoint_every`` and ``log_every`` at most ``steps``, and, unless ``train`` sets
        ``encoder.max_len``, a positional table long enough for the context's tokens.
        """
        where = f"train ({objective}, {tokenizer}, depth {depth}, {source})"
        flat = flatten_overrides(self.train)
        cell = {
            **{f"optim.{k}": v for k, v in self.objective_optim.get(objective, {}).items()},
            AXES["objective"]: objective, AXES["tokenizer"]: tokenizer, AXES["depth"]: depth,
            AXES["source"]: source, AXES["size"]: size, AXES["seed"]: seed,
            "objective_options": dict(self.objective_options.get(objective, {})),
            "grad_accum": self.nproc_per_node,
            "data.data_dir": None if source == "synthetic" else data_dir,
            **({"steps": steps} if steps is not None else {}),
        }  # fmt: skip
        try:
            cfg = override(TrainConfig(), {**STUDY_TRAIN_DEFAULTS, **flat, **cell})
            derived: dict[str, Any] = {
                "checkpoint_every": min(cfg.checkpoint_every, cfg.steps),
                "log_every": max(1, min(cfg.log_every, cfg.steps)),
            }
            if "encoder.max_len" not in flat:  # patches + CLS
                e = cfg.encoder
                n_tokens = -(-max(cfg.data.context - e.patch_len, 0) // e.stride) + 2
                derived["encoder.max_len"] = max(e.max_len, n_tokens)
            return override(cfg, derived)
        except ConfigError as err:
            raise ConfigError(f"{where}: {err}") from err

    def encoder_config(self, tokenizer: str, depth: int) -> EncoderConfig:
        """The architecture of the (tokenizer, depth) cells: what the random and scratch
        baselines are built from (the same for every objective, source and seed)."""
        cfg = self.train_config(self.objectives[0], tokenizer, depth, self.pretrain_sources[0],
                                self.sizes()[0], self.seeds[0])  # fmt: skip
        return cfg.encoder

    @property
    def device(self) -> str:
        """The device of pretraining and evaluation (``train.device``)."""
        return str(flatten_overrides(self.train).get("device", TrainConfig().device))

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
                    if r["task"] == TASKS.get(task).data_task and fnmatchcase(r["name"], entry)
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
    return sorted({n for n in names if n not in available
                   and not (is_file_ref(n) and Path(n.split(":", 1)[0]).is_file())})  # fmt: skip


def load_spec(source: str | Path, overrides: dict[str, Any] | None = None) -> StudySpec:
    """A spec from a preset name (``tsdividend/study/presets/<name>.toml``) or a TOML file path.

    Args:
        source: preset name (``available_presets()``) or a path to a ``.toml`` file.
        overrides: dotted-path assignments applied afterwards (``{"train.steps": 50}``), with
            :func:`tsdividend.config.override`.

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
    return override(spec, overrides) if overrides else spec


def available_presets() -> list[str]:
    """Names of the preset TOML files in ``tsdividend/study/presets/``."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))
