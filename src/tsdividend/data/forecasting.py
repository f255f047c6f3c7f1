"""Reader for the long-horizon forecasting CSVs (a ``date`` column, then one column per variable).

The result is one multivariate series ``X`` (1, C, T) with chronological splits in
``time_splits`` (no shuffling), standardised with the mean and (population, ddof=0) standard
deviation of the **train** rows only (``meta["mean"]``, ``meta["std"]``, per channel; a channel
constant over train is divided by 1). Splits follow the Informer/Autoformer benchmark code:

- ETTh1/ETTh2 (Zhou et al., AAAI 2021): 12/4/4 months of 30x24 hours: train ``[0, 8640)``, val
  ``[8640, 11520)``, test ``[11520, 14400)``; rows after 14400 are never used and are dropped.
- Exchange (Lai et al., SIGIR 2018) and ILI (CDC ILINet, Autoformer packaging): ``n_train =
  int(0.7 N)``, ``n_test = int(0.2 N)``, val in between.

Evaluation windows that start ``seq_len`` steps before a border are the forecasting task's job;
this module only stores the borders.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tsdividend.data.dataset import DataError, Dataset, check_series, to_masked
from tsdividend.data.parsing import read_table

HOURS_PER_MONTH = 30 * 24
# name -> (file under forecasting/, split rule)
FORECAST_FILES: dict[str, tuple[str, str]] = {
    "ETTh1": ("ETTh1.csv", "ett-hour"),
    "ETTh2": ("ETTh2.csv", "ett-hour"),
    "Exchange": ("exchange_rate.csv", "70/10/20"),
    "ILI": ("national_illness.csv", "70/10/20"),
}


def split_borders(rule: str, n_rows: int) -> dict[str, tuple[int, int]]:
    """Half-open train/val/test row ranges for a split rule.

    Args:
        rule: ``"ett-hour"`` (12/4/4 months) or ``"70/10/20"``.
        n_rows: rows in the file.

    Raises:
        DataError: the file is too short for the rule, or the rule is unknown.
    """
    if rule == "ett-hour":
        m = HOURS_PER_MONTH
        if n_rows < 20 * m:
            raise DataError(f"ETT hourly data needs {20 * m} rows (20 months), got {n_rows}")
        return {"train": (0, 12 * m), "val": (12 * m, 16 * m), "test": (16 * m, 20 * m)}
    if rule == "70/10/20":
        n_train, n_test = int(0.7 * n_rows), int(0.2 * n_rows)
        if n_train == 0 or n_test == 0 or n_train + n_test >= n_rows:
            raise DataError(f"70/10/20 split needs more rows than {n_rows}")
        return {
            "train": (0, n_train),
            "val": (n_train, n_rows - n_test),
            "test": (n_rows - n_test, n_rows),
        }
    raise DataError(f"unknown split rule {rule!r}; valid: ett-hour, 70/10/20")


def load_forecast(name: str, path: Path, rule: str, *, min_length: int, source: str) -> Dataset:
    """Load a forecasting CSV as one standardised series with chronological splits.

    Args:
        name: dataset name (``forecast/ETTh1`` ...).
        path: the CSV (first column ``date``).
        rule: split rule for ``split_borders``.
        min_length: right-pad (mask False) up to this length.
        source: provenance for ``meta``.

    Raises:
        DataError: no ``date`` first column, bad cells (naming file, line, column), or a file
            too short for its split rule.
    """
    table = read_table(path, sep=",", header=True, text_cols=(0,))
    header = table.header or []
    if not header or header[0].strip().lower() != "date" or len(header) < 2:
        raise DataError(f"{path}: expected a first column 'date' and value columns, got {header}")
    values = table.values[:, 1:]
    borders = split_borders(rule, values.shape[0])
    used = max(end for _, end in borders.values())
    values = values[:used]
    check_series(values.T[None], source=str(path), rows=[f"2-{table.line(used - 1)}"])
    a, b = borders["train"]
    mean = np.nanmean(values[a:b], axis=0)
    std = np.nanstd(values[a:b], axis=0)
    if np.isnan(mean).any():
        c = int(np.flatnonzero(np.isnan(mean))[0])
        raise DataError(f"{path}: column {header[c + 1]!r} has no observed value in the train rows")
    std = np.where(std > 0, std, 1.0)
    X, mask = to_masked(((values - mean) / std).T[None], min_length=min_length)
    dates = table.text[0]
    return Dataset(
        name=name,
        task="forecasting",
        X=X,
        mask=mask,
        time_splits=borders,
        channel_names=tuple(h.strip() for h in header[1:]),
        meta={
            "source": source,
            "files": [str(path)],
            "mean": mean.tolist(),
            "std": std.tolist(),
            "standardised": "train rows only, population std (ddof=0)",
            "rows_in_file": int(table.values.shape[0]),
            "rows_used": used,
            "first_date": dates[0],
            "last_date": dates[used - 1],
            "split_rule": rule,
        },
    )
