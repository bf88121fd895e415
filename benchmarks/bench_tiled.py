"""Tiled vs untiled superpixels on a large microscopy mosaic: seconds, peak RSS, seam effect, ASA/BR.

The image is built from real microscopy: the fluorescence images of the DSB2018 subset
(``../shared/microscopy/dsb2018_stage1_subset``) packed into a 2000 x 2000 mosaic, which is
repeated (mirrored every other time) over ``SIZE x SIZE`` pixels and shifted by 700
pixels so that the mosaic's seams do not fall on block borders; 8-bit values become
uint16 (x 257). The ground truth (nucleus masks) is built the same way, each copy with
its own labels. The image is stored as a tiled TIFF (512 x 512 tiles) in ``--work``.

Each step runs in its own process (peak RSS: the process's maximum,
:func:`napari_deepsuperpixel.bench.memory.peak_rss_mb`, imports and reading included)::

    python benchmarks/bench_tiled.py make     --size 8192 --work /tmp/tiled
    python benchmarks/bench_tiled.py untiled  --size 8192 --work /tmp/tiled -m snic
    python benchmarks/bench_tiled.py tiled    --size 8192 --work /tmp/tiled -m snic --tile 4096
    python benchmarks/bench_tiled.py compare  --size 8192 --work /tmp/tiled -m snic --tile 4096
    python benchmarks/bench_tiled.py figure   --size 8192 --work /tmp/tiled -m snic --tile 4096
    python benchmarks/bench_tiled.py report   --work /tmp/tiled

``untiled`` reads the whole TIFF into memory and runs ``segment(..., block_size=None)``;
``tiled`` opens it lazily (tifffile's zarr store, nothing read up front) and writes the
labels to a zarr store block by block (``segment(..., block_size=T, out=...)``);
``tiled --array`` reads the same pixels whole into a numpy array first (``np.load`` of
``image_SIZE.npy``, as a napari layer holds them) and
returns the labels as a numpy array; it records the resident memory just before
the run (imports and the image) and the peak above it, to be compared with the
labels and 0.5 GB (the input is in memory before the run); ``tiled --memmap`` does the
same with the image as a memory map of ``image_SIZE.npy`` (its pages count as they are
read)::

    python benchmarks/bench_tiled.py make --size 16384 --work /tmp/tiled
    OMP_NUM_THREADS=1 python benchmarks/bench_tiled.py tiled --array --size 16384 --work /tmp/tiled -m snic --tile auto
    OMP_NUM_THREADS=1 python benchmarks/bench_tiled.py tiled --array --size 16384 --work /tmp/tiled -m snic --tile auto --n-segments 100000
    OMP_NUM_THREADS=1 python benchmarks/bench_tiled.py tiled --memmap --size 16384 --work /tmp/tiled -m snic --tile auto

``compare`` measures, at every block border (vertical and horizontal lines), the
untiled superpixels that cross it and whether the tiled labels still cross it there
(``cut``: the tiled run has no same-label pixel pair across the border where the untiled
superpixel has some), the same at the lines half way between borders (a control: what
differs anyway), the share of pixels with the same label (SNIC numbers superpixels by
their seed in both runs), and ASA and boundary recall (r = 2) against the ground truth on
2048 x 2048 crops centred on block corners.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from napari_deepsuperpixel.bench.memory import RssSampler, cpu_seconds, current_rss_mb, peak_rss_mb

SHARED = Path(__file__).resolve().parents[2] / "shared" / "microscopy" / "dsb2018_stage1_subset"
BASE, SHIFT, PIXELS_PER_SP = 2000, 700, 1600


def _base():
    """The 2000 x 2000 mosaic of fluorescence images and its nucleus labels (shelf packing)."""
    import imageio.v3 as iio

    img = np.zeros((BASE, BASE), np.uint8)
    gt = np.zeros((BASE, BASE), np.int32)
    y = x = row_h = 0
    n = 0
    names = sorted((SHARED / "images").glob("fluorescence_*.png"))
    if not names:
        sys.exit(f"no DSB2018 images in {SHARED}")
    while y < BASE:
        for p in names:
            a, m = iio.imread(p), iio.imread(SHARED / "masks" / p.name).astype(np.int32)
            h, w = a.shape[:2]
            if x + w > BASE:
                y, x, row_h = y + row_h, 0, 0
            if y >= BASE:
                break
            hh, ww = min(h, BASE - y), min(w, BASE - x)
            img[y:y + hh, x:x + ww] = a[:hh, :ww]
            mm = m[:hh, :ww]
            gt[y:y + hh, x:x + ww] = np.where(mm > 0, mm + n, 0)
            n += int(m.max())
            x += w
            row_h = max(row_h, h)
    return img, gt, n


def _mosaic(base, y0, y1, x0, x1, n_labels=None):
    """Pixels ``[y0, y1) x [x0, x1)`` of the repeated, mirrored, shifted mosaic (labels: per copy)."""
    yy = np.arange(y0, y1) + SHIFT
    xx = np.arange(x0, x1) + SHIFT
    cy, cx = yy // BASE, xx // BASE
    ry = np.where(cy % 2, BASE - 1 - yy % BASE, yy % BASE)
    rx = np.where(cx % 2, BASE - 1 - xx % BASE, xx % BASE)
    out = base[ry[:, None], rx[None, :]]
    if n_labels is not None:
        copy = cy[:, None] * 1000 + cx[None, :]
        out = np.where(out > 0, out.astype(np.int64) + copy * (n_labels + 1), 0)
    return out


def cmd_make(args):
    import tifffile

    img, gt, n = _base()
    np.save(args.work / "base_img.npy", img)
    np.save(args.work / "base_gt.npy", gt)
    (args.work / "base_n.txt").write_text(str(n))
    s = args.size
    full = np.empty((s, s), np.uint16)
    for y in range(0, s, 2048):
        full[y:y + 2048] = _mosaic(img, y, min(s, y + 2048), 0, s).astype(np.uint16) * 257
    tifffile.imwrite(args.work / f"image_{s}.tif", full, tile=(512, 512))
    np.save(args.work / f"image_{s}.npy", full)  # the same pixels for tiled --memmap
    print(f"wrote {args.work / f'image_{s}.tif'} and .npy ({full.nbytes / 2**20:.0f} MB of pixels)")


def _record(args, name, row):
    path = args.work / "results.json"
    rows = json.loads(path.read_text()) if path.exists() else {}
    rows[name] = row
    path.write_text(json.dumps(rows, indent=1))
    print(name, row)


def _params(args, size):
    return {"n_segments": args.n_segments or size * size // PIXELS_PER_SP}


def cmd_untiled(args):
    import tifffile

    import napari_deepsuperpixel as nds

    s = args.size
    nds.segment(np.zeros((64, 64), np.uint16) + np.arange(64, dtype=np.uint16), args.method, n_segments=4)  # kernels
    t0, c0 = time.perf_counter(), cpu_seconds()
    img = tifffile.imread(args.work / f"image_{s}.tif")
    labels = nds.segment(img, args.method, block_size=None, **_params(args, s))
    sec = time.perf_counter() - t0
    np.save(args.work / f"untiled_{args.method}_{s}.npy", labels)
    _record(args, f"untiled {args.method} {s}", {"seconds": round(sec, 1), "cpu_seconds": round(cpu_seconds() - c0, 1),
                                                   "peak_rss_mb": round(peak_rss_mb()), "segments": int(labels.max())})


def cmd_tiled(args):
    import shutil

    import napari_deepsuperpixel as nds
    from napari_deepsuperpixel.io.lazy import open_tiff_lazy

    s = args.size
    nds.segment(np.zeros((64, 64), np.uint16) + np.arange(64, dtype=np.uint16), args.method, n_segments=4)
    out = args.work / f"tiled_{args.method}_{s}_{args.tile}.zarr"
    shutil.rmtree(out, ignore_errors=True)
    t0, c0 = time.perf_counter(), cpu_seconds()
    if args.memmap:  # a memory-mapped array (np.load(..., mmap_mode="r")), the labels a numpy array
        img, out = np.load(args.work / f"image_{s}.npy", mmap_mode="r"), None
        base_mb, held_mb = peak_rss_mb(), current_rss_mb()
    elif args.array:  # an array in memory (a napari layer): read whole first, the labels a numpy array too
        # np.load of the same pixels (written by make): reading the TIFF with tifffile leaves about
        # 260 MB of freed reader buffers in the process, which is the reader's, not the blocks path's
        img, out = np.load(args.work / f"image_{s}.npy"), None
        base_mb, held_mb = peak_rss_mb(), current_rss_mb()
    else:
        img = open_tiff_lazy(args.work / f"image_{s}.tif")
    blocks = []
    stage = ["blocks"]  # the stage of the last progress report (a block's is reported when the block ends)

    def progress(ev):
        blocks.append((ev.stage, time.perf_counter()))
        stage[0] = ev.stage

    with RssSampler(lambda: stage[0]) as sampler:
        res = nds.segment_result(img, args.method, block_size=args.tile, out=out, progress=progress,
                                 **_params(args, s))
    sec = time.perf_counter() - t0
    firsts = [t for st, t in blocks if st == "blocks"]
    per_block = (firsts[-1] - t0) / len(firsts) if firsts else None
    extra = {"input_and_output_mb": round((img.nbytes + 4 * s * s) / 2**20), "peak_after_reading_mb": round(base_mb),
             "rss_before_run_mb": round(held_mb), "peak_above_before_run_mb": round(peak_rss_mb() - held_mb),
             "labels_mb": round(4 * s * s / 2**20)} if args.array or args.memmap else {}
    name = f"tiled {args.method} {s} {args.tile}" + (f" n{args.n_segments}" if args.n_segments else "")
    _record(args, name + (" memmap" if args.memmap else " array" if args.array else ""), {**extra,
        "seconds": round(sec, 1), "cpu_seconds": round(cpu_seconds() - c0, 1), "peak_rss_mb": round(peak_rss_mb()),
        "segments": res.extras["n_segments"],
        "blocks": list(res.extras["blocks"]), "halo": res.extras["halo"], "fragments": res.extras["fragments"],
        "seconds_to_last_block": round(firsts[-1] - t0, 1) if firsts else None,
        "seconds_per_block_wall": round(per_block, 2) if per_block else None,
        "rss_mb_by_phase": {k: round(v) for k, v in sampler.peaks.items()}})


def _crossing(a, b, ta, tb):
    """Untiled superpixels crossing a line (pairs a|b) and the share the tiled labels cut there."""
    same = a == b
    lab = a[same]
    if lab.size == 0:
        return 0, 0.0
    tiled_same = (ta == tb)[same]
    uniq, inv = np.unique(lab, return_inverse=True)
    kept = np.zeros(uniq.size, bool)
    np.logical_or.at(kept, inv, tiled_same)
    return int(uniq.size), float(1 - kept.mean())


def cmd_compare(args):
    import zarr

    from napari_deepsuperpixel.metrics.superpixel import achievable_segmentation_accuracy as asa
    from napari_deepsuperpixel.metrics.superpixel import boundary_recall

    s, t = args.size, args.tile
    un = np.load(args.work / f"untiled_{args.method}_{s}.npy", mmap_mode="r")
    ti = zarr.open_array(str(args.work / f"tiled_{args.method}_{s}_{t}.zarr"), mode="r")
    ti = np.asarray(ti[:])
    un = np.asarray(un)
    borders = list(range(t, s, t))
    controls = [b - t // 2 for b in borders] + [borders[-1] + t // 2] if borders else []
    res = {}
    for name, lines in (("border", borders), ("control", controls)):
        n, cut = 0, 0.0
        for b in lines:
            for (a, bb, ta, tb) in ((un[:, b - 1], un[:, b], ti[:, b - 1], ti[:, b]),
                                    (un[b - 1], un[b], ti[b - 1], ti[b])):
                k, c = _crossing(a, bb, ta, tb)
                n, cut = n + k, cut + c * k
        res[f"{name}_crossing"] = n
        res[f"{name}_cut_fraction"] = round(cut / max(n, 1), 4)
    res["same_label_pixels"] = round(float((un == ti).mean()), 4)
    base_gt = np.load(args.work / "base_gt.npy")
    n_lab = int((args.work / "base_n.txt").read_text())
    rows = []
    for c in borders[: max(1, len(borders))]:
        y0 = x0 = max(0, c - 1024)
        sl = (slice(y0, y0 + 2048), slice(x0, x0 + 2048))
        gt = _mosaic(base_gt, y0, y0 + 2048, x0, x0 + 2048, n_lab)
        gt = np.unique(gt, return_inverse=True)[1].reshape(gt.shape)
        rows.append((asa(un[sl], gt), asa(ti[sl], gt), boundary_recall(un[sl], gt), boundary_recall(ti[sl], gt)))
    a = np.mean(rows, axis=0)
    res.update(asa_untiled=round(a[0], 4), asa_tiled=round(a[1], 4), br_untiled=round(a[2], 4),
               br_tiled=round(a[3], 4), crops=len(rows))
    _record(args, f"compare {args.method} {s} {t}", res)


def cmd_figure(args):
    """Untiled and tiled boundaries around the first block corner, side by side (block borders in cyan)."""
    import zarr

    from napari_deepsuperpixel.io.files import overlay_boundaries, write_png
    from napari_deepsuperpixel.io.lazy import open_tiff_lazy

    s, t, r = args.size, args.tile, 384
    ys = slice(t - r, t + r)
    img = np.asarray(open_tiff_lazy(args.work / f"image_{s}.tif")[ys, ys])
    un = np.load(args.work / f"untiled_{args.method}_{s}.npy", mmap_mode="r")[ys, ys]
    ti = zarr.open_array(str(args.work / f"tiled_{args.method}_{s}_{t}.zarr"), mode="r")[ys, ys]
    panels = []
    for lab in (un, ti):
        rgb = overlay_boundaries(img, np.asarray(lab))
        if lab is ti:
            rgb[r, :] = rgb[:, r] = (0, 255, 255)
        panels.append(rgb)
    gap = np.full((2 * r, 16, 3), 255, np.uint8)
    out = args.work / f"block_corner_{args.method}_{s}_{t}.png"
    write_png(out, np.concatenate([panels[0], gap, panels[1]], 1), overwrite=True)
    print(f"wrote {out}")


def cmd_report(args):
    from napari_deepsuperpixel.bench.tables import markdown_table

    rows = json.loads((args.work / "results.json").read_text())
    print(markdown_table(["run", "results"], [[k, ", ".join(f"{a}={b}" for a, b in v.items())]
                                              for k, v in rows.items()]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("step", choices=["make", "untiled", "tiled", "compare", "figure", "report"])
    ap.add_argument("--size", type=int, default=16384)
    ap.add_argument("--tile", type=lambda v: v if v == "auto" else int(v), default=4096,
                    help="the block side, or 'auto' (the package's choice: segment(..., block_size='auto'))")
    ap.add_argument("-m", "--method", default="snic", choices=["snic", "watershed"])
    ap.add_argument("--work", type=Path, default=Path("/tmp/nds_tiled"))
    ap.add_argument("--n-segments", type=int, default=None,
                    help="tiled: superpixels asked for (default: one per 1600 pixels)")
    ap.add_argument("--array", action="store_true",
                    help="tiled: segment the image as a numpy array in memory (read whole), labels into a numpy array")
    ap.add_argument("--memmap", action="store_true",
                    help="tiled: segment the image as a memory map of image_SIZE.npy (written by make), labels into "
                         "a numpy array")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    {"make": cmd_make, "untiled": cmd_untiled, "tiled": cmd_tiled, "compare": cmd_compare,
     "figure": cmd_figure, "report": cmd_report}[args.step](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
