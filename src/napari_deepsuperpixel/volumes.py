"""Volumes and time-lapses: 3D supervoxels, T as a spatial axis, labels matched through time.

:func:`napari_deepsuperpixel.segment_result` runs a prepared image in one of
three modes (:data:`MODES`):

``"slices"``
    every 2D slice (each Z of each T) on its own; labels distinct per slice;
``"3d"``
    each ``(Z, Y, X)`` volume (each time point of a ``TZYX`` image) with the
    method's volume runner (:func:`run_volumes`), physical ``spacing``;
``"spacetime"``
    a ``TYX`` time-lapse as one ``(T, Y, X)`` volume, T a spatial axis whose
    voxel size is ``time_spacing`` (spatio-temporal supervoxels).

With ``match_time=True`` the per-frame labels of a time-lapse (``"slices"``
or ``"3d"``) are renumbered by overlap (:func:`match_labels_through_time`),
so that an object that stays keeps its label, as stardist-napari's "match
labels through time".
"""

from __future__ import annotations

import numpy as np

from .options import MODES  # noqa: F401  (the modes of napari_deepsuperpixel.segment)


def check_mode(info, mode: str, axes: str, *, match_time: bool = False) -> None:
    """Refuse a mode the image or the method cannot run, before any work starts.

    Parameters
    ----------
    info : MethodInfo
    mode : str
        One of :data:`MODES`.
    axes : str
        The prepared image's axes (``PreparedImage.axes``, no ``C``).
    match_time : bool

    Raises
    ------
    ValueError
        An unknown mode; ``"3d"`` without a Z axis; ``"spacetime"`` without T
        or with Z; a method without a volume runner (the message names those
        that have one); ``match_time`` without a T axis or with ``"spacetime"``.
    """
    from .methods import check_supports_3d

    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "3d" and "Z" not in axes:
        hint = " (mode='spacetime' treats T as a spatial axis)" if "T" in axes else ""
        raise ValueError(f"mode='3d' needs a Z axis; the image's axes are {axes!r}{hint}")
    if mode == "spacetime" and ("T" not in axes or "Z" in axes):
        raise ValueError(f"mode='spacetime' needs a TYX time-lapse (T as a third spatial axis); the image's axes "
                         f"are {axes!r}" + ("; 4D supervoxels are not supported, use mode='3d' per time point"
                                            if "Z" in axes else ""))
    if mode != "slices":
        check_supports_3d(info)
    if match_time and ("T" not in axes or mode == "spacetime"):
        raise ValueError("match_time needs a T axis and mode 'slices' or '3d' (spacetime supervoxels already "
                         f"span time); the image's axes are {axes!r}")


def volume_spacing(axes: str, spacing: tuple, mode: str, time_spacing: float) -> tuple:
    """The ``(d0, d1, d2)`` voxel size of the volumes :func:`run_volumes` segments."""
    zyx = dict(zip([a for a in axes if a in "ZYX"], spacing))
    if mode == "spacetime":
        return float(time_spacing), zyx["Y"], zyx["X"]
    return zyx["Z"], zyx["Y"], zyx["X"]


def run_volumes(info, params, prepared, *, mode: str, spacing: tuple, time_spacing: float = 1.0, seed: int = 0,
                device="cpu", progress=None):
    """Segment every volume of a prepared image in 3D (``mode`` ``"3d"`` or ``"spacetime"``).

    Parameters
    ----------
    info : MethodInfo
        With a volume runner.
    params : dataclass instance
    prepared : PreparedImage
    mode : {"3d", "spacetime"}
    spacing : tuple of float
        One value per Z/Y/X axis of ``prepared.axes``.
    time_spacing : float
        For ``"spacetime"``: the voxel size of T, in the units of ``spacing``.
    seed : int
    device : str or torch.device
    progress : Progress
        Receives the runner's reports (with ``frame``/``n_frames`` for several
        time points) and has ``check()``.

    Returns
    -------
    labels : numpy.ndarray of int32
        ``prepared.spatial_shape``, ``1..N``, each label one 6-connected region
        of one volume (labels of different time points are distinct).
    extras : dict
        The runner's extras, in the shape :func:`~napari_deepsuperpixel._types.collect_extras` gives.
    """
    from ._types import PartProgress, collect_extras
    from .methods.compose import run_prepared_volume

    vols = prepared.volume_data(with_t=mode == "spacetime")  # (T, Z, Y, X, C)
    d = volume_spacing(prepared.axes, spacing, mode, time_spacing)
    nt = vols.shape[0]
    out = np.empty(vols.shape[:4], np.int32)
    parts = []
    offset = 0
    for t in range(nt):
        progress.check()
        res = run_prepared_volume(info, params, vols[t], prepared.rgb, spacing=d, seed=seed, device=device,
                                  progress=PartProgress(progress, t, nt, "frame"))
        progress.check()
        out[t] = res.labels + offset
        offset = int(out[t].max())
        parts.append(res.extras)
    return out.reshape(prepared.spatial_shape), collect_extras(parts, vols.shape[1:4], prepared.spatial_shape)


def match_labels_through_time(labels, *, min_iou: float = 0.3) -> np.ndarray:
    """Renumber per-frame labels so that an object keeps its label from one frame to the next.

    Frame ``t``'s segments are matched to frame ``t - 1``'s (already renumbered)
    by their intersection over union: pairs are taken greedily from the
    largest IoU down, each segment at most once, while the IoU is at least
    ``min_iou``. A matched segment takes its predecessor's label; an
    unmatched one (a new object, a split) gets a new label. Matching only
    consecutive frames, an object that disappears and comes back gets a new label.

    Parameters
    ----------
    labels : (T, ...) int array
        Per-frame labels (any values; 0 is an ordinary label), e.g. ``(T, Y, X)``
        or ``(T, Z, Y, X)``.
    min_iou : float
        In ``(0, 1]``: the least overlap that continues a label.

    Returns
    -------
    numpy.ndarray of int32
        The same shape; labels ``1..N``, each present in at least one frame.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[[1, 1, 2, 2]], [[7, 7, 5, 5]]])
    >>> match_labels_through_time(a)[:, 0].tolist()
    [[1, 1, 2, 2], [1, 1, 2, 2]]
    """
    lab = np.asarray(labels)
    if lab.ndim < 3 or not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"labels must be an integer array (T, Y, X) or (T, Z, Y, X), got {lab.dtype} {lab.shape}")
    if not 0 < float(min_iou) <= 1:
        raise ValueError(f"min_iou must be in (0, 1], got {min_iou}")
    out = np.empty(lab.shape, np.int32)
    prev_ids = prev_inv = None
    next_label = 1
    for t in range(lab.shape[0]):
        ids, inv = np.unique(lab[t], return_inverse=True)
        inv = inv.reshape(-1)
        new = np.zeros(ids.size, np.int64)
        if prev_ids is not None:
            # contingency of (previous label index, current label index)
            key = prev_inv.astype(np.int64) * ids.size + inv
            pair, inter = np.unique(key, return_counts=True)
            pi, ci = pair // ids.size, pair % ids.size
            size_p = np.bincount(prev_inv, minlength=prev_ids.size)
            size_c = np.bincount(inv, minlength=ids.size)
            iou = inter / (size_p[pi] + size_c[ci] - inter)
            order = np.argsort(-iou, kind="stable")
            used_p = np.zeros(prev_ids.size, bool)
            for j in order:
                if iou[j] < min_iou:
                    break
                if used_p[pi[j]] or new[ci[j]]:
                    continue
                used_p[pi[j]] = True
                new[ci[j]] = prev_ids[pi[j]]
        for c in np.flatnonzero(new == 0):
            new[c] = next_label
            next_label += 1
        frame = new[inv]
        out[t] = frame.reshape(lab.shape[1:])
        prev_ids, prev_inv = new, inv
    return out  # every label was given to a segment when it was counted: 1..N
