"""Neural superpixels at the defaults: this checkout against an older one, in one process, alternated.

Usage (from the repository root; ``OLD`` is a checkout of the older code, e.g.
``git worktree add ../ns_before <commit>``)::

    OMP_NUM_THREADS=1 python benchmarks/bench_neural_ab.py --old-src ../ns_before/src \\
        --images 100007,100039,100099 --reps 2 [-p max_iter=20]

Every run is a fresh Python process (the newer code changes glibc's malloc
settings of its process, which would also speed up the older code run after
it in the same process) with ``PYTHONPATH`` set to one version's ``src``; it
warms up with a 2-iteration call and then times ``run_neural_superpixels``
on a BSDS500 test image (as float32 in [0, 1]) with seed 0 and the defaults
(``-p KEY=INT`` overrides). The versions alternate, ``old new`` in even
repetitions and ``new old`` in odd ones. Printed per image: median wall
seconds and median CPU seconds of the timed call (``time.process_time``: less
sensitive to other programs on the machine than the wall time) of each
version and their ratio, whether the labels are identical, the largest
difference of the loss histories, and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, sys, time
import numpy as np, torch
from napari_deepsuperpixel.methods import neural_superpixels as ns
from napari_deepsuperpixel.io.files import read_image
path, kw, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
img = read_image(path).astype(np.float32) / 255
ns.run_neural_superpixels(img, params=ns.NeuralSuperpixelsParams(**{**kw, "max_iter": 2}), seed=0)
t0, c0 = time.perf_counter(), time.process_time()
res = ns.run_neural_superpixels(img, params=ns.NeuralSuperpixelsParams(**kw), seed=0)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
np.savez(out, labels=res.labels, loss=np.asarray(res.extras["loss_history"]), wall=wall, cpu=cpu,
         threads=torch.get_num_threads(), module=ns.__file__)
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old-src", required=True, help="the src/ folder of the older checkout")
    ap.add_argument("--images", default="100007", help="comma-separated BSDS500 image ids")
    ap.add_argument("--split", default="test")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("-p", "--param", action="append", default=[], help="KEY=INT parameter")
    a = ap.parse_args(argv)

    import numpy as np

    from napari_deepsuperpixel.datasets.bsds import find_bsds500

    srcs = {"old": str(Path(a.old_src).resolve()), "new": str(Path(__file__).resolve().parents[1] / "src")}
    kw = json.dumps({k: int(v) for k, v in (s.split("=", 1) for s in a.param)})
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.images.split(","):
            path = str(find_bsds500() / "data" / "images" / a.split / f"{name}.jpg")
            runs = {"old": [], "new": []}
            for r in range(a.reps):
                for tag in ("old", "new") if r % 2 == 0 else ("new", "old"):
                    out = os.path.join(tmp, f"{tag}{r}.npz")
                    subprocess.run([sys.executable, "-c", CHILD, path, kw, out], check=True,
                                   env={**env, "PYTHONPATH": srcs[tag]})
                    res = dict(np.load(out))
                    if not str(res["module"]).startswith(srcs[tag]):
                        raise SystemExit(f"{tag} run imported {res['module']}")
                    runs[tag].append(res)
            med = {t: {k: float(np.median([r[k] for r in runs[t]])) for k in ("wall", "cpu")} for t in runs}
            same_seed = all(np.array_equal(runs[t][0]["labels"], r["labels"]) for t in runs for r in runs[t])
            same = np.array_equal(runs["old"][0]["labels"], runs["new"][0]["labels"])
            dloss = np.abs(runs["old"][0]["loss"] - runs["new"][0]["loss"]).max()
            print(f"{name}: wall old {med['old']['wall']:.1f} s new {med['new']['wall']:.1f} s ratio "
                  f"{med['new']['wall'] / med['old']['wall']:.3f} | CPU old {med['old']['cpu']:.1f} s new "
                  f"{med['new']['cpu']:.1f} s ratio {med['new']['cpu'] / med['old']['cpu']:.3f} | labels identical "
                  f"{same} (repeat runs identical {same_seed}) | max |loss difference| {dloss:.3g} | torch threads "
                  f"{int(runs['new'][0]['threads'])} | load {os.getloadavg()[0]:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
