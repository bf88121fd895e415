"""SNIC superpixels (Achanta & Süsstrunk, CVPR 2017): this package's own numba implementation.

SNIC ("Simple Non-Iterative Clustering") grows all superpixels at once from
seeds on a regular grid. One priority queue holds candidate
``(distance, pixel, superpixel)`` entries; the globally closest candidate is
popped, the pixel joins that superpixel if it is still unlabelled, the
superpixel's centroid is updated online, and the pixel's unlabelled
4-neighbours are pushed with their distance to the updated centroid. Every
pixel joins a superpixel through a 4-neighbour that already belongs to it, so
each superpixel is one 4-connected region by construction and no
post-processing is needed.

The distance (see :func:`snic` for the exact formula and the choices made) is
SLIC's colour + scaled space distance against the *current* centroid. The
feature term can also be the cosine distance of the Superpixel Embedding
Network (Gaur & Manjunath, TIP 2020, Eq. 7), which runs SNIC on L2-normalised
pixel embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._types import NO_PROGRESS, Result, param, reporter

#: feature distances accepted by :func:`snic`
DISTANCES = ("sqeuclidean", "cosine")

# pixels assigned per call of the compiled kernel between two progress reports
_CHUNK = 1 << 21


def grid_shape(height: int, width: int, n_segments: int) -> tuple[int, int]:
    """Rows and columns of the seed grid for ``n_segments`` seeds.

    Parameters
    ----------
    height, width : int
        Image size in pixels.
    n_segments : int
        Requested number of seeds, ``1 <= n_segments <= height * width``.

    Returns
    -------
    (rows, cols) : tuple of int
        Among all grids whose seed count ``rows * cols`` is within 5 % of the
        request (only exact counts below 20 seeds), the one whose cells are
        closest to square; ties go to the smaller count error. The grid step
        is then ``(height / rows, width / cols)``, both close to
        ``sqrt(N / K)`` as in the paper.
    """
    k = int(n_segments)
    if not 1 <= k <= height * width:
        raise ValueError(f"n_segments must be between 1 and the number of pixels ({height * width}), got {k}")
    cols = np.arange(1, width + 1)
    rows = np.clip(np.rint(k / cols), 1, height).astype(np.int64)
    count = rows * cols
    err = np.abs(count - k)
    tol = max(int(0.05 * k), int(err.min()))
    ok = err <= tol
    aspect = np.abs(np.log((height / rows) / (width / cols)))
    order = np.lexsort((err[ok], np.round(aspect[ok], 9)))
    best = np.flatnonzero(ok)[order[0]]
    return int(rows[best]), int(cols[best])


def grid_seeds(height: int, width: int, n_segments: int) -> np.ndarray:
    """Flat pixel indices of the grid seeds (cell centres, row-major).

    Parameters
    ----------
    height, width : int
        Image size.
    n_segments : int
        Requested number of seeds; the grid has about this many (see :func:`grid_shape`).

    Returns
    -------
    numpy.ndarray of int64
        ``y * width + x`` for every seed; all distinct.
    """
    rows, cols = grid_shape(height, width, n_segments)
    ys = np.floor((np.arange(rows) + 0.5) * height / rows).astype(np.int64)
    xs = np.floor((np.arange(cols) + 0.5) * width / cols).astype(np.int64)
    return (ys[:, None] * width + xs[None, :]).ravel()


def _checked(feat: np.ndarray, n_segments, compactness, distance):
    """Validate SNIC's inputs; ``feat`` is ``(..., C)``. Returns flat float64 features and the checked values."""
    if not (np.issubdtype(feat.dtype, np.number) or feat.dtype == bool) or np.iscomplexobj(feat):
        raise ValueError(f"features must be a real numeric array, got dtype {feat.dtype}")
    if min(feat.shape) < 1:
        raise ValueError(f"features are empty (shape {feat.shape})")
    nc = feat.shape[-1]
    n_pix = int(np.prod(feat.shape[:-1]))
    if n_pix >= 2**32:  # the heap packs the pixel index into 32 bits
        raise ValueError(f"image too large for SNIC ({n_pix} pixels, at most 2**32 - 1); process it in tiles")
    if isinstance(n_segments, bool) or int(n_segments) != n_segments:
        raise ValueError(f"n_segments must be an integer, got {n_segments!r}")
    n_segments = int(n_segments)
    if not 1 <= n_segments <= n_pix:
        raise ValueError(
            f"n_segments must be between 1 and the number of pixels ({n_pix}), got {n_segments}"
        )
    compactness = float(compactness)
    if not np.isfinite(compactness) or compactness < 0:
        raise ValueError(f"compactness must be a finite number >= 0, got {compactness}")
    if distance not in DISTANCES:
        raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}")
    flat = np.ascontiguousarray(feat.reshape(n_pix, nc), dtype=np.float64)
    if not np.all(np.isfinite(flat)):
        raise ValueError("features contain NaN or infinite values; replace them first (e.g. np.nan_to_num)")
    cosine = distance == "cosine"
    fnorm = np.linalg.norm(flat, axis=1) if cosine else np.zeros(1)
    return flat, n_segments, compactness, cosine, fnorm


def snic(
    features,
    n_segments: int = 400,
    compactness: float = 20.0,
    *,
    distance: str = "sqeuclidean",
    return_centroids: bool = False,
    progress=None,
    seeds=None,
    cell_area=None,
):
    """SNIC superpixels of an arbitrary ``(Y, X, C)`` feature image.

    Parameters
    ----------
    features : array_like
        ``(Y, X, C)`` float features with any ``C >= 1`` (CIELAB colour,
        grey values, 16-D embeddings...), or ``(Y, X)`` for one channel. The
        feature values are used as they are: scale them first if the
        channels should weigh differently.
    n_segments : int
        Requested number of superpixels ``K``. The seeds lie on a regular
        grid of about ``K`` cells (the exact number, within 5 % of ``K`` for
        ``K >= 20`` and exact below, is the number of labels returned; see
        :func:`grid_shape`).
    compactness : float
        ``m`` below: the larger, the more the superpixels follow the grid
        (compact, regular); the smaller, the more they follow the features.
        The default 20 is the authors' released demo value for CIELAB
        (L in [0, 100]). ``0`` ignores space.
    distance : {"sqeuclidean", "cosine"}
        Feature term ``D`` of the distance: the squared Euclidean distance to
        the centroid's mean feature (SNIC), or the cosine distance
        ``Psi = (1 - cos(f, mean)) / 2`` in [0, 1] of the Superpixel Embedding
        Network (Gaur & Manjunath 2020, Eqs. 2 and 7) for L2-normalised
        embeddings.
    return_centroids : bool
        Also return the centroids.
    progress : callable, optional
        ``progress(step, total, stage)``, called at the start, after every
        2**21 assigned pixels and at the end; may raise to cancel.
    seeds : array_like of int, optional
        Flat pixel indices ``y * X + x`` of the seeds, all distinct, instead
        of the grid for ``n_segments`` (which is then ignored); label ``i + 1``
        grows from ``seeds[i]``. A block of a large image gets the seeds of the
        whole image's grid that fall into it (:mod:`napari_deepsuperpixel.tiled`).
    cell_area : float, optional
        ``s**2`` of the distance below (default ``N / K'``): the whole image's
        value when this is one block of it, so that every block weighs space alike.

    Returns
    -------
    labels : numpy.ndarray of int32
        ``(Y, X)`` labels ``1..K'`` (``K'`` the number of seeds); each label is
        one 4-connected region containing its seed.
    centroids : numpy.ndarray of float64, only if ``return_centroids``
        ``(K', 2 + C)``: row ``i`` describes label ``i + 1`` as
        ``[y, x, mean feature...]``.

    Notes
    -----
    **Distance.** A candidate pixel ``j`` (position ``x_j``, features ``c_j``)
    is pushed for superpixel ``k`` with key

    .. math::

        d_{j,k} = D(c_j, \\mu_k) + \\frac{m^2}{s^2} \\lVert x_j - x_k \\rVert_2^2,
        \\qquad s = \\sqrt{N / K'}

    where ``x_k`` and ``mu_k`` are the superpixel's centroid position and
    mean feature at the time of the push, ``N`` the number of pixels and
    ``m = compactness``. The paper (Eq. 1) writes
    ``d = sqrt(||x_j - x_k||^2 / s + ||c_j - c_k||^2 / m)`` with "normalising
    factors" ``s`` and ``m``; read literally (``s = sqrt(N/K)``, ``m`` the
    compactness) it would mix units. We follow the authors' released C code
    instead, whose key ``(||c_j - c_k||^2 + ||x_j - x_k||^2 m^2 K / N)`` is
    the formula above; it equals the paper's Eq. 1 squared and scaled by
    ``m`` when the paper's ``s`` is the cell area ``N / K`` and its ``m`` is
    ``compactness**2``. The square root is dropped: it does not change the
    queue order. For SEN's Eq. 7, ``d = ||p_j - p_k||^2 / s + Psi / m'`` with
    ``s = N / K``, use ``distance="cosine"`` and ``compactness = sqrt(m')``
    (multiplying Eq. 7 by ``m'`` does not change the order).

    **Seeds.** ``K'`` seeds at the centres of a ``rows x cols`` grid whose
    cells are as square as possible (steps ``Y / rows`` and ``X / cols``,
    both about ``s``). Seeds are *not* moved to the lowest gradient in a 3x3
    neighbourhood as SLIC does: the paper and the released code do not do
    it, the first pixels a superpixel absorbs move its centroid anyway, and
    a gradient is ill-defined for arbitrary feature spaces. All seeds are
    assigned before any other pixel (the released code pushes them with key
    0, which can tie with a zero distance when ``compactness == 0``), which
    guarantees that every label 1..K' exists.

    **Connectivity.** 4-neighbours, as in the released code. Each superpixel
    is one 4-connected region and every pixel is labelled (the grid graph is
    connected), so no post-processing is needed.

    **Ties** are broken by the heap order, which depends only on the input:
    the result is deterministic.

    **Pruned pushes.** A pixel is pushed only if its key is below the
    smallest key it was already pushed with; the skipped entry could only
    have been popped after the closer one, i.e. as a stale entry. The labels
    equal the textbook algorithm's except for the order of exactly equal keys
    (10 % faster on BSDS500).

    References
    ----------
    .. [1] R. Achanta and S. Süsstrunk, "Superpixels and Polygons using
       Simple Non-Iterative Clustering", CVPR 2017.
    .. [2] M. Gaur and B. S. Manjunath, "Superpixel Embedding Network",
       IEEE Transactions on Image Processing 29, 2020 (Eq. 7).

    Examples
    --------
    >>> import numpy as np
    >>> from napari_deepsuperpixel.methods.snic import snic
    >>> img = np.zeros((40, 60, 1), np.float32); img[:, 30:] = 100
    >>> labels = snic(img, 6, compactness=10)
    >>> labels.shape, int(labels.max())
    ((40, 60), 6)
    """
    feat = np.asarray(features)
    if feat.ndim == 2:
        feat = feat[..., None]
    if feat.ndim != 3:
        raise ValueError(f"features must be (Y, X) or (Y, X, C), got shape {feat.shape}")
    ny, nx, nc = feat.shape
    flat, n_segments, compactness, cosine, fnorm = _checked(feat, n_segments, compactness, distance)
    n_pix = ny * nx

    if seeds is None:
        seeds = grid_seeds(ny, nx, n_segments)
    else:
        seeds = np.asarray(seeds, np.int64).ravel()
        if seeds.size < 1 or seeds.min() < 0 or seeds.max() >= n_pix or np.unique(seeds).size != seeds.size:
            raise ValueError(f"seeds must be distinct pixel indices in [0, {n_pix}), at least one")
    k = seeds.size
    # m^2 / s^2 with s^2 = N / K' (or the given cell area)
    wspace = compactness * compactness * k / n_pix if cell_area is None else compactness * compactness / float(cell_area)

    labels = np.zeros(n_pix, np.int32)
    sums = np.zeros((k, nc), np.float64)
    ysum = np.zeros(k, np.float64)
    xsum = np.zeros(k, np.float64)
    counts = np.zeros(k, np.float64)
    cap = max(1024, k + 4 * int(np.sqrt(n_pix * k)) + 4)
    hd = np.empty(cap, np.float64)
    hp = np.empty(cap, np.int64)
    # Seeds go in first with a key below every distance (>= 0), in label
    # order; a heap of equal keys stored in index order is valid as it is.
    hd[:k] = -1.0
    hp[:k] = (seeds << 31) | np.arange(k, dtype=np.int64)
    hn = k

    from ._snic_kernels import grow

    best = np.full(n_pix, np.inf)
    progress = reporter(progress)
    progress(0, n_pix, "snic")
    assigned = 0
    while assigned < n_pix and hn > 0:
        stop = min(n_pix, assigned + _CHUNK)
        hd, hp, hn, assigned = grow(flat, fnorm, best, ny, nx, labels, sums, ysum, xsum, counts,
                                    hd, hp, hn, assigned, stop, wspace, cosine)
        progress(assigned, n_pix, "snic")
    if assigned != n_pix:  # cannot happen on a grid graph; guard against silent holes
        raise RuntimeError(f"SNIC labelled {assigned} of {n_pix} pixels")
    labels = labels.reshape(ny, nx)
    if not return_centroids:
        return labels
    cnt = counts[:, None]
    centroids = np.concatenate([ysum[:, None] / cnt, xsum[:, None] / cnt, sums / cnt], axis=1)
    return labels, centroids


@dataclass
class SnicParams:
    """SNIC (Achanta & Süsstrunk, CVPR 2017), this package's numba implementation."""

    n_segments: int = param(400, "Approximate number of superpixels (seeds on a regular grid)", min=1,
                            role="count")
    compactness: float = param(
        20.0, "Balance of colour (low) and space (high) proximity; 20 is the authors' default for Lab", min=0.0
    )
    min_size: int = param(0, "Merge segments smaller than this (pixels) into their most similar neighbour", min=0,
                         role="min_size")


def run_snic(image, *, params: SnicParams, seed=0, device="cpu", progress=NO_PROGRESS) -> Result:
    """Registry runner: SNIC on one prepared ``(Y, X, C)`` slice.

    Parameters
    ----------
    image : numpy.ndarray
        ``(Y, X, C)`` float32 slice in CIELAB (colour) or [0, 100] (other channels).
    params : SnicParams
        ``n_segments``, ``compactness``, ``min_size``.
    seed : int
        Unused: SNIC is deterministic.
    device : str
        Unused: SNIC runs on the CPU.
    progress : callable, optional
        ``progress(step, total, stage)``; called at the start and the end.

    Returns
    -------
    Result
        ``labels`` (int32, 1..N, each label 4-connected) and
        ``extras["centroids"]`` (``(N, 2 + C)``: y, x, mean features) when no
        small segment was merged; ``connected=True`` so
        that :func:`napari_deepsuperpixel.segment` does not re-split it.

    References
    ----------
    .. [1] R. Achanta and S. Süsstrunk, "Superpixels and Polygons using
       Simple Non-Iterative Clustering", CVPR 2017.
    """
    labels, centroids = snic(image, params.n_segments, params.compactness, return_centroids=True,
                             progress=progress)
    extras = {"centroids": centroids}
    if params.min_size > 1:
        from ..postprocess import merge_small_segments

        # merging adjacent segments keeps every label 4-connected
        labels = merge_small_segments(labels, params.min_size, features=image)
        extras = {}
    return Result(labels.astype(np.int32, copy=False), extras, connected=True)


def run_snic_block(features, *, params: SnicParams, seeds, cell_area: float) -> np.ndarray:
    """Block runner of ``snic`` (:mod:`napari_deepsuperpixel.tiled`).

    SNIC grown from the given seeds with the whole image's spatial weight
    (``cell_area`` pixels per seed), so that a superpixel crossing a block
    border grows alike on both sides.
    """
    return snic(features, n_segments=1, compactness=params.compactness, seeds=seeds, cell_area=cell_area)


def warm_kernels() -> None:
    """Compile (or load from numba's disk cache) the SNIC kernels now, on a tiny image.

    The napari widget calls this in a background thread when it opens, so
    that a user's first SNIC (or SEN) run does not wait for compilation.
    """
    snic(np.zeros((4, 4, 1)), 2, 1.0)
    snic(np.ones((4, 4, 2)), 2, 1.0, distance="cosine")
