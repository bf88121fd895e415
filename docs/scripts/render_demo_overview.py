"""Render docs/images/demo_overview.png: a grid of the demo's overlays.

Usage::

    deepsuperpixel demo -o demo_out
    python docs/scripts/render_demo_overview.py demo_out docs/images/demo_overview.png
"""

import csv
import sys
from pathlib import Path

import imageio.v3 as iio
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(demo_dir, out_png, image="astronaut"):
    demo_dir = Path(demo_dir)
    rows = list(csv.DictReader(open(demo_dir / "summary.csv")))
    n = len(rows) + 1
    cols = 5
    nrows = -(-n // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.0 * cols, 3.25 * nrows))
    axes = axes.ravel()
    axes[0].imshow(iio.imread(demo_dir / f"{image}.png"))
    axes[0].set_title(f"{image} (input)", fontsize=10)
    for ax, r in zip(axes[1:], rows):
        ax.imshow(iio.imread(demo_dir / f"{image}_{r['method']}_overlay.png"))
        ax.set_title(f"{r['method']}: {r['segments']} segments, {float(r['seconds']):.1f} s", fontsize=9)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=80)
    print(out_png)


if __name__ == "__main__":
    main(*sys.argv[1:3])
