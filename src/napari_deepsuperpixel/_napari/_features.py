"""Per-segment features of a label image (pure numpy; used by the writer and widget).

No napari or Qt imports: the same table is written by the CSV writer and
stored as the ``features`` of the Labels layers the segmentation widget makes.
"""

from __future__ import annotations

import numpy as np


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
