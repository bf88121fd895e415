"""Render the screenshots of docs/annotate.md (run under a display, e.g. ``xvfb-run -a``).

Usage::

    xvfb-run -a python docs/scripts/render_annotate.py [--out docs/images] [--overwrite]

Needs ``../shared/microscopy/dsb2018_stage1_subset`` (one fluorescence image).
The widget is driven through its own methods; strokes are drawn as a user
would, from a few seeded positions inside and outside the nuclei.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "microscopy" / "dsb2018_stage1_subset"
NAME = "fluorescence_0bda515e370294ed"


def _settle(pred=lambda: True, timeout=300.0):
    from qtpy.QtWidgets import QApplication

    t0 = time.monotonic()
    while not pred():
        QApplication.processEvents()
        time.sleep(0.02)
        if time.monotonic() - t0 > timeout:
            raise TimeoutError("the widget did not finish in time")
    for _ in range(30):
        QApplication.processEvents()
        time.sleep(0.01)


def _save(viewer, path: Path, overwrite: bool) -> None:
    from napari_deepsuperpixel.io.writes import check_writable

    check_writable([path], overwrite)
    _settle()
    viewer.window.screenshot(str(path), canvas_only=False, flash=False)
    print("wrote", path)


def main(argv=None):
    import napari

    from napari_deepsuperpixel._napari._annotate_widget import AnnotateWidget
    from napari_deepsuperpixel.datasets.folder import FolderDataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--overwrite", action="store_true")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    _, image, (gt,) = FolderDataset(DATA, names=[NAME])[0]

    viewer = napari.Viewer(show=True)
    viewer.window.resize(1500, 950)
    viewer.add_image(image, name="nuclei", contrast_limits=(0, float(np.percentile(image, 99.8))))
    w = AnnotateWidget(viewer)
    viewer.window.add_dock_widget(w, name="Annotate with superpixels")
    w.image.value = viewer.layers["nuclei"]
    # 1. superpixels half a nucleus across, the nucleus size measured from the image
    w.make_superpixels()
    _settle(lambda: w._worker is None)
    sp_layer = viewer.layers["nuclei superpixels"]
    sp = np.asarray(sp_layer.data)
    viewer.reset_view()
    viewer.camera.zoom *= 0.95
    _save(viewer, a.out / "annotate_1_superpixels.png", a.overwrite)

    # 2. paint: three nuclei filled, superpixel by superpixel
    target = w.add_target_layer()
    w.mode.value = "paint"
    painter = w.painter()
    ids, sizes = np.unique(gt[gt > 0], return_counts=True)
    for k, nucleus in enumerate(ids[np.argsort(sizes)[::-1][[0, 2, 4]]], start=1):
        ys, xs = np.nonzero(gt == nucleus)
        target.selected_label = k
        painter.fill({painter.index.label_at((y, x)) for y, x in zip(ys, xs)
                      if (gt[sp == sp[y, x]] == nucleus).mean() > 0.5}, k)
    w.status.value = "3 nuclei painted, one drag each: every superpixel the drag crosses is filled"
    _save(viewer, a.out / "annotate_2_paint.png", a.overwrite)
    w.mode.value = "off"
    target.visible = False

    # 3. scribbles: three short strokes on nuclei (1) and three on background (2), as a user draws them
    sys.path.insert(0, str(Path(__file__).parent))
    from render_screenshots import annotate_strokes

    scr = w.add_scribble_layer()
    scr.data = annotate_strokes(gt)
    scr.mode = "pan_zoom"
    sp_layer.visible = False
    _save(viewer, a.out / "annotate_3_scribbles.png", a.overwrite)

    # 4. train: the objects (segment_objects on these superpixels)
    w.train()
    _settle(lambda: w._worker is None)
    objects = viewer.layers["nuclei objects"]
    objects.contour = 2
    _save(viewer, a.out / "annotate_4_objects.png", a.overwrite)

    # 5. where to paint next: the least confident superpixels
    objects.visible = False
    uncertain = viewer.layers["nuclei least confident"]
    uncertain.visible = True
    _save(viewer, a.out / "annotate_5_least_confident.png", a.overwrite)

    # 6. four more strokes on the least confident superpixels (the class the mask says), train again
    more = np.asarray(scr.data).copy()
    for lab in [int(v) for v in np.unique(sp[np.asarray(uncertain.data) > 0])][:4]:
        ys, xs = np.nonzero(sp == lab)
        r = int(np.median(ys))
        truth = 1 if (gt[ys, xs] > 0).mean() > 0.5 else 2
        more[r, xs[ys == r]] = truth
    scr.data = more
    w.train()
    _settle(lambda: w._worker is None)
    uncertain.visible = False
    retrained = viewer.layers["nuclei objects run 2"]
    retrained.contour = 2
    _save(viewer, a.out / "annotate_6_retrained.png", a.overwrite)

    # 7. the merge slider over the merge tree
    for layer in (retrained, scr):
        layer.visible = False
    w.build_tree()
    _settle(lambda: w._worker is None and w._tree is not None)
    w.threshold.value = w.threshold.max * 0.25
    _settle(lambda: w._cut_worker is None and "nuclei superpixels merged" in viewer.layers)
    viewer.layers["nuclei superpixels merged"].contour = 1
    _save(viewer, a.out / "annotate_7_merge_slider.png", a.overwrite)
    viewer.close()

if __name__ == "__main__":
    main()
