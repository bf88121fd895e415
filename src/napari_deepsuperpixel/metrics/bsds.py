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

Aggregation over images and the official files are in
:mod:`napari_deepsuperpixel.metrics.bsds_collect`; their names are
re-exported here, so ``from napari_deepsuperpixel.metrics.bsds import collect``
keeps working.

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
from .boundary import MATCHERS, MAX_DIST, BoundaryMatcher, seg_to_boundaries
from .bsds_collect import (  # noqa: F401  (re-exported: the aggregation half of the benchmark)
    OFFICIAL_FILES,
    BoundarySummary,
    RegionSummary,
    Summary,
    _fmeasure,
    collect,
    collect_boundary,
    collect_region,
    official_file_texts,
    official_order,
    round_g,
    write_official_files,
)
from .ground_truth import as_ground_truth
from .region import _annotator_ids, _mean_rand_index, _mean_variation_of_information, _seg_tables, covering_from_tables

KINDS = ("auto", "ucm2", "segs", "labels", "pb")


# ----------------------------------------------------------------------------------------------
# per-image results


@dataclass
class _Counts:
    """Per-threshold counts of one image: ``thresh``, ``cntR``, ``sumR``, ``cntP``, ``sumP``."""

    thresh: np.ndarray
    cntR: np.ndarray
    sumR: np.ndarray
    cntP: np.ndarray
    sumP: np.ndarray

    @staticmethod
    def _ratio(num, den) -> np.ndarray:
        return num / np.where(den == 0, 1, den)


@dataclass
class BoundaryCurve(_Counts):
    """Boundary counts of one image at every threshold (``evaluation_bdry_image``).

    Attributes
    ----------
    thresh : numpy.ndarray
        Thresholds (ucm2 / pb) or segmentation indices ``1..n`` (segs).
    cntR, sumR, cntP, sumP : numpy.ndarray
        Matched / total annotator pixels (pooled over annotators) and matched /
        total machine pixels, per threshold.
    """

    @property
    def recall(self) -> np.ndarray:
        return self._ratio(self.cntR, self.sumR)

    @property
    def precision(self) -> np.ndarray:
        return self._ratio(self.cntP, self.sumP)

    @property
    def f(self) -> np.ndarray:
        return _fmeasure(self.recall, self.precision)


@dataclass
class RegionCurve(_Counts):
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

    best_cntR: float
    ri: np.ndarray
    voi: np.ndarray

    @property
    def covering(self) -> np.ndarray:
        return self._ratio(self.cntR, self.sumR)


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
