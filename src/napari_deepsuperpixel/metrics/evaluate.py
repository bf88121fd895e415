"""Every metric of one segmentation of one image, in one call.

:func:`evaluate_segmentation` is what the benchmark runner (``deepsuperpixel
bench``), the napari metrics widget and the scripts in ``benchmarks/`` compute
per image. Its keys are the columns of the benchmark's ``per_image.csv``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .boundary import MAX_DIST

#: superpixel metric keys (:func:`~napari_deepsuperpixel.metrics.superpixel.superpixel_metrics`)
SP_KEYS = ("n_segments", "asa", "ue", "ue_np", "br", "bp", "bf1", "ev", "co")
#: region metric keys (official BSDS definitions)
REGION_KEYS = ("covering", "pri", "vi")
#: boundary keys (official BSDS matching; only with ground-truth boundaries)
BOUNDARY_KEYS = ("bdry_p", "bdry_r", "bdry_f")
#: boundary counts (summed over images for the dataset P/R/F)
BOUNDARY_COUNT_KEYS = ("bdry_cntR", "bdry_sumR", "bdry_cntP", "bdry_sumP")
#: Kanezaki segment F-measure keys
SEGF_KEYS = ("segf_p50", "segf_r50", "segf_f50", "segf_f70")
#: object-level keys for instance ground truth (``objects=True``; label 0 = background)
OBJECT_KEYS = ("obj_p50", "obj_r50", "obj_f50", "obj_ap50")
#: keys computed over the annotated pixels only with ``ignore_background=True``
FOREGROUND_KEYS = ("covering", "pri", "vi", "asa", "ue", "ue_np")


def evaluate_segmentation(labels, image, segmentations, boundaries=None, *, r: float = 2,
                          window: str = "square", reduce: str = "mean", max_dist: float = MAX_DIST,
                          objects: bool = False, ignore_background: bool = False) -> dict:
    """Every benchmark metric of one segmentation of one image.

    Parameters
    ----------
    labels : (Y, X) int array
        The segmentation.
    image : array or None
        The image (for the explained variation ``ev``; omitted when ``None``).
    segmentations : list of (Y, X) int arrays
        Ground-truth label maps, one per annotator.
    boundaries : list of (Y, X) bool arrays, optional
        The annotators' stored boundary maps; when given, the official BSDS
        boundary counts of the segmentation's boundaries are computed too.
    r, window, reduce
        Superpixel metric settings (see
        :func:`~napari_deepsuperpixel.metrics.superpixel.superpixel_metrics`).
    max_dist : float
        BSDS boundary matching tolerance, a fraction of the image diagonal.
    objects : bool
        Also compute the object-level scores of instance ground truth
        (:data:`OBJECT_KEYS`): label 0 is background in the prediction and
        the ground truth, every other 4-connected predicted segment and every
        ground-truth label is an object; an object is matched at IoU > 0.5
        (:func:`~napari_deepsuperpixel.metrics.segment_f.match_segments`),
        AP is the area under the size-ranked precision-recall curve.
    ignore_background : bool
        Ground-truth label 0 is unannotated background: :data:`FOREGROUND_KEYS`
        are computed over the pixels each annotator labels non-zero (per
        annotator, then averaged), and, with ``objects``, predicted segments
        lying mostly on background are not counted as objects. Boundary
        metrics, ``ev`` and ``n_segments`` are unchanged. Default: label 0 is
        one more ground-truth segment for PRI, VI, ASA and UE (covering never
        counts it as a region).

    Returns
    -------
    dict
        :data:`SP_KEYS` (``ev`` only with ``image``), :data:`REGION_KEYS`,
        with ``boundaries`` :data:`BOUNDARY_KEYS` and :data:`BOUNDARY_COUNT_KEYS`,
        :data:`SEGF_KEYS`; and, for aggregation over a sweep, ``bsds_eval``
        (the per-image BSDS evaluation as a dict), ``cover_matches_gt`` and
        ``cover_gt_areas`` (each ground-truth region's best overlap and area)
        and ``segment_matches`` (the Kanezaki segment matching, a dict);
        with ``objects``, :data:`OBJECT_KEYS`.

    Raises
    ------
    ValueError
        With ``ignore_background``, when an annotator has no non-zero label.
    """
    from .segment_f import match_segments, segment_f_measure
    from .superpixel import superpixel_metrics

    labels = np.asarray(labels)
    ev_image = None if image is None else _ev_image(image)
    row: dict[str, Any] = superpixel_metrics(labels, segmentations, ev_image, r=r, window=window, reduce=reduce)
    row.update(_bsds_counts(labels, segmentations, boundaries, max_dist))
    m = match_segments(labels, segmentations)
    f50, f70 = segment_f_measure(m, threshold=0.5), segment_f_measure(m, threshold=0.7)
    row.update(segf_p50=f50["precision"], segf_r50=f50["recall"], segf_f50=f50["f"], segf_f70=f70["f"])
    row["segment_matches"] = m.to_dict()
    if ignore_background:
        row.update(_foreground_scores(labels, segmentations))
    if objects:
        row.update(_object_scores(labels, segmentations, ignore_background))
    return row


def _foreground_scores(labels, segmentations) -> dict:
    """:data:`FOREGROUND_KEYS` over each annotator's non-zero pixels, averaged over annotators.

    These metrics depend only on which pixels share a label, not on where the
    pixels are, so the annotated pixels are evaluated as a ``(1, n)`` map.
    """
    from .region import region_scores
    from .superpixel import achievable_segmentation_accuracy, undersegmentation_error_np

    per = []
    for k, g in enumerate(segmentations):
        g = np.asarray(g)
        fg = g != 0
        if not fg.any():
            raise ValueError(f"ground truth {k} is all background (label 0): untick 'ignore background' "
                             "or choose a ground truth with objects")
        a1, g1 = labels[fg][None, :], g[fg][None, :]
        reg = region_scores(a1, [g1])
        asa = float(achievable_segmentation_accuracy(a1, [g1]))
        per.append({"covering": reg["covering"], "pri": reg["pri"], "vi": reg["vi"], "asa": asa,
                    "ue": 1.0 - asa, "ue_np": float(undersegmentation_error_np(a1, [g1]))})
    return {k: float(np.mean([p[k] for p in per])) for k in FOREGROUND_KEYS}


def _object_scores(labels, segmentations, drop_background_segments: bool) -> dict:
    """:data:`OBJECT_KEYS`: object precision, recall, F1 and AP at IoU 0.5 (label 0 = background)."""
    from .segment_f import match_segments, segment_average_precision, segment_f_measure

    m = match_segments(labels, segmentations, thresholds=(0.5,), background=0,
                       drop_background_segments=drop_background_segments)
    f = segment_f_measure(m, threshold=0.5)
    if m.n_gt == 0:
        ap = float("nan")
    elif m.n_pred == 0:
        ap = 0.0
    else:
        ap = segment_average_precision([m], threshold=0.5)
    return {"obj_p50": f["precision"], "obj_r50": f["recall"], "obj_f50": f["f"], "obj_ap50": ap}


def _bsds_counts(labels, segmentations, boundaries, max_dist) -> dict:
    """Official BSDS per-image counts of one segmentation (one "threshold").

    Uses :func:`napari_deepsuperpixel.metrics.bsds.evaluate_image` (covering,
    PRI, VI and, with ``boundaries``, the boundary counts of ``seg2bdry``), and
    keeps each ground-truth region's best IoU so that the "best covering" over
    a sweep can be formed later.
    """
    from .bsds import evaluate_image
    from .ground_truth import GroundTruth
    from .region import contingency_table, covering_from_tables

    if boundaries is not None:
        gt = GroundTruth([np.asarray(s) for s in segmentations], [np.asarray(b, bool) for b in boundaries])
    else:
        gt = GroundTruth.from_segmentations(segmentations)
    ev = evaluate_image(labels, gt, kind="labels", boundary=boundaries is not None, region=True,
                        max_dist=max_dist)
    out: dict[str, Any] = {"bsds_eval": {k: v for k, v in ev.to_dict().items() if k not in ("name", "kind")}}
    rc = ev.region
    out.update(covering=float(rc.covering[0]), pri=float(rc.ri[0]), vi=float(rc.voi[0]))
    tables, gls, su = [], [], None
    for g in segmentations:
        t, su, gl = contingency_table(labels, g)
        tables.append(t)
        gls.append(gl)
    c = covering_from_tables(tables, su, gls)
    out["cover_matches_gt"] = c.matches_gt
    out["cover_gt_areas"] = c.gt_areas
    if ev.boundary is not None:
        bc = ev.boundary
        out.update(bdry_r=float(bc.recall[0]), bdry_p=float(bc.precision[0]), bdry_f=float(bc.f[0]),
                   bdry_cntR=float(bc.cntR[0]), bdry_sumR=float(bc.sumR[0]), bdry_cntP=float(bc.cntP[0]),
                   bdry_sumP=float(bc.sumP[0]))
    return out


def _ev_image(image):
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[-1] == 4:
        a = a[..., :3]
    return a.astype(np.float64)
