"""End-to-end anomaly fine-tuning: encoder + linear decoder on the normal training windows.

``regime="finetune"`` of :mod:`tsdividend.tasks.anomaly` (its module docstring describes the
protocol); :func:`finetune_anomaly` is importable from there as before. Windows and the decoder's
init come from :mod:`tsdividend.tasks.anomaly_windows`.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from tsdividend.data.dataset import Dataset
from tsdividend.device import pick_device
from tsdividend.encoder import Encoder
from tsdividend.tasks.anomaly_windows import _layout, _new_decoder, _slice

if TYPE_CHECKING:
    from tsdividend.tasks.anomaly import AnomalyConfig


def _window_loss(
    encoder: Encoder, decoder: nn.Linear, x: torch.Tensor, m: torch.Tensor
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
    encoder: Encoder, dataset: Dataset, cfg: AnomalyConfig, seed: int, *, device: str = "auto",
    batch_size: int | None = None,
) -> tuple[Encoder, nn.Linear, dict[str, float]]:  # fmt: skip
    """Train a COPY of ``encoder`` and the linear decoder end to end on the normal training
    windows (module docstring, "finetune"); reads no labels and never modifies ``encoder``.

    Returns:
        The fine-tuned encoder copy and decoder with their best-validation weights restored (eval
        mode), and a summary (best_epoch, epochs_run, val_loss = mean squared error per value).
    """
    dev = pick_device(device)
    lay = _layout(encoder, dataset, cfg)

    def windows(starts: np.ndarray) -> list[torch.Tensor]:
        parts = _slice(lay.x, lay.m, starts, lay.width)
        return [torch.from_numpy(np.ascontiguousarray(a)).to(dev) for a in parts]

    (fit_x, fit_m), (val_x, val_m) = (windows(lay.train_starts[: lay.n_fit]),
                                      windows(lay.train_starts[-lay.n_val :]))  # fmt: skip
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)  # dropout draws from the global RNG: seed it, restore after
        enc = copy.deepcopy(encoder).to(dev)
        gen = torch.Generator().manual_seed(seed)
        n_values = enc.patchify(fit_x[:1], fit_m[:1]).values.shape[-1]  # P of any tokenizer
        decoder = _new_decoder(enc.config.d_model, n_values, gen, dev)
        opt = torch.optim.AdamW(
            [{"params": enc.parameters(), "lr": cfg.encoder_lr},
             {"params": decoder.parameters(), "lr": cfg.decoder_lr}],
            weight_decay=cfg.decoder_weight_decay,
        )  # fmt: skip
        best, best_epoch, best_state, epoch, bad = float("inf"), 0, None, 0, 0
        bs = cfg.finetune_batch_sizes[0] if batch_size is None else batch_size
        for epoch in range(1, cfg.finetune_max_epochs + 1):
            enc.train()
            for j in torch.randperm(fit_x.shape[0], generator=gen).to(dev).split(bs):
                total, count = _window_loss(enc, decoder, fit_x[j], fit_m[j])
                opt.zero_grad(set_to_none=True)
                (total / count.clamp_min(1)).backward()
                opt.step()
            enc.eval()
            with torch.no_grad():  # every validation window, no batch dropped
                sums = [_window_loss(enc, decoder, val_x[i : i + bs], val_m[i : i + bs])
                        for i in range(0, val_x.shape[0], bs)]  # fmt: skip
                val = float(sum(t for t, _ in sums) / max(float(sum(c for _, c in sums)), 1.0))
            if val < best:
                best, best_epoch, bad = val, epoch, 0
                best_state = copy.deepcopy((enc.state_dict(), decoder.state_dict()))
            else:
                bad += 1
                if bad >= cfg.decoder_patience:
                    break
    assert best_state is not None  # the first epoch always improves on +inf
    enc.load_state_dict(best_state[0])
    decoder.load_state_dict(best_state[1])
    summary = {"best_epoch": best_epoch, "epochs_run": epoch, "val_loss": best}
    return enc.eval(), decoder, summary
