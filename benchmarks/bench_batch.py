"""Images per second of a batch: the 100 DSB2018 images with 1 and 2 worker processes and on a Dask LocalCluster.

Every configuration segments all images of ``../shared/microscopy/dsb2018_stage1_subset/images``
into a fresh folder through :func:`napari_deepsuperpixel.batch.run_batch` (the code path
of ``deepsuperpixel segment --workers N`` and ``--scheduler ADDRESS``), writing the labels
TIFF of each image and the summary table. The wall time includes starting the worker
processes (spawn, imports, numba kernels from the disk cache); the LocalCluster
(2 worker processes, 1 thread each) is started before the clock starts, as a running
cluster would be. The configurations run one after the other, ``--repeats`` times each
in turn, and the median is reported.

Usage (one configuration per process keeps each run short; the results accumulate in
``WORK/results.json`` and every call prints the table of what is there)::

    python benchmarks/bench_batch.py --config w1      # 1 worker (this process)
    python benchmarks/bench_batch.py --config w2      # 2 worker processes
    python benchmarks/bench_batch.py --config dask    # LocalCluster, 2 worker processes x 1 thread
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "microscopy" / "dsb2018_stage1_subset"


def run(images, method, out, **kw):
    from napari_deepsuperpixel.batch import plan_batch, run_batch

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    plan = plan_batch(images, method, out, formats=["tif"])
    rows = run_batch(plan, device="cpu", **kw)
    sec = time.perf_counter() - t0
    assert len(rows) == len(plan.todo)
    return sec


CONFIGS = {"w1": "1 worker", "w2": "2 workers", "dask": "LocalCluster (2 x 1 thread)"}


def main(argv=None) -> int:
    import json

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-m", "--method", default="snic")
    ap.add_argument("--config", choices=list(CONFIGS), action="append")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path("/tmp/nds_batch"))
    args = ap.parse_args(argv)
    import numpy as np

    import napari_deepsuperpixel as nds
    from napari_deepsuperpixel.bench.tables import markdown_table

    nds.segment(np.random.default_rng(0).random((32, 32)), args.method, n_segments=4)  # kernels compiled/cached
    images = [SHARED / "images"]
    n = len(list((SHARED / "images").glob("*.png")))
    args.work.mkdir(parents=True, exist_ok=True)
    store = args.work / "results.json"
    results = json.loads(store.read_text()) if store.exists() else {}
    for cfg in args.config or []:
        times = []
        for _ in range(args.repeats):
            if cfg == "dask":
                from distributed import LocalCluster

                with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
                    times.append(run(images, args.method, args.work / cfg, scheduler=cluster.scheduler_address))
            else:
                times.append(run(images, args.method, args.work / cfg, workers=1 if cfg == "w1" else 2))
        results[cfg] = {"seconds": statistics.median(times), "n": n, "method": args.method}
        store.write_text(json.dumps(results, indent=1))
    ref = results.get("w1", {}).get("seconds")
    print(f"{n} images, {args.method} at its defaults, median of {args.repeats}\n")
    print(markdown_table(["configuration", "seconds", "images / s", "speed-up vs 1 worker"],
                         [[CONFIGS[cfg], f"{r['seconds']:.1f}", f"{r['n'] / r['seconds']:.2f}",
                           f"{ref / r['seconds']:.2f}x" if ref else "-"] for cfg, r in results.items()]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
