"""Report figures (matplotlib, Agg backend): each function writes one PNG and returns its path."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: the report is built on servers and in CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

# (x, mean, ci_low, ci_high) of one point of a curve or one bar.
Point = tuple[float | str, float, float, float]


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def heatmap(
    values: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    col_units: Sequence[str],
    title: str,
    path: Path,
) -> Path:
    """Diverging heatmap (rows x cols, NaN = missing), centred on 0, with ONE COLOUR SCALE PER
    COLUMN: columns are tasks whose dividends have different units (points, % error reduction),
    so each is scaled by its own largest |value|, printed under its label.

    Args:
        values: dividends already in display units (e.g. 100 x difference = points).
        col_units: the unit of each column ("pts", "%").
    """
    fig, ax = plt.subplots(figsize=(2.1 * len(col_labels) + 2.5, 0.45 * len(row_labels) + 2.0))
    spans = []
    for j in range(values.shape[1]):
        col = values[:, j][np.isfinite(values[:, j])]
        spans.append(float(np.max(np.abs(col))) if col.size and np.max(np.abs(col)) > 0 else 1.0)
    scaled = values / np.array(spans)[None, :]
    ax.imshow(np.ma.masked_invalid(scaled), cmap="RdBu", norm=TwoSlopeNorm(0.0, -1.0, 1.0),
              aspect="auto")  # fmt: skip
    labels = [f"{c}\n(colour: ±{s:.3g} {u})"
              for c, s, u in zip(col_labels, spans, col_units, strict=True)]  # fmt: skip
    ax.set_xticks(range(len(col_labels)), labels, rotation=0, fontsize=8)
    ax.set_yticks(range(len(row_labels)), row_labels)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            text = "—" if math.isnan(v) else f"{v:+.1f} {col_units[j]}"
            dark = not math.isnan(v) and abs(scaled[i, j]) > 0.6
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")  # fmt: skip
    ax.set_xlabel("task (headline metric); each column has its own colour scale")
    ax.set_ylabel("pretrained encoder")
    ax.set_title(title)
    return _save(fig, path)


def bars(panels: Mapping[str, tuple[str, Sequence[Point]]], title: str, path: Path) -> Path:
    """One panel per task: horizontal bars of mean dividends; a whisker only where an interval
    exists (NaN bounds draw none).

    Args:
        panels: panel title -> (x label with the unit, [(encoder label, mean, low, high)]), in
            display units.
    """
    n = len(panels)
    height = max(len(v[1]) for v in panels.values()) * 0.35 + 1.6
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, height), squeeze=False)
    for ax, (name, (xlabel, items)) in zip(axes[0], panels.items(), strict=True):
        labels = [str(it[0]) for it in items]
        mean = np.array([it[1] for it in items], np.float64)
        low = np.array([it[2] for it in items], np.float64)
        high = np.array([it[3] for it in items], np.float64)
        colors = ["tab:blue" if m >= 0 else "tab:red" for m in mean]
        ys = np.arange(len(items))
        ax.barh(ys, mean, color=colors, alpha=0.8)
        ok = np.isfinite(low) & np.isfinite(high)
        # whiskers drawn directly (barh's xerr trips a NumPy deprecation inside matplotlib)
        ax.hlines(ys[ok], low[ok], high[ok], color="black", lw=1)
        ax.vlines(np.r_[low[ok], high[ok]], np.r_[ys[ok], ys[ok]] - 0.15,
                  np.r_[ys[ok], ys[ok]] + 0.15, color="black", lw=1)  # fmt: skip
        ax.set_yticks(range(len(items)), labels)
        ax.invert_yaxis()
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlabel(xlabel)
        ax.set_title(name)
    fig.suptitle(title)
    return _save(fig, path)


def plane(points: Sequence[tuple[str, float, float]], xlabel: str, ylabel: str, title: str,
          path: Path) -> Path:  # fmt: skip
    """Scatter of one labelled point per objective (display units), axes through 0 (the
    baselines)."""
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    xs = np.array([p[1] for p in points])
    ys = np.array([p[2] for p in points])
    ax.scatter(xs, ys, s=40, color="tab:purple", zorder=3)
    for (label, _, _), x, y in zip(points, xs, ys, strict=True):
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=9)
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def curves(
    panels: Mapping[str, tuple[str, Mapping[str, Sequence[Point]]]],
    xlabel: str,
    title: str,
    path: Path,
    log_x: bool = False,
) -> Path:
    """One panel per task, one line per objective of mean dividend vs ``x``; a band only between
    points that have an interval.

    Args:
        panels: panel title -> (y label with the unit, line label -> [(x, mean, low, high)]) in
            display units; a string ``x`` is drawn as a category in first-seen order.
        log_x: logarithmic x axis (corpus sizes).
    """
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n, 3.9), squeeze=False)
    for ax, (name, (ylabel, lines)) in zip(axes[0], panels.items(), strict=True):
        cats: list[str] = []
        numeric = sorted({p[0] for pts in lines.values() for p in pts if not isinstance(p[0], str)})
        for pts in lines.values():
            cats += [str(p[0]) for p in pts if isinstance(p[0], str) and str(p[0]) not in cats]
        for label, pts in lines.items():
            xs = np.array([cats.index(p[0]) if isinstance(p[0], str) else p[0] for p in pts],
                          np.float64)  # fmt: skip
            mean, lo, hi = (np.array([p[i] for p in pts], np.float64) for i in (1, 2, 3))
            ax.plot(xs, mean, marker="o", label=label)
            ok = np.isfinite(lo) & np.isfinite(hi)
            if ok.any():
                ax.fill_between(xs, lo, hi, where=ok, alpha=0.15)
        if log_x:
            ax.set_xscale("log")
        if cats:
            ax.set_xticks(range(len(cats)), cats)
        elif numeric:  # mark the measured depths / sizes, not interpolated ones
            ax.set_xticks(numeric, [f"{v:g}" for v in numeric])
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(name)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8, loc="best")
    fig.suptitle(title)
    return _save(fig, path)


def score_curves(
    panels: Mapping[str, tuple[str, Mapping[str, Sequence[tuple[float, float]]],
                               Mapping[str, float]]],
    title: str,
    path: Path,
) -> Path:  # fmt: skip
    """One panel per task: a line per objective of score vs samples (log x), and dashed
    horizontal levels (baselines, classical references) labelled in the legend."""
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 4.2), squeeze=False)
    for ax, (name, (ylabel, lines, levels)) in zip(axes[0], panels.items(), strict=True):
        for label, pts in lines.items():
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
        xs = sorted({p[0] for pts in lines.values() for p in pts})
        for i, (label, value) in enumerate(levels.items()):
            shade = plt.cm.Greys(0.45 + 0.5 * i / max(len(levels), 1))
            ax.axhline(value, ls="--", lw=1.1, color=shade, label=f"{label} {value:.3g}")
        ax.set_xscale("log")
        ax.set_xticks(xs, [f"{v:,.0f}" for v in xs], rotation=30)
        ax.xaxis.set_minor_formatter(NullFormatter())  # only the measured budgets are labelled
        ax.set_xlabel("pretraining samples (steps x batch)")
        ax.set_ylabel(ylabel, fontsize=8)
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(title)
    return _save(fig, path)


def loss_curves(curves: Mapping[str, tuple[Sequence[int], Sequence[float]]], title: str,
                path: Path) -> Path:  # fmt: skip
    """Pretraining loss vs optimizer step, one line per encoder; log y when every loss is > 0
    (losses of different objectives differ by orders of magnitude)."""
    fig, ax = plt.subplots(figsize=(8, 4.8))
    positive = all(min(v) > 0 for _, v in curves.values())
    for label, (steps, losses) in curves.items():
        ax.plot(steps, losses, label=label, lw=1)
    if positive:
        ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss" + (" (log)" if positive else ""))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best", ncol=2)
    return _save(fig, path)


def cd_cliques(ranks: Mapping[str, float], cd: float) -> list[list[str]]:
    """Maximal runs of methods (sorted by rank) whose ranks span less than ``cd``: the groups a
    critical-difference diagram joins with a bar (none are significantly different)."""
    order = sorted(ranks, key=lambda m: ranks[m])
    runs: list[list[str]] = []
    for i in range(len(order)):
        j = i
        while j + 1 < len(order) and ranks[order[j + 1]] - ranks[order[i]] < cd:
            j += 1
        if j > i and not (runs and order.index(runs[-1][-1]) >= j):
            runs.append(order[i : j + 1])
    return runs


def cd_diagram(ranks: Mapping[str, float], cd: float, title: str, path: Path) -> Path:
    """Critical-difference diagram (Demsar 2006): the average-rank axis (1 = best, left), each
    method hooked to its rank, bars joining methods within ``cd`` of each other, the CD scale."""
    order = sorted(ranks, key=lambda m: ranks[m])
    k = len(order)
    half = (k + 1) // 2
    fig, ax = plt.subplots(figsize=(8, 1.4 + 0.3 * half))
    ax.set_xlim(0.5, k + 0.5)
    ax.set_ylim(-(0.5 * half + 0.4), 1.7)
    ax.axis("off")
    ax.hlines(0, 1, k, color="black", lw=1)
    for r in range(1, k + 1):
        ax.vlines(r, 0, 0.15, color="black", lw=1)
        ax.text(r, 0.25, str(r), ha="center", va="bottom", fontsize=9)
    for i, m in enumerate(order):  # best half hooked to the left, the rest to the right
        left = i < half
        y = -(i + 1) if left else -(k - i)
        x_end = 0.6 if left else k + 0.4
        ax.plot([ranks[m], ranks[m], x_end], [0, y * 0.5, y * 0.5], color="black", lw=0.8)
        ax.text(x_end + (-0.05 if left else 0.05), y * 0.5, f"{m} ({ranks[m]:.2f})",
                ha="right" if left else "left", va="center", fontsize=9)  # fmt: skip
    if math.isfinite(cd):
        for n, group in enumerate(cd_cliques(ranks, cd)):
            y_bar = -0.25 - 0.18 * n
            ax.hlines(y_bar, ranks[group[0]] - 0.03, ranks[group[-1]] + 0.03, color="tab:red", lw=3)
        ax.hlines(1.2, 1, 1 + cd, color="black", lw=1.5)
        ax.text(1 + cd / 2, 1.3, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)
