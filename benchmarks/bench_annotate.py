"""Superpixels as an annotation tool on the DSB2018 fluorescence nuclei, with simulated users.

(a) the oracle ceiling per superpixel method and size; (b) N seeded strokes per class ->
classifier -> nuclei instances, with and without SEN's embedding as features, next to
Otsu + connected components; (c) random forest vs histogram gradient boosting (SNIC).
The logic lives in ``napari_deepsuperpixel.bench.annotate``; this file holds the
configuration and the timings.

Images: a seeded choice (numpy default_rng(18)) of ``--n-images`` of the 44 fluorescence
images of ``../shared/microscopy/dsb2018_stage1_subset`` among those of at most
512 x 640 pixels (the three 603 x 1272 and the 1040 x 1388 one are left out for time).

``--objects --all --set tissue`` / ``--set brightfield`` run the same on the 40 stained-tissue RGB
images and the 16 grayscale brightfield images of the subset (dark nuclei; the strokes come from the
ground truth whatever the contrast, Otsu's baselines take the nuclei's side of the threshold as the
ground truth tells it). ``--speed`` times segment_objects at 2048 x 2048.

Usage::

    python benchmarks/bench_annotate.py --objects --all --seeds 5 --rows rows.json --out objects.md
    python benchmarks/bench_annotate.py --objects --all --set tissue --seeds 5
    python benchmarks/bench_annotate.py --speed
    python benchmarks/bench_annotate.py --speed --against 7f8c99d   # the pixel steps before their numba paths
    python benchmarks/bench_annotate.py --n-images 4 --rows rows.json --out docs/tables/annotate.md
    python benchmarks/bench_annotate.py --n-images 8 --split-sweep
    python benchmarks/bench_annotate.py --n-images 2 --methods dsc --out docs/tables/annotate_dsc.md
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "microscopy" / "dsb2018_stage1_subset"
STROKES = (1, 2, 5, 10, 20)
SEEDS = (0, 1)
#: superpixel sizes as mean pixels per superpixel (SNIC, SEN: n_segments = pixels / size)
SIZES = {"snic": (1024, 256, 64), "sen": (256, 64)}
FZ_SCALES = (100, 30, 10)
#: the setting of each method used for the scribble experiment
SCRIBBLE = ("snic/64", "felzenszwalb/30", "sen/64", "dsc")
#: stroke counts at which the classifiers are compared (boosting takes seconds a fit on two shared cores)
COMPARE_AT = (1, 5, 20)


def settings(shape, methods):
    px = shape[0] * shape[1]
    out = {}
    for method, sizes in SIZES.items():
        if method not in methods and not (method == "sen" and sizes[0] == 256):
            continue  # sen/256 always runs: its embedding is the deep feature of every method
        for s in sizes if method in methods else sizes[:1]:
            out[f"{method}/{s}"] = (method, {"n_segments": max(2, px // s)})
    if "felzenszwalb" in methods:
        for sc in FZ_SCALES:
            out[f"felzenszwalb/{sc}"] = ("felzenszwalb", {"scale": float(sc)})
    if "dsc" in methods:
        out["dsc"] = ("dsc", {})
    return out


def pick_images(n, root=DATA, image_set="fluorescence"):
    """A seeded choice of ``n`` images of a set (fluorescence: of at most 512 x 640 pixels)."""
    with open(root / "metadata.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["category"] == SETS[image_set]
                and (image_set != "fluorescence" or int(r["height"]) * int(r["width"]) <= 512 * 640)]
    names = sorted(Path(r["image"]).stem for r in rows)
    pick = np.random.default_rng(18).choice(len(names), size=min(n, len(names)), replace=False)
    return [names[i] for i in sorted(pick)]


def run_image(name, image, gt, rows, methods):
    import napari_deepsuperpixel as nds
    from napari_deepsuperpixel.annotate import superpixel_features
    from napari_deepsuperpixel.bench import annotate as ba

    sps, emb = {}, None
    for key, (method, params) in settings(image.shape, methods).items():
        t0 = time.perf_counter()
        res = nds.segment_result(image, method, seed=0, **params)
        sec = time.perf_counter() - t0
        sps[key] = res.labels
        if key == "sen/256":
            emb = res.extras["embedding"]
        o = ba.oracle(res.labels, gt, image)
        rows.append({"exp": "oracle", "image": name, "setting": key, "n_superpixels": int(res.labels.max()),
                     "seconds": sec, **o})
    keys = [k for k in SCRIBBLE if k in sps and k.split("/")[0] in methods]
    feats = {(k, deep): superpixel_features(image, sps[k], embedding=emb if deep else None)
             for k in keys for deep in (False, True)}
    for s in SEEDS:
        for n in STROKES:
            strokes = ba.simulate_strokes(gt, n, seed=1000 * s + n)
            for key in keys:
                for deep in (False, True):
                    classifiers = ("random_forest", "hist_gradient_boosting") \
                        if key == SCRIBBLE[0] and not deep and s == SEEDS[0] and n in COMPARE_AT \
                        else ("random_forest",)
                    for clf in classifiers:
                        r = ba.scribble_run(image, sps[key], gt, strokes, features=feats[key, deep], classifier=clf,
                                            seed=s)
                        rows.append({"exp": "scribble", "image": name, "setting": key, "deep": deep,
                                     "classifier": clf, "strokes": n, "seed": s, **r})
    rows.append({"exp": "otsu", "image": name, **ba.otsu_baseline(image, gt)})


def split_sweep(ds, splits=(np.inf, 0.2, 0.1, 0.05, 0.02)):
    """Class-oracle object F1 of ``to_instances`` against its ``split`` (SNIC and Felzenszwalb)."""
    import napari_deepsuperpixel as nds
    from napari_deepsuperpixel.annotate import to_instances
    from napari_deepsuperpixel.bench import annotate as ba

    res = {}
    for _name, image, (gt,) in ds:
        for key, (method, params) in settings(image.shape, ("snic", "felzenszwalb")).items():
            if key not in ("snic/64", "felzenszwalb/30"):
                continue
            sp = nds.segment(image, method, **params)
            # every superpixel takes its majority class (as the class oracle)
            frac = np.bincount(sp.ravel(), weights=(gt.ravel() > 0), minlength=sp.max() + 1) \
                / np.maximum(np.bincount(sp.ravel(), minlength=sp.max() + 1), 1)
            classes = np.where(frac[sp] > 0.5, ba.NUCLEUS, ba.BACKGROUND)
            for t in splits:
                inst = to_instances(classes, sp, ba.NUCLEUS, image=image, split=t)
                res.setdefault((key, t), []).append(ba.object_f1(inst, gt)["f"])
    lines = ["| superpixels | " + " | ".join(f"split={t:g}" for t in splits) + " |",
             "|---|" + "---|" * len(splits)]
    for key in ("snic/64", "felzenszwalb/30"):
        lines.append(f"| {key} | " + " | ".join(f"{np.mean(res[key, t]):.3f}" for t in splits) + " |")
    return "\n".join(lines) + "\n"


#: the image sets of ``--set``: DSB2018 categories (the subset's metadata.csv)
SETS = {"fluorescence": "fluorescence", "tissue": "histology_brightfield_rgb", "brightfield": "brightfield_gray"}


def all_images(root=DATA, max_pixels=None, image_set="fluorescence"):
    """The names of the images of a set (all of them, or those of at most ``max_pixels``)."""
    with open(root / "metadata.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["category"] == SETS[image_set]
                and (max_pixels is None or int(r["height"]) * int(r["width"]) <= max_pixels)]
    return sorted(Path(r["image"]).stem for r in rows)


def all_fluorescence(root=DATA, max_pixels=None):
    """The names of the fluorescence images (all 44, or those of at most ``max_pixels``)."""
    return all_images(root, max_pixels, "fluorescence")


def objects_image(name, image, gt, rows, *, seeds, strokes, fractions, feature_sets, pipelines):
    """Scribbles -> segment_objects on one image: every (seed, N, fraction, features, split), and the baselines.

    Per seed the strokes are one ordered sequence (N = 20 holds the strokes of N = 5); the object size is
    measured from the first stroke of each class (what a first training sees), the superpixels and their
    features are made once for it and reused by every later N (a retraining).
    """
    from napari_deepsuperpixel.annotate.objects import make_superpixels, object_features
    from napari_deepsuperpixel.annotate.size import estimate_object_size
    from napari_deepsuperpixel.bench import annotate as ba

    touching = ba.touching_objects(gt)
    # Otsu on the nuclei's side of the threshold, told by the ground truth (bench.annotate.otsu_foreground)
    rows.append({"exp": "baseline", "image": name, "method": "otsu+cc",
                 **ba.otsu_baseline(image, gt, polarity="truth")})
    rows.append({"exp": "baseline", "image": name, "method": "otsu+dt-watershed",
                 **ba.otsu_watershed_baseline(image, gt, polarity="truth")})
    cache = {}
    for s in seeds:
        classes, order = ba.stroke_sequence(gt, max(strokes), seed=s)
        size = estimate_object_size(image, np.where(order == 1, classes, 0), object_class=ba.NUCLEUS)
        for frac in fractions:
            t0 = time.perf_counter()
            sp = make_superpixels(image, gt.shape, size, fraction=frac)
            key = (frac, int(sp.max()))
            if key not in cache:
                cache[key] = (sp, object_features(image, sp, filters="filters" in feature_sets),
                              time.perf_counter() - t0)
            sp, feats, t_first = cache[key]
            for n in strokes:
                st = np.where((order > 0) & (order <= n), classes, 0)
                if np.unique(st[st > 0]).size < 2:
                    continue
                for fs in feature_sets:
                    for r in ba.objects_run(image, gt, st, superpixels=sp, features=feats, pipelines=pipelines,
                                            filters=fs == "filters", object_size=size, touching=touching,
                                            seed=s):
                        rows.append({"exp": "objects", "image": name, "seed": s, "strokes": n, "fraction": frac,
                                     "features": fs, "object_size": size, "n_superpixels": int(sp.max()),
                                     "first_seconds": t_first, **r})


def summarise_objects(rows) -> str:
    """Markdown tables of the ``--objects`` experiment (means over images, then seeds)."""
    def mean(sel, key):
        vals = [r[key] for r in sel if np.isfinite(r[key])]
        return float(np.mean(vals)) if vals else float("nan")

    obj = [r for r in rows if r["exp"] == "objects"]
    base = [r for r in rows if r["exp"] == "baseline"]
    strokes = sorted({r["strokes"] for r in obj})
    out = []
    for metric, title in (("f1", "object F1 at IoU 0.5, all objects"),
                          ("f1_touching", "object F1 at IoU 0.5, touching objects"),
                          ("ap", "mean AP over IoU 0.5-0.9"), ("pixel_accuracy", "pixel accuracy")):
        out += ["", f"**{title}** against strokes per class", "",
                "| pipeline | " + " | ".join(f"N={n}" for n in strokes) + " |", "|---|" + "---|" * len(strokes)]
        for m in dict.fromkeys(r["method"] for r in base):
            v = mean([r for r in base if r["method"] == m], metric)
            out.append(f"| {m} | " + " | ".join(f"{v:.3f}" for _ in strokes) + " |")
        for cfg in dict.fromkeys((r["fraction"], r["features"], r["split"]) for r in obj):
            sel = [r for r in obj if (r["fraction"], r["features"], r["split"]) == cfg]
            out.append(f"| superpixels {cfg[0]:g} x size, {cfg[1]}, split {cfg[2]} | "
                       + " | ".join(f"{mean([r for r in sel if r['strokes'] == n], metric):.3f}" for n in strokes)
                       + " |")
    out += ["", "**seconds per retraining** (train + predict + split, cached features; median) and first call "
            "(superpixels + features; median)", "", "| pipeline | retrain | first |", "|---|---|---|"]
    for cfg in dict.fromkeys((r["fraction"], r["features"], r["split"]) for r in obj):
        sel = [r for r in obj if (r["fraction"], r["features"], r["split"]) == cfg]
        out.append(f"| {cfg[0]:g} x size, {cfg[1]}, {cfg[2]} | {np.median([r['seconds'] for r in sel]):.2f} | "
                   f"{np.median([r['first_seconds'] for r in sel]):.2f} |")
    return "\n".join(out) + "\n"


def shape_sweep(names, root=DATA, grid=(("peaks", 0.25, (0.3, 0.6, 0.9, 1.5)), ("peaks", 0.0, (0.6, 0.9)),
                                         ("peaks", 0.5, (0.6,)), ("h_maxima", 0.25, (0.1, 0.2, 0.3, 0.5)),
                                         ("h_maxima", 0.0, (0.1,)))):
    """The shape split on the ground-truth foreground and on Otsu's: object F1 (all, touching) and mean AP."""
    from skimage.measure import label

    from napari_deepsuperpixel.annotate.split import shape_split
    from napari_deepsuperpixel.bench import annotate as ba
    from napari_deepsuperpixel.datasets.folder import FolderDataset

    res = {}
    for _name, image, (gt,) in FolderDataset(root, names=names):
        img = np.asarray(image, np.float64)
        img = img.mean(axis=-1) if img.ndim == 3 else img
        touching = ba.touching_objects(gt)
        otsu = ba.otsu_foreground(img, gt, polarity="truth")
        for fg_name, fg in (("ground truth", gt > 0), ("Otsu", otsu)):
            res.setdefault((fg_name, "connected components"), []).append(
                ba.instance_scores(label(fg, connectivity=2), gt, touching=touching))
            res.setdefault((fg_name, "fixed: sigma 1, min_distance 5"), []).append(
                ba.instance_scores(ba.dt_watershed(fg), gt, touching=touching))
            for seeds, smooth, hs in grid:
                for h in hs:
                    inst = shape_split(fg, seeds=seeds, smooth=smooth, h=h)
                    res.setdefault((fg_name, f"{seeds}, smooth {smooth:g} r, h {h:g} r"), []).append(
                        ba.instance_scores(inst, gt, touching=touching))
    lines = ["| foreground | split | F1 all | F1 touching | mean AP |", "|---|---|---|---|---|"]
    for (fg_name, k), v in res.items():
        lines.append(f"| {fg_name} | {k} | " + " | ".join(
            f"{np.nanmean([x[m] for x in v]):.3f}" for m in ("f1", "f1_touching", "ap")) + " |")
    return "\n".join(lines) + f"\n\n{len(names)} images\n"


def speed_image(side=2048, *, varied=False, seed=0):
    """A synthetic ``side x side`` 16-bit image of discs of radius 9 on a 22-pixel grid (jittered) and its labels.

    ``varied``: each disc's brightness drawn from 700 to 3,000 over a background of 400 (else all 3,000), so
    that more strokes change the classes of the dimmer discs.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side]
    gt = np.zeros((side, side), np.int32)
    k = 0
    for cy in range(12, side - 12, 22):
        for cx in range(12, side - 12, 22):
            k += 1
            y, x = cy + rng.integers(-4, 5), cx + rng.integers(-4, 5)
            sl = (slice(max(y - 10, 0), y + 11), slice(max(x - 10, 0), x + 11))
            gt[sl][((yy[sl] - y) ** 2 + (xx[sl] - x) ** 2 <= 81) & (gt[sl] == 0)] = k
    level = np.full(k + 1, 3000.0)
    if varied:
        level = rng.uniform(700, 3000, k + 1)
    level[0] = 400
    img = (level[gt] + rng.normal(0, 150, gt.shape)).clip(0).astype(np.uint16)
    return img, gt


def pixel_steps_at(rev):
    """The kept pixel steps of segment_objects (outlines, shape split, small objects) as they were at git ``rev``.

    ``annotate/split.py``, ``retrain.py`` and ``_rank_kernels.py`` of that revision, loaded beside the current
    ones as a package of their own (``git show``); returns ``(refine_update, split_update, remove_small)``.
    """
    import importlib
    import subprocess
    import sys
    import tempfile

    root = Path(__file__).resolve().parents[1]
    pkg = Path(tempfile.mkdtemp()) / f"annotate_at_{rev}"
    pkg.mkdir()
    for name in ("split.py", "retrain.py", "_rank_kernels.py"):
        text = subprocess.run(["git", "-C", str(root), "show", f"{rev}:src/napari_deepsuperpixel/annotate/{name}"],
                              capture_output=True, text=True, check=True).stdout
        (pkg / name).write_text(text.replace("from ..", "from napari_deepsuperpixel."))
    (pkg / "__init__.py").write_text("")
    sys.path.insert(0, str(pkg.parent))
    split = importlib.import_module(f"{pkg.name}.split")
    retrain = importlib.import_module(f"{pkg.name}.retrain")
    return retrain.refine_update, retrain.split_update, split.remove_small


def speed(side=2048, n_superpixels=20000, repeats=3, against=None):
    """segment_objects on a synthetic side x side image of discs: first call and retraining, seconds (medians).

    Retraining with 20 strokes per class after a first call with 5, on the cached features: with the pixel
    work kept (the default, ``incremental=True``) and done again from scratch (``incremental=False``, the
    computation before it was kept), alternating in this process; the objects of the two are compared. Two
    images: discs of one brightness (the classes do not change between the two trainings) and discs of
    varied brightness (they do). ``against``: a git revision whose kept pixel steps (:func:`pixel_steps_at`)
    also retrain, alternating with the current ones in this process (order swapped every repetition); their
    objects are compared label for label.
    """
    import os

    from napari_deepsuperpixel.annotate import retrain as rt
    from napari_deepsuperpixel.annotate import segment_objects
    from napari_deepsuperpixel.annotate import split as sp
    from napari_deepsuperpixel.annotate.retrain import FeatureTable
    from napari_deepsuperpixel.bench import annotate as ba

    now = (rt.refine_update, rt.split_update, sp.remove_small)
    old = pixel_steps_at(against) if against else None

    def use(steps):
        rt.refine_update, rt.split_update, sp.remove_small = steps

    size = 2 * side / np.sqrt(n_superpixels)  # superpixels of half this side: about n_superpixels
    lines = []
    try:
        for varied in (False, True):
            img, gt = speed_image(side, varied=varied)
            classes, order = ba.stroke_sequence(gt, 20, seed=0)
            strokes = [np.where((order > 0) & (order <= n), classes, 0) for n in (5, 20)]
            first, same, changed, redone, loads = [], [], [], [], []
            retrain = {"scratch": [], "kept": [], "rev": []}
            same_rev = []
            for rep in range(repeats):
                t0 = time.perf_counter()
                res = segment_objects(img, strokes[0], object_size=size)
                first.append(time.perf_counter() - t0)
                runs = ["scratch", "kept", "rev"] if old else ["scratch", "kept"]
                if old and rep % 2:
                    runs = ["scratch", "rev", "kept"]
                objs = {}
                for run in runs:
                    use(old if run == "rev" else now)
                    feats = FeatureTable(res.features)
                    feats.cache = dict(res.features.cache)  # each retraining starts from the first call's state
                    t0 = time.perf_counter()
                    out = segment_objects(img, strokes[1], superpixels=res.superpixels, features=feats,
                                          object_size=size, incremental=run != "scratch")
                    retrain[run].append(time.perf_counter() - t0)
                    objs[run] = out.objects
                    if run == "kept":
                        redone.append([(feats.cache.get(k) or {}).get("redone", 0.0) for k in ("refine", "split")])
                use(now)
                loads.append(os.getloadavg()[0])
                same.append(same_partition(objs["kept"], objs["scratch"]))
                if old:
                    same_rev.append(bool(np.array_equal(objs["kept"], objs["rev"])))
                changed.append(float(np.mean(out.classification.superpixel_classes
                                             != res.classification.superpixel_classes)))
            med = {k: float(np.median(v)) if v else float("nan") for k, v in retrain.items()}
            lines += [f"{'varied' if varied else 'equal'} brightness: {side} x {side}, {int(res.superpixels.max())} "
                      f"superpixels, {int(gt.max())} discs; classes changed by the retraining: "
                      f"{100 * np.median(changed):.2f} % of the superpixels; outlines / split redone on "
                      f"{100 * np.median([r[0] for r in redone]):.1f} % / "
                      f"{100 * np.median([r[1] for r in redone]):.1f} % of the pixels; kept and from-scratch "
                      f"objects identical: {all(same)}; load average {min(loads):.1f} to {max(loads):.1f}",
                      "", "| call | seconds (median of %d) |" % repeats, "|---|---|",
                      f"| first call (superpixels, features, training, objects) | {np.median(first):.2f} |",
                      f"| retraining, pixel work from scratch (incremental=False) | {med['scratch']:.2f} |",
                      f"| retraining, pixel work kept (default) | {med['kept']:.2f} |",
                      f"| ratio | {med['scratch'] / med['kept']:.1f} |"]
            if old:
                lines += [f"| retraining, pixel work kept, the steps of {against} | {med['rev']:.2f} |",
                          f"| ratio {against} / now | {med['rev'] / med['kept']:.2f} |",
                          f"| objects of {against} and now label for label identical | {all(same_rev)} |"]
            lines.append("")
    finally:
        use(now)
    return "\n".join(lines)


def same_partition(a, b) -> bool:
    """Whether two label images hold the same objects (the same pixels, whatever their numbers)."""
    a, b = np.asarray(a), np.asarray(b)
    if not np.array_equal(a > 0, b > 0):
        return False
    m = a > 0
    pairs = np.unique(a[m].astype(np.int64) * (int(b.max()) + 1) + b[m])
    return pairs.size == np.unique(a[m]).size == np.unique(b[m]).size


def size_check(names, root=DATA, seeds=range(5)):
    """estimate_object_size against the ground truth's median diameter (twice the median of the nuclei's largest
    distance to their outline): without strokes and from the first stroke of each class."""
    from scipy import ndimage as ndi

    from napari_deepsuperpixel.annotate.size import estimate_object_size
    from napari_deepsuperpixel.bench import annotate as ba
    from napari_deepsuperpixel.datasets.folder import FolderDataset

    ratios = {"image only": [], "first strokes": []}
    per_image = []
    for name, image, (gt,) in FolderDataset(root, names=names):
        d = ndi.distance_transform_edt(gt > 0)
        rad = np.asarray(ndi.maximum(d, gt, np.arange(1, gt.max() + 1)))
        true = 2 * float(np.median(rad[rad > 0]))
        alone = estimate_object_size(image, spatial_ndim=2)
        strokes = []
        for s in seeds:
            classes, order = ba.stroke_sequence(gt, 1, seed=s)
            strokes.append(estimate_object_size(image, classes, object_class=ba.NUCLEUS))
        ratios["image only"].append(alone / true)
        ratios["first strokes"] += [x / true for x in strokes]
        per_image.append(f"{name}: true {true:.1f}, image only {alone:.1f}, first strokes "
                         + ", ".join(f"{x:.1f}" for x in strokes))
    lines = ["| estimate | median ratio to the truth | within x1.5 | within x2 |", "|---|---|---|---|"]
    for k, v in ratios.items():
        v = np.asarray(v)
        lines.append(f"| {k} | {np.median(v):.2f} | {np.mean((v < 1.5) & (v > 1 / 1.5)):.2f} | "
                     f"{np.mean((v < 2) & (v > 0.5)):.2f} |")
    return "\n".join(lines) + "\n\n" + "\n".join(per_image) + "\n"


def main(argv=None):
    from napari_deepsuperpixel.bench.annotate import summarise
    from napari_deepsuperpixel.datasets.folder import FolderDataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-images", type=int, default=4)
    ap.add_argument("--methods", nargs="+", default=["snic", "felzenszwalb", "sen"],
                    choices=["snic", "felzenszwalb", "sen", "dsc"])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, help="markdown tables (also printed)")
    ap.add_argument("--rows", type=Path, help="per-image rows as JSON")
    ap.add_argument("--split-sweep", action="store_true",
                    help="only the class oracle of to_instances against its split threshold")
    ap.add_argument("--objects", action="store_true",
                    help="scribbles -> segment_objects (object size, splits, features) against Otsu baselines")
    ap.add_argument("--all", action="store_true", help="--objects: every image of --set (else --n-images)")
    ap.add_argument("--set", dest="image_set", choices=sorted(SETS), default="fluorescence",
                    help="--objects, --shape-sweep, --size-check: the DSB2018 images: fluorescence (44), stained "
                         "tissue in RGB (40) or grayscale brightfield (16)")
    ap.add_argument("--max-pixels", type=int, help="--objects --all: leave out larger images")
    ap.add_argument("--seeds", type=int, default=5, help="--objects: stroke seeds 0..S-1")
    ap.add_argument("--strokes", type=int, nargs="+", default=list(STROKES))
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.5], help="superpixel side / object size")
    ap.add_argument("--features", nargs="+", default=["intensity"], choices=["intensity", "filters"])
    ap.add_argument("--pipelines", nargs="+",
                    help="--objects: split[+refine][+clean] names (default: all of bench.annotate.PIPELINES)")
    ap.add_argument("--shape-sweep", action="store_true",
                    help="the shape split's seeds and sizes on the ground-truth and Otsu foreground (--all or --n-images)")
    ap.add_argument("--speed", action="store_true", help="segment_objects' first call and retraining on 2048 x 2048")
    ap.add_argument("--against", help="--speed: also retrain with the kept pixel steps of this git revision")
    ap.add_argument("--repeats", type=int, default=3, help="--speed: repetitions (medians)")
    ap.add_argument("--size-check", action="store_true", help="the measured object size against the ground truth")
    a = ap.parse_args(argv)
    if a.size_check:
        names = all_images(a.data, a.max_pixels, a.image_set) if a.all else pick_images(a.n_images, a.data,
                                                                                           a.image_set)
        print(size_check(names, a.data))
        return
    if a.speed:
        print(speed(repeats=a.repeats, against=a.against))
        return
    if a.shape_sweep:
        names = all_images(a.data, a.max_pixels, a.image_set) if a.all else pick_images(a.n_images, a.data,
                                                                                           a.image_set)
        text = shape_sweep(names, a.data)
        print(text)
        if a.out:
            a.out.write_text(text)
        return
    if a.objects:
        names = all_images(a.data, a.max_pixels, a.image_set) if a.all else pick_images(a.n_images, a.data,
                                                                                           a.image_set)
        from napari_deepsuperpixel.bench.annotate import PIPELINES

        pipelines = PIPELINES if not a.pipelines else [
            (p.split("+refine")[0].split("+clean")[0], "+refine" in p, "+clean" in p) for p in a.pipelines]
        rows, t0 = [], time.perf_counter()
        done = set()
        if a.rows and a.rows.exists():  # resume
            rows = json.loads(a.rows.read_text())
            done = {r["image"] for r in rows if r["exp"] == "baseline"}
        from napari_deepsuperpixel.datasets.folder import FolderDataset as _FD
        for name, image, (gt,) in _FD(a.data, names=[n for n in names if n not in done]):
            t1 = time.perf_counter()
            objects_image(name, image, gt, rows, seeds=range(a.seeds), strokes=a.strokes, fractions=a.fractions,
                          feature_sets=a.features, pipelines=pipelines)
            print(f"{name} {image.shape}: {time.perf_counter() - t1:.1f} s", flush=True)
            if a.rows:
                a.rows.write_text(json.dumps(rows, default=float))
        text = summarise_objects(rows) + (f"\n{len(names)} images; {a.seeds} stroke seeds; "
                                          f"{time.perf_counter() - t0:.0f} s in all.\n")
        print(text)
        if a.out:
            a.out.parent.mkdir(parents=True, exist_ok=True)
            a.out.write_text(text)
        return
    names = pick_images(a.n_images, a.data)
    ds = FolderDataset(a.data, names=names)
    if a.split_sweep:
        print(split_sweep(ds) + f"\n{len(names)} images ({', '.join(names)})")
        return
    rows, t0 = [], time.perf_counter()
    for name, image, (gt,) in ds:
        t1 = time.perf_counter()
        run_image(name, image, gt, rows, a.methods)
        print(f"{name} {image.shape}: {time.perf_counter() - t1:.1f} s", flush=True)
        if a.rows:  # after every image: a long run that is stopped keeps what it measured
            a.rows.write_text(json.dumps(rows, indent=1, default=float))
    text = summarise(rows) + f"\n{len(names)} images ({', '.join(names)}); {time.perf_counter() - t0:.0f} s in all.\n"
    print(text)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text)


if __name__ == "__main__":
    main()
