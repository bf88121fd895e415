"""A feature table per superpixel: intensity statistics, shape, neighbours, deep embeddings.

The table is a dict of equal-length numpy columns, one row per superpixel
(ascending label), with a ``label`` column: the convention of napari Labels
layers' ``features`` (napari-feature-classifier, APOC) and of
:func:`napari_deepsuperpixel.io.tables.segment_table`, whose ``label``,
``area`` and centroid columns it reuses.

Intensities are the raw values of the image (units kept). Percentiles of
integer images in 0..65535 are exact; other images are quantised to 65,536
levels between their minimum and maximum first (a 1/65535 of the range).
"""

from __future__ import annotations

import numpy as np

from ..regions import adjacency
from ._graph import check_superpixels, spatial_image

#: columns that describe where a superpixel is, not what it is (left out of the classifier's inputs)
POSITION_COLUMNS = ("label", "index", "centroid_z", "centroid_y", "centroid_x")

DEFAULT_PERCENTILES = (10, 50, 90)

#: the columns a classifier uses by default: what a superpixel's pixels look like. Shape,
#: neighbour and contrast columns differ at image and object borders; with a few strokes a
#: forest splits on them and mislabels whole borders (tests/test_annotate.py)
DEFAULT_COLUMNS = ("intensity_mean", "intensity_std", "intensity_p", "embedding_")


def superpixel_features(image, superpixels, *, embedding=None,
                        percentiles=DEFAULT_PERCENTILES) -> dict:
    """Compute one row of features per superpixel.

    Parameters
    ----------
    image : array_like
        ``(Y, X)`` or ``(Z, Y, X)``, optionally with a trailing channel axis
        ``(..., C)``; the superpixels' spatial shape. Raw values.
    superpixels : array_like of int
        ``(Y, X)`` or ``(Z, Y, X)`` labels ``1..N``; 0 is "no superpixel"
        and gets no row.
    embedding : array_like, optional
        Per-pixel deep features ``(..., D)`` of the same spatial shape, e.g.
        the ``extras["embedding"]`` of ``sen`` (SEN's 16-D unit vectors); their
        mean per superpixel becomes the columns ``embedding_0 ..``.
    percentiles : sequence of float
        Percentiles of each channel's values inside each superpixel.

    Returns
    -------
    dict of str -> numpy.ndarray
        ``label``, ``area``, ``centroid_*``; per channel ``intensity_mean``,
        ``intensity_std``, ``intensity_p10`` .. (the percentiles) and
        ``intensity_contrast`` (own mean minus the mean of the neighbours'
        means, weighted by shared boundary length), with a ``_c<k>`` suffix for
        several channels; shape ``extent_y``, ``extent_x`` (bounding box),
        ``major_axis``, ``minor_axis``, ``eccentricity`` (in-plane moments),
        ``boundary_length`` (pixel faces shared with other superpixels),
        ``n_neighbors``; and ``embedding_<d>`` with ``embedding``.

    Raises
    ------
    ValueError
        If the shapes differ, the labels are not non-negative integers, or a
        percentile is outside [0, 100].

    Examples
    --------
    >>> import numpy as np
    >>> sp = np.repeat([[1, 1, 2, 2]], 2, axis=0)
    >>> t = superpixel_features(np.array([[0, 2, 10, 10], [0, 2, 10, 10]]), sp)
    >>> t["intensity_mean"].tolist(), t["n_neighbors"].tolist()
    ([1.0, 10.0], [1, 1])
    """
    from ..io.tables import segment_table

    sp = check_superpixels(superpixels)
    img = spatial_image(image, sp.shape)
    qs = [float(q) for q in np.atleast_1d(percentiles)]
    if any(not 0 <= q <= 100 for q in qs):
        raise ValueError(f"percentiles must be in [0, 100], got {qs}")
    emb = None
    if embedding is not None:
        emb = spatial_image(embedding, sp.shape, "embedding")
    table = segment_table(sp)
    ids = table["label"]
    n = int(sp.max()) + 1 if sp.size else 1
    flat = sp.ravel().astype(np.int64)
    area = np.bincount(flat, minlength=n).astype(np.float64)
    safe = np.maximum(area, 1)
    adj = adjacency(sp)

    n_ch = img.shape[-1]
    means = np.zeros((n, n_ch))
    for c in range(n_ch):
        sfx = "" if n_ch == 1 else f"_c{c}"
        vals = img[..., c].ravel().astype(np.float64)
        mean = np.bincount(flat, weights=vals, minlength=n) / safe
        var = np.bincount(flat, weights=vals * vals, minlength=n) / safe - mean * mean
        means[:, c] = mean
        table[f"intensity_mean{sfx}"] = mean[ids]
        table[f"intensity_std{sfx}"] = np.sqrt(np.maximum(var, 0))[ids]
        for q, col in zip(qs, _percentiles(flat, img[..., c].ravel(), area, qs, n).T):
            table[f"intensity_p{q:g}{sfx}"] = col[ids]
        table[f"intensity_contrast{sfx}"] = (mean - _neighbour_mean(adj, mean, n))[ids]

    table.update({k: v[ids] for k, v in _shape_columns(sp, flat, area, n).items()})
    table["boundary_length"] = (np.bincount(adj.u, weights=adj.n_faces, minlength=n)
                                + np.bincount(adj.v, weights=adj.n_faces, minlength=n))[ids].astype(np.int64)
    table["n_neighbors"] = adj.degree(n)[ids].astype(np.int64)
    if emb is not None:
        for d in range(emb.shape[-1]):
            w = emb[..., d].ravel().astype(np.float64)
            table[f"embedding_{d}"] = (np.bincount(flat, weights=w, minlength=n) / safe)[ids]
    return table


def feature_matrix(features, columns=None) -> tuple:
    """The numeric columns of a feature table as a ``(n_superpixels, n_features)`` matrix.

    Parameters
    ----------
    features : dict or pandas.DataFrame
        A table from :func:`superpixel_features` (or a napari layer's ``features``).
    columns : None, "all" or sequence of str
        ``None``: the columns starting with one of :data:`DEFAULT_COLUMNS`
        (intensity statistics and embedding); ``"all"``: every numeric column
        but the label and the position; or the names of the columns.

    Returns
    -------
    matrix : numpy.ndarray of float64
    names : list of str
    """
    names, cols = [], []
    for k in features.keys():
        col = np.asarray(features[k])
        if not (np.issubdtype(col.dtype, np.number) or col.dtype == bool):
            continue
        if columns is None:
            if not str(k).startswith(DEFAULT_COLUMNS) or str(k).startswith("intensity_contrast"):
                continue
        elif isinstance(columns, str) and columns == "all":
            if str(k) in POSITION_COLUMNS:
                continue
        elif str(k) not in columns:
            continue
        names.append(str(k))
        cols.append(col.astype(np.float64))
    if not cols:
        raise ValueError(f"the feature table has none of the columns {columns or DEFAULT_COLUMNS}; "
                         "compute it with superpixel_features(image, superpixels)")
    return np.stack(cols, axis=1), names


def _percentiles(flat, values, area, qs, n) -> np.ndarray:
    """``(n, len(qs))`` percentiles (nearest rank) of ``values`` within each label."""
    v = np.asarray(values)
    if np.issubdtype(v.dtype, np.integer) and v.size and v.min() >= 0 and v.max() < 65536:
        q16, lo, step = v.astype(np.int64), 0.0, 1.0
    else:
        v = v.astype(np.float64)
        lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 0.0)
        step = (hi - lo) / 65535 if hi > lo else 1.0
        q16 = np.rint((v - lo) / step).astype(np.int64)
    keys = np.sort((flat << 16) | q16)  # grouped by label, sorted by value inside each label
    svals = (keys & 0xFFFF).astype(np.float64) * step + lo
    start = np.concatenate([[0], np.cumsum(area)[:-1]]).astype(np.int64)
    out = np.zeros((n, len(qs)))
    has = area > 0
    for j, q in enumerate(qs):
        pos = start + np.rint(q / 100.0 * np.maximum(area - 1, 0)).astype(np.int64)
        out[has, j] = svals[pos[has]]
    return out


def _neighbour_mean(adj, values, n) -> np.ndarray:
    """Boundary-length-weighted mean of the neighbours' ``values`` (own value where none)."""
    w = adj.n_faces.astype(np.float64)
    num = np.bincount(adj.u, weights=w * values[adj.v], minlength=n) \
        + np.bincount(adj.v, weights=w * values[adj.u], minlength=n)
    den = np.bincount(adj.u, weights=w, minlength=n) + np.bincount(adj.v, weights=w, minlength=n)
    return np.where(den > 0, num / np.maximum(den, 1e-300), values)


def _shape_columns(sp, flat, area, n) -> dict:
    """Bounding-box extents and in-plane second-moment axes of every label."""
    from scipy import ndimage as ndi

    boxes = ndi.find_objects(sp.astype(np.int64) if sp.dtype == bool else sp)
    ext = np.zeros((n, 2))
    for i, box in enumerate(boxes, start=1):
        if box is not None:
            ext[i] = [box[-2].stop - box[-2].start, box[-1].stop - box[-1].start]
    ny, nx = sp.shape[-2:]
    reps = sp.size // (ny * nx)
    yy = np.tile(np.repeat(np.arange(ny, dtype=np.float64), nx), reps)
    xx = np.tile(np.arange(nx, dtype=np.float64), ny * reps)
    safe = np.maximum(area, 1)
    my = np.bincount(flat, weights=yy, minlength=n) / safe
    mx = np.bincount(flat, weights=xx, minlength=n) / safe
    cyy = np.bincount(flat, weights=yy * yy, minlength=n) / safe - my * my
    cxx = np.bincount(flat, weights=xx * xx, minlength=n) / safe - mx * mx
    cxy = np.bincount(flat, weights=yy * xx, minlength=n) / safe - my * mx
    half_tr, det_term = 0.5 * (cyy + cxx), np.sqrt(np.maximum(0.25 * (cyy - cxx) ** 2 + cxy ** 2, 0))
    l1 = np.maximum(half_tr + det_term, 0)
    l2 = np.maximum(half_tr - det_term, 0)
    ecc = np.where(l1 > 0, np.sqrt(np.maximum(1 - l2 / np.maximum(l1, 1e-300), 0)), 0.0)
    return {"extent_y": ext[:, 0].astype(np.int64), "extent_x": ext[:, 1].astype(np.int64),
            "major_axis": 4 * np.sqrt(l1), "minor_axis": 4 * np.sqrt(l2), "eccentricity": ecc}
