"""Aggregation of per-image BSDS500 results and the official output files.

``collect_eval_bdry.m`` / ``collect_eval_reg.m`` to the letter: per-image
values are rounded to 6 significant digits (as the ``%10g`` per-image files
that the MATLAB scripts read back), boundary ODS/OIS take the best F on the
100-point linear interpolation between consecutive thresholds (first
maximum), boundary OIS uses each image's first best threshold, covering OIS
and PRI/VI OIS each image's last best threshold, AP is the area under the
precision-recall curve interpolated at recall ``0:0.01:1``. The per-image
curves come from :func:`napari_deepsuperpixel.metrics.bsds.evaluate_image`;
every name here is also importable from :mod:`napari_deepsuperpixel.metrics.bsds`.

References
----------
.. [1] P. Arbelaez, M. Maire, C. Fowlkes and J. Malik, "Contour Detection and
   Hierarchical Image Segmentation", IEEE TPAMI 33(5), 898-916, 2011.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

#: names of the official output files
OFFICIAL_FILES = ("eval_bdry.txt", "eval_bdry_img.txt", "eval_bdry_thr.txt", "eval_cover.txt",
                  "eval_cover_img.txt", "eval_cover_th.txt", "eval_RI_VOI.txt", "eval_RI_VOI_thr.txt")


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


def _first_best_f(R, P) -> int:
    """The first threshold of best F (boundary OIS)."""
    F = _fmeasure(R, P)
    return int(np.flatnonzero(F == F.max())[0])


def _last_best_r(R, P) -> int:
    """The last threshold of best covering (covering OIS)."""
    return int(np.flatnonzero(R == R.max())[-1])


def _pool(curves, what, best_index):
    """Rounded per-image counts summed over images.

    Returns
    -------
    thresh : numpy.ndarray
        The shared thresholds (rounded).
    tot : numpy.ndarray, shape (4, n_thresholds)
        ``cntR, sumR, cntP, sumP`` summed over images, per threshold.
    best : numpy.ndarray, shape (4,)
        The same counts summed at each image's ``best_index(R, P)`` threshold.
    images : list of tuple
        Per image: ``cntR, sumR, cntP, sumP, R, P`` (:func:`_image_counts`).
    """
    thresh = _collect_thresholds(curves, what)
    tot = np.zeros((4, len(thresh)))
    best = np.zeros(4)
    images = []
    for c in curves:
        counts = _image_counts(c)
        cntR, sumR, cntP, sumP, R, P = counts
        tot += np.stack([cntR, sumR, cntP, sumP])
        j = best_index(R, P)
        best += (cntR[j], sumR[j], cntP[j], sumP[j])
        images.append(counts)
    return thresh, tot, best, images


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
    thresh, tot, best, images = _pool(curves, "boundary", _first_best_f)
    per_image = np.array([(i + 1, *_max_f(thresh, R, P)) for i, (*_, R, P) in enumerate(images)])
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
    """Aggregate per-image region curves (a list of ``RegionCurve`` with the
    same thresholds) into a :class:`RegionSummary`, exactly as
    ``collect_eval_reg.m``."""
    thresh, tot, best, images = _pool(curves, "region", _last_best_r)
    best_total = 0.0
    g_ri = np.zeros(len(thresh))
    g_voi = np.zeros(len(thresh))
    ri_best = voi_best = 0.0
    per_image = np.zeros((len(curves), 4))
    for i, (c, (*_, R, P)) in enumerate(zip(curves, images)):
        j = int(np.argmax(R))  # first maximum (MATLAB max)
        per_image[i] = (i + 1, thresh[j], R[j], P[j])
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
    from ..io.writes import atomic_write_text, check_writable

    check_writable([outdir / f for f in texts], overwrite)
    for fname, text in texts.items():
        atomic_write_text(outdir / fname, text)
    return summary
