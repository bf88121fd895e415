"""Wall time of this package's SNIC against scikit-image's SLIC on BSDS500 images.

Both methods start from the same RGB image in [0, 1] and get the same
``n_segments``; both times include the conversion to CIELAB
(:func:`skimage.color.rgb2lab` for SNIC, SLIC's own ``convert2lab``). SLIC
runs with scikit-image's defaults (10 iterations, compactness 10,
connectivity enforcement on), SNIC with its default compactness 20. SLIC is
given the RGB image rather than a precomputed Lab one because
:func:`skimage.segmentation.slic` rescales its input to [0, 1] by the global
min/max before clustering, which on a Lab input would make compactness 10
act like ~1000 (an almost regular grid). A third row times SNIC alone on a
precomputed Lab image, to show how much of its time is the conversion. numba's compilation is excluded by a warm-up run.
For every image and count each method runs ``--repeats`` times, in
alternating order, and the image's time is the fastest of those runs (the
least disturbed by other processes); the table reports the median and the
quartiles of these per-image times over the images.

Usage (from the repository root)::

    python benchmarks/bench_snic.py --limit 20 --overwrite

writes ``docs/images/snic_timing.png``, ``docs/images/snic_overlay.png`` and
the table between the ``bench_snic`` markers of ``docs/methods/snic.md``
(existing outputs are replaced only with ``--overwrite``); without
``--write-docs`` nothing is written and the table is only printed.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

from napari_deepsuperpixel.datasets.bsds import find_bsds500

REPO = Path(__file__).resolve().parents[1]
MARK_START = "<!-- bench_snic:start -->"
MARK_END = "<!-- bench_snic:end -->"


def landscape_test_images(bsds_root: Path, limit: int) -> list[Path]:
    """The first ``limit`` BSDS500 test images of size 481 x 321 (width x height), sorted by name."""
    from PIL import Image

    folder = bsds_root / "data" / "images" / "test"
    if not folder.is_dir():
        raise SystemExit(f"error: BSDS500 test images not found in {folder}; pass --bsds-root")
    out = []
    for p in sorted(folder.glob("*.jpg")):
        with Image.open(p) as im:
            if im.size == (481, 321):
                out.append(p)
        if len(out) == limit:
            break
    return out


def _snic_rgb(rgb, lab, n):
    from skimage.color import rgb2lab

    from napari_deepsuperpixel.methods.snic import snic

    return snic(rgb2lab(rgb), n, 20.0)


def _snic_lab(rgb, lab, n):
    from napari_deepsuperpixel.methods.snic import snic

    return snic(lab, n, 20.0)


def _slic_rgb(rgb, lab, n):
    from skimage.segmentation import slic

    return slic(rgb, n_segments=n, compactness=10.0, start_label=1)


def _time(fn, *args) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def run(images, counts, repeats):
    """Per-image best-of-``repeats`` times: ``{(method, count): [seconds per image]}`` and label counts."""
    from skimage.color import rgb2lab
    from skimage.io import imread
    from skimage.util import img_as_float

    # the first two are compared; the third shows SNIC's own share (Lab given)
    methods = {"SNIC (ours, numba)": _snic_rgb, "SLIC (scikit-image)": _slic_rgb,
               "SNIC, Lab precomputed (conversion not timed)": _snic_lab}
    rgbs = [img_as_float(imread(p)) for p in images]
    labs = [rgb2lab(x) for x in rgbs]
    for f in methods.values():  # warm-up: numba compilation / cache load, skimage imports
        f(rgbs[0], labs[0], counts[0])
    times = {(m, n): [] for m in methods for n in counts}
    nlab = {(m, n): [] for m in methods for n in counts}
    names = list(methods)
    for i, (rgb, lab) in enumerate(zip(rgbs, labs)):
        for n in counts:
            best = {m: np.inf for m in names}
            for r in range(repeats):
                order = names if (i + r) % 2 == 0 else names[::-1]
                for m in order:
                    best[m] = min(best[m], _time(methods[m], rgb, lab, n))
            for m in names:
                times[(m, n)].append(best[m])
                nlab[(m, n)].append(int(np.unique(methods[m](rgb, lab, n)).size))
        print(f"  {i + 1}/{len(labs)} {images[i].name}", file=sys.stderr)
    return names, times, nlab


def table(names, counts, times, nlab, n_images, repeats) -> str:
    from napari_deepsuperpixel.bench.tables import markdown_table

    rows = []
    for n in counts:
        ratio = np.median(times[(names[1], n)]) / np.median(times[(names[0], n)])
        for m in names:
            t = np.asarray(times[(m, n)])
            q1, q3 = np.percentile(t, [25, 75])
            rows.append([n, m, f"{np.median(t):.4f} [{q1:.4f}, {q3:.4f}]", int(np.median(nlab[(m, n)])),
                         f"{ratio:.2f}" if m == names[0] else ""])
    lines = [
        f"Median wall time per 481x321 image over {n_images} BSDS500 test images "
        f"(best of {repeats} runs per image; quartiles in brackets; RGB to CIELAB included unless noted), "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}.",
        "",
        markdown_table(["n_segments", "method", "time [s]", "segments (median)", "SLIC time / SNIC time"], rows,
                       "rllrr"),
    ]
    return "\n".join(lines) + "\n"


def _check_free(paths, overwrite):
    existing = [str(p) for p in paths if p.exists()]
    if existing and not overwrite:
        raise SystemExit(f"error: {', '.join(existing)} exist(s); pass --overwrite to replace")


def timing_figure(path, names, counts, times):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4), dpi=120)
    for m, mk in zip(names, "os^"):
        med = np.array([np.median(times[(m, n)]) for n in counts])
        q = np.array([np.percentile(times[(m, n)], [25, 75]) for n in counts]).T
        ax.errorbar(counts, med * 1000, yerr=[(med - q[0]) * 1000, (q[1] - med) * 1000], marker=mk,
                    capsize=3, label=m)
    ax.set_xlabel("n_segments")
    ax.set_ylabel("time per 481x321 image [ms]")
    ax.set_ylim(bottom=0)
    ax.set_xticks(counts)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def overlay_figure(path, image_path, n):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from skimage.io import imread
    from skimage.segmentation import mark_boundaries
    from skimage.util import img_as_float

    img = img_as_float(imread(image_path))
    snic_l = _snic_rgb(img, None, n)
    slic_l = _slic_rgb(img, None, n)
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.5), dpi=110)
    for ax, lbl, title in ((axes[0], snic_l, "SNIC (ours)"), (axes[1], slic_l, "SLIC (scikit-image)")):
        ax.imshow(mark_boundaries(img, lbl, color=(1, 1, 0)))
        ax.set_title(f"{title}: {np.unique(lbl).size} segments (n_segments={n})", fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def update_doc(doc: Path, block: str, overwrite: bool):
    text = doc.read_text(encoding="utf-8")
    if MARK_START not in text or MARK_END not in text:
        raise SystemExit(f"error: {doc} has no {MARK_START} ... {MARK_END} block to fill")
    head, rest = text.split(MARK_START, 1)
    old, tail = rest.split(MARK_END, 1)
    if old.strip() and not overwrite:
        raise SystemExit(f"error: {doc} already has a benchmark table; pass --overwrite to replace it")
    doc.write_text(f"{head}{MARK_START}\n{block}{MARK_END}{tail}", encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bsds-root", default="bsds", help="BSDS500 folder (default: $NDS_BSDS500 or ../shared/BSDS500)")
    ap.add_argument("--limit", type=int, default=20, help="number of 481x321 test images (default 20)")
    ap.add_argument("--counts", type=int, nargs="+", default=[200, 400, 1000], help="n_segments values")
    ap.add_argument("--repeats", type=int, default=3, help="runs per image and method; the fastest counts")
    ap.add_argument("--write-docs", action="store_true", help="write the figures and the table into docs/")
    ap.add_argument("--docs", type=Path, default=REPO / "docs", help="docs folder (default: the repository's)")
    ap.add_argument("--overwrite", action="store_true", help="replace existing figures and table")
    args = ap.parse_args(argv)
    if args.limit < 1 or args.repeats < 1 or min(args.counts) < 1:
        ap.error("--limit, --repeats and --counts must be positive")

    images = landscape_test_images(find_bsds500(args.bsds_root), args.limit)
    if not images:
        raise SystemExit(f"error: no 481x321 test image in {args.bsds_root}")
    timing_png = args.docs / "images" / "snic_timing.png"
    overlay_png = args.docs / "images" / "snic_overlay.png"
    doc = args.docs / "methods" / "snic.md"
    if args.write_docs:
        _check_free([timing_png, overlay_png], args.overwrite)
        if not doc.is_file():
            raise SystemExit(f"error: {doc} not found")
    names, times, nlab = run(images, args.counts, args.repeats)
    block = table(names, args.counts, times, nlab, len(images), args.repeats)
    cmd = "python benchmarks/bench_snic.py " + " ".join(argv if argv is not None else sys.argv[1:])
    block += f"\nCommand: `{cmd.strip()}`\n"
    print(block)
    if args.write_docs:
        timing_png.parent.mkdir(parents=True, exist_ok=True)
        timing_figure(timing_png, names, args.counts, times)
        overlay_figure(overlay_png, images[0], 400)
        update_doc(doc, block + "\n![SNIC and SLIC time](../images/snic_timing.png)\n", args.overwrite)
        print(f"wrote {timing_png}, {overlay_png} and the table in {doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
