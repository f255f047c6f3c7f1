"""Anomaly detection with a frozen or fine-tuned encoder: two scorers, leak-free metrics.

Protocol (docs/protocols.md, "Anomaly detection"):

1. **Normalise** every channel with the mean/std of the observed TRAINING part only (a constant
   channel keeps std 1). Dataset: one series (1, C, T) with ``time_splits`` "train" (UCR's
   anomaly-free prefix, NAB's probationary period, MSL's train file) and "test".
2. **Windows** of ``W = min(context, n_test, n_train // 2, encoder capacity)`` steps (``context``
   336 = the seed paper's look-back; ``n_train // 2`` so at least two training windows exist and
   the last 20% can validate). Training windows every ``max(1, W // 4)`` steps; test windows are
   non-overlapping, the last one aligned to the end of the series (never zero-padded: padding,
   if any, is the tokenizer's masked right-padding of a last patch). A step's score is the mean of
   the per-step scores of every (window, token) covering it, then the mean over channels.
3. **Embeddings once**: the (frozen or fine-tuned) encoder's per-token outputs (one token stream
   per channel) of every training and test window are computed once, in inference mode, and feed
   both scorers.
4. **Scorers** from ONE encoder (``regime="probe"``; "finetune" below):
   ``recon``: a linear decoder token -> patch values (the seed paper's anomaly head: Linear per
   token, MSE on instance-normalised patches) trained on the frozen tokens of the normal training
   windows with AdamW and early stopping on the last 20% of them (patience ``decoder_patience``,
   best state kept); score = squared error, rescaled by the window's instance std so errors are
   on the train-standardised scale of every window alike.
   ``knn``: PER-TOKEN kNN (for temporal resolution, one token = one patch of ``patch_len``
   steps): mean Euclidean distance of each test token to its ``k`` nearest training tokens of the
   same channel (all training windows; ``k`` is fixed, nothing is selected).
5. **Metrics**, only after every score exists (the test labels are read once, at the end):
   UCR archive ("anomaly/ucr/..."): ucr_score_kdd21 (+-``tolerance``, KDD Cup 2021),
   ucr_score_rewicki23 (+-max(anomaly length, ``tolerance``), Rewicki et al. 2023), vus_pr,
   auc_pr, auc_roc; other archives (NAB, MSL): vus_pr, auc_pr, best_f1 and the extra pa_f1. No
   threshold is fitted. VUS buffer by ``vus_buffer`` (:func:`tsdividend.metrics.vus_max_window`:
   "fixed" 100, or "period" = 2 x the dominant period of the first channel's training part),
   recorded in the rows' extras (``vus_buffer``, ``vus_max_window``, ``vus_window_rule``).
   Rows are named ``"<scorer>/<metric>"``, e.g. ``"knn/vus_pr"``.

``regime="finetune"``: LP-FT (Kumar et al. 2022). The probe's linear decoder is first fitted on
the frozen encoder's tokens (as in "probe"), then the encoder AND that decoder are trained end to
end on the reconstruction loss of the normal fitting windows through the shared step-budget engine
(:mod:`tsdividend.tasks.finetune`: AdamW, ``encoder_lr`` 1e-4 for the encoder, a tenth of the
decoder's ``decoder_lr`` 1e-3, warm-up + cosine over ``finetune_steps``, gradient clipping; batch
size chosen from ``finetune_batch_sizes`` by validation error), the step (0 = the probe's decoder
on the frozen encoder) chosen by the validation windows' reconstruction error, early-stopped after
``finetune_patience`` updates without improvement, best encoder+decoder state restored. The
fine-tuned encoder then feeds both scorers exactly as above: ``recon`` with the fine-tuned
decoder, ``knn`` with its tokens of all training windows as the bank. Dropout and batch order
draw from ``seed`` only (``torch.random.fork_rng``); the caller's module is deep-copied, never
modified.

Baselines, through this same code path: ``random`` (random init from ``seed``, frozen) is the probe
baseline; ``scratch`` (random init from ``seed``, fine-tuned) the fine-tune baseline. Each is
refused in the other regime, as in :mod:`tsdividend.tasks.classification`.

Code layout (one role per module): ``config`` the settings and the task record (torch-free),
``windows`` where the windows lie and the encoder pass over them, ``scorers`` the linear decoder
and the two scorers, ``finetune`` the end-to-end fine-tune, ``protocol`` :func:`anomaly_scores`,
the metrics and :func:`evaluate_anomaly`. The names below are importable from this package; the
torch-using ones are imported on first use (PEP 562), so reading the config imports no torch.
"""

from __future__ import annotations

from tsdividend.registry import lazy_exports
from tsdividend.tasks.anomaly.config import OTHER_METRICS, SCORERS, UCR_METRICS, AnomalyConfig

__all__ = [
    "OTHER_METRICS",
    "SCORERS",
    "UCR_METRICS",
    "AnomalyConfig",
    "anomaly_scores",
    "evaluate_anomaly",
    "finetune_anomaly",
    "vus_buffer",
    "window_length",
    "window_starts",
]

# name -> submodule: torch-using names, imported when first read
_LAZY = {
    "anomaly_scores": "protocol",
    "evaluate_anomaly": "protocol",
    "vus_buffer": "protocol",
    "finetune_anomaly": "finetune",
    "window_length": "windows",
    "window_starts": "windows",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
