"""npe2 writer hooks for Labels layers: BSDS ``segs`` ``.mat`` and a per-segment CSV table.

The writers themselves are core code: :func:`write_segs_mat` in
:mod:`napari_deepsuperpixel.io.bsds_mat` and :func:`write_segments_csv` in
:mod:`napari_deepsuperpixel.io.tables` (both re-exported here). They refuse
to overwrite an existing file unless ``overwrite=True``; the hooks pass
``overwrite=True`` because napari's *Save Layer* dialog has already asked the
user to confirm replacing an existing file.
"""

from __future__ import annotations

import numpy as np

from ..io.bsds_mat import write_segs_mat
from ..io.tables import write_segments_csv

__all__ = ["napari_write_csv", "napari_write_segs", "write_segments_csv", "write_segs_mat"]


def napari_write_segs(path: str, data, meta: dict) -> list[str]:
    """npe2 writer hook: a Labels layer to a BSDS ``segs`` ``.mat`` (see :func:`write_segs_mat`).

    ``path`` is the target chosen in napari's save dialog, ``data`` the
    layer data, ``meta`` its metadata (unused); returns ``[path]``.
    """
    return [str(write_segs_mat(path, np.asarray(data), overwrite=True))]


def napari_write_csv(path: str, data, meta: dict) -> list[str]:
    """npe2 writer hook: a Labels layer to a per-segment CSV (see :func:`write_segments_csv`).

    Like :func:`napari_write_segs`; the layer's ``features`` (e.g. the mean
    intensities the segmentation widget stores) and ``scale`` from ``meta``
    are included.
    """
    feats = meta.get("features")
    if feats is not None and len(getattr(feats, "columns", feats)) == 0:
        feats = None
    return [str(write_segments_csv(path, np.asarray(data), features=feats, scale=meta.get("scale"),
                                   overwrite=True))]
