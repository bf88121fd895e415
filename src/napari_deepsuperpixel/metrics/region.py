"""Region metrics of the BSDS500 benchmark: segmentation covering, PRI, VI.

Every function compares one machine segmentation ``seg`` (an ``(H, W)``
integer label map) with the label maps of several human annotators (a
:class:`~napari_deepsuperpixel.datasets.bsds.GroundTruth` or a list of label
maps), following the official BSDS500 MATLAB code (``match_segmentations.m``,
``match_segmentations2.m``, ``evaluation_reg_image.m``) exactly.

All of them work from contingency tables ``n[u, v]`` (pixels with machine label
``u`` and human label ``v``), so they cost one pass over the pixels per
annotator.

Label ``0`` is "no region" for segmentation covering (as in the official code,
whose region lists start at label 1): its pixels count in the union of every
overlapping region but it is never a region itself. For PRI and VI, which the
official code cannot compute with label 0 (MATLAB indexing), label 0 is an
ordinary label here.

References
----------
.. [1] P. Arbelaez, M. Maire, C. Fowlkes and J. Malik, "Contour Detection and
   Hierarchical Image Segmentation", IEEE TPAMI 33(5), 898-916, 2011.
.. [2] R. Unnikrishnan, C. Pantofaru and M. Hebert, "Toward objective evaluation
   of image segmentation algorithms", IEEE TPAMI 29(6), 929-944, 2007 (PRI).
.. [3] M. Meila, "Comparing clusterings: an axiomatic view", ICML 2005 (VI).
.. [4] M. Everingham et al., "The PASCAL Visual Object Classes (VOC) Challenge",
   IJCV 88(2), 303-338, 2010 (covering / overlap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._labels import check_labels, check_same_shape, dense_ids, gt_label_maps, joint_table


def contingency_table(seg, gt) -> tuple:
    """Joint histogram of two label maps.

    Parameters
    ----------
    seg, gt : array_like of int, shape (H, W)
        Label maps (labels >= 0).

    Returns
    -------
    table : numpy.ndarray of int64, shape (len(seg_labels), len(gt_labels))
        ``table[a, b]`` = number of pixels with ``seg == seg_labels[a]`` and
        ``gt == gt_labels[b]``.
    seg_labels, gt_labels : numpy.ndarray
        The labels present in each map, sorted.
    """
    seg = check_labels(seg, "seg", allow_negative=False)
    gt = check_labels(gt, "gt", allow_negative=False)
    check_same_shape(seg, gt, "seg", "gt")
    si, su = dense_ids(seg)
    gi, gu = dense_ids(gt)
    return joint_table(si, su.size, gi, gu.size), su, gu


def _table_total(n) -> tuple:
    """A contingency table as ``float64`` and its number of pixels."""
    n = np.asarray(n, dtype=np.float64)
    return n, n.sum()


def rand_index_from_table(n) -> float:
    """Rand index of a contingency table (fraction of agreeing pixel pairs).

    ``RI = 1 - (sum_u a_u^2 / 2 + sum_v b_v^2 / 2 - sum_uv n_uv^2) / (N (N - 1) / 2)``
    with row sums ``a``, column sums ``b`` and ``N`` pixels [2]_, for a table
    ``n`` of shape ``(U, V)``; 1 for fewer than two pixels.
    """
    n, N = _table_total(n)
    if N < 2:
        return 1.0
    a = n.sum(1)
    b = n.sum(0)
    return float(1.0 - ((a * a).sum() / 2 + (b * b).sum() / 2 - (n * n).sum()) / (N * (N - 1) / 2))


def variation_of_information_from_table(n) -> float:
    """Variation of information (bits) of a contingency table.

    ``VI = H(seg) + H(gt) - 2 I(seg, gt)`` with entropies and mutual information
    of the joint distribution ``n / N`` in ``log2`` [3]_, for a table ``n`` of
    shape ``(U, V)``; 0 for an empty table.
    """
    n, N = _table_total(n)
    if N <= 0:
        return 0.0
    p = n / N
    pu = p.sum(1)
    pv = p.sum(0)
    pu_nz = pu[pu > 0]
    pv_nz = pv[pv > 0]
    h1 = -np.sum(pu_nz * np.log2(pu_nz))
    h2 = -np.sum(pv_nz * np.log2(pv_nz))
    iu, iv = np.nonzero(p)
    pj = p[iu, iv]
    mi = np.sum(pj * np.log2(pj / (pu[iu] * pv[iv])))
    return float(h1 + h2 - 2 * mi)


def _mean_rand_index(tables) -> float:
    """PRI: the Rand index of each annotator's table, averaged."""
    return float(np.mean([rand_index_from_table(t) for t in tables]))


def _mean_variation_of_information(tables) -> float:
    """VI of each annotator's table, averaged."""
    return float(np.mean([variation_of_information_from_table(t) for t in tables]))


@dataclass
class CoveringCounts:
    """Area-weighted best-overlap sums of one segmentation against all annotators.

    Attributes
    ----------
    cntR, sumR : float
        ``sum_G |G| max_S IoU(S, G)`` and ``sum_G |G|`` over the regions ``G`` of
        all annotators: ``cntR / sumR`` is the covering of the ground truth by
        the segmentation (the "SC" of BSDS tables).
    cntP, sumP : float
        ``sum_S |S| max_G IoU(S, G)`` and ``sum_S |S|`` over machine regions
        ``S`` (maximum over the regions of every annotator): the covering of the
        segmentation by the ground truth.
    matches_gt : numpy.ndarray
        ``max_S IoU(S, G)`` for every ground-truth region (annotators
        concatenated, labels 1..K each), used for the "best covering" over a
        hierarchy.
    gt_areas : numpy.ndarray
        ``|G|`` in the same order.
    """

    cntR: float
    sumR: float
    cntP: float
    sumP: float
    matches_gt: np.ndarray
    gt_areas: np.ndarray


def covering_from_tables(tables, seg_labels, gt_labels_list) -> CoveringCounts:
    """Covering counts from per-annotator contingency tables sharing their rows.

    Parameters
    ----------
    tables : list of numpy.ndarray
        ``tables[s][a, b]``: pixels of machine label ``seg_labels[a]`` and label
        ``gt_labels_list[s][b]`` of annotator ``s``.
    seg_labels : numpy.ndarray
        Row labels (label 0 = no region).
    gt_labels_list : list of numpy.ndarray
        Column labels per annotator (label 0 = no region).

    Returns
    -------
    CoveringCounts
    """
    seg_labels = np.asarray(seg_labels)
    rows = seg_labels != 0
    parts, areas = [], []
    r = None
    for t, gl in zip(tables, gt_labels_list):
        t = np.asarray(t, dtype=np.float64)
        if r is None:
            r = t.sum(1)
        c = t.sum(0)
        cols = np.asarray(gl) != 0
        tc = t[:, cols]
        denom = r[:, None] + c[None, cols] - tc
        iou = np.divide(tc, denom, out=np.zeros_like(tc), where=denom > 0)
        parts.append(iou)
        areas.append(c[cols])
    iou = np.concatenate(parts, axis=1)
    gt_areas = np.concatenate(areas)
    iou_rows = iou[rows]
    area_rows = r[rows]
    matches_seg = iou_rows.max(1) if iou_rows.shape[1] else np.zeros(iou_rows.shape[0])
    matches_gt = iou_rows.max(0) if iou_rows.shape[0] else np.zeros(iou_rows.shape[1])
    return CoveringCounts(
        cntR=float(np.sum(gt_areas * matches_gt)),
        sumR=float(gt_areas.sum()),
        cntP=float(np.sum(area_rows * matches_seg)),
        sumP=float(area_rows.sum()),
        matches_gt=matches_gt,
        gt_areas=gt_areas,
    )


def _annotator_ids(gt, shape=None) -> list:
    """``(dense ids, label values)`` of each annotator's label map."""
    return [dense_ids(g) for g in gt_label_maps(gt, shape, "gt", allow_negative=False)]


def _seg_tables(seg, gcols, name: str = "seg") -> tuple:
    """Contingency tables of ``seg`` with each annotator of ``gcols`` (:func:`_annotator_ids`), and the row labels."""
    seg = check_labels(seg, name, allow_negative=False)
    si, su = dense_ids(seg)
    return [joint_table(si, su.size, gi, gu.size) for gi, gu in gcols], su


def _tables(seg, gt):
    """Contingency tables of ``seg`` with each annotator (rows: the labels of ``seg``)."""
    seg = check_labels(seg, "seg", allow_negative=False)
    gcols = _annotator_ids(gt, seg.shape)
    tables, su = _seg_tables(seg, gcols)
    return tables, su, [gu for _, gu in gcols]


def segmentation_covering(seg, gt, *, direction: str = "gt") -> float:
    """Segmentation covering of one image.

    ``C(G -> S) = (1 / N) sum_{R in G} |R| max_{R' in S} |R n R'| / |R u R'|``:
    each ground-truth region is credited with its best intersection-over-union
    with a machine region, weighted by its area [1]_, [4]_. As in the official
    benchmark, the regions of all annotators are pooled (``N`` = sum of their
    areas), which is the per-image value of ``eval_cover*.txt``.

    Parameters
    ----------
    seg : array_like of int, shape (H, W)
        Machine segmentation.
    gt : GroundTruth or list of array_like
        Human segmentations of the same shape.
    direction : {"gt", "seg"}
        ``"gt"``: covering of the ground truth by the segmentation (the value
        BSDS reports as SC); ``"seg"``: covering of the segmentation by the
        ground truth (best IoU over the regions of all annotators).

    Returns
    -------
    float
        In [0, 1].
    """
    if direction not in ("gt", "seg"):
        raise ValueError(f"direction must be 'gt' or 'seg', got {direction!r}")
    c = covering_from_tables(*_tables(seg, gt))
    if direction == "gt":
        return c.cntR / c.sumR if c.sumR else 0.0
    return c.cntP / c.sumP if c.sumP else 0.0


def probabilistic_rand_index(seg, gt) -> float:
    """Probabilistic Rand Index: the mean Rand index against the annotators.

    ``PRI = (1 / K) sum_k RI(S, G_k)`` with
    ``RI = 1 - (sum_u a_u^2 / 2 + sum_v b_v^2 / 2 - sum_uv n_uv^2) / C(N, 2)`` [2]_.
    Arguments as in :func:`segmentation_covering`; the value is in [0, 1],
    higher is better.
    """
    return _mean_rand_index(_tables(seg, gt)[0])


def variation_of_information(seg, gt) -> float:
    """Variation of information (bits), averaged over the annotators.

    ``VI(S, G) = H(S) + H(G) - 2 I(S; G)`` with ``log2`` [3]_, averaged over the
    annotators as the official benchmark does. Arguments as in
    :func:`segmentation_covering`; the value is >= 0, lower is better.
    """
    return _mean_variation_of_information(_tables(seg, gt)[0])


def region_scores(seg, gt) -> dict:
    """All region metrics of one segmentation in one pass.

    Parameters
    ----------
    seg : array_like of int, shape (H, W)
    gt : GroundTruth or list of array_like

    Returns
    -------
    dict
        ``covering`` (ground truth covered by the segmentation, BSDS "SC"),
        ``covering_seg`` (the other direction), ``pri``, ``vi``.
    """
    tables, su, gls = _tables(seg, gt)
    c = covering_from_tables(tables, su, gls)
    return {
        "covering": c.cntR / c.sumR if c.sumR else 0.0,
        "covering_seg": c.cntP / c.sumP if c.sumP else 0.0,
        "pri": _mean_rand_index(tables),
        "vi": _mean_variation_of_information(tables),
    }
