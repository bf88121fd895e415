"""SNIC supervoxels: :func:`~napari_deepsuperpixel.methods.snic.snic` on ``(Z, Y, X)`` volumes.

The same algorithm as in 2D (one priority queue, online centroids, a pixel
joins through a neighbour that already belongs to the superpixel), with three
changes for volumes:

* **6 neighbours** (face-adjacent voxels): every supervoxel is one
  6-connected region by construction.
* **Anisotropic spacing.** Positions are physical, ``(z * dz, y * dy, x * dx)``:
  the space term is ``m**2 / s**2 * sum_a (spacing_a * delta_a)**2`` with
  ``s = (V / K')**(1/d)`` the side of a cell of the seed grid in physical
  units (``V`` the physical volume, ``d`` the number of axes longer than 1,
  so that a one-slice volume has the 2D method's ``s = sqrt(N / K')``).
* **Seeds** on a ``gz x gy x gx`` grid whose cells are as close to cubes in
  physical units as the counts allow (:func:`grid_shape_3d`): a coarse Z
  axis (large ``dz``) gets fewer seeds than a fine one.

The 2D path (:func:`~napari_deepsuperpixel.methods.snic.snic`) has its own
kernel and is not changed by this module.
"""

from __future__ import annotations

import numpy as np

from .._types import NO_PROGRESS, Result, reporter
from .snic import _CHUNK, SnicParams, _checked

__all__ = ["grid_shape_3d", "grid_seeds_3d", "snic3d", "run_snic_volume"]


def grid_shape_3d(shape: tuple, n_segments: int, spacing=(1.0, 1.0, 1.0)) -> tuple:
    """Seed grid ``(gz, gy, gx)`` of about ``n_segments`` cells, as cubic as possible in physical units.

    Parameters
    ----------
    shape : (int, int, int)
        ``(Z, Y, X)`` in voxels.
    n_segments : int
        Requested number of seeds, ``1 <= n_segments <= Z * Y * X``.
    spacing : (float, float, float)
        Physical voxel size ``(dz, dy, dx)``.

    Returns
    -------
    (gz, gy, gx) : tuple of int
        Among the grids whose count ``gz * gy * gx`` is within 5 % of the
        request (or the closest count when none is), the one whose cell sides
        (``Z * dz / gz`` ...) differ least in log scale over the axes longer than 1.
    """
    nz, ny, nx = (int(v) for v in shape)
    k = int(n_segments)
    if not 1 <= k <= nz * ny * nx:
        raise ValueError(f"n_segments must be between 1 and the number of voxels ({nz * ny * nx}), got {k}")
    gz = np.arange(1, min(nz, k) + 1)[:, None]
    gx = np.arange(1, min(nx, k) + 1)[None, :]
    gy = np.clip(np.rint(k / (gz * gx)), 1, ny).astype(np.int64)
    gz, gx = np.broadcast_to(gz, gy.shape), np.broadcast_to(gx, gy.shape)
    err = np.abs(gz * gy * gx - k)
    tol = max(int(0.05 * k), int(err.min()))
    logs = [np.log(n * float(d) / g) for n, d, g in zip((nz, ny, nx), spacing, (gz, gy, gx)) if n > 1]
    aspect = (np.max(logs, axis=0) - np.min(logs, axis=0)) if logs else np.zeros(gy.shape)
    ok = np.flatnonzero((err <= tol).ravel())
    order = np.lexsort((err.ravel()[ok], np.round(aspect.ravel()[ok], 9)))
    best = ok[order[0]]
    return int(gz.ravel()[best]), int(gy.ravel()[best]), int(gx.ravel()[best])


def grid_seeds_3d(shape: tuple, n_segments: int, spacing=(1.0, 1.0, 1.0)) -> np.ndarray:
    """Flat voxel indices (``(z * Y + y) * X + x``) of the cell centres of :func:`grid_shape_3d`'s grid."""
    nz, ny, nx = (int(v) for v in shape)
    g = grid_shape_3d(shape, n_segments, spacing)
    zs, ys, xs = (np.floor((np.arange(gi) + 0.5) * n / gi).astype(np.int64) for gi, n in zip(g, (nz, ny, nx)))
    return ((zs[:, None, None] * ny + ys[None, :, None]) * nx + xs[None, None, :]).ravel()


def snic3d(features, n_segments: int = 2000, compactness: float = 20.0, *, spacing=(1.0, 1.0, 1.0),
           distance: str = "sqeuclidean", return_centroids: bool = False, progress=None):
    """SNIC supervoxels of a ``(Z, Y, X, C)`` feature volume.

    Parameters
    ----------
    features : array_like
        ``(Z, Y, X, C)`` float features, or ``(Z, Y, X)`` for one channel.
    n_segments : int
        Requested number of supervoxels; the seed grid has about this many
        (the number of labels returned, see :func:`grid_shape_3d`).
    compactness : float
        ``m``: as in :func:`~napari_deepsuperpixel.methods.snic.snic`, weighed
        against a cell side ``s`` in physical units.
    spacing : (float, float, float)
        Physical voxel size ``(dz, dy, dx)``: distances and the seed grid are
        physical, so a supervoxel spans fewer voxels along a coarser axis.
    distance : {"sqeuclidean", "cosine"}
        Feature term, as in 2D.
    return_centroids : bool
        Also return ``(K', 3 + C)`` centroids ``[z, y, x, mean feature...]`` (voxel units).
    progress : callable, optional
        ``progress(step, total, stage)`` after every 2**21 assigned voxels.

    Returns
    -------
    labels : numpy.ndarray of int32
        ``(Z, Y, X)`` labels ``1..K'``; each one 6-connected region containing its seed.
    centroids : numpy.ndarray, only if ``return_centroids``

    Examples
    --------
    >>> import numpy as np
    >>> from napari_deepsuperpixel.methods.snic3d import snic3d
    >>> vol = np.zeros((8, 20, 20)); vol[:, :, 10:] = 100
    >>> snic3d(vol, 8, spacing=(2.0, 1.0, 1.0)).shape
    (8, 20, 20)
    """
    feat = np.asarray(features)
    if feat.ndim == 3:
        feat = feat[..., None]
    if feat.ndim != 4:
        raise ValueError(f"features must be (Z, Y, X) or (Z, Y, X, C), got shape {feat.shape}")
    from ..io.axes import resolve_spacing

    spacing = resolve_spacing(spacing, "ZYX")
    nz, ny, nx, nc = feat.shape
    flat, n_segments, compactness, cosine, fnorm = _checked(feat, n_segments, compactness, distance)
    n_vox = nz * ny * nx
    seeds = grid_seeds_3d((nz, ny, nx), n_segments, spacing)
    k = seeds.size
    long_axes = [(n, d) for n, d in zip((nz, ny, nx), spacing) if n > 1] or [(1, spacing[2])]
    volume = float(np.prod([n * d for n, d in long_axes]))
    s2 = (volume / k) ** (2.0 / len(long_axes))
    wz, wy, wx = (compactness * compactness / s2 * d * d for d in spacing)

    labels = np.zeros(n_vox, np.int32)
    sums = np.zeros((k, nc), np.float64)
    zsum, ysum, xsum, counts = (np.zeros(k, np.float64) for _ in range(4))
    cap = max(1024, k + 6 * int(n_vox ** (2 / 3) * k ** (1 / 3)) + 6)
    heap = np.empty(cap, np.uint64)
    heap[:k] = np.sort(seeds).astype(np.uint64)  # key 0: seeds first; a sorted array is a valid heap
    best = np.full(n_vox, np.inf, np.float32)
    best[seeds] = -1.0  # nothing else is pushed onto a seed
    bestk = np.zeros(n_vox, np.int32)
    bestk[seeds] = np.arange(k, dtype=np.int32)
    hn = k

    from ._snic_kernels import grow3d

    progress = reporter(progress)
    progress(0, n_vox, "snic 3d")
    assigned = 0
    while assigned < n_vox and hn > 0:
        stop = min(n_vox, assigned + _CHUNK)
        heap, hn, assigned = grow3d(flat, fnorm, best, bestk, nz, ny, nx, labels, sums, zsum, ysum, xsum, counts,
                                    heap, hn, assigned, stop, wz, wy, wx, cosine)
        progress(assigned, n_vox, "snic 3d")
    if assigned != n_vox:  # cannot happen on a grid graph
        raise RuntimeError(f"SNIC labelled {assigned} of {n_vox} voxels")
    labels = labels.reshape(nz, ny, nx)
    if not return_centroids:
        return labels
    cnt = counts[:, None]
    cents = np.concatenate([zsum[:, None] / cnt, ysum[:, None] / cnt, xsum[:, None] / cnt, sums / cnt], axis=1)
    return labels, cents


def run_snic_volume(volume, *, params: SnicParams, spacing=(1.0, 1.0, 1.0), seed=0, device="cpu",
                    progress=NO_PROGRESS) -> Result:
    """Volume runner of ``snic``: 3D SNIC on a prepared ``(Z, Y, X, C)`` volume.

    Returns
    -------
    Result
        ``labels`` (int32 ``(Z, Y, X)``, 1..N, each 6-connected), ``extras["centroids"]``
        (``(N, 3 + C)``, when no small segment was merged); ``connected=True``.
    """
    labels, cents = snic3d(volume, params.n_segments, params.compactness, spacing=spacing,
                           return_centroids=True, progress=progress)
    extras = {"centroids": cents}
    if params.min_size > 1:
        from ..postprocess import merge_small_segments

        labels = merge_small_segments(labels, params.min_size, features=volume)
        extras = {}
    return Result(labels.astype(np.int32, copy=False), extras, connected=True)
