r"""Superpixel metrics: ASA, undersegmentation errors, boundary recall/precision,
explained variation, compactness and the number of segments.

Notation: an image of :math:`N` pixels, a superpixel map with segments
:math:`s \in S` and a ground-truth partition with segments :math:`g \in G`.
Every distinct value of a label map is one segment (0 included: in a mask
with 0 = background, the background is one ground-truth segment). Segments
need not be connected.

Several annotators
------------------
Functions that compare with ground truth accept one label map or a list of
them (BSDS500 has about five annotators per image). The metric is computed
for each (image, annotator) pair and then reduced with ``reduce``:
``"mean"`` (default, the average over annotators, as in Stutz et al. 2018),
``"worst"`` (the lowest ASA / recall / precision / F1, the highest error),
``"best"`` (the opposite) or ``"none"`` (a list, one value per annotator).
Averaging over a dataset is then the mean over images of these values, i.e.
with ``"mean"`` every (image, annotator) pair of a dataset with the same
number of annotators per image weighs the same.

Volumes
-------
ASA, the undersegmentation errors, boundary recall / precision / F1 (surface
voxels within ``r`` voxels), explained variation and :func:`n_segments` take
``(Z, Y, X)`` label volumes as well (the ground truth then is one volume or a
list of them); compactness is 2D only.

All functions are vectorised (contingency tables with :func:`numpy.bincount`)
and take a few milliseconds on a 481x321 BSDS500 image.

References
----------
.. [1] M.-Y. Liu, O. Tuzel, S. Ramalingam, R. Chellappa, "Entropy rate
   superpixel segmentation", CVPR 2011 (achievable segmentation accuracy).
.. [2] M. Van den Bergh, X. Boix, G. Roig, L. Van Gool, "SEEDS: superpixels
   extracted via energy-driven sampling", IJCV 111, 2015 (corrected
   undersegmentation error).
.. [3] D. Stutz, A. Hermans, B. Leibe, "Superpixels: an evaluation of the
   state-of-the-art", CVIU 166, 2018 (UE, BR, BP, EV, CO definitions and
   averaging over annotators).
.. [4] P. Neubert, P. Protzel, "Superpixel benchmark and comparison", Forum
   Bildverarbeitung 2012 (undersegmentation error without the penalty for
   large overlaps).
.. [5] A. Schick, M. Fischer, R. Stiefelhagen, "Measuring and evaluating the
   compactness of superpixels", ICPR 2012 (compactness).
.. [6] A. P. Moore, S. J. D. Prince, J. Warrell, U. Mohammed, G. Jones,
   "Superpixel lattices", CVPR 2008 (explained variation).
"""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from ._labels import check_labels, check_same_shape, dense_ids, gt_label_maps, sparse_joint_counts

REDUCE_CHOICES = ("mean", "worst", "best", "none")
WINDOW_CHOICES = ("square", "disk")

# ----------------------------------------------------------------- helpers
def _check_labels(labels, name: str = "labels", ndims: tuple = (2, 3)) -> np.ndarray:
    return check_labels(labels, name, allow_empty=False, ndims=ndims)


def contingency(labels, gt):
    """Overlap table between two label maps (sparse triplets).

    Parameters
    ----------
    labels, gt : (Y, X) integer arrays
        Two label maps of the same shape.

    Returns
    -------
    rows, cols, counts : numpy.ndarray
        Non-zero entries :math:`n_{sg} = |s \\cap g|`, sorted by ``rows``
        (the compacted segment index of ``labels``), then ``cols``.
    size_s, size_g : numpy.ndarray
        :math:`|s|` for each row index and :math:`|g|` for each column index.
    """
    a = _check_labels(labels, "labels")
    b = _check_labels(gt, "gt")
    check_same_shape(a, b, "labels", "gt")
    ia, _, size_s = dense_ids(a, counts=True)
    ib, _, size_g = dense_ids(b, counts=True)
    ng = size_g.size
    nz, counts = sparse_joint_counts(ia, size_s.size, ib, ng)
    return nz // ng, nz % ng, counts, size_s, size_g


def _reduce(values: Sequence[float], reduce: str, higher_is_better: bool):
    if reduce not in REDUCE_CHOICES:
        raise ValueError(f"reduce must be one of {REDUCE_CHOICES}, got {reduce!r}")
    v = np.asarray(values, float)
    if reduce == "none":
        return [float(x) for x in v]
    if reduce == "mean":
        return float(v.mean())
    worst = reduce == "worst"
    return float(v.min() if worst == higher_is_better else v.max())


def _prepare(labels, ground_truth):
    """Checked labels, list of checked ground truths, compacted labels and segment sizes."""
    a = _check_labels(labels)
    gts = gt_label_maps(ground_truth, a.shape)
    ia, _, size_s = dense_ids(a, counts=True)
    return a, gts, ia, size_s


def _per_annotator(pair, labels, ground_truth, reduce, higher_is_better):
    """``pair(dense superpixel ids, sizes, ground truth)`` for each annotator, reduced."""
    _, gts, ia, size_s = _prepare(labels, ground_truth)
    return _reduce([pair(ia, size_s, g) for g in gts], reduce, higher_is_better)


def _check_window(r, window):
    if window not in WINDOW_CHOICES:
        raise ValueError(f"window must be one of {WINDOW_CHOICES}, got {window!r}")
    if not np.isscalar(r) or r < 0 or not np.isfinite(r):
        raise ValueError(f"tolerance r must be a finite number >= 0 (pixels), got {r!r}")


# -------------------------------------------------------------- region terms
def _overlaps(ia, ns, gt):
    """Superpixel index and pixel count of the non-zero cells of the contingency with one ground truth."""
    ib, _, size_g = dense_ids(gt, counts=True)
    ng = size_g.size
    nz, counts = sparse_joint_counts(ia, ns, ib, ng)
    return nz // ng, counts


def _asa_pair(ia, size_s, gt) -> float:
    """ASA of precompacted superpixels against one ground truth."""
    rows, counts = _overlaps(ia, size_s.size, gt)
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    return float(np.maximum.reduceat(counts, starts).sum()) / ia.size


def achievable_segmentation_accuracy(labels, ground_truth, *, reduce: str = "mean"):
    r"""Achievable segmentation accuracy (ASA).

    .. math:: \mathrm{ASA}(S, G) = \frac{1}{N} \sum_{s \in S} \max_{g \in G} |s \cap g|

    The fraction of pixels labelled correctly when every superpixel takes the
    ground-truth label it overlaps most: an upper bound on the accuracy of
    any segmentation built from these superpixels. 1 is best.

    Parameters
    ----------
    labels : (Y, X) int array
        Superpixels.
    ground_truth : (Y, X) int array or list of them
        One label map per annotator; every value (0 too) is a segment.
    reduce : {"mean", "worst", "best", "none"}
        How to combine several annotators (see the module docstring).

    Returns
    -------
    float, or list of float for ``reduce="none"``

    References
    ----------
    Liu et al., CVPR 2011; Stutz et al., CVIU 2018.
    """
    return _per_annotator(_asa_pair, labels, ground_truth, reduce, True)


def corrected_undersegmentation_error(labels, ground_truth, *, reduce: str = "mean"):
    r"""Corrected undersegmentation error (CUE), ``1 - ASA``.

    .. math:: \mathrm{CUE}(S, G) = \frac{1}{N} \sum_{s \in S}
              |s \setminus \arg\max_{g} |s \cap g||  = 1 - \mathrm{ASA}(S, G)

    Each superpixel is charged for the pixels outside the ground-truth
    segment it overlaps most. 0 is best. Parameters and return value as in
    :func:`achievable_segmentation_accuracy`; ``reduce="worst"`` takes the
    largest error (Van den Bergh et al., IJCV 2015; Stutz et al., CVIU 2018:
    their :math:`\mathrm{UE}` is this corrected form).
    """
    return _per_annotator(lambda ia, size_s, g: 1.0 - _asa_pair(ia, size_s, g), labels, ground_truth, reduce, False)


def _ue_np_pair(ia, size_s, gt) -> float:
    rows, counts = _overlaps(ia, size_s.size, gt)
    return float(np.minimum(counts, size_s[rows] - counts).sum()) / ia.size


def undersegmentation_error_np(labels, ground_truth, *, reduce: str = "mean"):
    r"""Neubert–Protzel undersegmentation error.

    .. math:: \mathrm{UE_{NP}}(S, G) = \frac{1}{N} \sum_{g \in G}
              \sum_{s:\, s \cap g \neq \emptyset} \min(|s \cap g|,\ |s \setminus g|)

    A superpixel overlapping a ground-truth segment is charged the smaller of
    its part inside and its part outside that segment, so that a superpixel
    that slightly leaks into a neighbour is not charged its whole area. 0 is
    best. Parameters and return value as in
    :func:`achievable_segmentation_accuracy`; ``reduce="worst"`` takes the
    largest error (Neubert & Protzel, Forum Bildverarbeitung 2012; Stutz et
    al., CVIU 2018).
    """
    return _per_annotator(_ue_np_pair, labels, ground_truth, reduce, False)


# ------------------------------------------------------------ boundary terms
def boundary_map(labels) -> np.ndarray:
    """Thin boundary pixels of a label map (surface voxels of a label volume).

    A pixel is a boundary pixel when its label differs from the pixel below
    or the pixel to its right (4-connectivity, one side only), so that a
    border between two segments is one pixel wide and lies on the top/left
    segment. The image border is not a boundary. In a volume the same holds
    along Z too (6-connectivity): a surface between two segments is one voxel thick.

    Parameters
    ----------
    labels : (Y, X) or (Z, Y, X) int array

    Returns
    -------
    bool array of the same shape
    """
    a = _check_labels(labels)
    b = np.zeros(a.shape, bool)
    for axis in range(a.ndim):
        lo = [slice(None)] * a.ndim
        hi = [slice(None)] * a.ndim
        lo[axis], hi[axis] = slice(None, -1), slice(1, None)
        b[tuple(lo)] |= a[tuple(lo)] != a[tuple(hi)]
    return b


def _near(mask: np.ndarray, r: float, window: str) -> np.ndarray:
    """Pixels within distance ``r`` of a True pixel of ``mask``."""
    from scipy import ndimage as ndi

    if not mask.any():
        return np.zeros_like(mask)
    if window == "square":
        k = int(np.floor(r))
        if k == 0:
            return mask.copy()
        return ndi.maximum_filter(mask.view(np.uint8), size=2 * k + 1, mode="constant").astype(bool)
    dist = ndi.distance_transform_edt(~mask)
    return dist <= r + 1e-9


def _pr_pair(b_sp, near_sp, b_gt, r, window):
    """(matched gt, total gt, matched sp, total sp) boundary pixel counts."""
    n_gt = int(b_gt.sum())
    n_sp = int(b_sp.sum())
    hit_gt = int(np.count_nonzero(b_gt & near_sp))
    hit_sp = int(np.count_nonzero(b_sp & _near(b_gt, r, window))) if n_sp else 0
    return hit_gt, n_gt, hit_sp, n_sp


def _ratio(num, den):
    return 1.0 if den == 0 else num / den


def _f1(p, r):
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def _boundary_pairs(a, gts, r, window):
    """(recall, precision) of checked labels ``a`` against each checked ground truth."""
    b_sp = boundary_map(a)
    near_sp = _near(b_sp, r, window)
    out = []
    for g in gts:
        hg, ng, hs, ns = _pr_pair(b_sp, near_sp, boundary_map(g), r, window)
        out.append((_ratio(hg, ng), _ratio(hs, ns)))
    return out


def _pick(metric: str, recall: float, precision: float) -> float:
    """``"br"``, ``"bp"`` or ``"bf1"`` of one (recall, precision) pair."""
    if metric == "br":
        return recall
    if metric == "bp":
        return precision
    return _f1(precision, recall)


def _boundary_metric(metric, labels, ground_truth, r, window, reduce):
    _check_window(r, window)
    a = _check_labels(labels)
    scores = _boundary_pairs(a, gt_label_maps(ground_truth, a.shape), r, window)
    return _reduce([_pick(metric, rc, pr) for rc, pr in scores], reduce, True)


def boundary_recall(labels, ground_truth, *, r: float = 2, window: str = "square",
                    reduce: str = "mean"):
    r"""Boundary recall with tolerance ``r``.

    .. math:: \mathrm{BR}(S, G) = \frac{|\{p \in B(G) : d(p, B(S)) \le r\}|}{|B(G)|}

    The fraction of ground-truth boundary pixels :math:`B(G)` that have a
    superpixel boundary pixel within distance ``r`` (boundaries from
    :func:`boundary_map`). 1 is best. An image whose ground truth has no
    boundary (one segment) scores 1 (nothing to recall).

    Parameters
    ----------
    labels : (Y, X) int array
    ground_truth : (Y, X) int array or list of them
    r : float
        Tolerance in pixels (default 2, as in Stutz et al. and Eliasof et al.).
    window : {"square", "disk"}
        ``"square"``: the Chebyshev distance, i.e. a ``(2r+1) x (2r+1)``
        window around each boundary pixel (Stutz et al.'s benchmark);
        ``"disk"``: the Euclidean distance, a disk of radius ``r``.
    reduce : {"mean", "worst", "best", "none"}

    Returns
    -------
    float, or list of float for ``reduce="none"``

    References
    ----------
    Martin, Fowlkes, Malik, TPAMI 2004; Stutz et al., CVIU 2018.
    """
    return _boundary_metric("br", labels, ground_truth, r, window, reduce)


def boundary_precision(labels, ground_truth, *, r: float = 2, window: str = "square",
                       reduce: str = "mean"):
    r"""Boundary precision with tolerance ``r``.

    .. math:: \mathrm{BP}(S, G) = \frac{|\{p \in B(S) : d(p, B(G)) \le r\}|}{|B(S)|}

    The fraction of superpixel boundary pixels that have a ground-truth
    boundary pixel within distance ``r``. 1 is best; a map with a single
    segment (no boundary) scores 1 (no false boundary). Parameters and
    return value as in :func:`boundary_recall` (Martin, Fowlkes, Malik,
    TPAMI 2004; Stutz et al., CVIU 2018).
    """
    return _boundary_metric("bp", labels, ground_truth, r, window, reduce)


def boundary_f1(labels, ground_truth, *, r: float = 2, window: str = "square",
                reduce: str = "mean"):
    r"""Boundary F-measure, the harmonic mean of :func:`boundary_precision`
    and :func:`boundary_recall`.

    .. math:: F = \frac{2\,\mathrm{BP}\,\mathrm{BR}}{\mathrm{BP} + \mathrm{BR}}

    Computed per annotator, then reduced (0 when both are 0). Parameters and
    return value as in :func:`boundary_recall` (Gaur & Manjunath, IEEE TIP
    2020: boundary F1 vs number of superpixels).
    """
    return _boundary_metric("bf1", labels, ground_truth, r, window, reduce)


# --------------------------------------------------------- intrinsic terms
def explained_variation(labels, image) -> float:
    r"""Explained variation (EV).

    .. math:: \mathrm{EV}(S) = \frac{\sum_{s \in S} |s|\, \lVert \mu_s - \mu \rVert^2}
              {\sum_{p} \lVert x_p - \mu \rVert^2}

    where :math:`x_p` is the colour of pixel :math:`p`, :math:`\mu` the mean
    colour of the image and :math:`\mu_s` that of superpixel :math:`s`; the
    squared norm sums over channels. The fraction of the image's variance
    captured by replacing each pixel with its superpixel mean. 1 is best. A
    constant image scores 1.

    Parameters
    ----------
    labels : (Y, X) or (Z, Y, X) int array
    image : (Y, X) or (Y, X, C) array (``(Z, Y, X[, C])`` for a volume)
        Pixel values in the space of choice (e.g. RGB in [0, 1] or Lab); EV
        is invariant to a global scaling of the values.

    Returns
    -------
    float

    References
    ----------
    Moore et al., CVPR 2008; Stutz et al., CVIU 2018.
    """
    a = _check_labels(labels)
    x = np.asarray(image, dtype=np.float64)
    if x.shape[:a.ndim] != a.shape or x.ndim not in (a.ndim, a.ndim + 1):
        raise ValueError(f"image of shape {x.shape} does not match labels of shape {a.shape}")
    bad = int(x.size - np.count_nonzero(np.isfinite(x)))
    if bad:
        raise ValueError(f"the image for the explained variation holds {bad} NaN or infinite value(s); "
                         "replace them first (e.g. np.nan_to_num(image)) or leave the image out")
    x = x.reshape(a.size, -1)
    idx, _, sizes = dense_ids(a, counts=True)
    mu = x.mean(axis=0)
    total = float(((x - mu) ** 2).sum())
    if total == 0.0:
        return 1.0
    explained = 0.0
    for c in range(x.shape[1]):
        means = np.bincount(idx, weights=x[:, c], minlength=sizes.size) / sizes
        explained += float((sizes * (means - mu[c]) ** 2).sum())
    return explained / total


def perimeters(labels) -> tuple:
    """Area and perimeter of every segment.

    The perimeter is the number of unit pixel edges that separate the
    segment from another segment or from the image border.

    Parameters
    ----------
    labels : (Y, X) int array

    Returns
    -------
    areas, perims : numpy.ndarray
        One entry per distinct label, in increasing label order.
    """
    a = _check_labels(labels, ndims=(2,))
    idx, _, sizes = dense_ids(a, counts=True)
    idx = idx.reshape(a.shape)
    n = sizes.size
    per = np.zeros(n, np.int64)
    dv = idx[:-1, :] != idx[1:, :]
    dh = idx[:, :-1] != idx[:, 1:]
    for sel in (idx[:-1, :][dv], idx[1:, :][dv], idx[:, :-1][dh], idx[:, 1:][dh],
                idx[0, :], idx[-1, :], idx[:, 0], idx[:, -1]):
        per += np.bincount(sel.ravel(), minlength=n)
    return sizes, per


def compactness(labels) -> float:
    r"""Compactness (CO) of Schick et al.

    .. math:: \mathrm{CO}(S) = \sum_{s \in S} \frac{|s|}{N}\, \frac{4 \pi A(s)}{P(s)^2}

    The area-weighted isoperimetric quotient of the superpixels, with area
    :math:`A(s) = |s|` and perimeter :math:`P(s)` the number of unit pixel
    edges on the segment's border, the image border included (see
    :func:`perimeters`). Higher is more compact. Schick et al. do not fix a
    discrete perimeter; with this edge count a square scores
    :math:`\pi/4 \approx 0.785` whatever its size, a 1-pixel-wide line of
    length :math:`L` scores :math:`4 \pi L / (2L + 2)^2`.

    Parameters
    ----------
    labels : (Y, X) int array

    Returns
    -------
    float

    References
    ----------
    Schick, Fischer, Stiefelhagen, ICPR 2012; Stutz et al., CVIU 2018.
    """
    areas, per = perimeters(labels)
    q = 4.0 * np.pi * areas / per.astype(float) ** 2
    return float((areas * q).sum() / areas.sum())


def n_segments(labels) -> int:
    """Number of distinct labels (segments) in a ``(Y, X)`` or ``(Z, Y, X)`` integer label map, as an ``int``."""
    return int(dense_ids(_check_labels(labels))[1].size)


# ----------------------------------------------------------------- all at once
def superpixel_metrics(labels, ground_truth, image=None, *, r: float = 2, window: str = "square",
                       reduce: str = "mean") -> dict:
    """All superpixel metrics of one image at once (shares the work).

    Parameters
    ----------
    labels : (Y, X) or (Z, Y, X) int array
        Superpixels (supervoxels).
    ground_truth : int array of the same shape, or list of them
        One label map per annotator.
    image : (Y, X) or (Y, X, C) array (``(Z, Y, X[, C])`` for a volume), optional
        Needed for ``ev`` (explained variation); omitted otherwise.
    r : float
        Boundary tolerance in pixels (default 2).
    window : {"square", "disk"}
        Boundary tolerance window (see :func:`boundary_recall`).
    reduce : {"mean", "worst", "best"}
        How to combine annotators ("none" is not accepted here).

    Returns
    -------
    dict
        ``n_segments``, ``asa``, ``ue`` (corrected, 1 - ASA), ``ue_np``,
        ``br``, ``bp``, ``bf1``, ``co`` (2D only) and, with ``image``, ``ev``.
    """
    if reduce == "none":
        raise ValueError("superpixel_metrics needs one number per metric; use reduce='mean', 'worst' or 'best'")
    _check_window(r, window)
    a, gts, ia, size_s = _prepare(labels, ground_truth)
    asa = [_asa_pair(ia, size_s, g) for g in gts]
    scores = _boundary_pairs(a, gts, r, window)
    out = {
        "n_segments": int(size_s.size),
        "asa": _reduce(asa, reduce, True),
        "ue": _reduce([1.0 - v for v in asa], reduce, False),
        "ue_np": _reduce([_ue_np_pair(ia, size_s, g) for g in gts], reduce, False),
        **{m: _reduce([_pick(m, rc, pr) for rc, pr in scores], reduce, True) for m in ("br", "bp", "bf1")},
    }
    if a.ndim == 2:
        out["co"] = compactness(a)
    if image is not None:
        out["ev"] = explained_variation(a, image)
    return out


GroundTruth = Union[np.ndarray, Sequence[np.ndarray]]
