"""Writers for Labels layers: BSDS ``segs`` ``.mat`` and a per-segment CSV table.

The public functions refuse to overwrite an existing file unless
``overwrite=True``. The npe2 writer hooks pass ``overwrite=True`` because
napari's *Save Layer* dialog has already asked the user to confirm replacing
an existing file; scripts that call :func:`write_segs_mat` or
:func:`write_segments_csv` keep the safe default. :func:`write_segs_mat`
lives in :mod:`napari_deepsuperpixel.io.bsds_mat` (re-exported here).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .._util import atomic_write, check_writable
from ..io.bsds_mat import write_segs_mat
from ._features import segment_table

__all__ = ["napari_write_csv", "napari_write_segs", "write_segments_csv", "write_segs_mat"]

def write_segments_csv(path, labels, *, image=None, features=None, scale=None,
                       overwrite: bool = False) -> Path:
    """Write one row per segment: label, area, centroid, mean intensity and extra features.

    Parameters
    ----------
    path : str or Path
        Output ``.csv`` file.
    labels : array_like of int
        ``(Y, X)`` or ``(Z, Y, X)`` labels; 0 is background and not written.
    image : array_like, optional
        Intensity image of the same spatial shape (optionally ``(..., C)``)
        for ``mean_intensity`` columns (raw values).
    features : dict or pandas.DataFrame, optional
        Extra per-label columns, e.g. a napari Labels layer's ``features``;
        matched to labels through its ``index`` (or ``label``) column, or by
        row order when it has neither.
    scale : sequence of float, optional
        Pixel size per spatial axis; adds ``area_scaled`` (area times the
        product of the scales) when any scale differs from 1.
    overwrite : bool
        Replace an existing file (default: refuse).

    Returns
    -------
    Path
        The written CSV (comma separated, header row, ``.`` decimal point).

    Raises
    ------
    ValueError
        For invalid labels or a mismatching image.
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    """
    lab = np.asarray(labels)
    table = segment_table(lab, image)
    if scale is not None:
        s = np.asarray(scale, float)[-lab.ndim:]
        if np.any(s != 1):
            table["area_scaled"] = table["area"] * float(np.prod(s))
    if features is not None:
        _merge_features(table, features)
    path = Path(path)
    check_writable([path], overwrite)
    cols = list(table)

    def write(p):
        with open(p, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            for i in range(len(table["label"])):
                w.writerow([_fmt(table[c][i]) for c in cols])

    atomic_write(path, write)
    return path


def _fmt(v):
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


def _merge_features(table: dict, features) -> None:
    cols = {str(k): np.asarray(features[k]) for k in features.keys()}
    if not cols:
        return
    key = "index" if "index" in cols else ("label" if "label" in cols else None)
    labels = table["label"]
    if key is None:
        if len(next(iter(cols.values()))) != len(labels):
            return  # cannot align rows; skip rather than mislabel
        for k, v in cols.items():
            table.setdefault(k, v)
        return
    ids = cols.pop(key).astype(np.int64)
    pos = {int(i): r for r, i in enumerate(ids)}
    for k, v in cols.items():
        if k in table or k == "label":
            continue
        col = np.empty(len(labels), dtype=object)
        for r, lab in enumerate(labels):
            j = pos.get(int(lab))
            col[r] = v[j] if j is not None else ""
        table[k] = col


def napari_write_segs(path: str, data, meta: dict) -> list[str]:
    """npe2 writer hook: a Labels layer to a BSDS ``segs`` ``.mat`` (see :func:`write_segs_mat`).

    Parameters
    ----------
    path : str
        Target chosen in napari's save dialog (which already confirmed any overwrite).
    data : array_like
        The Labels layer data.
    meta : dict
        The layer's metadata (unused).

    Returns
    -------
    list of str
        The written path.
    """
    return [str(write_segs_mat(path, np.asarray(data), overwrite=True))]


def napari_write_csv(path: str, data, meta: dict) -> list[str]:
    """npe2 writer hook: a Labels layer to a per-segment CSV (see :func:`write_segments_csv`).

    The layer's ``features`` (e.g. the mean intensities the segmentation
    widget stores) and ``scale`` are included.

    Parameters
    ----------
    path : str
        Target chosen in napari's save dialog (which already confirmed any overwrite).
    data : array_like
        The Labels layer data.
    meta : dict
        The layer's state (``features``, ``scale``).

    Returns
    -------
    list of str
        The written path.
    """
    feats = meta.get("features")
    if feats is not None and len(getattr(feats, "columns", feats)) == 0:
        feats = None
    return [str(write_segments_csv(path, np.asarray(data), features=feats, scale=meta.get("scale"),
                                   overwrite=True))]
