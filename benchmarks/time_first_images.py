"""Warm seconds of methods at their defaults on the first BSDS500 test images.

Usage (from the repository root)::

    python benchmarks/time_first_images.py backprop neural_superpixels --limit 10 --json out.json

For each method: one warm-up call on a 64 x 64 crop, then ``segment_result(image,
method, seed=0)`` on each of the first ``--limit`` test images (sorted file
names), timed with ``perf_counter``; scikit-image's SLIC (100 segments) on the
same image is timed beside it as a yardstick of the machine's state (0.07-0.10 s
on a quiet 2-core machine). Prints one line per image: seconds, iterations (the
progress callbacks), segments. Threads: the package's default (``NDS_THREADS``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("methods", nargs="+")
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "BSDS500")
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args(argv)

    from skimage import io
    from skimage.segmentation import slic

    import napari_deepsuperpixel as nds

    images = sorted((args.data / "data" / "images" / "test").glob("*.jpg"))[: args.limit]
    if not images:
        raise SystemExit(f"--data: no test images under {args.data}")
    rows = []
    for method in args.methods:
        nds.segment(io.imread(images[0])[:64, :64], method, seed=0)
        for path in images:
            image = io.imread(path)
            t = time.perf_counter()
            slic(image, n_segments=100, start_label=1)
            yardstick = time.perf_counter() - t
            ticks: list = []
            t = time.perf_counter()
            res = nds.segment_result(image, method, seed=0, progress=ticks.append)
            seconds = time.perf_counter() - t
            rows.append({"method": method, "image": path.stem, "seconds": round(seconds, 2),
                         "slic_s": round(yardstick, 3), "progress_calls": len(ticks),
                         "segments": int(len(np.unique(res.labels)))})
            print(rows[-1], flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
