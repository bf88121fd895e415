"""Seconds and peak memory of every method at its defaults, on three kinds of image.

Each (method, image) runs in a fresh process: the first ``segment`` call (imports,
model loading, numba kernels from the on-disk cache or compiled) and a second, warm
call are timed separately; peak RSS is the process's maximum resident memory
(:func:`napari_deepsuperpixel.bench.memory.peak_rss_mb`), measured after the second call, with the memory before the first call
(Python, numpy, the image) given as well. A run over ``--timeout`` seconds is reported
as such.

Images:

* ``bsds``: BSDS500 test/100007 (481 x 321 RGB, uint8);
* ``nuclei16``: the first 512 x 640 fluorescence image of the DSB2018 subset in
  ``../shared/microscopy``, resized to 520 x 696 and stored as 12-bit data in uint16
  (x 16; the subset's files are 8-bit);
* ``large``: scikit-image's astronaut rescaled to 2048 x 2048 RGB.

Usage::

    python benchmarks/bench_defaults.py --out docs/tables/defaults_cpu.md [--methods slic sen] [--images bsds]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

IMAGES = ("bsds", "nuclei16", "large")


def make_image(name: str):
    import numpy as np

    if name == "bsds":
        from napari_deepsuperpixel.io.files import read_image

        return read_image(bsds_root() / "data" / "images" / "test" / "100007.jpg")
    if name == "nuclei16":
        import csv

        from skimage.transform import resize

        from napari_deepsuperpixel.io.files import read_image

        root = find_microscopy()
        with open(root / "metadata.csv") as f:
            rows = [r for r in csv.DictReader(f) if r["category"] == "fluorescence" and r["height"] == "512"]
        if not rows:
            raise SystemExit("no 512 x 640 fluorescence image in the microscopy subset")
        img = read_image(root / sorted(rows, key=lambda r: r["image"])[0]["image"]).astype(np.float64)
        gray = img if img.ndim == 2 else img[..., 0]
        # 520 x 696 (a common camera frame) as 12-bit data in uint16
        return np.round(resize(gray, (520, 696), preserve_range=True) * 16).astype(np.uint16)
    if name == "large":
        from skimage import data
        from skimage.transform import resize

        return (resize(data.astronaut(), (2048, 2048), anti_aliasing=True) * 255).astype(np.uint8)
    raise SystemExit(f"unknown image {name!r}; choose from {', '.join(IMAGES)}")


def bsds_root() -> Path:
    """BSDS500 as the package finds it (``$NDS_BSDS500`` ...), or ``../shared/BSDS500`` next to this checkout.

    The fallback lets this script time older versions of the package too (``PYTHONPATH=OLD/src``).
    """
    try:
        from napari_deepsuperpixel.datasets.bsds import find_bsds500
    except ImportError:
        return Path(__file__).resolve().parents[2] / "shared" / "BSDS500"
    return find_bsds500()


def find_microscopy() -> Path:
    root = bsds_root().parent / "microscopy" / "dsb2018_stage1_subset"
    if not root.is_dir():
        raise SystemExit(f"microscopy subset not found at {root}")
    return root


def child(method: str, image: str, out: str) -> None:
    from napari_deepsuperpixel import segment_result
    from napari_deepsuperpixel.bench.memory import peak_rss_mb

    img = make_image(image)
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    segment_result(img, method)
    t1 = time.perf_counter()
    res = segment_result(img, method)
    t2 = time.perf_counter()
    rss = peak_rss_mb()
    extras = res.extras
    Path(out).write_text(json.dumps({
        "method": method, "image": image, "shape": list(img.shape), "dtype": str(img.dtype),
        "first_s": t1 - t0, "warm_s": t2 - t1, "peak_rss_mb": rss, "rss_before_mb": rss0,
        "segments": res.n_segments, "preset": extras.get("preset"),
    }))


def run(methods, images, timeout: float, workdir: Path) -> list:
    rows = []
    for image in images:
        for method in methods:
            out = workdir / f"{method}-{image}.json"
            cmd = [sys.executable, __file__, "--child", method, image, str(out)]
            t0 = time.perf_counter()
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
                if proc.returncode != 0:
                    err = (proc.stderr.strip().splitlines() or ["?"])[-1]
                    rows.append({"method": method, "image": image, "error": err})
                else:
                    rows.append(json.loads(out.read_text()))
            except subprocess.TimeoutExpired:
                rows.append({"method": method, "image": image, "timeout": timeout})
            print(f"{method:<20} {image:<9} {time.perf_counter() - t0:7.1f} s  {rows[-1]}", file=sys.stderr,
                  flush=True)
    return rows


def table(rows) -> str:
    from napari_deepsuperpixel.bench.tables import markdown_table

    images = list(dict.fromkeys(r["image"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    by = {(r["method"], r["image"]): r for r in rows}
    lines = []
    for m in methods:
        cells, preset = [], ""
        for i in images:
            r = by.get((m, i), {})
            if "timeout" in r:
                cells.append(f"> {r['timeout']:.0f} s (stopped)")
            elif "error" in r:
                cells.append(f"error: {r['error'][:60]}")
            elif r:
                preset = r.get("preset") or preset
                cells.append(f"{r['first_s']:.2f} / **{r['warm_s']:.2f}**, {r['peak_rss_mb']:.0f}")
            else:
                cells.append("")
        lines.append([m, preset or "-"] + cells)
    return markdown_table(["method", "preset"] + [f"{i}: first / warm s, peak MB" for i in images], lines,
                          "ll" + "r" * len(images)) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--child", nargs=3, metavar=("METHOD", "IMAGE", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--methods", nargs="*", help="methods (default: every registered one)")
    ap.add_argument("--images", nargs="*", default=list(IMAGES), choices=IMAGES)
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per (method, image) process")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    ap.add_argument("--out", type=Path, help="write the Markdown table here (default: stdout)")
    args = ap.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    from napari_deepsuperpixel import list_methods

    methods = args.methods or [m.name for m in list_methods()]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        rows = run(methods, args.images, args.timeout, Path(tmp))
    text = (f"{os.cpu_count()} CPUs, torch threads {os.environ.get('OMP_NUM_THREADS', 'default')}; "
            f"first = first call in a new process, warm = second call (bold); peak = max RSS of the process.\n\n"
            + table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
