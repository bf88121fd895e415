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


def evaluate_segmentation(labels, image, segmentations, boundaries=None, *, r: float = 2,
                          window: str = "square", reduce: str = "mean", max_dist: float = MAX_DIST) -> dict:
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

    Returns
    -------
    dict
        :data:`SP_KEYS` (``ev`` only with ``image``), :data:`REGION_KEYS`,
        with ``boundaries`` :data:`BOUNDARY_KEYS` and :data:`BOUNDARY_COUNT_KEYS`,
        :data:`SEGF_KEYS`; and, for aggregation over a sweep, ``bsds_eval``
        (the per-image BSDS evaluation as a dict), ``cover_matches_gt`` and
        ``cover_gt_areas`` (each ground-truth region's best overlap and area)
        and ``segment_matches`` (the Kanezaki segment matching, a dict).
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
    return row


def _bsds_counts(labels, segmentations, boundaries, max_dist) -> dict:
    """Official BSDS per-image counts of one segmentation (one "threshold").

    Uses :func:`napari_deepsuperpixel.metrics.bsds.evaluate_image` (covering,
    PRI, VI and, with ``boundaries``, the boundary counts of ``seg2bdry``), and
    keeps each ground-truth region's best IoU so that the "best covering" over
    a sweep can be formed later.
    """
    from .ground_truth import GroundTruth
    from .bsds import evaluate_image
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
