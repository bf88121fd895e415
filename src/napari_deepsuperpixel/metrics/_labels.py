"""Label-map primitives shared by every metric: checking, relabelling to dense
ids, contingency counts and ground-truth normalisation.

One implementation of each; the metric modules differ only in the options
they pass (e.g. region metrics reject negative labels because label 0 means
"no region" there, superpixel metrics accept any integer value).
"""

from __future__ import annotations

import numpy as np

#: below this many (rows x columns) cells a contingency is counted densely
_DENSE_LIMIT = 1 << 24


def check_labels(labels, name: str = "labels", *, allow_negative: bool = True,
                 allow_empty: bool = True, ndims: tuple = (2,)) -> np.ndarray:
    """A 2-D (or, with ``ndims``, 3-D) integer label map, or a ``ValueError`` naming the argument.

    Booleans and integral finite floats are converted to ``int64``; other
    integer arrays are returned as they are.

    Parameters
    ----------
    labels : array_like
    name : str
        The argument's name in error messages.
    allow_negative : bool
        Accept negative labels.
    allow_empty : bool
        Accept a map with no pixels.
    ndims : tuple of int
        Accepted numbers of dimensions: ``(2,)`` (default) or ``(2, 3)`` for
        metrics that work on ``(Z, Y, X)`` volumes too.

    Returns
    -------
    numpy.ndarray
    """
    a = np.asarray(labels)
    if a.ndim not in ndims:
        what = " or ".join({2: "2D (Y, X)", 3: "3D (Z, Y, X)"}[n] for n in ndims)
        raise ValueError(f"{name} must be a {what} label map, got shape {a.shape}")
    if a.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if a.dtype == bool:
        a = a.astype(np.int64)
    elif not np.issubdtype(a.dtype, np.integer):
        if np.issubdtype(a.dtype, np.floating) and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            a = a.astype(np.int64)
        else:
            raise ValueError(f"{name} must hold integer labels, got dtype {a.dtype}")
    if not allow_negative and a.size and a.min() < 0:
        raise ValueError(f"{name} has negative labels; use labels >= 0 (0 = no region)")
    return a


def dense_ids(labels, *, counts: bool = False) -> tuple:
    """Replace labels by their rank among the labels present.

    Parameters
    ----------
    labels : array_like
    counts : bool
        Also return the number of pixels of each label.

    Returns
    -------
    index : numpy.ndarray of int64
        Flat (``labels.ravel()`` order); ``values[index] == labels.ravel()``.
    values : numpy.ndarray
        The sorted labels present.
    sizes : numpy.ndarray of int64
        Only with ``counts=True``: pixels per label, in the order of ``values``.
    """
    a = np.asarray(labels)
    flat = a.ravel()
    if flat.size and np.issubdtype(a.dtype, np.integer):
        lo, hi = int(flat.min()), int(flat.max())
        if hi - lo < 4 * flat.size + 1024:  # small range: a lookup table is faster than unique
            shifted = flat.astype(np.int64) - lo
            n = np.bincount(shifted, minlength=hi - lo + 1)
            present = n > 0
            lut = np.cumsum(present) - 1
            out = (lut[shifted].astype(np.int64), np.flatnonzero(present) + lo)
            return out + (n[present],) if counts else out
    res = np.unique(flat, return_inverse=True, return_counts=counts)
    out = (res[1].ravel().astype(np.int64), res[0])
    return out + (res[2].astype(np.int64),) if counts else out


def check_same_shape(a, b, name_a: str, name_b: str) -> None:
    """``ValueError`` naming both arguments unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}; they must have the same shape")


def joint_table(ia, ns: int, ib, nb: int, weights=None) -> np.ndarray:
    """Dense contingency ``table[u, v]`` = pixels (or weights) with ``ia == u`` and ``ib == v``.

    Parameters
    ----------
    ia, ib : numpy.ndarray of int64
        Dense ids (``0..ns-1`` and ``0..nb-1``) of the same pixels.
    ns, nb : int
        Number of ids on each side.
    weights : numpy.ndarray, optional
        Per-pixel weights (default: count pixels).

    Returns
    -------
    numpy.ndarray, shape (ns, nb)
        ``int64`` counts, or ``float64`` sums with ``weights``.
    """
    return np.bincount(ia * nb + ib, weights=weights, minlength=ns * nb).reshape(ns, nb)


def sparse_joint_counts(ia, ns: int, ib, nb: int) -> tuple:
    """Non-zero cells of the contingency of two dense-id maps.

    Returns
    -------
    cells, counts : numpy.ndarray
        Sorted flat cell indices ``u * nb + v`` and their pixel counts.
    """
    key = ia * nb + ib
    if ns * nb <= _DENSE_LIMIT:
        dense = np.bincount(key, minlength=ns * nb)
        nz = np.flatnonzero(dense)
        return nz, dense[nz]
    return np.unique(key, return_counts=True)


def gt_label_maps(gt, shape=None, name: str = "ground_truth", *, allow_negative: bool = True) -> list:
    """The annotators' label maps of a ground truth, checked.

    Parameters
    ----------
    gt : GroundTruth, array_like or sequence of array_like
        An object with ``segmentations``, one ``(H, W)`` map, a ``(K, H, W)``
        stack or a list of maps; one ``(Z, Y, X)`` map when ``shape`` is 3D.
    shape : tuple of int, optional
        Required ``(H, W)`` (or ``(Z, Y, X)``) of every map (the machine result's shape).
    name : str
        The argument's name in error messages.
    allow_negative : bool
        See :func:`check_labels`.

    Returns
    -------
    list of numpy.ndarray
    """
    segs = getattr(gt, "segmentations", gt)
    nd = 2 if shape is None else len(shape)
    if isinstance(segs, np.ndarray):
        segs = [segs] if segs.ndim == nd else list(segs)
    elif isinstance(segs, (list, tuple)):
        segs = list(segs)
    else:
        segs = [segs]
    if not segs:
        raise ValueError(f"{name} has no segmentations; pass at least one label map")
    out = []
    for k, g in enumerate(segs):
        g = check_labels(g, f"{name}[{k}]", allow_negative=allow_negative, ndims=(nd,) if nd == 3 else (2,))
        if shape is not None and g.shape != tuple(shape):
            raise ValueError(f"{name}[{k}] has shape {g.shape} but the segmentation has shape {tuple(shape)}; "
                             "they must be the same image size")
        out.append(g)
    return out


def gt_boundary_maps(gt) -> list:
    """The annotators' boundary maps of a ground truth as ``bool`` arrays.

    Parameters
    ----------
    gt : GroundTruth, array_like or sequence of array_like
        An object with ``boundaries``, one ``(H, W)`` map or a list of maps.

    Returns
    -------
    list of numpy.ndarray
    """
    b = getattr(gt, "boundaries", gt)
    if isinstance(b, np.ndarray) and b.ndim == 2:
        b = [b]
    b = [np.asarray(x).astype(bool) for x in b]
    if not b:
        raise ValueError("ground truth has no boundary maps")
    return b
