"""The pieces of Deep Superpixel Cut's per-image loss (Lin et al. 2020, Eq. 4-9), in torch.

Superpixel pooling (Eq. 5-6), the pseudo labels by superpixel majority
(Eq. 4), the similarity graph of superpixel centroids (Eq. 7), the paper's
soft cut (Eq. 8) and the soft normalised cut offered beside it. Used by
:mod:`napari_deepsuperpixel.methods.dsc`; its docstring records the choices.
"""

from __future__ import annotations

import numpy as np


def superpixel_pool(values, sp, n_sp: int):
    """Mean of ``values`` over each superpixel (Eq. 5 and Eq. 6).

    Parameters
    ----------
    values : torch.Tensor
        ``(N, K)`` per-pixel values.
    sp : torch.Tensor
        ``(N,)`` superpixel index ``0..M-1`` of every pixel (long).
    n_sp : int
        M.

    Returns
    -------
    torch.Tensor
        ``(M, K)`` means (differentiable w.r.t. ``values``).
    """
    import torch

    sums = torch.zeros(n_sp, values.shape[1], dtype=values.dtype, device=values.device).index_add_(0, sp, values)
    cnt = torch.bincount(sp, minlength=n_sp).to(values.dtype).clamp_min(1)
    return sums / cnt[:, None]


def pseudo_labels(prob_or_logits, sp, n_sp: int):
    """Pseudo labels by superpixel majority vote (Eq. 4).

    ``c_n = argmax_k p_n^k``; ``C_j`` = the most frequent ``c_n`` in
    superpixel ``j`` (ties: smallest class index); every pixel of ``j`` gets
    ``C_j``.

    Parameters
    ----------
    prob_or_logits : torch.Tensor
        ``(N, K)`` probabilities or logits (same argmax).
    sp : torch.Tensor
        ``(N,)`` superpixel index per pixel.
    n_sp : int
        M.

    Returns
    -------
    pixel_labels : torch.Tensor
        ``(N,)`` long, the pseudo label of every pixel.
    sp_labels : torch.Tensor
        ``(M,)`` long, ``C_j``.
    """
    import torch

    k = prob_or_logits.shape[1]
    c = prob_or_logits.argmax(dim=1)
    votes = torch.bincount(sp * k + c, minlength=n_sp * k).reshape(n_sp, k)
    sp_lab = votes.argmax(dim=1)
    return sp_lab[sp], sp_lab


def similarity_matrix(g, centers, sigma: float, d: float):
    """Deep similarity between superpixels (Eq. 7).

    Parameters
    ----------
    g : torch.Tensor
        ``(M, K)`` superpixel features.
    centers : torch.Tensor
        ``(M, 2)`` superpixel centroids (pixels).
    sigma : float
        Scale.
    d : float
        Centroids closer than ``d`` are connected (the diagonal included).

    Returns
    -------
    torch.Tensor
        ``(M, M)`` symmetric, entries in [0, 1].
    """
    import torch

    w = torch.exp(-torch.cdist(g, g).pow(2) / float(sigma) ** 2)
    near = torch.cdist(centers, centers) < float(d)
    return w * near.to(w.dtype)


def soft_cut_loss(q, w):
    """The soft cut ``L2 = sum_k Q_k^T W (1 - Q_k)`` (Eq. 8).

    Parameters
    ----------
    q : torch.Tensor
        ``(M, K)`` superpixel-to-partition association (rows sum to 1).
    w : torch.Tensor
        ``(M, M)`` similarity.

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    return (q * (w @ (1.0 - q))).sum()


def soft_ncut_loss(q, w, eps: float = 1e-8):
    """The soft normalised cut ``K - sum_k assoc(A_k, A_k) / assoc(A_k, V)``.

    ``assoc(A_k, A_k) = Q_k^T W Q_k`` and ``assoc(A_k, V) = Q_k^T W 1``
    (Shi & Malik's normalised cut with the soft association ``Q`` of Eq. 6 in
    place of the indicator; the form W-Net uses). Unlike the cut of Eq. 8 it
    is *worst* (``K - 1``) when everything is in one partition, and ``0`` for
    ``K`` partitions with no weight between them. Not in the DSC paper: an
    option of this package (``cut="ncut"``).

    Parameters
    ----------
    q : torch.Tensor
        ``(M, K)`` superpixel-to-partition association (rows sum to 1).
    w : torch.Tensor
        ``(M, M)`` similarity (non-negative, symmetric).
    eps : float
        Added to ``assoc(A_k, V)``: an empty partition contributes 0 to the sum.

    Returns
    -------
    torch.Tensor
        Scalar in ``[0, K]``.
    """
    wq = w @ q  # (M, K)
    assoc_kk = (q * wq).sum(0)
    assoc_kv = wq.sum(0)  # = Q_k^T W 1 for symmetric W
    return q.shape[1] - (assoc_kk / (assoc_kv + eps)).sum()


def centroids(sp_np: np.ndarray, n_sp: int) -> np.ndarray:
    """``(M, 2)`` centroids (y, x) of the superpixels ``0..M-1`` of a 2D index image."""
    yy, xx = np.indices(sp_np.shape)
    cnt = np.bincount(sp_np.ravel(), minlength=n_sp).astype(np.float64)
    cy = np.bincount(sp_np.ravel(), yy.ravel(), minlength=n_sp) / np.maximum(cnt, 1)
    cx = np.bincount(sp_np.ravel(), xx.ravel(), minlength=n_sp) / np.maximum(cnt, 1)
    return np.stack([cy, cx], 1)
