"""Per-image benchmark rows -> the per-sweep-value table and the ODS/OIS/AP summary."""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

from ..metrics.evaluate import BOUNDARY_COUNT_KEYS, REGION_KEYS, SEGF_KEYS, SP_KEYS


def _by_value(rows, sweep_values):
    groups = {i: [] for i in range(len(sweep_values))}
    index = {json.dumps(v, default=str): i for i, v in enumerate(sweep_values)}
    for row in rows:
        groups[index[json.dumps(row["sweep"], default=str)]].append(row)
    return [groups[i] for i in range(len(sweep_values))]


def summarise(rows: list, sweep_values: Sequence, *, is_bsds: bool) -> tuple:
    """Aggregate per-image rows into the two benchmark tables.

    Parameters
    ----------
    rows : list of dict
        One per (image, sweep value), as in :attr:`BenchResult.rows`, in the
        same image order for every sweep value.
    sweep_values : sequence
        The sweep values (``[None]`` without a sweep).
    is_bsds : bool
        Whether the rows carry BSDS boundary counts.

    Returns
    -------
    per_value : list of dict
        For each sweep value: means over images of the superpixel metrics,
        covering/PRI/VI and segment F; the dataset boundary P/R/F; Kanezaki's
        segment AP (IoU 0.5 and 0.7); mean seconds per image.
    summary : dict
        ODS/OIS of covering, PRI and VI and ODS/OIS/AP of the boundaries with
        the sweep values as thresholds (official BSDS aggregation), plus the
        best Kanezaki AP over the sweep.
    """
    from ..metrics.segment_f import (
        SegmentMatches,
        segment_average_precision,
        segment_pr_curve,
    )

    groups = _by_value(rows, sweep_values)
    per_value = []
    for v, grp in zip(sweep_values, groups):
        d: dict[str, Any] = {"sweep": v, "n_images": len(grp)}
        for c in SP_KEYS + REGION_KEYS + SEGF_KEYS + ("time_s",):
            vals = [g[c] for g in grp if c in g]
            if vals:
                d[c] = float(np.mean(vals))
        if is_bsds:
            cnt = {k: float(sum(g[k] for g in grp)) for k in BOUNDARY_COUNT_KEYS}
            rr = cnt["bdry_cntR"] / cnt["bdry_sumR"] if cnt["bdry_sumR"] else 0.0
            pp = cnt["bdry_cntP"] / cnt["bdry_sumP"] if cnt["bdry_sumP"] else 0.0
            d.update(bdry_r=rr, bdry_p=pp, bdry_f=2 * pp * rr / (pp + rr) if pp + rr else 0.0)
        matches = [SegmentMatches.from_dict(g["segment_matches"]) for g in grp]
        d["segf_ap50"] = segment_average_precision(matches, threshold=0.5)
        d["segf_ap70"] = segment_average_precision(matches, threshold=0.7)
        d["_segment_pr50"] = segment_pr_curve(matches, threshold=0.5)
        per_value.append(d)
    summary = _threshold_summary(groups, is_bsds)
    summary["segf_ap50_best"] = max(d["segf_ap50"] for d in per_value)
    summary["segf_ap70_best"] = max(d["segf_ap70"] for d in per_value)
    return per_value, summary


def merge_sweep_evals(name: str, rows: list):
    """One image's per-value BSDS evaluations as one multi-threshold evaluation.

    The sweep values become the thresholds ``1..n`` (in sweep order), exactly
    as the official benchmark treats a list of segmentations (``segs``).

    Parameters
    ----------
    name : str
        Image id.
    rows : list of dict
        The image's rows (one per sweep value, in sweep order), each with the
        ``bsds_eval``, ``cover_matches_gt`` and ``cover_gt_areas`` entries
        written by :func:`evaluate_segmentation`.

    Returns
    -------
    napari_deepsuperpixel.metrics.bsds.ImageEval
    """
    from ..metrics.bsds import ImageEval

    n = len(rows)
    d: dict[str, Any] = {"name": name, "kind": "segs"}
    for key in rows[0]["bsds_eval"]:
        if key in ("bdry_thresh", "reg_thresh"):
            d[key] = np.arange(1, n + 1, dtype=np.float64)
        elif key == "reg_best_cntR":
            best = np.max(np.stack([np.asarray(r["cover_matches_gt"], float) for r in rows]), axis=0)
            d[key] = float(np.sum(np.asarray(rows[0]["cover_gt_areas"], float) * best))
        else:
            d[key] = np.concatenate([np.atleast_1d(np.asarray(r["bsds_eval"][key], float)) for r in rows])
    return ImageEval.from_dict(d)


def _threshold_summary(groups, is_bsds) -> dict:
    """ODS/OIS/AP with the sweep values as thresholds (``metrics.bsds.collect``)."""
    from ..metrics.bsds import collect

    n_img = len(groups[0])
    evals = [merge_sweep_evals(groups[0][i]["image"], [g[i] for g in groups]) for i in range(n_img)]
    s = collect(evals)
    out: dict[str, Any] = {}
    r = s.region
    out.update(covering_ods=r.cover_ods, covering_ois=r.cover_ois, covering_best=r.cover_best,
               pri_ods=r.pri_ods, pri_ois=r.pri_ois, vi_ods=r.voi_ods, vi_ois=r.voi_ois)
    if is_bsds and s.boundary is not None:
        b = s.boundary
        out.update(bdry_ods=b.ods_f, bdry_ods_r=b.ods_r, bdry_ods_p=b.ods_p, bdry_ois=b.ois_f,
                   bdry_ap=b.ap, _bdry_ods_point=(b.ods_r, b.ods_p, b.ods_f))
    return out
