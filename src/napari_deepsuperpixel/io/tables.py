"""Per-segment tables of a label image: computed (:func:`segment_table`) and
written as CSV (:func:`write_segments_csv`). Pure numpy, no napari or Qt.

The napari plugin stores the same table as the ``features`` of the Labels
layers it makes and writes it from *Save Layer*; scripts and the CLI can call
these functions directly.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .writes import atomic_write, check_writable


def segment_table(labels, image=None, *, channel_names=None) -> dict:
    """Compute a per-segment table: label, area, centroid and mean intensity.

    Parameters
    ----------
    labels : array_like of int
        Label image ``(Y, X)`` or ``(Z, Y, X)``; label 0 is treated as
        background and left out of the table. Negative labels are invalid.
    image : array_like, optional
        Intensity image with the same spatial shape, optionally with a
        trailing channel axis ``(..., C)``. Means are computed on the raw
        values (no normalisation), so that microscopy intensities keep their
        units.
    channel_names : sequence of str, optional
        Names for the mean-intensity columns; default ``mean_intensity`` for a
        single channel, ``mean_intensity_c0``, ``mean_intensity_c1``, ... for
        several (``mean_R``/``mean_G``/``mean_B`` are *not* guessed).

    Returns
    -------
    dict of str -> numpy.ndarray
        Columns of equal length, one row per label present (ascending):
        ``label``, ``area`` (pixel count), ``centroid_y``, ``centroid_x``
        (``centroid_z`` first for a stack; pixel coordinates) and the
        mean-intensity columns when ``image`` is given.

    Raises
    ------
    ValueError
        If ``labels`` is not 2D/3D integer data, has negative values, or the
        image's spatial shape differs.
    """
    lab = np.asarray(labels)
    if lab.ndim not in (2, 3):
        raise ValueError(f"labels must be 2D (Y, X) or 3D (Z, Y, X), got shape {lab.shape}")
    if not (np.issubdtype(lab.dtype, np.integer) or lab.dtype == bool):
        raise ValueError(f"labels must be an integer array, got dtype {lab.dtype}")
    if lab.size and lab.min() < 0:
        raise ValueError("labels must be non-negative (0 is background)")
    img = None
    if image is not None:
        img = np.asarray(image)
        if img.shape == lab.shape:
            img = img[..., np.newaxis]
        if img.shape[:-1] != lab.shape:
            raise ValueError(
                f"image shape {np.asarray(image).shape} does not match labels shape {lab.shape} "
                "(a trailing channel axis is allowed)"
            )
        n_ch = img.shape[-1]
        if channel_names is None:
            channel_names = ["mean_intensity"] if n_ch == 1 else [f"mean_intensity_c{c}" for c in range(n_ch)]
        if len(channel_names) != n_ch:
            raise ValueError(f"got {len(channel_names)} channel names for {n_ch} channels")
    stack = lab if lab.ndim == 3 else lab[np.newaxis]
    n = int(stack.max()) + 1 if stack.size else 1
    ny, nx = stack.shape[1:]
    yy = np.repeat(np.arange(ny, dtype=np.float64), nx)
    xx = np.tile(np.arange(nx, dtype=np.float64), ny)
    area = np.zeros(n, np.int64)
    sums = {ax: np.zeros(n) for ax in "zyx"}
    ch_sums = [np.zeros(n) for _ in (channel_names or [])]
    # slice by slice: memory stays O(Y * X) even for large stacks
    for z in range(stack.shape[0]):
        flat = stack[z].ravel().astype(np.int64)
        cnt = np.bincount(flat, minlength=n)
        area += cnt
        sums["z"] += z * cnt
        sums["y"] += np.bincount(flat, weights=yy, minlength=n)
        sums["x"] += np.bincount(flat, weights=xx, minlength=n)
        if img is not None:
            sl = img[z] if lab.ndim == 3 else img
            for c in range(len(ch_sums)):
                ch_sums[c] += np.bincount(flat, weights=sl[..., c].ravel().astype(np.float64), minlength=n)
    present = np.flatnonzero(area)
    present = present[present > 0]
    out = {"label": present.astype(np.int64), "area": area[present]}
    for ax in "zyx"[3 - lab.ndim:]:
        out[f"centroid_{ax}"] = sums[ax][present] / area[present]
    for cname, cs in zip(channel_names or [], ch_sums):
        out[cname] = cs[present] / area[present]
    return out


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
