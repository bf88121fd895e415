"""Warm time of ``backprop`` at its defaults: an older checkout's module against this one, in one process.

Usage (from the repository root)::

    git worktree add ../bp_before <commit>
    OMP_NUM_THREADS=1 python benchmarks/bench_backprop_ab.py --old ../bp_before --reps 2 -o out/bp_ab.json

For each of the first ``--limit`` BSDS500 test images (sorted file names), the old
module (``methods/backprop.py`` of the checkout given by ``--old``, loaded beside the
installed package) and the new one run alternately, old first, ``--reps`` times each,
after a short warm-up of both on the first image; the table gives the median seconds,
the ratio new / old, the iterations and segments of each, and the load average. Both
run the prepared [0, 1] image through ``run_backprop`` with their own defaults, one
torch thread. The ratio, not the absolute seconds, is what a shared machine can measure.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from pathlib import Path


def load_old(checkout: Path):
    path = checkout / "src" / "napari_deepsuperpixel" / "methods" / "backprop.py"
    if not path.is_file():
        raise SystemExit(f"--old: {path} not found")
    spec = importlib.util.spec_from_file_location("napari_deepsuperpixel.methods._backprop_old", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=Path, required=True, help="checkout of the older code")
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("-o", "--output", type=Path, help="JSON rows (rewritten after each image)")
    a = ap.parse_args(argv)

    import numpy as np
    import torch

    from napari_deepsuperpixel.bench.tables import markdown_table
    from napari_deepsuperpixel.datasets.bsds import find_bsds500
    from napari_deepsuperpixel.io.files import read_image
    from napari_deepsuperpixel.methods import backprop as new

    torch.set_num_threads(1)
    old = load_old(a.old)
    images = sorted((find_bsds500() / "data" / "images" / "test").glob("*.jpg"))[: a.limit]

    def run(mod, img, **kw):
        t0 = time.perf_counter()
        res = mod.run_backprop(img, params=mod.BackpropParams(**kw))
        return time.perf_counter() - t0, res.extras["n_iter"], int(res.labels.max())

    first = read_image(images[0]).astype(np.float32) / 255
    run(old, first, max_iter=3)
    run(new, first, max_iter=3)
    rows = []
    for path in images:
        img = read_image(path).astype(np.float32) / 255
        a_runs, b_runs = [], []
        for _ in range(a.reps):
            a_runs.append(run(old, img))
            b_runs.append(run(new, img))
        ta = statistics.median(r[0] for r in a_runs)
        tb = statistics.median(r[0] for r in b_runs)
        rows.append({"image": path.stem, "old_s": ta, "new_s": tb, "ratio": tb / ta, "old_iter": a_runs[0][1],
                     "new_iter": b_runs[0][1], "old_segments": a_runs[0][2], "new_segments": b_runs[0][2],
                     "load": os.getloadavg()[0]})
        print(json.dumps(rows[-1]), flush=True)
        if a.output:
            a.output.parent.mkdir(parents=True, exist_ok=True)
            a.output.write_text(json.dumps(rows, indent=1))
    print()
    print(markdown_table(["image", "old s", "new s", "new / old", "iterations old / new", "segments old / new",
                          "load"],
                         [[r["image"], f"{r['old_s']:.2f}", f"{r['new_s']:.2f}", f"{r['ratio']:.2f}",
                           f"{r['old_iter']} / {r['new_iter']}", f"{r['old_segments']} / {r['new_segments']}",
                           f"{r['load']:.1f}"] for r in rows], "lrrrrrr"))
    print(f"\nmedian ratio new / old: {statistics.median(r['ratio'] for r in rows):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
