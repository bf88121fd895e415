"""What the metrics widget computes in its worker: napari-free, testable alone.

All numbers come from :func:`napari_deepsuperpixel.metrics.evaluate.evaluate_segmentation`
(what the benchmark computes per image); this module only picks the displayed
columns and builds the matched/unmatched boundary map.
"""

from __future__ import annotations

import numpy as np

from ..metrics.boundary import MAX_DIST

#: table columns, in display order (``ev`` only with an image, ``obj_*`` only with ``objects``;
#: ``segment_f`` for volumes)
COLUMNS = ("n_segments", "covering", "pri", "vi", "boundary_p", "boundary_r", "boundary_f",
           "asa", "br", "bp", "ue", "ev", "segment_f", "obj_p50", "obj_r50", "obj_f50", "obj_ap50")

#: displayed columns whose :func:`~napari_deepsuperpixel.metrics.evaluate.evaluate_segmentation` key differs
_RENAMED = {"boundary_p": "bdry_p", "boundary_r": "bdry_r", "boundary_f": "bdry_f"}

#: values of the boundary-match layer
MATCHED, FALSE_POSITIVE, MISSED = 1, 2, 3


def _squeeze(a) -> np.ndarray:
    """Drop leading axes of length 1 (a one-slice result placed in its stack is ``(1, Y, X)``)."""
    a = np.asarray(a)
    while a.ndim > 2 and a.shape[0] == 1:
        a = a[0]
    return a


def _check(pred, gts):
    pred = np.asarray(pred)
    if pred.ndim == 3 and pred.shape[0] == 1:
        pred = _squeeze(pred)  # a one-slice result placed in its stack
    if pred.ndim not in (2, 3):
        raise ValueError(
            f"metrics need a 2D (Y, X) or 3D (Z, Y, X) prediction, got shape {pred.shape}; "
            "select one time point or slice first"
        )
    if not gts:
        raise ValueError("select at least one ground-truth Labels layer")
    gts = [_squeeze(g) for g in gts]
    for g in gts:
        if g.shape != pred.shape:
            raise ValueError(f"ground truth shape {g.shape} differs from the prediction shape {pred.shape}")
    return pred.astype(np.int32), [g.astype(np.int32) for g in gts]


def compute_metrics(pred, gts, *, gt_boundaries=None, image=None, max_dist: float = MAX_DIST,
                    r: float = 2.0, match_map: bool = False, objects: bool = False,
                    ignore_background: bool = False) -> dict:
    """All metrics of one prediction against one or more annotators.

    Parameters
    ----------
    pred : array_like of int, shape (Y, X)
        The segmentation or superpixels.
    gts : list of array_like of int
        One label map per annotator.
    gt_boundaries : list of array_like of bool, optional
        The annotators' stored thin boundary maps (BSDS ``Boundaries``; the
        reader keeps them in layer metadata). Default: derived from ``gts``
        with :func:`~napari_deepsuperpixel.metrics.seg_to_boundaries`, as
        BSDS itself derived them.
    image : array_like, optional
        Intensity image for the explained variation ``ev``.
    max_dist : float
        BSDS boundary tolerance, a fraction of the image diagonal.
    r : float
        Superpixel boundary recall/precision tolerance in pixels.
    match_map : bool
        Also return the matched/unmatched boundary map.
    objects, ignore_background : bool
        Object-level scores of instance ground truth and the background
        convention (label 0), see
        :func:`~napari_deepsuperpixel.metrics.evaluate.evaluate_segmentation`.

    Returns
    -------
    dict
        ``row``: the :data:`COLUMNS` of
        :func:`~napari_deepsuperpixel.metrics.evaluate.evaluate_segmentation`
        (``covering``, ``pri``, ``vi``; ``boundary_p/r/f``, its ``bdry_p/r/f``, the
        BSDS matching; ``asa``, ``br``, ``bp``, ``ue``, ``n_segments`` and, with an
        image, ``ev``, annotators averaged); ``matches``: a ``uint8`` map with 1 = matched machine
        boundary pixel, 2 = unmatched machine pixel (false positive), 3 = ground-truth
        boundary pixel no machine pixel matched (missed), when ``match_map``.

        For a ``(Z, Y, X)`` volume: the metrics of :func:`volume_metrics`
        (the BSDS region and boundary benchmark is 2D) and no match map.

    Raises
    ------
    ValueError
        For a prediction neither 2D nor 3D, no ground truth, or mismatching shapes.

    References
    ----------
    .. [1] P. Arbelaez, M. Maire, C. Fowlkes and J. Malik, "Contour Detection and
       Hierarchical Image Segmentation", IEEE TPAMI 33(5), 898-916, 2011.
    """
    from ..metrics.evaluate import evaluate_segmentation
    from ..metrics.ground_truth import GroundTruth

    pred, gts = _check(pred, gts)
    if pred.ndim == 3:
        return {"row": volume_metrics(pred, gts, image=image, r=r)}
    if gt_boundaries is None:
        gt_obj = GroundTruth.from_segmentations(gts)
    else:
        gt_obj = GroundTruth(gts, [np.asarray(b).astype(bool) for b in gt_boundaries])
    m = evaluate_segmentation(pred, image, gts, gt_obj.boundaries, r=r, max_dist=max_dist, objects=objects,
                              ignore_background=ignore_background)
    row = {c: m[_RENAMED.get(c, c)] for c in COLUMNS if _RENAMED.get(c, c) in m}
    out = {"row": row}
    if match_map:
        from ..metrics import seg_to_boundaries

        out["matches"] = boundary_match_map(seg_to_boundaries(pred), gt_obj.boundaries, max_dist=max_dist)
    return out


def volume_metrics(pred, gts, *, image=None, r: float = 2.0) -> dict:
    """The metrics of a ``(Z, Y, X)`` label volume against one or more ground-truth volumes.

    Returns
    -------
    dict
        ``n_segments``, ``asa``, ``br``, ``bp`` (surface voxels within ``r``
        voxels), ``ue`` (corrected undersegmentation error), ``ev`` with an
        image of the same ``(Z, Y, X)`` shape, and ``segment_f`` (the segment-level
        F-measure at IoU 0.5, Kanezaki 2018), annotators averaged.
    """
    from ..metrics.segment_f import segment_f_measure
    from ..metrics.superpixel import superpixel_metrics

    img = None
    if image is not None and np.shape(image)[:3] == pred.shape:
        img = np.asarray(image)
    m = superpixel_metrics(pred, gts, image=img, r=r)
    row = {k: m[k] for k in ("n_segments", "asa", "br", "bp", "ue", "ev") if k in m}
    row["segment_f"] = float(np.mean([segment_f_measure(pred, g)["f"] for g in gts]))
    return row


def boundary_match_map(bmap, gt_boundaries, *, max_dist: float = MAX_DIST) -> np.ndarray:
    """Label machine and ground-truth boundary pixels as matched / false positive / missed.

    Parameters
    ----------
    bmap : array_like of bool, shape (Y, X)
        Machine boundary map (thinned here, as the benchmark does).
    gt_boundaries : list of array_like of bool
        One thin boundary map per annotator.
    max_dist : float
        Tolerance as a fraction of the image diagonal.

    Returns
    -------
    numpy.ndarray of uint8
        ``1`` machine pixel matched by at least one annotator, ``2`` machine
        pixel matched by none, ``3`` annotator pixel left unmatched (by any
        annotator's matching; shown only where there is no machine pixel).
        The number of 1s equals the benchmark's ``cntP``.
    """
    from ..metrics import match_boundaries, thin_boundaries

    b = thin_boundaries(np.asarray(bmap).astype(bool))
    acc = np.zeros(b.shape, bool)
    missed = np.zeros(b.shape, bool)
    for g in gt_boundaries:
        g = np.asarray(g).astype(bool)
        mm, mg = match_boundaries(b, g, max_dist=max_dist)
        acc |= mm
        missed |= g & ~mg
    out = np.zeros(b.shape, np.uint8)
    out[missed & ~b] = MISSED
    out[b & ~acc] = FALSE_POSITIVE
    out[b & acc] = MATCHED
    return out
