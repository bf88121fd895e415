"""From a class map to objects: connected superpixels of one class, split where objects touch.

Two touching nuclei are one connected region of "nucleus" superpixels. They
are told apart by the boundary between them: bright objects touching along a
darker line (or dark objects along a brighter one). For two adjacent
superpixels with mean intensities ``a`` and ``b`` and mean intensity ``B``
on their shared boundary (the pixels on both sides of it), the **boundary
contrast** is

``max(min(a, b) - B, B - max(a, b), 0)``

per channel (intensities normalised to [0, 1] by their 1st-99.8th
percentiles), the largest over the channels. It is 0 inside a smooth object
(the boundary value lies between the two means) and large at a valley or a
ridge. Adjacent superpixels of the class stay in one object when their
contrast is at most ``split``.
"""

from __future__ import annotations

import numpy as np

from ..regions import adjacency
from ._graph import check_superpixels, normalised, spatial_image

DEFAULT_SPLIT = 0.1


def boundary_contrast(image, superpixels, adj=None) -> tuple:
    """The boundary contrast (module docstring) of every edge of the superpixels' adjacency graph.

    Parameters
    ----------
    image : array_like
        The superpixels' spatial shape, optionally ``(..., C)``.
    superpixels : array_like of int
    adj : Adjacency, optional
        The graph, when already built.

    Returns
    -------
    adj : Adjacency
    contrast : numpy.ndarray of float64, one value per edge
    """
    sp = check_superpixels(superpixels)
    img = normalised(spatial_image(image, sp.shape))
    adj = adjacency(sp) if adj is None else adj
    flat = sp.ravel().astype(np.int64)
    n = int(flat.max()) + 1
    area = np.maximum(np.bincount(flat, minlength=n), 1)
    out = np.zeros(adj.n_edges)
    for c in range(img.shape[-1]):
        ch = img[..., c]
        mean = np.bincount(flat, weights=ch.ravel().astype(np.float64), minlength=n) / area
        a, b = mean[adj.u], mean[adj.v]
        bnd = adj.boundary_mean(ch)
        out = np.maximum(out, np.maximum(np.minimum(a, b) - bnd, bnd - np.maximum(a, b)))
    return adj, np.maximum(out, 0.0)


def to_instances(class_labels, superpixels, object_class: int, *, image=None,
                 split: float = DEFAULT_SPLIT) -> np.ndarray:
    """Instance labels of one class: its connected superpixels, split along contrasted boundaries.

    Parameters
    ----------
    class_labels : array_like of int
        Per-pixel classes (e.g. :attr:`SuperpixelClassification.labels`), the
        superpixels' shape. A superpixel takes the class most of its pixels have.
    superpixels : array_like of int
        ``(Y, X)`` or ``(Z, Y, X)`` labels ``1..N`` (0 = none).
    object_class : int
        The class whose objects are wanted (e.g. the class painted on nuclei).
    image : array_like, optional
        The image; when given, touching objects are split where the boundary
        contrast (module docstring) exceeds ``split``. Without it, every
        connected group of superpixels of the class is one object.
    split : float
        Contrast (fraction of the normalised intensity range) above which a
        boundary separates two objects; ``inf`` never splits.

    Returns
    -------
    numpy.ndarray of int32
        ``0`` = background (other classes), ``1..N`` = objects, numbered in
        the order of their smallest superpixel label.

    Raises
    ------
    ValueError
        If the shapes differ or ``split`` is negative.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    sp = check_superpixels(superpixels)
    cl = np.asarray(class_labels)
    if cl.shape != sp.shape:
        raise ValueError(f"class_labels have shape {cl.shape} but the superpixels have shape {sp.shape}")
    if not split >= 0:
        raise ValueError(f"split must be >= 0 (a contrast in [0, 1]; inf = never split), got {split}")
    flat = sp.ravel().astype(np.int64)
    n = int(flat.max()) + 1 if flat.size else 1
    is_obj = np.bincount(flat, weights=(cl.ravel() == object_class).astype(np.float64), minlength=n)
    member = is_obj * 2 > np.bincount(flat, minlength=n)
    member[0] = False
    if image is not None:
        adj, contrast = boundary_contrast(image, sp)
    else:
        adj = adjacency(sp)
        contrast = np.zeros(adj.n_edges)
    keep = member[adj.u] & member[adj.v] & (contrast <= split)
    graph = coo_matrix((np.ones(int(keep.sum())), (adj.u[keep], adj.v[keep])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    # number the components of member superpixels 1..K in order of their smallest label
    comp_of_members = comp[member]
    uniq, first = np.unique(comp_of_members, return_index=True)
    rank = np.empty(uniq.size, np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(1, uniq.size + 1)
    lut = np.zeros(n, np.int32)
    lut[member] = rank[np.searchsorted(uniq, comp_of_members)]
    return lut[sp]
