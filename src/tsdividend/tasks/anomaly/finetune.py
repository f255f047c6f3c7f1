"""End-to-end anomaly fine-tuning: LP-FT of encoder + linear decoder on the normal training windows.

``regime="finetune"`` of :mod:`tsdividend.tasks.anomaly` (its package docstring describes the
protocol). Windows come from :mod:`~tsdividend.tasks.anomaly.windows`, the decoder's init and the
probe's decoder fit from :mod:`~tsdividend.tasks.anomaly.scorers`.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from tsdividend.data.dataset import Dataset
from tsdividend.device import pick_device
from tsdividend.encoder.adapter import TokenEncoder
from tsdividend.tasks.anomaly.config import AnomalyConfig
from tsdividend.tasks.anomaly.scorers import fit_decoder, new_decoder
from tsdividend.tasks.anomaly.windows import encode, layout, slice_windows
from tsdividend.tasks.finetune import Run, StepBudget, adamw, train_by_steps


def _window_loss(
    encoder: TokenEncoder, decoder: nn.Linear, x: torch.Tensor, m: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed squared error of the decoded tokens on the observed instance-normalised patch
    values of (B, C, W) windows, and the number of observed values (the probe's loss, end to
    end)."""
    with torch.no_grad():  # targets do not depend on the weights
        pat = encoder.patchify(x, m)
    obs = pat.observed.float()
    err = (decoder(encoder.tokens(x, m).float()) - pat.values.float()) ** 2
    return (err * obs).sum(), obs.sum()


def finetune_anomaly(
    encoder: TokenEncoder, dataset: Dataset, cfg: AnomalyConfig, seed: int, *, device: str = "auto",
    batch_size: int | None = None,
) -> tuple[TokenEncoder, nn.Linear, dict]:  # fmt: skip
    """LP-FT of a COPY of ``encoder`` and the linear decoder on the normal training windows
    (module docstring); reads no labels and never modifies ``encoder``.

    LP: the probe's decoder (:func:`~tsdividend.tasks.anomaly.scorers.fit_decoder`) on the
    frozen tokens of the fitting windows, early-stopped on the validation windows; FT: encoder +
    decoder from there through :func:`~tsdividend.tasks.finetune.train_by_steps` (validation =
    mean squared error per observed value of the last, time-ordered training windows).

    Returns:
        The fine-tuned encoder copy and decoder with their best-validation weights restored (eval
        mode), and a summary (best_step, budget_steps, converged, steps_run, val_curve,
        val_loss = mean squared error per value at best_step, lp_epochs).
    """
    dev = pick_device(device)
    lay = layout(encoder, dataset, cfg)

    def windows(starts: np.ndarray) -> list[torch.Tensor]:
        parts = slice_windows(lay.x, lay.m, starts, lay.width)
        return [torch.from_numpy(np.ascontiguousarray(a)).to(dev) for a in parts]

    fit_starts, val_starts = lay.train_starts[: lay.n_fit], lay.train_starts[-lay.n_val :]
    (fit_x, fit_m), (val_x, val_m) = windows(fit_starts), windows(val_starts)
    bs = cfg.finetune_batch_sizes[0] if batch_size is None else batch_size
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)  # dropout draws from the global RNG: seed it, restore after
        enc = copy.deepcopy(encoder).to(dev)
        gen = torch.Generator().manual_seed(seed)
        lp_epochs = 0
        if cfg.finetune_lp:  # the probe's decoder on the frozen copy: step 0 IS the probe
            enc.eval()  # frozen features: no dropout (the engine switches to train mode)
            frozen = encode(enc, lay.x, lay.m, np.r_[fit_starts, val_starts], lay.width,
                             cfg.embed_batch_size)  # fmt: skip
            decoder, lp_epochs = fit_decoder(frozen, lay.n_fit, cfg, seed, dev)
        else:
            n_values = enc.patchify(fit_x[:1], fit_m[:1]).values.shape[-1]  # P of any tokenizer
            decoder = new_decoder(enc.token_dim, n_values, gen, dev)
        model = nn.ModuleDict({"encoder": enc, "decoder": decoder})
        opt = adamw([{"params": enc.parameters(), "lr": cfg.encoder_lr},
                     {"params": decoder.parameters(), "lr": cfg.decoder_lr}],
                    cfg.decoder_weight_decay)  # fmt: skip
        order: list[torch.Tensor] = []

        def loss_fn() -> torch.Tensor:
            if not order:  # a fresh seeded permutation once the last one is used up
                order.extend(reversed(torch.randperm(fit_x.shape[0], generator=gen).split(bs)))
            j = order.pop().to(dev)
            total, count = _window_loss(enc, decoder, fit_x[j], fit_m[j])
            return total / count.clamp_min(1)

        def val_fn() -> float:  # every validation window, no batch dropped
            sums = [_window_loss(enc, decoder, val_x[i : i + bs], val_m[i : i + bs])
                    for i in range(0, val_x.shape[0], bs)]  # fmt: skip
            return float(sum(t for t, _ in sums) / max(float(sum(c for _, c in sums)), 1.0))

        budget = StepBudget(cfg.finetune_steps, cfg.finetune_warmup, cfg.finetune_eval_every,
                            cfg.finetune_patience, cfg.finetune_grad_clip)  # fmt: skip
        out = train_by_steps([Run(model, opt, loss_fn, val_fn)], budget, higher_is_better=False)
    summary = {**out.summary(), "val_loss": out.best_score, "lp": cfg.finetune_lp,
               "lp_epochs": lp_epochs}  # fmt: skip
    return enc.eval(), decoder.eval(), summary
