"""The BSDS500 benchmark: per-image evaluation, aggregation, official files.

A drop-in Python replacement for the official MATLAB benchmark of BSDS500
(``allBench``, ``boundaryBench``, ``regionBench``): the per-image evaluation
of ``evaluation_bdry_image.m`` / ``evaluation_reg_image.m`` and the
aggregation of ``collect_eval_bdry.m`` / ``collect_eval_reg.m``, writing the
same eight output files with the same names and column layouts.

Three kinds of machine results are evaluated, as in the official code:

``ucm2``
    An ultrametric contour map in "doubleSize" format, shape ``(2H+1, 2W+1)``
    with values in [0, 1]. Thresholds ``t_k = linspace(1/(n+1), 1-1/(n+1), n)``.
    Boundaries at ``t``: ``ucm2[2::2, 2::2] >= t``. Regions at ``t``: the
    8-connected components of ``ucm2 <= t`` (MATLAB ``bwlabel``) read at the
    pixel cells ``ucm2[1::2, 1::2]``.
``segs``
    A list of label maps (a hierarchy or any set of segmentations); the
    "thresholds" are ``1..len(segs)``. Boundaries by ``seg2bdry``.
``pb``
    A boundary-probability map in [0, 1] (e.g. a png divided by 255);
    boundaries ``pb >= t``; no region metrics.

Our own ``labels`` (one label map) are evaluated as ``segs`` of length 1.

Aggregation follows the MATLAB code to the letter: per-image values are
rounded to 6 significant digits (as the ``%10g`` per-image files that
``collect_eval_*`` reads back), boundary ODS/OIS take the best F on the
100-point linear interpolation between consecutive thresholds (first
maximum), boundary OIS uses each image's first best threshold, covering OIS
and PRI/VI OIS each image's last best threshold, AP is the area under the
precision-recall curve interpolated at recall ``0:0.01:1``.

References
----------
.. [1] P. Arbelaez, M. Maire, C. Fowlkes and J. Malik, "Contour Detection and
   Hierarchical Image Segmentation", IEEE TPAMI 33(5), 898-916, 2011.
.. [2] D. Martin, C. Fowlkes and J. Malik, "Learning to detect natural image
   boundaries using local brightness, color, and texture cues", IEEE TPAMI
   26(5), 530-549, 2004.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ._labels import joint_table
from .boundary import MAX_DIST, MATCHERS
from .ground_truth import as_ground_truth
from .region import _annotator_ids, _mean_rand_index, _mean_variation_of_information, _seg_tables, covering_from_tables

KINDS = ("auto", "ucm2", "segs", "labels", "pb")

#: names of the official output files
OFFICIAL_FILES = ("eval_bdry.txt", "eval_bdry_img.txt", "eval_bdry_thr.txt", "eval_cover.txt",
                  "eval_cover_img.txt", "eval_cover_th.txt", "eval_RI_VOI.txt", "eval_RI_VOI_thr.txt")


# ----------------------------------------------------------------------------------------------
# per-image results


@dataclass
class BoundaryCurve:
    """Boundary counts of one image at every threshold (``evaluation_bdry_image``).

    Attributes
    ----------
    thresh : numpy.ndarray
        Thresholds (ucm2 / pb) or segmentation indices ``1..n`` (segs).
    cntR, sumR, cntP, sumP : numpy.ndarray
        Matched / total annotator pixels (pooled over annotators) and matched /
        total machine pixels, per threshold.
    """

    thresh: np.ndarray
    cntR: np.ndarray
    sumR: np.ndarray
    cntP: np.ndarray
    sumP: np.ndarray

    @property
    def recall(self) -> np.ndarray:
        return self.cntR / np.where(self.sumR == 0, 1, self.sumR)

    @property
    def precision(self) -> np.ndarray:
        return self.cntP / np.where(self.sumP == 0, 1, self.sumP)

    @property
    def f(self) -> np.ndarray:
        return _fmeasure(self.recall, self.precision)


@dataclass
class RegionCurve:
    """Region counts of one image at every threshold (``evaluation_reg_image``).

    Attributes
    ----------
    thresh : numpy.ndarray
    cntR, sumR : numpy.ndarray
        Covering of the ground truth by the segmentation: ``cntR / sumR``.
    cntP, sumP : numpy.ndarray
        Covering of the segmentation by the ground truth.
    best_cntR : float
        Area-weighted best overlap of every ground-truth region over all
        thresholds ("best covering" numerator).
    ri, voi : numpy.ndarray
        Probabilistic Rand Index and Variation of Information per threshold.
    """

    thresh: np.ndarray
    cntR: np.ndarray
    sumR: np.ndarray
    cntP: np.ndarray
    sumP: np.ndarray
    best_cntR: float
    ri: np.ndarray
    voi: np.ndarray

    @property
    def covering(self) -> np.ndarray:
        return self.cntR / np.where(self.sumR == 0, 1, self.sumR)


@dataclass
class ImageEval:
    """Evaluation of one image: boundary and/or region curves.

    ``boundary`` is ``None`` when not computed; ``region`` is ``None`` for
    boundary-probability maps (``kind="pb"``) or when not computed.
    """

    name: str
    kind: str
    boundary: Optional[BoundaryCurve] = None
    region: Optional[RegionCurve] = None

    def to_dict(self) -> dict:
        """Plain arrays/floats (for caching with ``numpy.savez``)."""
        d = {"name": self.name, "kind": self.kind}
        if self.boundary is not None:
            for k in ("thresh", "cntR", "sumR", "cntP", "sumP"):
                d[f"bdry_{k}"] = np.asarray(getattr(self.boundary, k))
        if self.region is not None:
            for k in ("thresh", "cntR", "sumR", "cntP", "sumP", "ri", "voi"):
                d[f"reg_{k}"] = np.asarray(getattr(self.region, k))
            d["reg_best_cntR"] = float(self.region.best_cntR)
        return d

    @classmethod
    def from_dict(cls, d) -> "ImageEval":
        b = r = None
        if "bdry_thresh" in d:
            b = BoundaryCurve(*(np.asarray(d[f"bdry_{k}"], np.float64)
                                for k in ("thresh", "cntR", "sumR", "cntP", "sumP")))
        if "reg_thresh" in d:
            r = RegionCurve(*(np.asarray(d[f"reg_{k}"], np.float64) for k in ("thresh", "cntR", "sumR", "cntP", "sumP")),
                            best_cntR=float(d["reg_best_cntR"]), ri=np.asarray(d["reg_ri"], np.float64),
                            voi=np.asarray(d["reg_voi"], np.float64))
        return cls(str(d["name"]), str(d["kind"]), b, r)


# ----------------------------------------------------------------------------------------------
# input handling


def ucm_thresholds(nthresh: int) -> np.ndarray:
    """The official thresholds ``linspace(1/(n+1), 1 - 1/(n+1), n)``.

    Parameters
    ----------
    nthresh : int
        Number of thresholds (>= 1).

    Returns
    -------
    numpy.ndarray
    """
    if int(nthresh) != nthresh or nthresh < 1:
        raise ValueError(f"nthresh must be a positive integer, got {nthresh!r}")
    n = int(nthresh)
    return np.linspace(1.0 / (n + 1), 1.0 - 1.0 / (n + 1), n)


def detect_kind(result, shape) -> str:
    """Which input format ``result`` is, for ground truth of shape ``(H, W)``.

    Parameters
    ----------
    result : array_like or list of array_like
    shape : tuple of int
        ``(H, W)`` of the image.

    Returns
    -------
    str
        ``"ucm2"`` (shape ``(2H+1, 2W+1)``), ``"segs"`` (list or integer
        stack), ``"labels"`` (integer ``(H, W)``) or ``"pb"`` (float or bool
        ``(H, W)``; an 8-bit png array is *not* recognised as ``pb``: divide
        it by 255 first).

    Raises
    ------
    ValueError
        If no format fits.
    """
    h, w = shape
    if isinstance(result, (list, tuple)):
        return "segs"
    a = np.asarray(result)
    if a.ndim == 3 and a.shape[1:] == (h, w) and np.issubdtype(a.dtype, np.integer):
        return "segs"
    if a.ndim == 2 and a.shape == (2 * h + 1, 2 * w + 1):
        return "ucm2"
    if a.ndim == 2 and a.shape == (h, w):
        if np.issubdtype(a.dtype, np.integer):
            return "labels"
        if np.issubdtype(a.dtype, np.bool_) or np.issubdtype(a.dtype, np.floating):
            return "pb"
    raise ValueError(
        f"cannot tell the result format from shape {a.shape} and dtype {a.dtype} for an image of shape "
        f"{(h, w)}: give a ucm2 of shape {(2 * h + 1, 2 * w + 1)}, integer label map(s) of shape {(h, w)}, "
        f"or a float boundary map in [0, 1] of shape {(h, w)} (or pass kind=...)"
    )


# ----------------------------------------------------------------------------------------------
# region curves


def _region_from_tables(tables_per_t, seg_labels_per_t, gcols, thresh):
    nt = len(tables_per_t)
    cntR = np.zeros(nt)
    sumR = np.zeros(nt)
    cntP = np.zeros(nt)
    sumP = np.zeros(nt)
    ri = np.zeros(nt)
    voi = np.zeros(nt)
    best = None
    gls = [g[1] for g in gcols]
    for k in range(nt):
        tables = tables_per_t[k]
        c = covering_from_tables(tables, seg_labels_per_t[k], gls)
        cntR[k], sumR[k], cntP[k], sumP[k] = c.cntR, c.sumR, c.cntP, c.sumP
        best = c.matches_gt.copy() if best is None else np.maximum(best, c.matches_gt)
        ri[k] = _mean_rand_index(tables)
        voi[k] = _mean_variation_of_information(tables)
        gt_areas = c.gt_areas
    best_cntR = float(np.sum(gt_areas * best))
    return RegionCurve(np.asarray(thresh, np.float64), cntR, sumR, cntP, sumP, best_cntR, ri, voi)


def _region_ucm(ucm, gt, thresh) -> RegionCurve:
    from ._ucm_kernels import ucm_hierarchy

    fine, nfine, coarse, ncoarse = ucm_hierarchy(np.ascontiguousarray(ucm, np.float64), np.asarray(thresh, np.float64))
    gcols = _annotator_ids(gt)
    ff = fine.ravel()
    fine_tables = [joint_table(ff, nfine, inv, u.size).astype(np.float64) for inv, u in gcols]
    tables_per_t, labels_per_t = [], []
    prev = None
    for k in range(len(thresh)):
        nc = int(ncoarse[k])
        cm = coarse[k]
        if prev is not None and prev[0] == nc and np.array_equal(prev[1], cm):
            tables = prev[2]
        else:
            tables = []
            for t in fine_tables:
                ng = t.shape[1]
                idx = (cm[:, None] * ng + np.arange(ng)[None, :]).ravel()
                tables.append(np.bincount(idx, weights=t.ravel(), minlength=nc * ng).reshape(nc, ng))
            prev = (nc, cm, tables)
        tables_per_t.append(tables)
        labels_per_t.append(np.arange(1, nc + 1))
    return _region_from_tables(tables_per_t, labels_per_t, gcols, thresh)


def _region_segs(segs, gt) -> RegionCurve:
    gcols = _annotator_ids(gt)
    tables_per_t, labels_per_t = [], []
    for s in segs:
        tables, su = _seg_tables(s, gcols, "segmentation")
        tables_per_t.append(tables)
        labels_per_t.append(su)
    return _region_from_tables(tables_per_t, labels_per_t, gcols, np.arange(1, len(segs) + 1))


# ----------------------------------------------------------------------------------------------
# per-image evaluation


def evaluate_image(result, gt, *, nthresh: int = 99, kind: str = "auto", max_dist: float = MAX_DIST,
                   thin: bool = True, boundary: bool = True, region: bool = True,
                   matcher: str = "exact", name: str = "") -> ImageEval:
    """Evaluate one machine result against the human ground truth of an image.

    The per-image step of the official ``allBench`` / ``boundaryBench`` /
    ``regionBench`` (``evaluation_bdry_image.m`` and ``evaluation_reg_image.m``).

    Parameters
    ----------
    result : numpy.ndarray or list of numpy.ndarray
        A ucm2 (``(2H+1, 2W+1)`` floats in [0, 1]), a list of ``(H, W)`` label
        maps (``segs``), one integer label map, or a float boundary map in
        [0, 1] (a png boundary image must be divided by 255 first).
    gt : GroundTruth or path or list of label maps
        Ground truth of the image (:func:`~napari_deepsuperpixel.datasets.load_ground_truth`).
    nthresh : int
        Number of thresholds for ucm2 and boundary maps (ignored for segs and
        labels, whose thresholds are ``1..len(segs)``, as in the official code).
    kind : {"auto", "ucm2", "segs", "labels", "pb"}
        Input format; ``"auto"`` decides from the shape and dtype.
    max_dist : float
        Boundary matching tolerance as a fraction of the image diagonal.
    thin : bool
        Thin machine boundary maps before matching (official ``thinpb``).
    boundary, region : bool
        Which benchmarks to run (region needs ucm2, segs or labels).
    matcher : {"exact", "mincost"}
        See :mod:`napari_deepsuperpixel.metrics.boundary`.
    name : str
        Image id stored in the result.

    Returns
    -------
    ImageEval
        Per-threshold counts, to be aggregated with :func:`collect`.

    Raises
    ------
    ValueError
        On a format that does not fit the ground truth.
    """
    from .boundary import BoundaryMatcher, seg_to_boundaries

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    if matcher not in MATCHERS:
        raise ValueError(f"matcher must be one of {list(MATCHERS)}, got {matcher!r}")
    gt = as_ground_truth(gt)
    h, w = gt.shape
    if kind == "auto":
        kind = detect_kind(result, (h, w))
    name = name or gt.name
    bc = rc = None

    if kind == "ucm2":
        ucm = np.asarray(result, dtype=np.float64)
        if ucm.shape != (2 * h + 1, 2 * w + 1):
            raise ValueError(f"a ucm2 for a {h}x{w} image must have shape {(2 * h + 1, 2 * w + 1)}, got {ucm.shape}")
        thresh = ucm_thresholds(nthresh)
        if ucm[1::2, 1::2].max(initial=0) > thresh[0]:
            raise ValueError("this is not a ucm2 in 'doubleSize' format: its pixel cells ucm2[1::2, 1::2] "
                             "must be 0 (boundaries live on the cells between pixels)")
        if boundary:
            bc = _boundary_thresholded(ucm[2::2, 2::2], gt, thresh, max_dist, thin, matcher)
        if region:
            rc = _region_ucm(ucm, gt, thresh)
    elif kind == "pb":
        pb = np.asarray(result)
        if pb.shape != (h, w):
            raise ValueError(f"boundary map shape {pb.shape} does not match the ground truth {(h, w)}")
        pb = pb.astype(np.float64)
        if pb.size and (pb.min() < 0 or pb.max() > 1):
            raise ValueError("a boundary map must hold values in [0, 1] (divide an 8-bit png by 255)")
        if boundary:
            bc = _boundary_thresholded(pb, gt, ucm_thresholds(nthresh), max_dist, thin, matcher)
    elif kind in ("segs", "labels"):
        if kind == "labels":
            segs = [np.asarray(result)]
        else:
            segs = list(result) if not isinstance(result, np.ndarray) or result.ndim == 3 else [result]
        if not segs:
            raise ValueError("segs is empty: give at least one label map")
        for s in segs:
            if np.shape(s) != (h, w):
                raise ValueError(f"label map shape {np.shape(s)} does not match the ground truth {(h, w)}")
        if boundary:
            m = BoundaryMatcher(gt, max_dist=max_dist, matcher=matcher)
            rows = [m.counts(seg_to_boundaries(s), thin=thin) for s in segs]
            bc = BoundaryCurve(np.arange(1, len(segs) + 1, dtype=np.float64),
                               *(np.array([getattr(r, a) for r in rows], np.float64)
                                 for a in ("cntR", "sumR", "cntP", "sumP")))
        if region:
            rc = _region_segs(segs, gt)
    return ImageEval(name, kind, bc, rc)


def _boundary_thresholded(pb, gt, thresh, max_dist, thin, matcher) -> BoundaryCurve:
    from .boundary import BoundaryMatcher

    m = BoundaryMatcher(gt, max_dist=max_dist, matcher=matcher, possible=pb >= thresh[0])
    levels = np.unique(pb)
    out = np.zeros((4, len(thresh)))
    prev_sig = None
    for k, t in enumerate(thresh):
        # pb >= t only changes when a level lies in [t_prev, t): reuse otherwise
        sig = int(np.searchsorted(levels, t, side="left"))
        if sig == prev_sig:
            out[:, k] = out[:, k - 1]
            continue
        prev_sig = sig
        c = m.counts(pb >= t, thin=thin)
        out[:, k] = (c.cntR, c.sumR, c.cntP, c.sumP)
    return BoundaryCurve(np.asarray(thresh, np.float64), *out)


# ----------------------------------------------------------------------------------------------
# aggregation


def round_g(x):
    """Round to 6 significant digits, as MATLAB's ``%10g`` files do.

    Parameters
    ----------
    x : float or array_like

    Returns
    -------
    float or numpy.ndarray
    """
    a = np.asarray(x, dtype=np.float64)
    out = np.array([float("%g" % v) for v in a.ravel()]).reshape(a.shape)
    return out if a.ndim else float(out)


def _div(num, den):
    """``num / den`` with 0 where ``den == 0`` (the scripts' ``num ./ (den + (den == 0))``)."""
    return num / (den + (den == 0))


def _fmeasure(r, p):
    r = np.asarray(r, np.float64)
    p = np.asarray(p, np.float64)
    return _div(2 * p * r, p + r)


def _max_f(thresh, R, P):
    """``maxF`` of collect_eval_bdry.m: best F on 100-point interpolations (first maximum)."""
    best = (thresh[0], R[0], P[0], float(_fmeasure(R[0], P[0])))
    if len(thresh) < 2:
        return best
    d = np.linspace(0.0, 1.0, 100)[None, :]
    t = thresh[1:, None] * d + thresh[:-1, None] * (1 - d)
    r = R[1:, None] * d + R[:-1, None] * (1 - d)
    p = P[1:, None] * d + P[:-1, None] * (1 - d)
    f = _fmeasure(r, p).ravel()
    i = int(np.argmax(f))
    if f[i] > best[3]:
        best = (t.ravel()[i], r.ravel()[i], p.ravel()[i], f[i])
    return best


@dataclass
class BoundarySummary:
    """Aggregated boundary benchmark (``collect_eval_bdry``): ``eval_bdry*.txt``.

    Attributes
    ----------
    ods_t, ods_r, ods_p, ods_f : float
        Optimal dataset scale: threshold, recall, precision, F.
    ois_r, ois_p, ois_f : float
        Optimal image scale (each image at its best threshold).
    ap : float
        Average precision (area under the interpolated PR curve).
    thresh, R, P, F : numpy.ndarray
        Dataset curve per threshold.
    per_image : numpy.ndarray, shape (n_images, 5)
        ``index, best t, R, P, F`` per image (``eval_bdry_img.txt``).
    """

    ods_t: float
    ods_r: float
    ods_p: float
    ods_f: float
    ois_r: float
    ois_p: float
    ois_f: float
    ap: float
    thresh: np.ndarray
    R: np.ndarray
    P: np.ndarray
    F: np.ndarray
    per_image: np.ndarray


@dataclass
class RegionSummary:
    """Aggregated region benchmarks (``collect_eval_reg``): ``eval_cover*.txt``, ``eval_RI_VOI*.txt``.

    Attributes
    ----------
    cover_ods_t, cover_ods, cover_ois, cover_best : float
        Segmentation covering: ODS threshold and value, OIS, and best covering
        (each ground-truth region at its best threshold).
    pri_ods_t, pri_ods, pri_ois : float
        Probabilistic Rand Index.
    voi_ods_t, voi_ods, voi_ois : float
        Variation of Information (lower is better).
    thresh, cover, pri, voi : numpy.ndarray
        Dataset values per threshold.
    per_image : numpy.ndarray, shape (n_images, 4)
        ``index, best t, covering, covering of the segmentation`` per image
        (``eval_cover_img.txt``).
    """

    cover_ods_t: float
    cover_ods: float
    cover_ois: float
    cover_best: float
    pri_ods_t: float
    pri_ods: float
    pri_ois: float
    voi_ods_t: float
    voi_ods: float
    voi_ois: float
    thresh: np.ndarray
    cover: np.ndarray
    pri: np.ndarray
    voi: np.ndarray
    per_image: np.ndarray


@dataclass
class Summary:
    """Benchmark summary of a set of images (either part may be ``None``)."""

    names: list
    boundary: Optional[BoundarySummary] = None
    region: Optional[RegionSummary] = None

    def as_dict(self) -> dict:
        """Headline numbers as a flat dict (``bdry_ods_f``, ``cover_ods``, ``pri_ois``, ...)."""
        out = {"n_images": len(self.names)}
        if self.boundary is not None:
            b = self.boundary
            out.update(bdry_ods_t=b.ods_t, bdry_ods_r=b.ods_r, bdry_ods_p=b.ods_p, bdry_ods_f=b.ods_f,
                       bdry_ois_r=b.ois_r, bdry_ois_p=b.ois_p, bdry_ois_f=b.ois_f, bdry_ap=b.ap)
        if self.region is not None:
            r = self.region
            out.update(cover_ods_t=r.cover_ods_t, cover_ods=r.cover_ods, cover_ois=r.cover_ois,
                       cover_best=r.cover_best, pri_ods_t=r.pri_ods_t, pri_ods=r.pri_ods, pri_ois=r.pri_ois,
                       voi_ods_t=r.voi_ods_t, voi_ods=r.voi_ods, voi_ois=r.voi_ois)
        return {k: (float(v) if not isinstance(v, int) else v) for k, v in out.items()}


def _collect_thresholds(curves, what):
    """The thresholds shared by all per-image curves, rounded as in the official files."""
    if not curves:
        raise ValueError(f"no {what} results to aggregate")
    t0 = curves[0].thresh
    for c in curves[1:]:
        if c.thresh.shape != t0.shape or not np.allclose(c.thresh, t0):
            raise ValueError(f"all images must have the same {what} thresholds to be aggregated "
                             f"(got {t0.size} and {c.thresh.size}); use the same nthresh / number of segmentations")
    return round_g(t0)


def _image_counts(c):
    """``cntR, sumR, cntP, sumP`` of one image rounded as in its file, then its recall and precision."""
    cntR, sumR, cntP, sumP = (round_g(getattr(c, a)) for a in ("cntR", "sumR", "cntP", "sumP"))
    return cntR, sumR, cntP, sumP, _div(cntR, sumR), _div(cntP, sumP)


def collect_boundary(curves) -> BoundarySummary:
    """Aggregate per-image boundary curves exactly as ``collect_eval_bdry.m``.

    Parameters
    ----------
    curves : list of BoundaryCurve
        With the same thresholds.

    Returns
    -------
    BoundarySummary
    """
    thresh = _collect_thresholds(curves, "boundary")
    n = len(thresh)
    tot = np.zeros((4, n))
    best = np.zeros(4)
    per_image = np.zeros((len(curves), 5))
    for i, c in enumerate(curves):
        cntR, sumR, cntP, sumP, R, P = _image_counts(c)
        F = _fmeasure(R, P)
        bt, br, bp, bf = _max_f(thresh, R, P)
        per_image[i] = (i + 1, bt, br, bp, bf)
        tot += np.stack([cntR, sumR, cntP, sumP])
        j = int(np.flatnonzero(F == F.max())[0])  # first best threshold
        best += (cntR[j], sumR[j], cntP[j], sumP[j])
    R = _div(tot[0], tot[1])
    P = _div(tot[2], tot[3])
    F = _fmeasure(R, P)
    bt, br, bp, bf = _max_f(thresh, R, P)
    Rm = _div(best[0], best[1])
    Pm = _div(best[2], best[3])
    Fm = float(_fmeasure(Rm, Pm))
    # AP: MATLAB [Ru, indR] = unique(R) (legacy: last occurrence), interp1 at 0:0.01:1, NaN -> 0
    order = np.argsort(R, kind="stable")
    Rs, Ps = R[order], P[order]
    last = np.r_[Rs[1:] != Rs[:-1], True]
    Ru, Pu = Rs[last], Ps[last]
    if Ru.size > 1:
        ri = np.arange(101) * 0.01
        pi = np.interp(ri, Ru, Pu)
        pi[(ri < Ru[0]) | (ri > Ru[-1])] = 0.0
        ap = float(pi.sum() * 0.01)
    else:
        ap = 0.0
    return BoundarySummary(float(bt), float(br), float(bp), float(bf), float(Rm), float(Pm), Fm, ap,
                           thresh, R, P, F, per_image)


def collect_region(curves) -> RegionSummary:
    """Aggregate per-image region curves exactly as ``collect_eval_reg.m``.

    Parameters
    ----------
    curves : list of RegionCurve
        With the same thresholds.

    Returns
    -------
    RegionSummary
    """
    thresh = _collect_thresholds(curves, "region")
    n = len(thresh)
    tot = np.zeros((4, n))
    best = np.zeros(4)
    best_total = 0.0
    g_ri = np.zeros(n)
    g_voi = np.zeros(n)
    ri_best = voi_best = 0.0
    per_image = np.zeros((len(curves), 4))
    for i, c in enumerate(curves):
        cntR, sumR, cntP, sumP, R, P = _image_counts(c)
        j = int(np.argmax(R))  # first maximum (MATLAB max)
        per_image[i] = (i + 1, thresh[j], R[j], P[j])
        tot += np.stack([cntR, sumR, cntP, sumP])
        jl = int(np.flatnonzero(R == R.max())[-1])  # last best threshold
        best += (cntR[jl], sumR[jl], cntP[jl], sumP[jl])
        best_total += round_g(c.best_cntR)
        ri = round_g(c.ri)
        voi = round_g(c.voi)
        g_ri += ri
        g_voi += voi
        ri_best += ri[np.flatnonzero(ri == ri.max())[-1]]
        voi_best += voi[np.flatnonzero(voi == voi.min())[-1]]
    R = _div(tot[0], tot[1])
    j = int(np.argmax(R))
    R_best = _div(best[0], best[1])
    R_best_total = best_total / tot[1][0] if tot[1][0] else 0.0
    m = len(curves)
    g_ri /= m
    g_voi /= m
    iri = int(np.argmax(g_ri))
    ivoi = int(np.argmin(g_voi))
    return RegionSummary(float(thresh[j]), float(R[j]), float(R_best), float(R_best_total),
                         float(thresh[iri]), float(g_ri[iri]), float(ri_best / m),
                         float(thresh[ivoi]), float(g_voi[ivoi]), float(voi_best / m),
                         thresh, R, g_ri, g_voi, per_image)


def official_order(names) -> list:
    """Indices that sort image ids as the official code lists ``<id>_ev1.txt`` files.

    Parameters
    ----------
    names : list of str

    Returns
    -------
    list of int
    """
    return sorted(range(len(names)), key=lambda i: f"{names[i]}_ev1.txt")


def collect(evals, names=None) -> Summary:
    """Aggregate per-image evaluations into ODS / OIS / AP / best covering.

    Parameters
    ----------
    evals : list of ImageEval
        From :func:`evaluate_image`, in the order the per-image rows should take
        (use :func:`official_order` for the official one).
    names : list of str, optional
        Image ids (default: ``ImageEval.name``).

    Returns
    -------
    Summary
        ``boundary`` when every image has boundary curves, ``region`` when
        every image has region curves (``None`` otherwise).
    """
    evals = list(evals)
    if not evals:
        raise ValueError("no image evaluations to aggregate")
    names = list(names) if names is not None else [e.name for e in evals]
    b = r = None
    if all(e.boundary is not None for e in evals):
        b = collect_boundary([e.boundary for e in evals])
    if all(e.region is not None for e in evals):
        r = collect_region([e.region for e in evals])
    return Summary(names, b, r)


# ----------------------------------------------------------------------------------------------
# official files


def _fmt_rows(fmt, rows) -> str:
    return "".join(fmt % tuple(r) + "\n" for r in rows)


def official_file_texts(summary: Summary) -> dict:
    """The official output files' contents.

    Parameters
    ----------
    summary : Summary

    Returns
    -------
    dict
        ``{file name: text}``: the three ``eval_bdry*`` files when
        ``summary.boundary`` is set, the five region files when
        ``summary.region`` is set.
    """
    out = {}
    b = summary.boundary
    if b is not None:
        out["eval_bdry.txt"] = _fmt_rows("%10g %10g %10g %10g %10g %10g %10g %10g",
                                         [(b.ods_t, b.ods_r, b.ods_p, b.ods_f, b.ois_r, b.ois_p, b.ois_f, b.ap)])
        out["eval_bdry_img.txt"] = _fmt_rows("%10d %10g %10g %10g %10g",
                                             [(int(r[0]), *r[1:]) for r in b.per_image])
        out["eval_bdry_thr.txt"] = _fmt_rows("%10g %10g %10g %10g", zip(b.thresh, b.R, b.P, b.F))
    r = summary.region
    if r is not None:
        out["eval_cover.txt"] = _fmt_rows("%10g %10g %10g %10g",
                                          [(r.cover_ods_t, r.cover_ods, r.cover_ois, r.cover_best)])
        out["eval_cover_img.txt"] = _fmt_rows("%10d %10g %10g %10g", [(int(x[0]), *x[1:]) for x in r.per_image])
        out["eval_cover_th.txt"] = _fmt_rows("%10g %10g", zip(r.thresh, r.cover))
        out["eval_RI_VOI.txt"] = _fmt_rows("%10g %10g %10g %10g %10g %10g",
                                           [(r.pri_ods_t, r.pri_ods, r.pri_ois, r.voi_ods_t, r.voi_ods, r.voi_ois)])
        out["eval_RI_VOI_thr.txt"] = _fmt_rows("%10g %10g %10g", zip(r.thresh, r.pri, r.voi))
    return out


def write_official_files(outdir, names, evals, *, overwrite: bool = False) -> Summary:
    """Aggregate and write the official benchmark files.

    Images are ordered as the official code lists them (``official_order``)
    before aggregation, so the per-image indices of ``eval_bdry_img.txt`` and
    ``eval_cover_img.txt`` match the MATLAB output.

    Parameters
    ----------
    outdir : str or Path
        Output folder (created if needed).
    names : list of str
        Image ids, one per evaluation.
    evals : list of ImageEval
    overwrite : bool
        Replace existing output files; otherwise existing ones raise
        ``FileExistsError`` before anything is written.

    Returns
    -------
    Summary
    """
    names = list(names)
    evals = list(evals)
    if len(names) != len(evals):
        raise ValueError(f"got {len(names)} names for {len(evals)} evaluations")
    order = official_order(names)
    summary = collect([evals[i] for i in order], [names[i] for i in order])
    texts = official_file_texts(summary)
    outdir = Path(outdir)
    from .._util import atomic_write_text, check_writable

    check_writable([outdir / f for f in texts], overwrite)
    for fname, text in texts.items():
        atomic_write_text(outdir / fname, text)
    return summary


# ----------------------------------------------------------------------------------------------
# reading result files


def load_result(path):
    """Read a machine result file in one of the official input formats (or ours).

    Parameters
    ----------
    path : str or Path
        ``.mat`` with a ``ucm2`` array or a ``segs`` cell of label maps; an
        8-bit ``.png``/``.jpg`` boundary map (divided by 255, official); or a
        ``.tif``/``.tiff`` label map (our ``deepsuperpixel segment`` output;
        a 3-D stack is a list of segmentations).

    Returns
    -------
    result, kind
        The array (or list of arrays) and ``"ucm2"``, ``"segs"``, ``"pb"`` or
        ``"labels"``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such result file: {path}")
    suf = path.suffix.lower()
    if suf == ".mat":
        from ..io.bsds_mat import read_result_mat

        return read_result_mat(path)
    if suf in (".png", ".jpg", ".jpeg", ".bmp"):
        import imageio.v3 as iio

        im = np.asarray(iio.imread(path))
        if im.ndim != 2:
            raise ValueError(f"{path}: a boundary map image must be single-channel, got shape {im.shape}")
        if im.dtype == np.uint8:
            return im.astype(np.float64) / 255.0, "pb"
        if im.dtype == np.uint16:
            return im.astype(np.float64) / 65535.0, "pb"
        if im.dtype == bool:
            return im.astype(np.float64), "pb"
        raise ValueError(f"{path}: unsupported boundary image dtype {im.dtype}")
    if suf in (".tif", ".tiff"):
        import tifffile

        a = np.asarray(tifffile.imread(path))
        if not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"{path}: a labels .tif must hold integer labels, got {a.dtype}")
        if a.ndim == 3:
            return [x.astype(np.int64) for x in a], "segs"
        if a.ndim == 2:
            return a.astype(np.int64), "labels"
        raise ValueError(f"{path}: a labels .tif must be 2-D (or 3-D for a stack of segmentations), got {a.shape}")
    raise ValueError(f"unsupported result file {path}: use .mat (ucm2 or segs), .png boundary maps or .tif labels")
