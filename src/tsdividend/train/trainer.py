"""The one training loop, for every objective.

Read top to bottom: build the encoder and the objective from the config, restore the latest
checkpoint when resuming, then for each step set the learning rate (a pure function of the step),
run the objective on each of this process's shards of the global batch (gradient accumulation,
data-parallel gradient averaging), clip, step, let the objective update its EMA targets, log,
checkpoint. No objective-specific branch.

Determinism: the global batch of step ``s`` is split into ``world * grad_accum`` shards; shard ``k``
gets its data, its objective generator and the dropout RNG from (seed, s, k) only. Hence a resumed
run is bit-identical to an uninterrupted one, and a run on W processes equals a run on one process
with ``grad_accum = W`` up to floating-point summation order.
"""

from __future__ import annotations

import copy
import json
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from torch import nn

from tsdividend import __version__
from tsdividend.atomic import atomic_target, storage_error
from tsdividend.config import HASH_OMIT_DEFAULT, config_hash, to_dict
from tsdividend.encoder import Encoder, EncoderConfig
from tsdividend.encoder.layers import Block
from tsdividend.errors import InputError
from tsdividend.lock import FolderLock
from tsdividend.objectives import Batch, Objective, build_objective
from tsdividend.schedules import warmup_cosine
from tsdividend.train.checkpoint import (
    LATEST,
    CheckpointError,
    export_encoder,
    intact_checkpoint,
    load_checkpoint,
    remove_stale,
    save_checkpoint,
)
from tsdividend.train.diagnostics import embedding_std, rankme
from tsdividend.train.distributed import DistInfo, all_reduce_mean, init_distributed
from tsdividend.train.precision import (
    PRECISIONS,
    PrecisionChoice,
    autocast,
    choose_precision,
    seconds_per_call,
)
from tsdividend.train.progress import TrainProgress
from tsdividend.train.sources import DataConfig, PretrainSource, ShardStream, run_ahead


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss, inconsistent resume); the message says why."""


class RunFolderError(TrainingError, InputError):
    """The run folder does not fit the request (a run already there without ``resume``, or a
    resume whose config differs): bad input, so the CLI prints one line and exits 2."""


class NonFiniteLossError(TrainingError, InputError):
    """The loss became NaN or infinite (the message gives the step, the loss components and a
    hint); an expected failure of a configuration (learning rate, data), not a bug."""


def _flat(d: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with linear warm-up and cosine decay.

    Defaults: lr 1e-3, weight decay 0.05 (NuTime's AdamW used 2e-3 / 0.05 at batch 1024; the
    seed paper's LeJEPA 5e-4 / 1e-2), betas (0.9, 0.95), 5% warm-up, cosine to 1% of lr, gradient
    norm clipped at 1.0 (seed paper JEPA/LeJEPA). No decay on biases, norms and token parameters.
    """

    lr: float = 1e-3
    weight_decay: float = 0.05
    betas: tuple[float, float] = (0.9, 0.95)
    warmup_frac: float = 0.05
    final_lr_frac: float = 0.01
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not 0.0 <= self.warmup_frac < 1.0:
            raise ValueError(f"warmup_frac must be in [0, 1), got {self.warmup_frac}")
        if not 0.0 <= self.final_lr_frac <= 1.0:
            raise ValueError(f"final_lr_frac must be in [0, 1], got {self.final_lr_frac}")
        if not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0, got {self.grad_clip}")


# torch.compile of the transformer blocks: "auto" = on CUDA only (on CPU inductor was measured
# slower than eager for THE encoder: bench/pretrain.py --compile, docs/training.md).
COMPILE = ("auto", "on", "off")


@dataclass(frozen=True)
class TrainConfig:
    """A pretraining run: objective x encoder x data x optimiser x schedule.

    ``compile`` (one of :data:`COMPILE`) compiles every transformer block of the objective
    (encoder, EMA copies) with ``torch.compile`` after the precision is chosen.
    """

    objective: str = "mae"
    objective_options: dict[str, Any] = field(default_factory=dict)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    steps: int = 1000
    batch_size: int = 128
    grad_accum: int = 1
    seed: int = 0
    precision: str = "auto"
    device: str = "auto"
    compile: str = field(default="auto", metadata=HASH_OMIT_DEFAULT)
    checkpoint_every: int = 500
    log_every: int = 10
    diag_every: int = 100

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "grad_accum", "checkpoint_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.diag_every < 0:
            raise ValueError(f"diag_every must be >= 0 (0 = off), got {self.diag_every}")
        if self.compile not in COMPILE:
            raise ValueError(f"compile {self.compile!r} unknown; valid: {list(COMPILE)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r} unknown; valid: {list(PRECISIONS)}")
        if self.batch_size % self.grad_accum:
            raise ValueError(
                f"batch_size={self.batch_size} must be divisible by grad_accum={self.grad_accum}"
            )


@dataclass
class TrainResult:
    """What a finished run reports (the CLI's ``--json`` line).

    ``samples_per_s`` and ``data_share`` (the fraction of the wall time the loop waited for its
    next batch) are measured from the end of the first step of this process (warm-up excluded);
    ``precision`` is the one trained in (:mod:`tsdividend.train.precision`).
    """

    objective: str
    steps: int
    final_loss: float
    samples_per_s: float
    checkpoint: str
    data_share: float = 0.0
    precision: str = "fp32"

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _seed(*parts: int) -> int:
    """A 63-bit seed derived from integers (SeedSequence mixing: no correlated streams)."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1, np.uint64)[0] >> 1)


def _generator(device: torch.device, seed: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Decay matrices; not biases, norm weights, or token/position parameters (ndim < 2 or
    named ``*_token``/``pos_embed``)."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        skip = p.ndim < 2 or name.endswith("_token") or "pos_embed" in name
        (no_decay if skip else decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def _precision(
    cfg: TrainConfig,
    objective: Objective,
    source: PretrainSource,
    shard: int,
    micro: int,
    info: DistInfo,
    saved: dict[str, Any] | None,
) -> PrecisionChoice:
    """The run's precision: the saved choice when resuming, else :func:`choose_precision` timing
    a throwaway copy of ``objective`` on this process's first batch (times averaged over ranks,
    so every rank chooses alike)."""
    if saved is not None:
        return PrecisionChoice(**saved)
    if cfg.precision != "auto":
        return choose_precision(cfg.precision, info.device, lambda _: 0.0)
    made: dict[str, Any] = {}  # the trial model and batch, built on the first measurement only

    def measure(precision: str) -> float:
        if not made:
            # a copy: objectives may keep state across forwards (DINO's centre)
            made["trial"] = copy.deepcopy(objective)
            made["batch"] = [torch.from_numpy(a).to(info.device)
                             for a in source.batch(0, shard, micro)]  # fmt: skip
        trial, (x, mask) = made["trial"], made["batch"]

        def step() -> None:
            trial.zero_grad(set_to_none=True)
            batch = Batch(x, mask, _generator(info.device, 0), _generator(info.device, 1), 0, 1)
            with autocast(precision, info.device):
                loss = trial(batch).loss
            loss.float().backward()

        seconds = seconds_per_call(step, info.device)
        return float(all_reduce_mean(torch.tensor(seconds, device=info.device)))

    return choose_precision("auto", info.device, measure)


def _check_resume(out: Path, cfg: TrainConfig, resume: bool, say: bool) -> Path | None:
    """The checkpoint to resume from: the newest intact one (damaged newer ones are skipped,
    each said on stderr when ``say``), None for a fresh run.

    Raises:
        RunFolderError: a run is there without ``resume``, or its config differs.
    """
    has_run = (out / LATEST).exists() or any((out / "checkpoints").glob("step-*"))
    if not has_run:
        return None
    if not resume:
        raise RunFolderError(f"{out} already holds a run; pass --resume to continue it or "
                             "choose another --out")  # fmt: skip
    folder, skipped = intact_checkpoint(out)
    if say:
        console = Console(stderr=True)
        for line in skipped:
            console.print(f"resume: {line}", highlight=False, soft_wrap=True)
        if folder is None:
            console.print(f"resume: no intact checkpoint in {out}; training from step 0",
                          highlight=False, soft_wrap=True)  # fmt: skip
    if folder is None:
        return None
    saved = json.loads((folder / "state.json").read_text())
    if saved.get("config_hash") != config_hash(cfg):
        old, new = _flat(saved.get("train_config", {})), _flat(to_dict(cfg))
        diff = [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new))
                if old.get(k) != new.get(k)]  # fmt: skip
        raise RunFolderError(
            f"cannot resume {out}: the config differs ({'; '.join(diff)}); "
            "resume with the run's own settings or choose another --out"
        )
    return folder


def train(
    cfg: TrainConfig, out: str | Path, *, resume: bool = False, progress: bool = True
) -> TrainResult:
    """Pretrain ``cfg.objective`` on THE encoder and write checkpoints + the encoder to ``out``.

    Under ``torchrun`` every process calls this; rank 0 holds the folder's writer lock
    (:class:`~tsdividend.lock.FolderLock`: a second writer is refused), writes files and shows
    progress.

    Raises:
        FolderBusyError: another process writes into ``out``.
    """
    info = init_distributed(cfg.device)
    with FolderLock(out, "pretrain") if info.is_main else nullcontext():
        return _train(cfg, Path(out), info, resume, progress)


def _train(
    cfg: TrainConfig, out: Path, info: DistInfo, resume: bool, progress: bool
) -> TrainResult:
    """The body of :func:`train` (the folder lock held)."""
    n_shards = info.world * cfg.grad_accum
    if cfg.batch_size % n_shards:
        raise ValueError(f"batch_size={cfg.batch_size} is not divisible by {n_shards} shards")
    micro = cfg.batch_size // n_shards
    shards = [info.rank * cfg.grad_accum + m for m in range(cfg.grad_accum)]

    encoder = Encoder(cfg.encoder, generator=torch.Generator().manual_seed(cfg.seed))
    torch.manual_seed(_seed(cfg.seed, 1))  # heads and predictors initialise from the global RNG
    objective = build_objective(cfg.objective, encoder, cfg.objective_options).to(info.device)
    optimizer = torch.optim.AdamW(
        _param_groups(objective, cfg.optim.weight_decay), lr=cfg.optim.lr, betas=cfg.optim.betas
    )
    meta = {
        "train_config": to_dict(cfg),
        "config_hash": config_hash(cfg),
        "tsdividend_version": __version__,
        "torch_version": torch.__version__,
    }
    ema = objective.ema_schedule(cfg.steps)  # the resolved EMA rule (docs/objectives.md)
    if ema is not None:
        meta["ema"] = ema
    start, saved = 0, None
    recent: list[float] = []  # the last 10 losses: final_loss is their mean, across a resume
    if info.is_main:
        remove_stale(out)  # temp checkpoint folders and .part files a kill left behind
    folder = _check_resume(out, cfg, resume, say=info.is_main)
    if folder is not None:
        state = load_checkpoint(folder, objective, optimizer)
        start, saved = int(state["step"]), state.get("precision")
        recent = [float(v) for v in state.get("recent_losses", [])]
    source = PretrainSource(cfg.data, cfg.seed, cfg.batch_size)
    choice = _precision(cfg, objective, source, shards[0], micro, info, saved)
    meta["precision"] = choice.to_json()
    if cfg.compile == "on" or (cfg.compile == "auto" and info.device.type == "cuda"):
        for module in objective.modules():
            if isinstance(module, Block):
                module.compile()
    model: Any = objective  # or its DistributedDataParallel wrapper (no_sync)
    if info.world > 1:
        model = nn.parallel.DistributedDataParallel(
            objective, device_ids=[info.device.index] if info.device.type == "cuda" else None
        )
    meta["corpus"] = source.describe()  # what the encoder was trained on (report, provenance)
    loader = torch.utils.data.DataLoader(
        ShardStream(source, start, cfg.steps, shards, micro),
        batch_size=None,
        num_workers=cfg.data.workers,
        pin_memory=info.device.type == "cuda",  # with non_blocking copies: overlap H2D
    )
    probe = _probe_batch(source, info) if cfg.diag_every else None
    log = _MetricsLog(out, start, info.is_main)
    warmup = int(cfg.optim.warmup_frac * cfg.steps)
    bar = TrainProgress(cfg.objective, start, cfg.steps, enabled=progress and info.is_main,
                        batch_size=cfg.batch_size)  # fmt: skip
    t_first, n_timed, data_wait = None, 0, 0.0
    # workers 0: a thread prepares the next batches while a step trains (same batches, in order)
    batches = iter(loader) if cfg.data.workers else run_ahead(loader)
    with bar:
        for step in range(start, cfg.steps):
            t_wait = time.perf_counter()
            xs, masks = next(batches)
            if t_first is not None:  # time the loop waits for data (the data share of a step)
                data_wait += time.perf_counter() - t_wait
            lr = warmup_cosine(
                step, cfg.steps, cfg.optim.lr, warmup, cfg.optim.lr * cfg.optim.final_lr_frac
            )
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            step_loss = torch.zeros((), device=info.device)
            logs: dict[str, torch.Tensor] = {}
            for m, shard in enumerate(shards):
                s = _seed(cfg.seed, step, shard)
                torch.manual_seed(s)  # dropout
                batch = Batch(
                    x=xs[m].to(info.device, non_blocking=True),
                    mask=masks[m].to(info.device, non_blocking=True),
                    generator=_generator(info.device, _seed(s, 1)),
                    shared_generator=_generator(info.device, _seed(cfg.seed, step)),
                    step=step,
                    total_steps=cfg.steps,
                )
                sync = nullcontext() if info.world == 1 or m == len(shards) - 1 else model.no_sync()
                with sync:
                    with autocast(choice.precision, info.device):
                        output = model(batch)
                    (output.loss.float() / len(shards)).backward()
                step_loss += output.loss.detach().float() / len(shards)
                for k, v in output.logs.items():
                    logs[k] = logs.get(k, 0) + v.detach().float() / len(shards)
            step_loss = all_reduce_mean(step_loss)
            loss_value = float(step_loss)
            if not math.isfinite(loss_value):
                raise NonFiniteLossError(
                    f"non-finite loss {loss_value} at step {step} of {cfg.objective}; "
                    f"components: { {k: float(v) for k, v in logs.items()} } (try a lower lr)"
                )
            grad_norm = nn.utils.clip_grad_norm_(
                [p for p in objective.parameters() if p.requires_grad], cfg.optim.grad_clip
            )
            optimizer.step()
            objective.on_after_step(step + 1, cfg.steps)
            done = step + 1
            recent = (recent + [loss_value])[-10:]
            if t_first is None:
                t_first = time.perf_counter()  # the first step (compile, warm-up) is not timed
            else:
                n_timed += cfg.batch_size
            elapsed = max(time.perf_counter() - t_first, 1e-9)
            rate = n_timed / elapsed if n_timed else 0.0
            data_share = data_wait / elapsed if n_timed else 0.0
            bar.update(done, loss_value, rate)
            if done % cfg.log_every == 0 or done == cfg.steps:
                row = {"step": done, "loss": loss_value, "lr": lr, "grad_norm": float(grad_norm)}
                row.update(samples_per_s=rate, data_share=data_share)
                row.update({k: float(all_reduce_mean(v)) for k, v in logs.items()})
                if probe is not None and (done % cfg.diag_every == 0 or done == cfg.steps):
                    row.update(_diagnostics(objective, probe))
                log.write(row)
            if info.is_main and (done % cfg.checkpoint_every == 0 or done == cfg.steps):
                save_checkpoint(out, done, objective, optimizer, {**meta, "recent_losses": recent})
                export_encoder(
                    out,
                    objective.downstream_encoder(),
                    {
                        **meta,
                        "encoder_config": to_dict(cfg.encoder),
                        "step": done,
                        "objective": cfg.objective,
                    },
                )
    final = sum(recent) / len(recent) if recent else float("nan")
    if not recent and folder is not None:  # resumed a finished run: report what it logged
        final = log.last_loss()
    return TrainResult(
        cfg.objective,
        cfg.steps,
        final,
        rate if n_timed else 0.0,
        str(out),
        data_share if n_timed else 0.0,
        choice.precision,
    )


def _probe_batch(source: PretrainSource, info: DistInfo) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed batch (the same every time) for collapse diagnostics."""
    x, mask = source.batch(step=0, shard=2**20, size=256)
    return torch.from_numpy(x).to(info.device), torch.from_numpy(mask).to(info.device)


@torch.no_grad()
def _diagnostics(
    objective: Objective, probe: tuple[torch.Tensor, torch.Tensor]
) -> dict[str, float]:
    enc = objective.downstream_encoder()
    was_training = enc.training
    enc.eval()
    z = enc.embed(*probe)
    enc.train(was_training)
    return {"emb_std": embedding_std(z), "rankme": rankme(z)}


class _MetricsLog:
    """``metrics.jsonl`` of logged steps; on resume, rows after the resumed step are dropped so
    the file never holds a step twice."""

    def __init__(self, out: Path, start: int, enabled: bool) -> None:
        self.path = out / "metrics.jsonl"
        self.enabled = enabled
        if not enabled:
            return
        out.mkdir(parents=True, exist_ok=True)
        kept = [r for r in self._rows() if r["step"] <= start]
        # rewritten whole (atomically): rows past the resumed step and a partial last line go
        with atomic_target(self.path) as tmp:
            tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))

    def _rows(self) -> list[dict[str, Any]]:
        """The logged rows; a partial last line (a kill mid-write) is dropped and said, a
        damaged line before it is an error naming the file and line."""
        if not self.path.exists():
            return []
        lines = [ln for ln in self.path.read_text().splitlines() if ln.strip()]
        rows = []
        for i, line in enumerate(lines):
            try:
                rows.append(json.loads(line))
            except ValueError:
                if i < len(lines) - 1:
                    raise CheckpointError(
                        f"{self.path}: line {i + 1} is not JSON; the log is "
                        "damaged (move it away to resume)"
                    ) from None
                Console(stderr=True).print(f"resume: dropped a partial last line of {self.path}",
                                           highlight=False, soft_wrap=True)  # fmt: skip
        return rows

    def write(self, row: dict[str, Any]) -> None:
        if self.enabled:
            try:
                with self.path.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
            except OSError as e:
                raise storage_error(e, self.path) from None

    def last_loss(self) -> float:
        rows = self._rows()
        return float(rows[-1]["loss"]) if rows else float("nan")
