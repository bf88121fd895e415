"""k-means and normalised cut over SuperAE superpixels: the baselines of Deep Superpixel Cut (Table III).

The superpixels are those of :func:`napari_deepsuperpixel.methods.dsc.superae_superpixels`,
the same as ``dsc``'s (a registered superpixel method on the image by default, or on
the SuperAE reconstruction with ``superpixels_on="reconstruction"``, the paper); each
is described by its mean colour or its mean SuperAE deep feature and clustered.

Choices where the paper is ambiguous (also in ``docs/methods/dsc.md``):

* **Baselines.** k-means: :func:`scipy.cluster.vq.kmeans2` (k-means++, seeded,
  best of 5 runs by distortion). NCut: the spectral relaxation of the
  normalised cut (Shi & Malik) by the Ng-Jordan-Weiss algorithm with SciPy's
  dense ``eigh``, on the same neighbourhood graph as Eq. 7 with
  ``sigma`` = the median feature distance of neighbouring superpixels (the
  DSC sigma = 10 belongs to the K-dim logits, not to RGB). "RGB" features are
  the mean colour of the *input* image per superpixel; "deep" features are the
  mean SuperAE-encoder hypercolumn (451 values; the 1x1 projection is DSC's
  own, randomly initialised, so it is not used).

References
----------
.. [1] Q. Lin, W. Zhong, J. Lu, "Deep Superpixel Cut for Unsupervised Image
   Segmentation", ICPR 2020, Table III.
.. [2] J. Shi, J. Malik, "Normalized cuts and image segmentation", TPAMI 2000.
.. [3] A. Ng, M. Jordan, Y. Weiss, "On spectral clustering: analysis and an
   algorithm", NIPS 2002.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._types import Result, param
from ..nn.superpixel_cut import centroids
from .dsc import (
    _SP_METHOD_HELP,
    _SP_ON_HELP,
    _SP_PARAMS_HELP,
    _WEIGHTS_HELP,
    DEFAULT_SP,
    DEFAULT_SP_ON,
    SUPERPIXEL_METHODS,
    SUPERPIXELS_ON,
    WEIGHT_SETS,
    _sp_from_params,
    _to_rgb,
    load_superae,
)


@dataclass
class ClusterParams:
    """k-means / NCut over SuperAE superpixels (the baselines of Lin et al. 2020, Table III)."""

    n_segments: int = param(16, "Number of clusters (partitions)", min=1, role="count")
    feature: str = param("rgb", "Superpixel feature: mean colour or mean SuperAE deep feature",
                         choices=("rgb", "deep"))
    superpixel_method: str = param(DEFAULT_SP, _SP_METHOD_HELP, choices=SUPERPIXEL_METHODS, aliases=("superpixels",))
    superpixel_params: str = param("", _SP_PARAMS_HELP)
    superpixels_on: str = param(DEFAULT_SP_ON, _SP_ON_HELP, choices=SUPERPIXELS_ON)
    checkpoint: str = param("", _WEIGHTS_HELP, options=tuple(WEIGHT_SETS))


def kmeans(features: np.ndarray, k: int, seed: int = 0, n_init: int = 5) -> np.ndarray:
    """k-means (k-means++ start, Lloyd iterations) via :func:`scipy.cluster.vq.kmeans2`.

    Parameters
    ----------
    features : numpy.ndarray
        ``(M, D)``.
    k : int
        Clusters (``k >= M`` gives every row its own cluster).
    seed : int
    n_init : int
        Restarts; the lowest within-cluster sum of squares wins.

    Returns
    -------
    numpy.ndarray
        ``(M,)`` cluster index ``0..k-1``.
    """
    from scipy.cluster.vq import kmeans2

    x = np.asarray(features, np.float64)
    m = x.shape[0]
    if k >= m:
        return np.arange(m)
    best, best_cost = None, np.inf
    rng = np.random.default_rng(seed)
    for _ in range(max(1, n_init)):
        cent, lab = kmeans2(x, k, minit="++", iter=30, seed=rng)
        cost = float(((x - cent[lab]) ** 2).sum())
        if cost < best_cost:
            best, best_cost = lab, cost
    return best


def spectral_ncut(features: np.ndarray, centers: np.ndarray, k: int, d: float, seed: int = 0) -> np.ndarray:
    """Normalised-cut clustering of superpixels (spectral relaxation, Ng-Jordan-Weiss).

    Affinity ``w_ij = exp(-||f_i - f_j||^2 / s^2)`` between superpixels whose
    centroids are closer than ``d`` (the graph of Eq. 7), ``s`` the median
    feature distance over those pairs; the ``k`` leading eigenvectors of
    ``D^-1/2 W D^-1/2`` (SciPy ``eigh``), rows normalised to unit length,
    clustered by :func:`kmeans`.

    Parameters
    ----------
    features : numpy.ndarray
        ``(M, D)`` superpixel features.
    centers : numpy.ndarray
        ``(M, 2)`` centroids.
    k : int
        Clusters.
    d : float
        Neighbour distance (pixels).
    seed : int

    Returns
    -------
    numpy.ndarray
        ``(M,)`` cluster index.

    References
    ----------
    .. [1] J. Shi, J. Malik, TPAMI 2000. .. [2] A. Ng, M. Jordan, Y. Weiss, NIPS 2002.
    """
    from scipy.linalg import eigh
    from scipy.spatial.distance import cdist

    x = np.asarray(features, np.float64)
    m = x.shape[0]
    if k >= m:
        return np.arange(m)
    near = cdist(centers, centers) < d
    fd = cdist(x, x)
    off = near & ~np.eye(m, dtype=bool)
    s = float(np.median(fd[off])) if off.any() else 1.0
    s = s if s > 0 else 1.0
    w = np.exp(-(fd**2) / s**2) * near
    dinv = 1.0 / np.sqrt(w.sum(1))
    lap = dinv[:, None] * w * dinv[None, :]
    _, vec = eigh(lap, subset_by_index=[m - k, m - 1])
    vec = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
    return kmeans(vec, k, seed=seed)


def superpixel_features(image, sp, feature: str, checkpoint="", device="cpu"):
    """Mean RGB or mean SuperAE hypercolumn per superpixel, and centroids.

    Parameters
    ----------
    image : numpy.ndarray
        ``(Y, X, C)`` in [0, 1].
    sp : numpy.ndarray
        ``(Y, X)`` superpixels.
    feature : {"rgb", "deep"}
    checkpoint : str
    device : torch.device or str

    Returns
    -------
    index : numpy.ndarray
        ``(Y, X)`` superpixel index ``0..M-1``.
    features : numpy.ndarray
        ``(M, D)``.
    centers : numpy.ndarray
        ``(M, 2)``.
    """
    rgb = _to_rgb(image)
    _, idx = np.unique(sp, return_inverse=True)
    idx = idx.reshape(sp.shape)
    m = int(idx.max()) + 1
    if feature == "rgb":
        f = rgb.reshape(-1, 3)
    elif feature == "deep":
        import torch

        from ..nn.optim import image_to_tensor
        from ..nn.superae import hypercolumn

        model = load_superae(checkpoint).to(device)
        with torch.no_grad():
            hc = hypercolumn(model, image_to_tensor(rgb, device, channels_last=False))[0]
        f = hc.reshape(hc.shape[0], -1).T.cpu().numpy()
    else:
        raise ValueError(f"feature must be 'rgb' or 'deep', got {feature!r}")
    cnt = np.bincount(idx.ravel(), minlength=m).astype(np.float64)
    flat = idx.ravel()
    sums = np.stack([np.bincount(flat, f[:, c].astype(np.float64), minlength=m) for c in range(f.shape[1])], 1)
    return idx, sums / np.maximum(cnt, 1)[:, None], centroids(idx, m)


def _run_cluster(image, params: ClusterParams, seed, device, progress, algo: str) -> Result:
    """k-means or normalised cut over SuperAE superpixels (the baselines of Table III).

    Parameters
    ----------
    image : numpy.ndarray
        ``(Y, X, C)`` float32 in [0, 1].
    params : ClusterParams
    seed : int
    device : torch.device
    progress : callable, optional
    algo : {"kmeans", "ncut"}

    Returns
    -------
    Result
        Cluster labels (split into connected regions by ``segment``),
        extras ``superpixels`` and ``reconstruction``.

    References
    ----------
    .. [1] Lin et al., ICPR 2020, Table III.
    .. [2] Shi & Malik, "Normalized cuts and image segmentation", TPAMI 2000.
    """
    sp, rec = _sp_from_params(image, params, seed, device, progress)
    idx, feats, centers = superpixel_features(image, sp, params.feature, params.checkpoint, device)
    m = feats.shape[0]
    if algo == "kmeans":
        lab = kmeans(feats, params.n_segments, seed=seed)
    else:
        d = 2.0 * np.sqrt(idx.size / m)
        lab = spectral_ncut(feats, centers, params.n_segments, d, seed=seed)
    return Result((lab[idx] + 1).astype(np.int32), {"superpixels": sp, "reconstruction": rec})


def run_kmeans_superpixels(image, *, params: ClusterParams, seed=0, device="cpu", progress=None) -> Result:
    """Registry runner ``kmeans_superpixels``: k-means over SuperAE superpixels (see :func:`_run_cluster`)."""
    return _run_cluster(image, params, seed, device, progress, "kmeans")


def run_ncut_superpixels(image, *, params: ClusterParams, seed=0, device="cpu", progress=None) -> Result:
    """Registry runner ``ncut_superpixels``: normalised cut over SuperAE superpixels (see :func:`_run_cluster`)."""
    return _run_cluster(image, params, seed, device, progress, "ncut")
