"""3D supervoxels on a synthetic nuclei volume: SNIC 3D vs scikit-image's SLIC 3D, and 3D vs slice by slice.

The volume is :func:`napari_deepsuperpixel.datasets.synthetic.nuclei_volume`
(seeded, generated here: touching nuclei, anisotropic blur, Poisson noise,
voxel size 2 x 0.5 x 0.5 µm) with its instance ground truth. Every
configuration runs in its own Python process, so that its peak resident
memory (``VmHWM`` of ``/proc/self/status``) is its own; the process loads the volume, warms the
numba kernels on a tiny volume, then times one ``segment`` call (``--repeats``
calls: the median). Rows:

* ``3d``: ``segment(volume, method, axes="ZYX", mode="3d", spacing=(2, 0.5, 0.5), n_segments=K)``;
* ``slices``: the same method per 2D slice with ``K / Z`` segments per slice
  (the same total), labels distinct per slice;
* ``--defaults backprop``: a method at its defaults in 3D (``K`` is ``-``: the method
  chooses its count), with the preset it resolved to and the iterations it ran.

ASA and UE (Neubert & Protzel) are against the 3D ground truth (background
is one segment). "segments" is the number of labels actually returned:
scikit-image's SLIC returns fewer than requested on this volume, so with
``--match-counts`` a method more than 5 % off is run again with the request
scaled to give about ``K`` (the "requested" column).

Usage (from the repository root)::

    python benchmarks/bench_3d.py --shape 64,512,512 --counts 2000,10000 --match-counts
    python benchmarks/bench_3d.py --shape 32,256,256 --counts 2000,10000 --match-counts   # a quick run
    python benchmarks/bench_3d.py --shape 32,256,256 --counts 0 --defaults backprop --repeats 3
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SPACING = (2.0, 0.5, 0.5)


def child(args) -> None:
    """One configuration in this process: print seconds, peak RSS and the labels' file."""
    import napari_deepsuperpixel as nds
    from napari_deepsuperpixel.bench.memory import peak_rss_mb

    img = np.load(args.volume)
    rss0 = peak_rss_mb()
    mode, method, k, request = args.child.split(":")
    k, request = int(k), int(request)
    per = max(1, request // img.shape[0]) if mode == "slices" else request
    kw = dict(axes="ZYX", mode=mode, spacing=SPACING, n_segments=per)
    if k == 0:  # the method's defaults
        del kw["n_segments"]
    nds.segment(img[:4, :24, :24], method, **{**kw, "n_segments": 4} if k else kw)  # compile / load the kernels
    times, extras = [], {}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        res = nds.segment_result(img, method, **kw)
        times.append(time.perf_counter() - t0)
        lab = res.labels
        extras = {key: res.extras[key] for key in ("preset", "n_iter") if key in res.extras}
    out = Path(args.volume).with_name(f"{mode}_{method}_{k}_{request}.npy")
    np.save(out, lab)
    rss = peak_rss_mb()
    print(json.dumps({"seconds": float(np.median(times)), "peak_rss_mb": rss, "loaded_rss_mb": rss0,
                      "labels": str(out), **extras}))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", default="64,512,512", help="Z,Y,X of the synthetic volume")
    ap.add_argument("--counts", default="2000,10000", help="supervoxel counts K")
    ap.add_argument("--methods", default="snic,slic")
    ap.add_argument("--modes", default="3d,slices")
    ap.add_argument("--defaults", default="", help="methods also run once in 3D at their defaults (e.g. backprop)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--match-counts", action="store_true",
                    help="run a method again with a scaled request when it returned more than 5%% off K")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--volume", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args)
        return 0

    from napari_deepsuperpixel.bench.tables import markdown_table
    from napari_deepsuperpixel.datasets.synthetic import nuclei_volume
    from napari_deepsuperpixel.metrics.superpixel import achievable_segmentation_accuracy, undersegmentation_error_np

    shape = tuple(int(v) for v in args.shape.split(","))
    t0 = time.perf_counter()
    img, gt = nuclei_volume(shape, spacing=SPACING, seed=args.seed)
    print(f"volume {shape} uint16, {int(gt.max())} nuclei, generated in {time.perf_counter() - t0:.1f} s; "
          f"{platform.processor() or platform.machine()}, Python {platform.python_version()}", file=sys.stderr)
    rows = []
    runs = [(int(k), mode, method) for k in args.counts.split(",") if int(k)
            for mode in args.modes.split(",") for method in args.methods.split(",")]
    runs += [(0, "3d", method) for method in args.defaults.split(",") if method]
    with tempfile.TemporaryDirectory() as tmp:
        vol = Path(tmp) / "volume.npy"
        np.save(vol, img)
        for k, mode, method in runs:
            request = k
            for attempt in range(2):
                cmd = [sys.executable, __file__, "--child", f"{mode}:{method}:{k}:{request}", "--volume",
                       str(vol), "--repeats", str(args.repeats)]
                res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                                 .strip().splitlines()[-1])
                lab = np.load(res["labels"])
                n = int(lab.max())
                row = {"K": k or "-", "mode": mode, "method": method + (
                           f" ({res['preset']} preset, {res['n_iter']} iterations)" if "preset" in res else ""),
                       "requested": request or "-", "segments": n,
                       "seconds": res["seconds"], "peak_rss_mb": res["peak_rss_mb"],
                       "loaded_rss_mb": res["loaded_rss_mb"], "asa": achievable_segmentation_accuracy(lab, gt),
                       "ue": undersegmentation_error_np(lab, gt)}
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
                if attempt or not k or abs(n - k) <= 0.05 * k or not args.match_counts:
                    break
                request = int(round(request * k / n))  # ask again so that about K come back
    print(markdown_table(["K", "mode", "method", "requested", "segments", "time (s)", "peak RSS (MB)", "ASA", "UE"],
                         [[r["K"], r["mode"], r["method"], r["requested"], r["segments"], f"{r['seconds']:.1f}",
                           f"{r['peak_rss_mb']:.0f}", f"{r['asa']:.4f}", f"{r['ue']:.4f}"] for r in rows],
                         "rllrrrrrr"))
    print(f"\n(peak RSS includes the loaded volume and the imports: {rows[0]['loaded_rss_mb']:.0f} MB before the run)")
    for k in sorted({r["K"] for r in rows if r["K"] != "-"}):
        snic = [r for r in rows if r["K"] == k and r["mode"] == "3d" and r["method"] == "snic"]
        slic = [r for r in rows if r["K"] == k and r["mode"] == "3d" and r["method"] == "slic"]
        if snic and slic:  # the last SLIC row: the count-matched one when there is one
            print(f"K={k}: SLIC 3D ({slic[-1]['segments']} segments) / SNIC 3D ({snic[0]['segments']}) time ratio "
                  f"{slic[-1]['seconds'] / snic[0]['seconds']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
