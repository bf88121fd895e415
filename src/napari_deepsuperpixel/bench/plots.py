"""Benchmark plots (matplotlib, Agg canvas; pyplot and its global backend are not touched).

Each function writes one PNG and returns its path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def _figure(w=5.0, h=4.0, ncols=1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w * ncols, h), dpi=100)
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def _save(fig, path) -> Path:
    from ..io.writes import atomic_write

    return atomic_write(path, lambda tmp: fig.savefig(tmp, bbox_inches="tight"))


def _iso_f(ax):
    r = np.linspace(0.01, 1, 200)
    for f in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        with np.errstate(divide="ignore", invalid="ignore"):
            p = f * r / (2 * r - f)
        ok = (p > 0) & (p <= 1)
        ax.plot(r[ok], p[ok], color="0.85", lw=0.7, zorder=0)


def plot_boundary_pr(recall: Sequence[float], precision: Sequence[float], labels: Sequence,
                     path, *, title: str = "", ods=None) -> Path:
    """Boundary precision-recall points of the sweep values, joined in sweep order.

    Parameters
    ----------
    recall, precision : sequence of float
        Dataset-level boundary recall and precision per sweep value.
    labels : sequence
        The sweep values (annotations).
    path : str or Path
        Output PNG.
    title : str
    ods : (recall, precision, f), optional
        The ODS point, marked with a star.

    Returns
    -------
    Path
    """
    fig, (ax,) = _figure()
    _iso_f(ax)
    ax.plot(recall, precision, "o-", color="C0")
    for r_, p_, lab in zip(recall, precision, labels):
        ax.annotate(str(lab), (r_, p_), textcoords="offset points", xytext=(4, 4), fontsize=8)
    if ods is not None:
        ax.plot([ods[0]], [ods[1]], "*", color="C3", ms=12, label=f"ODS F = {ods[2]:.3f}")
        ax.legend(loc="lower left")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="Recall", ylabel="Precision",
           title=title or "Boundary precision-recall")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_vs_segments(n_segments: Sequence[float], series: dict, path, *, title: str = "") -> Path:
    """Metrics against the mean number of segments (one panel per metric).

    Parameters
    ----------
    n_segments : sequence of float
        Mean number of segments per sweep value.
    series : dict
        ``{"ASA": [...], "BR": [...]}``: one panel each.
    path : str or Path
    title : str

    Returns
    -------
    Path
    """
    fig, axes = _figure(4.2, 3.6, ncols=len(series))
    order = np.argsort(n_segments)
    x = np.asarray(n_segments, float)[order]
    for ax, (name, vals) in zip(axes, series.items()):
        ax.plot(x, np.asarray(vals, float)[order], "o-")
        ax.set(xlabel="Number of segments", ylabel=name)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_segment_pr(curves: dict, path, *, title: str = "") -> Path:
    """Kanezaki's size-ranked segment precision-recall curves.

    Parameters
    ----------
    curves : dict
        ``label -> (precision, recall, ap)``.
    path : str or Path
    title : str

    Returns
    -------
    Path
    """
    fig, (ax,) = _figure()
    for lab, (p, r, ap) in curves.items():
        ax.plot(r, p, label=f"{lab} (AP {ap:.3f})")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="Recall", ylabel="Precision",
           title=title or "Segment precision-recall (IoU > 0.5)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_learning_curve(pixels: Sequence[float], series: dict, path, *, references: dict | None = None,
                        paper_pixels: float | None = None, title: str = "") -> Path:
    """Quality against the training budget (pixels seen, log scale), one panel per metric.

    Parameters
    ----------
    pixels : sequence of float
        Training pixels seen at each checkpoint.
    series : dict
        ``{"metric": [value per checkpoint]}``: one panel each.
    references : dict, optional
        ``{"metric": {"SNIC": value, ...}}``: horizontal lines (baselines on
        the same images).
    paper_pixels : float, optional
        The paper's budget in pixels: a vertical line.
    path : str or Path
    title : str

    Returns
    -------
    Path
    """
    fig, axes = _figure(4.8, 3.4, ncols=len(series))
    x = np.asarray(pixels, float)
    order = np.argsort(x)
    for ax, (name, vals) in zip(axes, series.items()):
        ax.plot(x[order], np.asarray(vals, float)[order], "o-", label="this package's training")
        for j, (ref, v) in enumerate(((references or {}).get(name) or {}).items()):
            ax.axhline(v, ls="--", lw=1, color=f"C{j + 1}", label=ref)
        if paper_pixels:
            ax.axvline(paper_pixels, ls=":", color="0.4", label="paper's budget")
        ax.set_xscale("log")
        ax.set(xlabel="Training pixels seen", ylabel=name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.subplots_adjust(wspace=0.35)
    if title:
        fig.suptitle(title)
    return _save(fig, path)
