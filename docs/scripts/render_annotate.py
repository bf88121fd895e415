"""Render the screenshots of docs/annotate.md (run under a display, e.g. ``xvfb-run -a``).

Usage::

    xvfb-run -a python docs/scripts/render_annotate.py [--out docs/images] [--overwrite]

Needs ``../shared/microscopy/dsb2018_stage1_subset`` (one fluorescence image).
The widget is driven through its own methods; strokes are drawn as a user
would, from a few seeded positions inside and outside the nuclei.
"""

from __future__ import annotations

import argparse
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

    import napari_deepsuperpixel as nds
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
    sp = nds.segment(image, "snic", n_segments=image.size // 64)
    sp_layer = viewer.add_labels(sp, name="superpixels", opacity=0.35)
    sp_layer.contour = 1
    w = AnnotateWidget(viewer)
    viewer.window.add_dock_widget(w, name="Annotate with superpixels")
    w.superpixels.value, w.image.value = sp_layer, viewer.layers["nuclei"]
    viewer.reset_view()
    viewer.camera.zoom *= 0.95
    _save(viewer, a.out / "annotate_1_superpixels.png", a.overwrite)

    # 2. paint: three clicks fill three nuclei, superpixel by superpixel
    target = w.add_target_layer()
    w.mode.value = "paint"
    painter = w.painter()
    ids, sizes = np.unique(gt[gt > 0], return_counts=True)
    for k, nucleus in enumerate(ids[np.argsort(sizes)[::-1][[0, 2, 4]]], start=1):
        ys, xs = np.nonzero(gt == nucleus)
        target.selected_label = k
        painter.fill({painter.index.label_at((y, x)) for y, x in zip(ys, xs)
                      if (sp == sp[y, x]).sum() and (gt[sp == sp[y, x]] == nucleus).mean() > 0.5}, k)
    w.status.value = "3 nuclei painted, one drag each: every superpixel the drag crosses is filled"
    _save(viewer, a.out / "annotate_2_paint.png", a.overwrite)
    w.mode.value = "off"
    target.visible = False

    # 3. scribbles: three short strokes on nuclei (1) and three on background (2)
    scr = w.add_scribble_layer()
    from scipy import ndimage as ndi

    strokes = np.zeros(gt.shape, np.int32)
    for nucleus in ids[np.argsort(sizes)[::-1][[1, 6, 12]]]:   # across the middle of three nuclei
        ys, xs = np.nonzero(ndi.binary_erosion(gt == nucleus, iterations=2))
        row = int(np.median(ys))
        cols = xs[ys == row]
        strokes[row - 1:row + 2, cols.min():cols.max() + 1] = 1
    far = ndi.distance_transform_edt(gt == 0)
    rng = np.random.default_rng(4)
    for _ in range(3):                                          # three short lines far from nuclei
        ys, xs = np.nonzero(far > 12)
        k = rng.integers(ys.size)
        strokes[ys[k] - 1:ys[k] + 2, max(xs[k] - 8, 0):xs[k] + 8] = 2
    scr.data = strokes * ((strokes != 1) | (gt > 0))
    scr.opacity = 1.0
    sp_layer.visible = False
    _save(viewer, a.out / "annotate_3_scribbles.png", a.overwrite)

    # 4. train: classes and objects
    w.train()
    _settle(lambda: w._worker is None)
    viewer.layers["nuclei classes"].visible = False
    viewer.layers["nuclei least confident"].visible = False
    viewer.layers["nuclei objects"].contour = 0
    _save(viewer, a.out / "annotate_4_objects.png", a.overwrite)

    # 5. where to paint next: the least confident superpixels
    viewer.layers["nuclei objects"].visible = False
    viewer.layers["nuclei least confident"].visible = True
    _save(viewer, a.out / "annotate_5_least_confident.png", a.overwrite)

    # 6. four more strokes where the classifier was least sure, train again
    from napari_deepsuperpixel.annotate import SuperpixelIndex

    idx = SuperpixelIndex(sp)
    more = scr.data.copy()
    for lab in w._last["least_confident"][:4]:
        ys, xs = np.unravel_index(idx.flat_pixels([lab]), sp.shape)
        truth = 1 if (gt[ys, xs] > 0).mean() > 0.5 else 2
        more[ys[len(ys) // 2], xs.min():xs.max() + 1][sp[ys[len(ys) // 2], xs.min():xs.max() + 1] == lab] = truth
    scr.data = more
    w.train()
    _settle(lambda: w._worker is None)
    viewer.layers["nuclei least confident"].visible = False
    viewer.layers["nuclei objects"].visible = True
    _save(viewer, a.out / "annotate_6_retrained.png", a.overwrite)

    # 7. the merge slider over the merge tree
    for name in ("nuclei least confident", "nuclei scribbles", "nuclei objects"):
        viewer.layers[name].visible = False
    w.build_tree()
    _settle(lambda: w._worker is None and w._tree is not None)
    w.threshold.value = w.threshold.max * 0.25
    _settle(lambda: w._cut_worker is None and "superpixels merged" in viewer.layers)
    viewer.layers["superpixels merged"].contour = 1
    _save(viewer, a.out / "annotate_7_merge_slider.png", a.overwrite)
    viewer.close()


if __name__ == "__main__":
    main()
