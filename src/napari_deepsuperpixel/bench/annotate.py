"""Superpixels as annotation, measured with simulated users (``benchmarks/bench_annotate.py``).

* :func:`object_f1` -- object F1 at an IoU threshold: the package's segment
  matching (:func:`~napari_deepsuperpixel.metrics.match_segments`,
  ``background=0``), so that only nuclei count;
* :func:`oracle` -- the ceiling of a superpixel method: every superpixel takes
  the majority ground truth, either the majority *instance* (a perfect
  annotator of objects) or the majority *class* nucleus/background followed by
  :func:`~napari_deepsuperpixel.annotate.to_instances` (what scribble
  classification can reach at best);
* :func:`simulate_strokes` -- a seeded user: ``n`` short strokes per class,
  random walks inside random ground-truth nuclei (class 1, away from their outline) and inside the
  background at least ``margin`` pixels from any nucleus (class 2);
* :func:`scribble_run` -- strokes -> :func:`~napari_deepsuperpixel.annotate.classify_superpixels`
  -> instances -> object F1 and pixel accuracy;
* :func:`otsu_baseline` -- Otsu's threshold and connected components (the nuclei's side of it: bright,
  dark, or told by the ground truth).
"""

from __future__ import annotations

import numpy as np

#: the classes of the simulated strokes
NUCLEUS, BACKGROUND = 1, 2


def object_f1(instances, ground_truth, *, threshold: float = 0.5) -> dict:
    """Object precision, recall and F1 of instance labels against instance ground truth.

    Parameters
    ----------
    instances, ground_truth : (Y, X) int arrays
        0 = background, 1..N = objects (each label one object, not split into components).
    threshold : float
        IoU a match must exceed.

    Returns
    -------
    dict
        As :func:`~napari_deepsuperpixel.metrics.segment_f_measure`, over the objects only.
    """
    from ..metrics.segment_f import match_segments, segment_f_measure

    m = match_segments(np.asarray(instances), np.asarray(ground_truth), thresholds=[threshold],
                       connected=False, background=0)
    return segment_f_measure(m, threshold=threshold)


#: IoU thresholds of the mean average precision (the DSB2018 metric's, up to 0.9)
AP_THRESHOLDS = tuple(np.round(np.arange(0.5, 0.901, 0.05), 2))


def touching_objects(ground_truth, *, gap: int = 1) -> np.ndarray:
    """Labels of the ground-truth objects that touch another one (or lie at most ``gap`` pixels from it).

    DSB2018 masks often leave one background pixel between nuclei that touch in
    the image, hence ``gap=1`` by default.
    """
    from scipy import ndimage as ndi

    gt = np.asarray(ground_truth)
    fp = np.ones((2 * gap + 3,) * gt.ndim, bool)
    hi = ndi.grey_dilation(gt, footprint=fp)
    top = int(gt.max(initial=0)) + 1  # background as a label above every object
    lo = ndi.grey_erosion(np.where(gt > 0, gt, top).astype(np.int64), footprint=fp)
    near = (gt > 0) & ((hi != gt) | ((lo != gt) & (lo < top)))
    return np.unique(gt[near])


def instance_scores(instances, ground_truth, *, thresholds=AP_THRESHOLDS, touching=None) -> dict:
    """Object F1 at IoU 0.5 (all objects and touching ones) and mean average precision.

    A predicted and a ground-truth object match when their IoU exceeds the
    threshold (above 0.5 a match is one-to-one); background (0) is left out.
    ``f1`` = 2 TP / (n_pred + n_gt) at IoU 0.5, as :func:`object_f1`.
    ``f1_touching``: the same over the ground-truth objects of ``touching``
    (default :func:`touching_objects`) and the predicted objects whose largest
    overlap is one of them. ``ap``: the mean over ``thresholds`` of
    TP / (TP + FP + FN) (the DSB2018 score). ``n_touching``: how many
    ground-truth objects touch.
    """
    pred, gt = np.asarray(instances).ravel().astype(np.int64), np.asarray(ground_truth).ravel().astype(np.int64)
    np_, ng = int(pred.max(initial=0)) + 1, int(gt.max(initial=0)) + 1
    sp, sg = np.bincount(pred, minlength=np_), np.bincount(gt, minlength=ng)
    both = (pred > 0) & (gt > 0)
    keys, inter = np.unique(pred[both] * ng + gt[both], return_counts=True)
    pi, gi = keys // ng, keys % ng
    iou = inter / (sp[pi] + sg[gi] - inter)
    n_pred, n_gt = int(np.count_nonzero(sp[1:])), int(np.count_nonzero(sg[1:]))
    out = {}
    ap = []
    for t in thresholds:
        tp = int(np.count_nonzero(iou > t))
        ap.append(tp / max(n_pred + n_gt - tp, 1))
    tp5 = int(np.count_nonzero(iou > 0.5))
    out["f1"] = 2 * tp5 / max(n_pred + n_gt, 1) if n_pred + n_gt else 1.0
    out["ap"] = float(np.mean(ap))
    touch = touching_objects(ground_truth) if touching is None else np.asarray(touching)
    touch = touch[touch > 0]
    is_t = np.zeros(ng, bool)
    is_t[touch] = True
    # each predicted object's largest-overlap ground-truth object
    best = np.zeros(np_, np.int64)
    if keys.size:
        order = np.lexsort((-inter, pi))
        first = np.concatenate([[True], pi[order][1:] != pi[order][:-1]])
        best[pi[order][first]] = gi[order][first]
    pred_t = int(np.count_nonzero(is_t[best[1:]] & (sp[1:] > 0)))
    tp_t = int(np.count_nonzero((iou > 0.5) & is_t[gi]))
    out["f1_touching"] = 2 * tp_t / (pred_t + touch.size) if pred_t + touch.size else float("nan")
    out["n_touching"] = int(touch.size)
    return out


def pixel_accuracy(foreground, ground_truth) -> float:
    """Fraction of pixels whose nucleus/background call agrees with the ground truth."""
    return float(np.mean(np.asarray(foreground, bool) == (np.asarray(ground_truth) > 0)))


def oracle(superpixels, ground_truth, image=None) -> dict:
    """Object F1 of the two majority labellings (module docstring).

    Returns
    -------
    dict
        ``instance_f1``, ``class_f1`` (with ``image``: split at contrasted
        boundaries), ``pixel_accuracy`` (majority class).
    """
    from ..annotate import to_instances
    from ..metrics.superpixel import contingency

    sp, gt = np.asarray(superpixels), np.asarray(ground_truth)
    rows, cols, n, size_s, size_g = contingency(sp, gt)
    sp_ids, gt_ids = np.unique(sp), np.unique(gt)
    # majority instance of every superpixel (rows/cols are dense ids)
    order = np.lexsort((-n, rows))
    first = np.concatenate([[True], rows[order][1:] != rows[order][:-1]])
    major = np.zeros(sp_ids.size, np.int64)
    major[rows[order][first]] = gt_ids[cols[order][first]]
    lut = np.zeros(int(sp_ids.max()) + 1, np.int64)
    lut[sp_ids] = major
    inst = lut[sp]
    classes = np.where(inst > 0, NUCLEUS, BACKGROUND)
    obj = to_instances(classes, sp, NUCLEUS, image=image)
    return {"instance_f1": object_f1(inst, gt)["f"], "class_f1": object_f1(obj, gt)["f"],
            "pixel_accuracy": pixel_accuracy(inst > 0, gt)}


def simulate_strokes(ground_truth, n_per_class: int, *, seed: int = 0, length: int = 12,
                     margin: int = 3, inset: int = 2) -> np.ndarray:
    """A seeded user's scribbles: ``n_per_class`` strokes in nuclei (1) and in background (2).

    A stroke starts at a random pixel of a random nucleus eroded by ``inset``
    (a user paints inside an object, not on its outline; a nucleus too small
    for that keeps its pixels) or of the background eroded by ``margin``, and
    takes up to ``length`` steps of one pixel in a direction that turns a
    little at each step, stopping where it would leave its region.

    Returns
    -------
    numpy.ndarray of int32
        0 = not painted, 1 = nucleus, 2 = background.
    """
    from scipy import ndimage as ndi

    gt = np.asarray(ground_truth)
    rng = np.random.default_rng(seed)
    out = np.zeros(gt.shape, np.int32)
    bg = ndi.binary_erosion(gt == 0, iterations=margin, border_value=1)
    nuclei = np.unique(gt[gt > 0])
    regions = []
    for _ in range(n_per_class):
        if nuclei.size:
            one = gt == rng.choice(nuclei)
            inner = ndi.binary_erosion(one, iterations=inset)
            regions.append((NUCLEUS, inner if inner.any() else one))
        if bg.any():
            regions.append((BACKGROUND, bg))
    for cls, mask in regions:
        ys, xs = np.nonzero(mask)
        k = rng.integers(ys.size)
        y, x = float(ys[k]), float(xs[k])
        angle = rng.uniform(0, 2 * np.pi)
        out[int(y), int(x)] = cls
        for _ in range(length):
            angle += rng.normal(0, 0.3)
            ny, nx = y + np.sin(angle), x + np.cos(angle)
            iy, ix = int(round(ny)), int(round(nx))
            if not (0 <= iy < gt.shape[0] and 0 <= ix < gt.shape[1]) or not mask[iy, ix]:
                break
            y, x = ny, nx
            out[iy, ix] = cls
    return out


def stroke_sequence(ground_truth, n_per_class: int, *, seed: int = 0, **kw) -> tuple:
    """Strokes in the order a user paints them: ``strokes_upto(k)`` holds the first ``k`` of each class.

    The strokes of :func:`simulate_strokes` (same arguments), numbered: more
    strokes *add* to fewer, so that a run at N = 20 sees the strokes of N = 5.

    Returns
    -------
    classes, order : numpy.ndarray of int32
        The class of every painted pixel and the number (1..n) of its stroke
        within its class (0 = not painted).
    """
    classes = np.zeros(np.shape(ground_truth), np.int32)
    order = np.zeros(np.shape(ground_truth), np.int32)
    rng = np.random.default_rng(seed)
    for k in range(1, n_per_class + 1):
        one = simulate_strokes(ground_truth, 1, seed=int(rng.integers(2 ** 31)), **kw)
        new = (one > 0) & (classes == 0)
        classes[new], order[new] = one[new], k
    return classes, order


#: the pipelines :func:`objects_run` scores: (split, outline refinement, small objects removed)
PIPELINES = (("none", False, False), ("contrast", False, False), ("shape", False, False), ("shape", True, False),
             ("none", True, True), ("shape", True, True), ("learned", True, True), ("shape+learned", True, True))


def objects_run(image, ground_truth, strokes, *, superpixels, features, pipelines=PIPELINES, filters: bool = False,
                object_size: float, touching=None, seed: int = 0) -> list:
    """The steps of :func:`~napari_deepsuperpixel.annotate.segment_objects` on given superpixels and features.

    One classification, then each of ``pipelines`` (split, refine, remove
    small); returns one dict per pipeline with :func:`instance_scores`,
    ``pixel_accuracy`` (of the mask that is split) and ``seconds`` (train,
    predict, refine, split and clean: a retraining with cached features).
    ``split`` names the pipeline: the split, ``+refine``, ``+clean``.
    """
    import time

    from ..annotate.classify import classify_superpixels
    from ..annotate.objects import cleaned, feature_columns, refined_mask, split_objects

    cols = [c for c in feature_columns(features) if filters or not c.startswith("filter_")]
    t0 = time.perf_counter()
    res = classify_superpixels(None, superpixels, strokes, features=features, columns=cols, seed=seed)
    t_cls = time.perf_counter() - t0
    masks = {}
    out = []
    for split, ref, clean in pipelines:
        t1 = time.perf_counter()
        if ref not in masks:
            mask = res.labels == NUCLEUS
            if ref:
                mask = refined_mask(image, strokes, mask, object_size, object_class=NUCLEUS)
            masks[ref] = (mask, time.perf_counter() - t1)
        mask, t_ref = masks[ref]
        t2 = time.perf_counter()
        obj = split_objects(image, superpixels, res.labels, mask, object_class=NUCLEUS, scribbles=strokes,
                            split=split)
        if clean:
            obj = cleaned(obj, object_size)
        out.append({"split": split + ("+refine" if ref else "") + ("+clean" if clean else ""),
                    "seconds": t_cls + t_ref + time.perf_counter() - t2,
                    "pixel_accuracy": pixel_accuracy(mask, ground_truth),
                    **instance_scores(obj, ground_truth, touching=touching)})
    return out


def scribble_run(image, superpixels, ground_truth, strokes, *, features, classifier="random_forest",
                 seed: int = 0) -> dict:
    """Classify from ``strokes``, make nuclei instances, score them.

    Returns
    -------
    dict
        ``f1`` (objects, IoU 0.5), ``pixel_accuracy``, ``seconds`` (train + predict),
        ``trained`` (False when the strokes' superpixels hold one class only: with
        superpixels larger than the nuclei a stroke inside a nucleus can land in a
        superpixel that is mostly background; the run then scores as "all
        background", F1 0).
    """
    import time

    from ..annotate import classify_superpixels, to_instances
    from ..annotate.classify import scribble_targets

    if np.unique(scribble_targets(superpixels, strokes)[1]).size < 2:
        gt = np.asarray(ground_truth)
        return {"f1": 0.0, "pixel_accuracy": pixel_accuracy(np.zeros(gt.shape, bool), gt), "seconds": 0.0,
                "trained": False}
    t0 = time.perf_counter()
    res = classify_superpixels(None, superpixels, strokes, features=features, classifier=classifier, seed=seed)
    seconds = time.perf_counter() - t0
    obj = to_instances(res.labels, superpixels, NUCLEUS, image=image)
    return {"f1": object_f1(obj, ground_truth)["f"],
            "pixel_accuracy": pixel_accuracy(res.labels == NUCLEUS, ground_truth), "seconds": seconds,
            "trained": True}


POLARITIES = ("bright", "dark", "truth")


def otsu_foreground(image, ground_truth=None, *, polarity: str = "bright") -> np.ndarray:
    """The pixels on the nuclei's side of Otsu's threshold of the image (channels averaged).

    ``polarity``: ``"bright"`` nuclei (fluorescence), ``"dark"`` (stained
    nuclei in brightfield), or ``"truth"``: the side whose mean is nearer the
    mean of the ground-truth nuclei (the baseline is told the nuclei's contrast,
    which a user of a threshold knows; the strokes tell it to ``segment_objects``).
    """
    from skimage.filters import threshold_otsu

    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES}, got {polarity!r}")
    img = np.asarray(image, np.float64)
    img = img.mean(axis=-1) if img.ndim == 3 else img
    thr = threshold_otsu(img)
    if polarity == "truth":
        gt = np.asarray(ground_truth) > 0
        polarity = "dark" if gt.any() and (~gt).any() and img[gt].mean() < img[~gt].mean() else "bright"
    return img < thr if polarity == "dark" else img > thr


def otsu_baseline(image, ground_truth, *, polarity: str = "bright") -> dict:
    """Otsu's threshold (:func:`otsu_foreground`) and 8-connected components: :func:`instance_scores`,
    ``pixel_accuracy``."""
    from skimage.measure import label

    fg = otsu_foreground(image, ground_truth, polarity=polarity)
    return {**instance_scores(label(fg, connectivity=2), ground_truth), "pixel_accuracy": pixel_accuracy(fg, ground_truth)}


def dt_watershed(foreground, *, sigma: float = 1.0, min_distance: int = 5) -> np.ndarray:
    """A seeded watershed of the Gaussian-smoothed distance transform; seeds ``min_distance`` pixels apart.

    The fixed-size split a biologist tries first (one ``min_distance`` for every image).
    """
    from scipy import ndimage as ndi
    from skimage.feature import peak_local_max
    from skimage.measure import label
    from skimage.segmentation import watershed

    fg = np.asarray(foreground, bool)
    dist = ndi.gaussian_filter(ndi.distance_transform_edt(fg), sigma)
    comp = label(fg, connectivity=2)
    peaks = peak_local_max(dist, min_distance=min_distance, labels=comp, exclude_border=False)
    markers = np.zeros(fg.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return watershed(-dist, markers, mask=fg)


def otsu_watershed_baseline(image, ground_truth, *, sigma: float = 1.0, min_distance: int = 5,
                            polarity: str = "bright") -> dict:
    """Otsu's threshold (:func:`otsu_foreground`), then :func:`dt_watershed`: :func:`instance_scores` and
    ``pixel_accuracy``."""
    fg = otsu_foreground(image, ground_truth, polarity=polarity)
    inst = dt_watershed(fg, sigma=sigma, min_distance=min_distance)
    return {**instance_scores(inst, ground_truth), "pixel_accuracy": pixel_accuracy(fg, ground_truth)}


def summarise(rows: list) -> str:
    """Markdown tables of :mod:`benchmarks/bench_annotate.py`'s rows (means over images and seeds)."""
    def mean(sel, key):
        vals = [r[key] for r in sel]
        return float(np.mean(vals)) if vals else float("nan")

    out = []
    orc = [r for r in rows if r["exp"] == "oracle"]
    keys = list(dict.fromkeys(r["setting"] for r in orc))
    out += ["**(a) Oracle ceiling** (every superpixel labelled by its majority ground truth; object F1 at IoU 0.5)",
            "", "| superpixels | mean count | instance oracle F1 | class oracle F1 (+ split) | pixel acc. | seconds |",
            "|---|---|---|---|---|---|"]
    for k in keys:
        sel = [r for r in orc if r["setting"] == k]
        out.append(f"| {k} | {mean(sel, 'n_superpixels'):.0f} | {mean(sel, 'instance_f1'):.3f} | "
                   f"{mean(sel, 'class_f1'):.3f} | {mean(sel, 'pixel_accuracy'):.3f} | {mean(sel, 'seconds'):.2f} |")
    sc = [r for r in rows if r["exp"] == "scribble" and r["classifier"] == "random_forest"]
    strokes = sorted({r["strokes"] for r in sc})
    otsu = [r for r in rows if r["exp"] == "otsu"]
    failed = [r for r in sc if not r.get("trained", True)]
    for metric, title in (("f1", "object F1 (IoU 0.5)"), ("pixel_accuracy", "pixel accuracy")):
        out += ["", f"**(b) Scribbles: {title}** against strokes per class (random forest)", "",
                "| superpixels | features | " + " | ".join(f"N={n}" for n in strokes) + " |",
                "|---|---|" + "---|" * len(strokes)]
        for k in dict.fromkeys(r["setting"] for r in sc):
            for deep in (False, True):
                sel = [r for r in sc if r["setting"] == k and r["deep"] == deep]
                out.append(f"| {k} | {'+ SEN embedding' if deep else 'intensity'} | "
                           + " | ".join(f"{mean([r for r in sel if r['strokes'] == n], metric):.3f}" for n in strokes)
                           + " |")
        out.append("| Otsu + connected components | - | " + " | ".join(f"{mean(otsu, metric):.3f}" for _ in strokes)
                   + " |")
    if failed:
        out.append(f"\n{len(failed)} of {len(sc)} scribble runs could not train (one class only), "
                   "scored as all background: " + ", ".join(sorted({r['setting'] for r in failed})))
    first = sc[0]["setting"] if sc else ""
    cl = [r for r in rows if r["exp"] == "scribble" and not r["deep"] and r["setting"] == first and r["seed"] == 0]
    compare = sorted({r["strokes"] for r in cl if r["classifier"] != "random_forest"})
    strokes = compare or strokes
    out += ["", f"**(c) Classifier** ({first}, intensity features, seed 0): object F1 / seconds to train and "
            "predict", "",
            "| classifier | " + " | ".join(f"N={n}" for n in strokes) + " |", "|---|" + "---|" * len(strokes)]
    for c in dict.fromkeys(r["classifier"] for r in cl):
        sel = [r for r in cl if r["classifier"] == c]
        out.append(f"| {c} | " + " | ".join(
            f"{mean([r for r in sel if r['strokes'] == n], 'f1'):.3f} / "
            f"{mean([r for r in sel if r['strokes'] == n], 'seconds'):.2f} s" for n in strokes) + " |")
    return "\n".join(out) + "\n"
