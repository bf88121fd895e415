"""The picture of docs/annotate.md, "Objects in one call": touching nuclei split from five strokes per class.

Usage::

    python docs/scripts/render_objects.py [--image fluorescence_0bda515e370294ed] [--out docs/images/annotate_objects.png]

Panels: the image with the strokes (seeded, as benchmarks/bench_annotate.py simulates them),
the objects without a split (connected components of the classes), the objects of
``segment_objects`` (outlines refined, touching objects split by shape) and the ground truth.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "microscopy" / "dsb2018_stage1_subset"


def main(argv=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from skimage.segmentation import find_boundaries

    from napari_deepsuperpixel.annotate import segment_objects
    from napari_deepsuperpixel.bench import annotate as ba
    from napari_deepsuperpixel.datasets.folder import FolderDataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", default="fluorescence_0bda515e370294ed")
    ap.add_argument("--strokes", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "annotate_objects.png")
    a = ap.parse_args(argv)
    (name, image, (gt,)), = list(FolderDataset(DATA, names=[a.image]))
    classes, order = ba.stroke_sequence(gt, a.strokes, seed=0)
    strokes = np.where(order > 0, classes, 0)
    plain = segment_objects(image, strokes, split="none", refine=False, min_fraction=0)
    res = segment_objects(image, strokes, superpixels=plain.superpixels, features=plain.features)
    img = np.asarray(image, float)
    img = img.mean(axis=-1) if img.ndim == 3 else img
    img = np.clip(img / np.percentile(img, 99.8), 0, 1)

    def overlay(labels):
        rgb = np.repeat(img[..., None], 3, axis=-1) * 0.85
        rgb[find_boundaries(labels, mode="inner")] = (1.0, 0.85, 0.1)
        return rgb

    with_strokes = np.repeat(img[..., None], 3, axis=-1) * 0.85
    with_strokes[strokes == ba.NUCLEUS] = (1.0, 0.2, 0.2)
    with_strokes[strokes == ba.BACKGROUND] = (0.2, 0.6, 1.0)
    s_plain, s_res = ba.instance_scores(plain.objects, gt), ba.instance_scores(res.objects, gt)
    panels = [(with_strokes, f"{a.strokes} strokes per class (red: nuclei, blue: background)"),
              (overlay(plain.objects), f"classes, no split: {plain.n_objects} objects, F1 {s_plain['f1']:.2f}"),
              (overlay(res.objects), f"segment_objects: {res.n_objects} objects, F1 {s_res['f1']:.2f}"),
              (overlay(gt), f"ground truth: {int(gt.max())} nuclei")]
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.4))
    for ax, (pic, title) in zip(axes, panels):
        ax.imshow(pic, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle(f"{name}: object size measured {res.object_size:.1f} px, {int(res.superpixels.max())} superpixels",
                 fontsize=10)
    fig.tight_layout()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=80)
    print(a.out, s_plain, s_res)


if __name__ == "__main__":
    main()
