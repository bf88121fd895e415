r"""Kanezaki's segment-level evaluation: IoU-matched precision, recall,
F-measure, the size-ranked precision-recall curve and average precision.

Kanezaki (ICASSP 2018, Sec. 3) evaluates on the 200 BSDS500 test images:
"We calculated the intersection over union (IoU) of each estimated segment
and ground truth segments and regarded the IoU as correct if the maximum IoU
is larger than 0.5", reports the per-image F-measure (Fig. 3), and
"precision-recall curves with an IoU threshold 0.5 and 0.7 ... segments were
arranged in order of decreasing size" with average precision (AP)
0.1394 / 0.0578 for the proposed method (Fig. 4).

How this module reads the paper
-------------------------------
The paper leaves several details open; the choices made here are:

1. **Segments.** Predicted segments are the 4-connected components of the
   predicted label map ("we extracted connected components as segments";
   ``connected=True``). Ground-truth segments are the annotators' labels
   as stored (a BSDS500 segment may be disconnected).
2. **Several annotators.** The segments of all annotators of an image are
   pooled into one set of ground-truth segments. A predicted segment is
   *correct* when its maximum IoU over that pooled set is strictly larger
   than the threshold ``t``. A ground-truth segment is *recalled* when some
   predicted segment has an IoU larger than ``t`` with it.
3. **Per-image scores.** precision = correct predicted segments / predicted
   segments; recall = recalled ground-truth segments / ground-truth
   segments; F = 2PR / (P + R) (0 when P = R = 0). For ``t >= 0.5`` a
   predicted segment matches at most one segment per annotator, so this is
   a one-to-one matching per annotator.
4. **Precision-recall curve.** The segments' "score" is their size as a
   fraction of the image area (all BSDS500 images have the same size, so this
   equals the pixel count order there). The predicted segments of *all*
   images are sorted by decreasing size; after the first ``k``:
   precision(k) = correct among them / k, and recall(k) = ground-truth
   segments (of all images) recalled by one of them / all ground-truth
   segments. Segments of equal size enter together (the curve has one point
   per distinct size), so the result does not depend on an arbitrary order.
5. **AP** is the non-interpolated area under that curve,
   :math:`\mathrm{AP} = \sum_k P(k)\,(R(k) - R(k-1))`, as in PASCAL VOC 2010+
   without the monotone envelope; recall is bounded by the final recall, so a
   method that misses most ground-truth segments gets a small AP whatever its
   precision — this is why the paper's values (0.14 / 0.06) are small.

References
----------
.. [1] A. Kanezaki, "Unsupervised image segmentation by backpropagation",
   ICASSP 2018, Sec. 3 and Fig. 3-4.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from ._labels import check_labels, dense_ids, gt_label_maps
from .superpixel import contingency


@dataclass
class SegmentMatches:
    """The IoU matching of one image's predicted segments with its ground truth.

    Attributes
    ----------
    sizes : numpy.ndarray
        Size of each predicted segment as a fraction of the image area.
    best_iou : numpy.ndarray
        Each predicted segment's maximum IoU over the pooled ground-truth
        segments of all annotators.
    gt_best_iou : numpy.ndarray
        For each pooled ground-truth segment, its maximum IoU over the
        predicted segments.
    gt_first : dict
        ``threshold -> int array``: for each pooled ground-truth segment the
        index (into ``sizes``) of the largest predicted segment whose IoU with
        it exceeds the threshold, or -1.
    """

    sizes: np.ndarray
    best_iou: np.ndarray
    gt_best_iou: np.ndarray
    gt_first: dict = field(default_factory=dict)

    @property
    def n_pred(self) -> int:
        return int(self.sizes.size)

    @property
    def n_gt(self) -> int:
        return int(self.gt_best_iou.size)

    def to_dict(self) -> dict:
        """JSON-serialisable form (for caches)."""
        return {
            "sizes": self.sizes.tolist(),
            "best_iou": self.best_iou.tolist(),
            "gt_best_iou": self.gt_best_iou.tolist(),
            "gt_first": {repr(float(t)): v.tolist() for t, v in self.gt_first.items()},
        }

    @classmethod
    def from_dict(cls, d: dict) -> "SegmentMatches":
        """Inverse of :meth:`to_dict`."""
        return cls(
            np.asarray(d["sizes"], float),
            np.asarray(d["best_iou"], float),
            np.asarray(d["gt_best_iou"], float),
            {float(t): np.asarray(v, np.int64) for t, v in d["gt_first"].items()},
        )


def _check_thresholds(thresholds) -> list:
    ts = [float(t) for t in np.atleast_1d(thresholds)]
    for t in ts:
        if not 0.0 <= t < 1.0:
            raise ValueError(f"IoU thresholds must be in [0, 1), got {t}")
    return ts


def match_segments(labels, ground_truth, *, thresholds: Sequence[float] = (0.5, 0.7),
                   connected: bool = True, background: Optional[int] = None,
                   drop_background_segments: bool = False) -> SegmentMatches:
    """Match one image's predicted segments with its ground-truth segments by IoU.

    Parameters
    ----------
    labels : (Y, X) or (Z, Y, X) int array
        Predicted segmentation.
    ground_truth : int array of the same shape, or list of them
        One label map per annotator; the segments of all annotators are pooled.
    thresholds : sequence of float
        IoU thresholds for which ``gt_first`` is computed (default 0.5, 0.7).
    connected : bool
        Split predicted labels into 4-connected (6-connected in a volume)
        components first (default, as in the paper).
    background : int, optional
        A label that is background, not an object, in the prediction and in
        every annotator (instance masks: ``0``). Default: every label is a
        segment, as in the paper.
    drop_background_segments : bool
        With ``background``: a predicted segment more than half of whose
        pixels are ground-truth background in every annotator is background
        too (neither correct nor wrong), so that superpixels that tile the
        background are not counted as false objects.

    Returns
    -------
    SegmentMatches

    References
    ----------
    Kanezaki, ICASSP 2018, Sec. 3.
    """
    ts = _check_thresholds(thresholds)
    a = check_labels(labels, "labels", allow_empty=False, ndims=(2, 3))
    gts = gt_label_maps(ground_truth, a.shape)
    if connected:
        from skimage.measure import label as cc_label

        ids = dense_ids(a)[0].reshape(a.shape) + 1
        if background is not None:
            ids[a == background] = 0
        a = cc_label(ids, background=0, connectivity=1)
    elif background is not None:
        a = np.where(a == background, 0, dense_ids(a)[0].reshape(a.shape) + 1)
    bg_row = background is not None and bool(np.any(a == 0))  # row 0 is then the background
    tables = []
    for g in gts:
        rows, cols, n, size_s, size_g = contingency(a, g)
        bg_col = -1
        if background is not None:
            vals = np.unique(g)
            hit = np.flatnonzero(vals == background)
            bg_col = int(hit[0]) if hit.size else -1
        tables.append((rows, cols, n, size_s, size_g, bg_col))
    n_rows = tables[0][3].size
    keep = np.ones(n_rows, bool)
    if bg_row:
        keep[0] = False
    if background is not None and drop_background_segments:
        on_bg = np.ones(n_rows, bool)
        for rows, cols, n, size_s, _, bg_col in tables:
            frac = np.zeros(n_rows)
            sel = cols == bg_col
            frac[rows[sel]] = n[sel] / size_s[rows[sel]]
            on_bg &= frac > 0.5
        keep &= ~on_bg
    new_index = np.cumsum(keep) - 1
    size_s = tables[0][3]
    sizes = size_s[keep] / a.size
    best_iou = np.zeros(n_rows)
    gt_best, firsts = [], {t: [] for t in ts}
    for rows, cols, n, size_s, size_g, bg_col in tables:
        iou = n / (size_s[rows] + size_g[cols] - n)
        ok_entry = keep[rows] & (cols != bg_col)
        rows, cols, iou = rows[ok_entry], cols[ok_entry], iou[ok_entry]
        np.maximum.at(best_iou, rows, iou)
        gt_keep = np.arange(size_g.size) != bg_col
        gt_index = np.cumsum(gt_keep) - 1
        cols = gt_index[cols]
        n_g = int(gt_keep.sum())
        gb = np.zeros(n_g)
        np.maximum.at(gb, cols, iou)
        gt_best.append(gb)
        # order predicted segments by decreasing size (ties: lower index first)
        order_key = np.lexsort((rows, -size_s[rows]))  # entries sorted by (size desc, row)
        for t in ts:
            ok = order_key[iou[order_key] > t]
            first = np.full(n_g, -1, np.int64)
            # the first entry per column in this order is the largest matching segment
            c = cols[ok]
            _, pos = np.unique(c, return_index=True)
            first[c[pos]] = new_index[rows[ok][pos]]
            firsts[t].append(first)
    return SegmentMatches(
        sizes=np.asarray(sizes, float),
        best_iou=best_iou[keep],
        gt_best_iou=np.concatenate(gt_best),
        gt_first={t: np.concatenate(v) for t, v in firsts.items()},
    )


def segment_f_measure(labels_or_matches, ground_truth=None, *, threshold: float = 0.5,
                      connected: bool = True) -> dict:
    """Per-image segment precision, recall and F-measure (Kanezaki 2018, Fig. 3).

    Parameters
    ----------
    labels_or_matches : (Y, X) int array or SegmentMatches
        A predicted segmentation (then ``ground_truth`` is required) or the
        result of :func:`match_segments`.
    ground_truth : (Y, X) int array or list of them, optional
    threshold : float
        IoU threshold; a match needs IoU strictly larger (default 0.5).
    connected : bool
        See :func:`match_segments`.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f``, ``n_pred``, ``n_gt``,
        ``n_correct`` (correct predicted segments), ``n_recalled``
        (recalled ground-truth segments).

    References
    ----------
    Kanezaki, ICASSP 2018, Sec. 3.
    """
    m = _as_matches(labels_or_matches, ground_truth, [threshold], connected)
    (t,) = _check_thresholds([threshold])
    n_correct = int(np.count_nonzero(m.best_iou > t))
    n_recalled = int(np.count_nonzero(m.gt_best_iou > t))
    p = n_correct / m.n_pred if m.n_pred else 0.0
    r = n_recalled / m.n_gt if m.n_gt else 0.0
    f = 0.0 if p + r == 0 else 2 * p * r / (p + r)
    return {"precision": p, "recall": r, "f": f, "n_pred": m.n_pred, "n_gt": m.n_gt,
            "n_correct": n_correct, "n_recalled": n_recalled}


def _as_matches(x, ground_truth, ts, connected) -> SegmentMatches:
    if isinstance(x, SegmentMatches):
        return x
    if ground_truth is None:
        raise ValueError("ground_truth is required when passing a label map")
    return match_segments(x, ground_truth, thresholds=ts, connected=connected)


def segment_pr_curve(matches: Sequence[SegmentMatches], *, threshold: float = 0.5):
    """Precision-recall curve over a dataset, segments taken in decreasing size.

    Parameters
    ----------
    matches : sequence of SegmentMatches
        One per image (from :func:`match_segments` with ``threshold`` among
        its thresholds).
    threshold : float
        IoU threshold (default 0.5).

    Returns
    -------
    precision, recall, size : numpy.ndarray
        One point per distinct segment size, from the largest size down:
        precision and recall after taking every segment at least that large.

    References
    ----------
    Kanezaki, ICASSP 2018, Fig. 4 (see the module docstring for the reading).
    """
    (t,) = _check_thresholds([threshold])
    matches = list(matches)
    if not matches:
        raise ValueError("no images: pass at least one SegmentMatches")
    for m in matches:
        if t not in m.gt_first:
            raise ValueError(
                f"threshold {t} was not computed; call match_segments(..., thresholds=[..., {t}])"
            )
    sizes = np.concatenate([m.sizes for m in matches])
    correct = np.concatenate([m.best_iou > t for m in matches])
    offsets = np.cumsum([0] + [m.n_pred for m in matches])[:-1]
    n_gt = sum(m.n_gt for m in matches)
    if sizes.size == 0 or n_gt == 0:
        raise ValueError("no predicted or no ground-truth segments to rank")
    order = np.lexsort((np.arange(sizes.size), -sizes))
    rank = np.empty(sizes.size, np.int64)
    rank[order] = np.arange(sizes.size)
    # recall: each recalled gt segment counts from the rank of its largest matching segment
    gt_rank = np.concatenate([rank[m.gt_first[t][m.gt_first[t] >= 0] + off]
                              for m, off in zip(matches, offsets)])
    tp = np.cumsum(correct[order])
    rec_count = np.cumsum(np.bincount(gt_rank, minlength=sizes.size))
    k = np.arange(1, sizes.size + 1)
    s_sorted = sizes[order]
    last = np.r_[s_sorted[1:] != s_sorted[:-1], True]  # last position of each size group
    precision = (tp / k)[last]
    recall = (rec_count / n_gt)[last]
    return precision, recall, s_sorted[last]


def segment_average_precision(matches: Sequence[SegmentMatches], *, threshold: float = 0.5) -> float:
    r"""Average precision of the size-ranked precision-recall curve.

    .. math:: \mathrm{AP} = \sum_k P(k)\,\bigl(R(k) - R(k-1)\bigr), \quad R(0) = 0

    Parameters
    ----------
    matches : sequence of SegmentMatches
        One per image.
    threshold : float
        IoU threshold (the paper uses 0.5 and 0.7).

    Returns
    -------
    float

    References
    ----------
    Kanezaki, ICASSP 2018, Fig. 4: AP 0.1394 (IoU 0.5) and 0.0578 (IoU 0.7)
    on BSDS500 test for the proposed method.
    """
    p, r, _ = segment_pr_curve(matches, threshold=threshold)
    return float(np.sum(p * np.diff(np.r_[0.0, r])))


def segment_f_summary(matches: Sequence[SegmentMatches], *, thresholds: Sequence[float] = (0.5, 0.7)) -> dict:
    """Dataset summary: mean per-image P/R/F and the AP for each threshold.

    Parameters
    ----------
    matches : sequence of SegmentMatches
    thresholds : sequence of float

    Returns
    -------
    dict
        ``{"iou0.5": {"precision", "recall", "f", "ap"}, ...}``; P/R/F are
        means over images.
    """
    out = {}
    for t in _check_thresholds(thresholds):
        per = [segment_f_measure(m, threshold=t) for m in matches]
        out[f"iou{t:g}"] = {
            "precision": float(np.mean([d["precision"] for d in per])),
            "recall": float(np.mean([d["recall"] for d in per])),
            "f": float(np.mean([d["f"] for d in per])),
            "ap": segment_average_precision(matches, threshold=t),
        }
    return out
