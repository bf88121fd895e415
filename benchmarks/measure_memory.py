"""The peak memory of each method's 2D run, per pixel: the ``bytes_per_pixel`` the registry declares.

Each method runs in its own process: a warm-up on a 64 x 64 image (imports,
numba compilation, model weights), then one run on the astronaut picture of
scikit-image resized to ``--side`` x ``--side`` (RGB, uint8). The number is the
growth of the process's peak resident memory during that run divided by the
pixels (:func:`napari_deepsuperpixel.bench.memory.peak_rss_mb`); the deep methods
run their fast settings (two iterations: the memory of one iteration is that of
all)::

    python benchmarks/measure_memory.py --side 1024 slic snic felzenszwalb quickshift meanshift watershed
    python benchmarks/measure_memory.py --side 384 backprop neural_superpixels dsc superae sen sen_contours

Set ``OMP_NUM_THREADS=1`` for numbers comparable with a busy machine's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

#: the fast settings of the deep methods
FAST = {"backprop": {"preset": "fast", "max_iter": 2}, "neural_superpixels": {"preset": "fast", "max_iter": 2},
        "dsc": {"max_iter": 2}}


def _one(method: str, side: int) -> dict:
    import numpy as np
    from skimage import data, transform

    import napari_deepsuperpixel as nds
    from napari_deepsuperpixel.bench.memory import peak_rss_mb

    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    kw = FAST.get(method, {})
    nds.segment((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8), method, **kw)
    img = (transform.resize(data.astronaut(), (side, side, 3)) * 255).astype(np.uint8)
    base = peak_rss_mb()
    nds.segment(img, method, **kw)
    grown = (peak_rss_mb() - base) * 2**20
    return {"method": method, "side": side, "bytes_per_pixel": round(grown / side**2, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("methods", nargs="*", help="registry names (default: all)")
    ap.add_argument("--side", type=int, default=1024, help="the image side in pixels (default 1024)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_one(args.methods[0], args.side)))
        return 0
    import napari_deepsuperpixel as nds

    for m in args.methods or [m.name for m in nds.list_methods()]:
        proc = subprocess.run([sys.executable, __file__, "--child", "--side", str(args.side), m],
                              capture_output=True, text=True, check=False)
        line = proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 else json.dumps(
            {"method": m, "error": proc.stderr.strip().splitlines()[-1:]})
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
