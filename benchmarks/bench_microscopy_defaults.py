"""The per-image deep methods at their defaults on the DSB2018 fluorescence nuclei, next to classical baselines.

For each fluorescence image of the DSB2018 subset (``../shared/microscopy``, or
``--root``) and each method, one run at the method's defaults (``-p`` adds
parameters to the deep methods, to compare variants); the image is stored as
12-bit data in uint16 (x 16) with ``--uint16``, as a 16-bit camera would. Scores
against the instance masks (label 0 = background):

* object precision / recall / F1 at IoU 0.5 (:func:`napari_deepsuperpixel.metrics.
  segment_f.match_segments` with ``background=0``: a predicted segment more than
  half of which is background counts as background, neither right nor wrong);
* ASA and boundary recall (r = 2) of the segments as superpixels
  (:mod:`napari_deepsuperpixel.metrics.superpixel`), with the background as one more
  ground-truth region;
* the number of segments and the share of the largest one.

Methods: ``backprop``, ``neural_superpixels``, ``dsc`` (defaults), ``otsu`` (Otsu's threshold
on the smoothed image, 4-connected components of the foreground, the background one
segment), ``snic`` and ``felzenszwalb`` at their defaults, and ``snic@ns`` (SNIC
asked for as many segments as neural superpixels returned on that image).

Every (method, image) result is kept in ``--cache`` (JSON), so an interrupted run
resumes. Usage::

    python benchmarks/bench_microscopy_defaults.py --limit 12 --cache out/dsb_defaults
    python benchmarks/bench_microscopy_defaults.py --limit 12 --methods backprop -p continuity_weight=0 \\
        --tag cw0 --cache out/dsb_defaults
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

METHODS = ("backprop", "neural_superpixels", "dsc", "otsu", "snic", "felzenszwalb", "snic@ns")
DEEP = ("backprop", "neural_superpixels", "dsc")


def find_root(root) -> Path:
    if root:
        return Path(root)
    here = Path(__file__).resolve().parents[2] / "shared" / "microscopy" / "dsb2018_stage1_subset"
    if not here.is_dir():
        raise SystemExit(f"microscopy subset not found at {here}; pass --root")
    return here


def fluorescence_pairs(root: Path, limit: int) -> list:
    """``limit`` fluorescence (image, mask) pairs spread evenly over the sorted list (all when 0)."""
    with open(root / "metadata.csv") as f:
        rows = sorted((r for r in csv.DictReader(f) if r["category"] == "fluorescence"), key=lambda r: r["image"])
    if limit and limit < len(rows):
        rows = [rows[i] for i in np.linspace(0, len(rows) - 1, limit).round().astype(int)]
    return [(root / r["image"], root / r["mask"]) for r in rows]


def otsu_components(img) -> np.ndarray:
    from scipy import ndimage as ndi
    from skimage.filters import gaussian, threshold_otsu

    g = gaussian(img.astype(np.float64), 1.0)
    fg = g > threshold_otsu(g)
    lab, n = ndi.label(fg)
    lab[~fg] = n + 1  # the background is one segment
    return lab


def scores(labels, gt) -> dict:
    from napari_deepsuperpixel.metrics.segment_f import match_segments, segment_f_measure
    from napari_deepsuperpixel.metrics.superpixel import achievable_segmentation_accuracy, boundary_recall

    m = match_segments(labels, [gt], thresholds=(0.5,), background=0, drop_background_segments=True)
    f = segment_f_measure(m, threshold=0.5)
    counts = np.bincount(np.unique(labels, return_inverse=True)[1].ravel())
    return {"obj_p": f["precision"], "obj_r": f["recall"], "obj_f1": f["f"],
            "asa": float(achievable_segmentation_accuracy(labels, [gt])),
            "br": float(boundary_recall(labels, [gt], r=2)),
            "segments": int(len(counts)), "largest": float(counts.max() / labels.size)}


def paired_vs(rows: dict, tag: str, ref: str) -> str:
    """Object F1 of ``tag`` minus ``ref``'s on the same images: mean +- the 95 % interval (t), or "-"."""
    if tag == ref or ref not in rows or len(rows[ref]) != len(rows[tag]) or len(rows[tag]) < 2:
        return "-"
    from scipy import stats

    d = np.array([a["obj_f1"] - b["obj_f1"] for a, b in zip(rows[tag], rows[ref])])
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    return f"{d.mean():+.3f} ± {half:.3f}"


def run_one(method, img, params, seed, ns_count=None) -> tuple:
    from napari_deepsuperpixel import segment_result

    t0 = time.perf_counter()
    if method == "otsu":
        return otsu_components(img), time.perf_counter() - t0, {}
    if method == "snic@ns":
        res = segment_result(img, "snic", n_segments=int(ns_count), seed=seed)
    else:
        res = segment_result(img, method, seed=seed, **(params if method in DEEP else {}))
    ex = {k: res.extras[k] for k in ("n_iter", "stopped_early") if k in res.extras}
    return res.labels, time.perf_counter() - t0, ex


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", help="the DSB2018 subset folder (default: ../shared/microscopy/dsb2018_stage1_subset)")
    ap.add_argument("--limit", type=int, default=12, help="images, spread over the 44 (0: all)")
    ap.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS)
    ap.add_argument("-p", "--param", action="append", default=[], help="KEY=VALUE for the deep methods")
    ap.add_argument("--tag", default="", help="name of this variant in the cache and the table")
    ap.add_argument("--uint16", action="store_true", help="store each image as 12-bit data in uint16 (x 16)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, required=True, help="folder of per-(method, image) JSON results")
    a = ap.parse_args(argv)

    from napari_deepsuperpixel.bench.settings import parse_settings
    from napari_deepsuperpixel.bench.tables import markdown_table
    from napari_deepsuperpixel.io.files import read_image

    params = parse_settings(a.param, "-p")
    a.cache.mkdir(parents=True, exist_ok=True)
    pairs = fluorescence_pairs(find_root(a.root), a.limit)
    suffix = ("-" + a.tag if a.tag else "") + ("-u16" if a.uint16 else "")
    rows = {}
    for ip, mp in pairs:
        img = read_image(ip)
        img = img if img.ndim == 2 else img[..., 0]
        if a.uint16:
            img = img.astype(np.uint16) * 16
        gt = read_image(mp).astype(np.int64)
        for method in a.methods:
            tag = method + (suffix if method in DEEP else ("-u16" if a.uint16 else ""))
            path = a.cache / f"{tag.replace('@', '_at_')}--{ip.stem}.json"
            if path.exists():
                row = json.loads(path.read_text())
            else:
                ns = None
                if method == "snic@ns":
                    ns_path = a.cache / f"neural_superpixels{suffix}--{ip.stem}.json"
                    if not ns_path.exists():
                        print(f"snic@ns needs neural_superpixels first ({ns_path.name})", file=sys.stderr)
                        continue
                    ns = json.loads(ns_path.read_text())["segments"]
                labels, secs, ex = run_one(method, img, params, a.seed, ns)
                row = {**scores(labels, gt), "seconds": secs, **ex, "n_gt": int(gt.max())}
                path.write_text(json.dumps(row))
            rows.setdefault(tag, []).append(row)
            print(f"{tag:<28} {ip.stem:<36} F1 {row['obj_f1']:.3f} ASA {row['asa']:.3f} BR {row['br']:.3f} "
                  f"seg {row['segments']:>5} largest {row['largest']:.3f} {row['seconds']:.1f} s "
                  f"{ {k: row[k] for k in ('n_iter', 'stopped_early') if k in row} }", flush=True)
    keys = ("obj_f1", "obj_p", "obj_r", "asa", "br", "segments", "largest", "seconds")
    lines = [[tag, len(rs)] + [f"{np.mean([r[k] for r in rs]):.3f}" if k not in ("segments", "seconds")
                              else f"{np.mean([r[k] for r in rs]):.1f}" for k in keys] + [paired_vs(rows, tag, "otsu")]
             for tag, rs in rows.items()]
    print(f"\n{len(pairs)} DSB2018 fluorescence images, seed {a.seed}, torch threads of the runs: "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}, NDS_THREADS={os.environ.get('NDS_THREADS', 'auto')}"
          " (cached rows keep the threads they ran with); means over images\n")
    print(markdown_table(["method", "images", "object F1@0.5", "precision", "recall", "ASA", "BR (r=2)", "segments",
                          "largest segment", "s / image", "F1 vs Otsu + CC"], lines, "lr" + "r" * (len(keys) + 1)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
