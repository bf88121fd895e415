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
* :func:`otsu_baseline` -- Otsu's threshold and connected components.
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


def otsu_baseline(image, ground_truth) -> dict:
    """Otsu's threshold (bright nuclei) and 8-connected components: ``f1``, ``pixel_accuracy``."""
    from skimage.filters import threshold_otsu
    from skimage.measure import label

    img = np.asarray(image, np.float64)
    img = img.mean(axis=-1) if img.ndim == 3 else img
    fg = img > threshold_otsu(img)
    return {"f1": object_f1(label(fg, connectivity=2), ground_truth)["f"],
            "pixel_accuracy": pixel_accuracy(fg, ground_truth)}


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
