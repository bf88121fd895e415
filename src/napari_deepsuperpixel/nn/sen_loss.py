"""SEN's variable-margin double-margin contrastive loss (Gaur & Manjunath 2020, Eq. 1-4).

For two pixels ``i, j`` with embeddings ``e_i, e_j`` and pseudo labels
``l_i, l_j`` (a superpixel segmentation of the training image):

* matching pair (``l_i == l_j``): ``[Psi(e_i, e_j) - alpha]_+``
* non-matching pair: ``[beta_ij - Psi(e_i, e_j)]_+``

with the cosine distance ``Psi = (1 - cos(e_i, e_j)) / 2`` in ``[0, 1]``
(Eq. 2) and the variable margin ``beta_ij`` proportional to the L2 distance
between the mean CIELAB colours of the two pixels' superpixels (Eq. 3).
Eq. 4 averages each term over its own number of pairs; the pairs are the
pixels' 3x3 neighbourhoods with atrous factors 1, 2 and 3.

Choices where the paper is silent or ambiguous
----------------------------------------------
* ``beta_ij = min(beta_max, ||C_i - C_j||_2 / beta_scale)``: the paper only
  says "proportional"; a cap is needed because ``Psi <= 1``. Defaults:
  ``beta_scale = 40`` (a Lab difference of 40 asks for antipodal
  embeddings) and ``beta_max = 1``.
* ``alpha = 0.05`` (cosine similarity >= 0.9 within a superpixel); the paper
  gives no value.
* ``dead_zone`` (our addition, 0 = the paper's form): ``beta_ij = min(beta_max,
  max(0, ||C_i - C_j|| - dead_zone) / beta_scale)``. Most pairs across a
  pseudo-label boundary lie inside one object (superpixels have a size limit,
  which is the paper's own reason for the variable margin); on BSDS500 val
  images a dead zone of 10 Lab units leaves a zero margin on about half of
  those pairs while the pairs on annotated boundaries keep most of theirs
  (docs/methods/sen.md).
* "9 pairwise comparisons based on three 3x3 neighbourhoods": each
  unordered neighbour pair is counted once, i.e. per atrous factor ``d`` the
  4 offsets ``(0, d), (d, 0), (d, d), (d, -d)`` (the other 4 neighbours of
  the 3x3 neighbourhood are the same pairs seen from the other pixel), 12
  unordered pairs per pixel in all.
* The two averages of Eq. 4 are taken per image, then averaged over the batch.
"""

from __future__ import annotations

import torch

__all__ = ["cosine_distance", "superpixel_mean_colors", "variable_margin_loss", "pair_offsets"]


def cosine_distance(a: torch.Tensor, b: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Eq. 2: ``(1 - cos(a, b)) / 2``, in ``[0, 1]``.

    Parameters
    ----------
    a, b : torch.Tensor
        Broadcastable tensors; vectors along ``dim``.
    dim : int
        Vector axis.
    eps : float
        Norm floor.

    Returns
    -------
    torch.Tensor
        Distances with ``dim`` removed.
    """
    num = (a * b).sum(dim)
    den = a.norm(dim=dim).clamp_min(eps) * b.norm(dim=dim).clamp_min(eps)
    return 0.5 - 0.5 * num / den


def pair_offsets(dilations=(1, 2, 3)) -> list[tuple[int, int]]:
    """The ``(dy, dx)`` offsets of the unordered neighbour pairs used by the loss.

    Parameters
    ----------
    dilations : sequence of int
        Atrous factors of the 3x3 neighbourhoods.

    Returns
    -------
    list of (int, int)
        Four offsets per dilation.
    """
    out = []
    for d in dilations:
        if int(d) < 1:
            raise ValueError(f"dilations must be positive integers, got {d!r}")
        d = int(d)
        out += [(0, d), (d, 0), (d, d), (d, -d)]
    return out


def _shift_pair(t: torch.Tensor, dy: int, dx: int):
    """Views ``(t[y, x], t[y + dy, x + dx])`` over all valid positions."""
    h, w = t.shape[-2:]
    y0, y1 = 0, h - dy
    if dx >= 0:
        x0, x1 = 0, w - dx
    else:
        x0, x1 = -dx, w
    return t[..., y0:y1, x0:x1], t[..., y0 + dy:y1 + dy, x0 + dx:x1 + dx]


def superpixel_mean_colors(labels: torch.Tensor, colors: torch.Tensor) -> torch.Tensor:
    """Replace every pixel's colour by the mean colour of its superpixel.

    Parameters
    ----------
    labels : torch.Tensor
        ``(B, H, W)`` integer labels (any values, per image).
    colors : torch.Tensor
        ``(B, C, H, W)`` colours (CIELAB in SEN).

    Returns
    -------
    torch.Tensor
        ``(B, C, H, W)`` per-pixel superpixel mean colours.
    """
    b, c, h, w = colors.shape
    out = torch.empty_like(colors)
    for i in range(b):
        _, inv = torch.unique(labels[i].reshape(-1), return_inverse=True)
        k = int(inv.max()) + 1
        flat = colors[i].reshape(c, -1)
        sums = torch.zeros(c, k, dtype=colors.dtype, device=colors.device).index_add_(1, inv, flat)
        cnt = torch.bincount(inv, minlength=k).to(colors.dtype)
        out[i] = (sums / cnt).index_select(1, inv).reshape(c, h, w)
    return out


def variable_margin_loss(
    emb,
    labels: torch.Tensor,
    sp_colors: torch.Tensor | None = None,
    *,
    alpha: float = 0.05,
    beta: float = 1.0,
    beta_scale: float | None = 40.0,
    dead_zone: float = 0.0,
    dilations=(1, 2, 3),
    return_parts: bool = False,
):
    """Eq. 4 of SEN: the double-margin contrastive loss with variable ``beta``.

    Parameters
    ----------
    emb : torch.Tensor or sequence of torch.Tensor
        ``(B, D, H, W)`` embeddings (normalised here), or several such
        tensors of the same shape (SEN's U-Net output and each GBMS
        iteration): the pairs, masks and margins depend only on ``labels``
        and ``sp_colors``, so they are computed once and every embedding is
        scored against them in one pass.
    labels : torch.Tensor
        ``(B, H, W)`` pseudo labels (superpixels of the input).
    sp_colors : torch.Tensor, optional
        ``(B, 3, H, W)`` mean CIELAB colour of each pixel's superpixel (see
        :func:`superpixel_mean_colors`). Required when ``beta_scale`` is set.
    alpha : float
        Matching margin: same-superpixel pairs farther than this are penalised.
    beta : float
        Upper bound of the non-matching margin (the fixed margin when
        ``beta_scale`` is None).
    beta_scale : float or None
        ``beta_ij = min(beta, ||C_i - C_j|| / beta_scale)``; ``None`` gives the
        fixed-margin loss of Eq. 1.
    dead_zone : float
        Lab distance subtracted before scaling, ``beta_ij = min(beta,
        max(0, ||C_i - C_j|| - dead_zone) / beta_scale)``: pairs of
        superpixels closer in colour than this get no push apart (0: Eq. 3).
    dilations : sequence of int
        Atrous factors of the 3x3 neighbourhoods.
    return_parts : bool
        Also return the matching and non-matching terms.

    Returns
    -------
    loss : torch.Tensor
        Scalar; for a sequence of embeddings a ``(T,)`` tensor, one loss each.
    (match, nonmatch) : tuple of torch.Tensor
        Only with ``return_parts``: the batch-averaged terms (``(T,)`` for a
        sequence).

    References
    ----------
    .. [1] U. Gaur and B. S. Manjunath, "Superpixel Embedding Network",
       IEEE TIP 29, 2020, Eq. 1-4.
    """
    from .blocks import l2_normalize

    single = isinstance(emb, torch.Tensor)
    embs = [emb] if single else list(emb)
    if not embs or any(e.shape != embs[0].shape for e in embs):
        raise ValueError("emb must be one (B, D, H, W) tensor or a non-empty sequence of tensors of one shape")
    e0 = embs[0]
    if e0.ndim != 4 or labels.shape != (e0.shape[0],) + tuple(e0.shape[2:]):
        raise ValueError(
            f"emb must be (B, D, H, W) and labels (B, H, W) of the same B, H, W; got {tuple(e0.shape)} "
            f"and {tuple(labels.shape)}"
        )
    if dead_zone < 0:
        raise ValueError(f"dead_zone must be >= 0 (Lab units), got {dead_zone}")
    if beta_scale is not None and sp_colors is None:
        raise ValueError("variable margin needs sp_colors (superpixel mean Lab colours); or pass beta_scale=None")
    # (T, B, D, H, W) unit vectors: the cosine of Eq. 2 is then a dot product
    units = torch.stack([l2_normalize(e.float(), dim=1) for e in embs])
    t, bsz = units.shape[:2]
    dt = units.dtype
    m_sum = units.new_zeros(t, bsz)
    n_sum = units.new_zeros(t, bsz)
    m_cnt = units.new_zeros(bsz)
    n_cnt = units.new_zeros(bsz)
    h, w = e0.shape[-2:]
    for dy, dx in pair_offsets(dilations):
        if dy >= h or abs(dx) >= w:
            continue
        la, lb = _shift_pair(labels, dy, dx)
        same = (la == lb).to(dt)  # (B, h', w'), shared by every embedding
        diff = 1.0 - same
        if beta_scale is None:
            b_ij = torch.full_like(same, float(beta))
        else:
            ca, cb = _shift_pair(sp_colors, dy, dx)
            dist = ((ca - cb).norm(dim=1) - float(dead_zone)).clamp_min(0)
            b_ij = (dist / float(beta_scale)).clamp_max(float(beta))
        ua, ub = _shift_pair(units, dy, dx)
        psi = 0.5 - 0.5 * (ua * ub).sum(2)  # (T, B, h', w')
        m_sum = m_sum + (same * (psi - alpha).clamp_min(0)).flatten(2).sum(2)
        n_sum = n_sum + (diff * (b_ij - psi).clamp_min(0)).flatten(2).sum(2)
        m_cnt = m_cnt + same.flatten(1).sum(1)
        n_cnt = n_cnt + diff.flatten(1).sum(1)
    match = (m_sum / m_cnt.clamp_min(1)).mean(1)
    nonmatch = (n_sum / n_cnt.clamp_min(1)).mean(1)
    loss = match + nonmatch
    if single:
        loss, match, nonmatch = loss[0], match[0], nonmatch[0]
    if return_parts:
        return loss, (match, nonmatch)
    return loss
