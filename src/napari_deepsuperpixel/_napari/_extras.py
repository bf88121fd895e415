"""Turn a Result's extras into napari layer data tuples (pure numpy, no Qt).

Keys used: ``embedding`` (``(Y, X, D)`` features, shown as a PCA-to-RGB
image), ``reconstruction`` (an image, e.g. SuperAE's output), ``superpixels``
(the intermediate over-segmentation of two-stage methods) and ``contours``
(boundary strength). They have the labels' shape (plus their own trailing
axes) for an image and a stack alike (:func:`napari_deepsuperpixel._types.collect_extras`).
:func:`embedding_to_rgb` lives in :mod:`napari_deepsuperpixel.io.embedding` (re-exported here).
"""

from __future__ import annotations

import numpy as np

from ..io.embedding import embedding_to_rgb

__all__ = ["embedding_to_rgb", "extras_to_layers"]


def _array(v):
    """An image-like extra as an array (``None`` for what is not one, e.g. a stack's ragged per-slice list)."""
    return None if isinstance(v, list) else np.asarray(v)


def extras_to_layers(extras: dict) -> list:
    """Layer data tuples for the extras present in ``extras``.

    Parameters
    ----------
    extras : dict
        ``Result.extras`` from :func:`~napari_deepsuperpixel.segment_result`.

    Returns
    -------
    list of tuple
        ``(data, meta, layer_type)`` with ``meta["name"]`` a suffix
        (``"embedding"``, ``"reconstruction"``, ``"superpixels"`` (a Labels
        layer, e.g. the SuperAE superpixels Deep Superpixel Cut groups),
        ``"contours"``) that the widget prefixes with the input layer's name. Extras that are absent,
        not numeric or ragged across slices are skipped.
    """
    out = []
    if extras.get("embedding") is not None:
        emb = _array(extras["embedding"])
        if emb is not None and emb.ndim >= 3 and np.issubdtype(emb.dtype, np.number):
            out.append((embedding_to_rgb(emb), {"name": "embedding", "rgb": True, "visible": False}, "image"))
    if extras.get("reconstruction") is not None:
        rec = _array(extras["reconstruction"])
        if rec is not None and np.issubdtype(rec.dtype, np.number):
            rgb = rec.ndim >= 3 and rec.shape[-1] == 3
            if rec.ndim >= 3 and rec.shape[-1] == 1:
                rec = rec[..., 0]
            out.append((np.clip(rec, 0, 1).astype(np.float32) if rgb else rec.astype(np.float32),
                        {"name": "reconstruction", "rgb": rgb, "visible": False}, "image"))
    if extras.get("superpixels") is not None:
        sp = _array(extras["superpixels"])
        if sp is not None and np.issubdtype(sp.dtype, np.integer):
            out.append((sp.astype(np.int32), {"name": "superpixels", "visible": False}, "labels"))
    if extras.get("contours") is not None:
        con = _array(extras["contours"])
        if con is not None and np.issubdtype(con.dtype, np.number):
            out.append((con.astype(np.float32), {"name": "contours", "colormap": "magma",
                                                  "blending": "additive"}, "image"))
    return out
