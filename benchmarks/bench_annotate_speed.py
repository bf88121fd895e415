"""Seconds of the annotation steps on a 2048 x 2048 image with about 20,000 superpixels.

Square superpixels of 14 x 14 pixels (21,609) on a synthetic 16-bit image; three
strokes. Each step once, in this process (the widget runs the slow ones in a worker).

Usage::

    python benchmarks/bench_annotate_speed.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)  # no options: --help only
    from napari_deepsuperpixel.annotate import (
        SuperpixelIndex,
        classify_superpixels,
        merge_hierarchy,
        superpixel_features,
        to_instances,
    )
    from napari_deepsuperpixel.bench.tables import markdown_table

    n, side = 2048, 14
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:n, :n]
    sp = ((yy // side) * -(-n // side) + xx // side + 1).astype(np.int32)
    img = (rng.random((n, n)) * 50 + 100 * ((np.sin(yy / 40) + np.sin(xx / 33)) > 0.5)).astype(np.uint16)
    strokes = np.zeros_like(sp)
    strokes[100, 100:300], strokes[500, 100:900], strokes[1200, 1000:1500] = 1, 2, 1
    rows = []

    def timed(name, fn, *args, **kwargs):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        rows.append((name, time.perf_counter() - t0))
        return out

    feats = timed("feature table", lambda: superpixel_features(img, sp))
    res = timed("train + predict (random forest, cached features)",
                lambda: classify_superpixels(None, sp, strokes, features=feats))
    timed("instances (with boundary contrast)", lambda: to_instances(res.labels, sp, 1, image=img))
    for weight in ("boundary", "color"):
        tree = timed(f"merge tree ({weight})", merge_hierarchy, img, sp, weight=weight)
        timed(f"one cut of the cached tree ({weight})", tree.cut, tree.max_height / 2)
    idx = timed("superpixel index (once per layer)", lambda: SuperpixelIndex(sp))
    timed("pixels of 10 superpixels (one paint event)", lambda: idx.pixels(range(1, 11)))
    print(f"{int(sp.max())} superpixels on {n} x {n}\n")
    print(markdown_table(["step", "seconds"], [[name, f"{sec:.3f}"] for name, sec in rows]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
