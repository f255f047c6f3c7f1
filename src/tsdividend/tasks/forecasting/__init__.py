"""Long-horizon forecasting: a linear head on THE encoder's flattened tokens, probed or fine-tuned.

After PatchTST (Nie et al. 2023) and the seed paper (Razmadze et al. 2026, section 5.1); the full
protocol, its defaults and their sources are in docs/protocols.md, "Forecasting". In short:
windows whose target lies in a split (validation/test windows start L rows before their border;
every test window is used), channel-independent (each channel one univariate series through the
encoder, one head per horizon shared by the channels), RevIN-style: the head predicts in the
window's instance-normalised space and is de-normalised with the window's mean/std for every
tokenizer, so losses and metrics are on the standardised scale. Probe = closed-form weighted
ridge on cached tokens with the penalty chosen on validation; fine-tune = LP-FT: the ridge head
on the frozen encoder first, then encoder + head end to end on a step budget (warm-up + cosine),
the step chosen on the time-ordered validation span. Test windows are read after every choice
is made.

Code layout (one role per module): ``config`` the settings, the standard look-backs/horizons and
the task record (torch-free); ``windows`` the windows (:func:`window_starts`, :func:`gather`,
:func:`check_lookback`); ``ridge`` the probe's head on cached frozen tokens; ``finetune`` the
end-to-end fine-tune (:class:`ForecastModel`); ``protocol`` :func:`evaluate_forecasting`. Every
public name is importable from this package; the torch-using ones are imported on first use
(PEP 562), so reading the config imports no torch.
"""

from __future__ import annotations

from tsdividend.registry import lazy_exports
from tsdividend.tasks.forecasting.config import STANDARD, ForecastingConfig

__all__ = [
    "STANDARD",
    "ForecastingConfig",
    "ForecastModel",
    "Moments",
    "TokenCache",
    "check_lookback",
    "encode_windows",
    "evaluate_forecasting",
    "fit_ridge",
    "gather",
    "predict",
    "ridge_moments",
    "window_starts",
]

# name -> submodule: torch-using names, imported when first read
_LAZY = {
    "ForecastModel": "finetune",
    "Moments": "ridge",
    "TokenCache": "ridge",
    "check_lookback": "windows",
    "encode_windows": "ridge",
    "evaluate_forecasting": "protocol",
    "fit_ridge": "ridge",
    "gather": "windows",
    "predict": "ridge",
    "ridge_moments": "ridge",
    "window_starts": "windows",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
