"""The one fine-tune engine of every task: step budget, warm-up + cosine, step chosen on validation.

Every end-to-end fine-tune (classification, clustering's fine-tune, forecasting, anomaly) runs
through :func:`train_by_steps`:

* **Step budget**, not epochs: ``budget.steps`` optimizer updates at most. The learning rate of
  every parameter group is its base rate times :func:`lr_scale` (linear warm-up over
  ``budget.warmup`` updates, then a half-cosine to 0 at the end of the budget), AdamW, gradient
  norm clipped at ``budget.grad_clip`` (when set).
* **LP-FT** (Kumar et al. 2022, "Fine-Tuning can Distort Pretrained Features and Underperform
  Out-of-Distribution"): the caller initialises the head at its frozen-encoder solution (logistic
  probe, ridge head, linear decoder) before calling; the engine evaluates validation at step 0,
  so the curve starts at the probe and ``best_step = 0`` means "the probe alone was best".
* **Validation every** ``budget.eval_every`` updates and at the budget's last update; the selected
  step is the best validation score (ties keep the earlier step); training stops when
  ``budget.patience`` updates pass without a strict improvement.
* **Several runs in lockstep** (one per cross-validation fold, or per hyper-parameter): they step
  together and the MEAN of their validation scores is the curve that selects and early-stops, so
  a k-fold selection uses one stopping rule for all folds.
* The result records ``best_step``, ``budget_steps`` and ``converged`` (False when the selected
  step is the budget's last evaluation point: validation still improving at the end), the
  contract of every fine-tune row.

Randomness (dropout, batch order) is the caller's: it draws batches from its own seeded
generators inside ``torch.random.fork_rng``. The engine never sees test data: runs hold only a
training closure and a validation closure.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from tsdividend.schedules import cosine_interp
from tsdividend.tasks.budget import StepBudget

__all__ = ["Outcome", "Run", "StepBudget", "adamw", "lr_scale", "train_by_steps", "train_fixed"]


def lr_scale(step: int, total: int, warmup: int) -> float:
    """Multiplier of the base learning rate for update ``step`` (0-based, ``< total``).

    Linear warm-up ``(step + 1) / warmup`` over the first ``warmup`` updates (the first update
    already moves), then a half-cosine from 1 at update ``warmup`` to 0 at ``total`` (Loshchilov
    & Hutter 2017, without restarts): ``0.5 * (1 + cos(pi * (step - warmup) / (total - warmup)))``.
    """
    if not 0 <= warmup < total:
        raise ValueError(f"need 0 <= warmup < total, got warmup={warmup}, total={total}")
    if not 0 <= step < total:
        raise ValueError(f"step must be in [0, {total}), got {step}")
    if step < warmup:
        return (step + 1) / warmup
    return cosine_interp(step - warmup, total - warmup, 1.0, 0.0)


def adamw(groups: Iterable[dict], weight_decay: float) -> torch.optim.AdamW:
    """AdamW over parameter groups ``{"params": ..., "lr": base}``; each group remembers its base
    rate (``"base_lr"``) so the schedule can scale it."""
    opt = torch.optim.AdamW(list(groups), weight_decay=weight_decay)
    for g in opt.param_groups:
        g["base_lr"] = g["lr"]
    return opt


@dataclass
class Run:
    """One model being fine-tuned.

    Attributes:
        module: everything trained (its ``state_dict`` is the checkpoint; train/eval mode is set
            by the engine).
        optimizer: from :func:`adamw` (groups carry ``base_lr``).
        loss_fn: draws the next training batch and returns its scalar loss.
        val_fn: the validation score of the current weights (called in eval mode, no grad).
    """

    module: nn.Module
    optimizer: torch.optim.Optimizer
    loss_fn: Callable[[], Tensor]
    val_fn: Callable[[], float] | None = None


@dataclass
class Outcome:
    """What :func:`train_by_steps` selected.

    Attributes:
        best_step: update count of the selected weights (0 = the LP head on the frozen encoder).
        budget_steps: the budget.
        steps_run: updates actually made (< budget when early-stopped).
        converged: False when ``best_step`` is the budget's last evaluation point.
        best_score: the (mean) validation score at ``best_step``.
        curve: ``[step, mean validation score]`` at every evaluation point reached.
        best_states: per run, its state dict at ``best_step`` (empty unless ``keep_best``).
    """

    best_step: int
    budget_steps: int
    steps_run: int
    converged: bool
    best_score: float
    curve: list[list[float]] = field(default_factory=list)
    best_states: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        """The contract fields of a fine-tune row's ``extra`` (plus the curve)."""
        return {"best_step": self.best_step, "budget_steps": self.budget_steps,
                "steps_run": self.steps_run, "converged": self.converged,
                "val_curve": self.curve}  # fmt: skip


def _update(run: Run, step: int, budget: StepBudget) -> None:
    """One optimizer update of ``run`` at schedule position ``step``."""
    scale = lr_scale(step, budget.steps, budget.warmup)
    for g in run.optimizer.param_groups:
        g["lr"] = g["base_lr"] * scale
    loss = run.loss_fn()
    if not torch.isfinite(loss):
        raise FloatingPointError(f"non-finite fine-tune loss {float(loss)} at update {step}")
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if budget.grad_clip is not None:
        nn.utils.clip_grad_norm_(run.module.parameters(), budget.grad_clip)
    run.optimizer.step()


def _validate(runs: list[Run]) -> float:
    scores = []
    for run in runs:
        run.module.eval()
        with torch.no_grad():
            scores.append(float(run.val_fn()))  # type: ignore[misc]
        run.module.train()
    # rounded: a mean of fold accuracies must not "improve" by float noise (0.84 vs 0.8400..01)
    return round(sum(scores) / len(scores), 12)


def train_by_steps(
    runs: list[Run], budget: StepBudget, *, higher_is_better: bool, keep_best: bool = True
) -> Outcome:
    """Train ``runs`` in lockstep, select the step by their mean validation score, early-stop.

    Args:
        runs: models with their optimizer, training and validation closures (every run needs a
            ``val_fn``).
        budget: the step budget and schedule.
        higher_is_better: direction of the validation score (accuracy: True; MSE: False).
        keep_best: keep each run's state at the best step (restored into the modules at the
            end); False when only the step is needed (k-fold selection before a refit).

    Returns:
        The :class:`Outcome`; with ``keep_best`` the modules hold their best weights.
    """
    if not runs or any(r.val_fn is None for r in runs):
        raise ValueError("train_by_steps needs at least one run, each with a val_fn")
    points = set(budget.eval_points())
    sign = 1.0 if higher_is_better else -1.0
    best_score, best_step, curve = float("-inf"), 0, []
    best_states: list[dict] = []
    step = 0
    for run in runs:
        run.module.train()
    while True:
        if step in points:
            score = _validate(runs)
            if score != score:  # NaN: a diverged model must not be selected silently
                raise FloatingPointError(f"validation score is NaN at update {step}")
            curve.append([step, score])
            if sign * score > best_score:  # strict: ties keep the earlier, shorter-trained step
                best_score, best_step = sign * score, step
                if keep_best:
                    best_states = [copy.deepcopy(r.module.state_dict()) for r in runs]
            if step == budget.steps or step - best_step >= budget.patience:
                break
        for run in runs:
            _update(run, step, budget)
        step += 1
    if keep_best:
        for run, state in zip(runs, best_states, strict=True):
            run.module.load_state_dict(state)
    for run in runs:
        run.module.eval()
    return Outcome(best_step, budget.steps, step, best_step < budget.steps, sign * best_score,
                   curve, best_states if keep_best else [])  # fmt: skip


def train_fixed(run: Run, n_steps: int, budget: StepBudget) -> None:
    """Refit: ``n_steps`` updates of ``run`` on the budget's schedule (the same learning rates as
    the first ``n_steps`` updates of the selection runs), no validation."""
    if not 0 <= n_steps <= budget.steps:
        raise ValueError(f"n_steps must be in [0, {budget.steps}], got {n_steps}")
    run.module.train()
    for step in range(n_steps):
        _update(run, step, budget)
    run.module.eval()
