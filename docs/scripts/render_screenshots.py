"""Render every screenshot of the docs and the README from the current code, in a real viewer.

Usage::

    xvfb-run -a -s "-screen 0 1920x1080x24" python docs/scripts/render_screenshots.py --overwrite
    xvfb-run -a -s "-screen 0 1920x1080x24" python docs/scripts/render_screenshots.py --overwrite --only metrics batch
    python docs/scripts/render_screenshots.py --fast --out /tmp/shots     # one small picture: does it run?

The napari pictures (``napari_*.png``) are the viewer's window at 1920 x 1080,
a common screen, with the docks as a user sees them; ``demo_overview.png`` is
the grid of ``deepsuperpixel demo``'s overlays (run here, so its counts and
times are the current code's); ``annotate`` runs ``render_annotate.py`` (the
annotation walkthrough's pictures). Every picture shows the package's samples
or, for the metrics picture, a fluorescence image with its nucleus mask from
``../shared/microscopy/dsb2018_stage1_subset`` (skipped with a message when
absent). Existing PNGs are kept unless ``--overwrite`` is given. ``--fast``
renders one picture of the segmentation dock in a 1024 x 700 window (the test
suite's check that this script runs).

The plots of the method pages (learning curves, timings, overlays) come from
the benchmark scripts named on those pages, not from here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DSB = ROOT.parent / "shared" / "microscopy" / "dsb2018_stage1_subset"
#: the metrics picture's image: fluorescence nuclei (256 x 320, 58 nuclei) with its instance mask
DSB_IMAGE = "fluorescence_9ebcfaf2322932d4.png"


def _wait(widget, attr="running", timeout=300.0):
    from qtpy.QtWidgets import QApplication

    t0 = time.monotonic()
    while getattr(widget, attr):
        QApplication.processEvents()
        time.sleep(0.02)
        if time.monotonic() - t0 > timeout:
            raise TimeoutError("the widget did not finish in time")
    for _ in range(20):
        QApplication.processEvents()
        time.sleep(0.01)


#: the window's size (``--fast``: half of it)
SIZE = [1920, 1080]


def _save(viewer, path: Path, overwrite: bool, reset: bool = True) -> None:
    """The whole window as a 256-colour PNG (small enough for the README and the napari hub)."""
    from PIL import Image
    from qtpy.QtWidgets import QApplication

    from napari_deepsuperpixel.io.writes import check_writable

    check_writable([path], overwrite)
    if reset:
        viewer.reset_view()
    for _ in range(20):  # the docks lay out before the picture is taken
        QApplication.processEvents()
        time.sleep(0.01)
    viewer.window.screenshot(str(path), canvas_only=False, flash=False)
    img = Image.open(path).convert("RGB")
    if list(img.size) != SIZE:
        raise RuntimeError(f"the window is {img.size[0]} x {img.size[1]}, not {SIZE[0]} x {SIZE[1]}: run under a "
                           f"display at least that large (xvfb-run -s \"-screen 0 1920x1080x24\")")
    img.quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)
    print("wrote", path)


def _viewer():
    """A shown viewer of the screenshots' size."""
    import napari

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.showNormal()
    viewer.window.resize(*SIZE)
    return viewer


def _segmented(sample, method: str, params: dict):
    """A viewer with a sample image, the segmentation widget docked, after one finished run."""
    from napari_deepsuperpixel._napari._segment_widget import SegmentWidget

    viewer = _viewer()
    [(data, meta, _)] = sample()
    viewer.add_image(data, **meta)
    w = SegmentWidget(viewer)
    viewer.window.add_dock_widget(w, name="Superpixels & segmentation")
    w.method.value = method
    w.params.set_values(params)
    w.run()
    _wait(w)
    return viewer


def shot_segment(out: Path, overwrite: bool) -> None:
    """SNIC on the cell sample (grayscale microscopy), result as contours, the widget docked."""
    from napari_deepsuperpixel._napari._sample_data import cell

    viewer = _segmented(cell, "snic", {"n_segments": 400})
    layer = viewer.layers["cell snic"]
    layer.contour = 2
    layer.opacity = 1.0
    _save(viewer, out / "napari_segment.png", overwrite)
    viewer.close()


def shot_microscopy(out: Path, overwrite: bool) -> None:
    """The README's first picture: SNIC superpixels on stained tissue (IHC), widget docked.

    Saved as a 256-colour PNG so that it stays small for the README and the napari hub.
    """
    from napari_deepsuperpixel._napari._sample_data import immunohistochemistry

    viewer = _segmented(immunohistochemistry, "snic", {"n_segments": 300})
    layer = viewer.layers[-1]
    layer.contour = 2
    layer.opacity = 1.0
    _save(viewer, out / "napari_microscopy.png", overwrite)
    viewer.close()


def shot_stack(out: Path, overwrite: bool) -> None:
    """The 16-bit ZYX nuclei sample segmented slice by slice (anisotropic scale kept)."""
    from napari_deepsuperpixel._napari._sample_data import nuclei_stack

    viewer = _segmented(nuclei_stack, "felzenszwalb", {"scale": 200.0, "min_size": 30})
    viewer.dims.set_current_step(0, 4)
    viewer.layers[-1].contour = 1
    viewer.layers[-1].opacity = 1.0
    _save(viewer, out / "napari_stack.png", overwrite)
    viewer.close()


def shot_volume(out: Path, overwrite: bool) -> None:
    """3D SNIC supervoxels of the 16-bit ZYX nuclei sample, in napari's 3D view (the layer's scale as spacing).

    The supervoxels are drawn as the dock draws a result volume in the 3D view
    (translucent, faint, over the image's projection: ``_layers.VIEW_3D``).
    """
    from napari_deepsuperpixel._napari._sample_data import nuclei_stack
    from napari_deepsuperpixel._napari._segment_widget import SegmentWidget

    viewer = _viewer()
    [(data, meta, _)] = nuclei_stack()
    viewer.add_image(data, **meta)
    w = SegmentWidget(viewer)
    viewer.window.add_dock_widget(w, name="Superpixels & segmentation")
    w.method.value = "snic"
    w.volume.mode.value = "3D volume"
    w.params.set_values({"n_segments": 1500})
    w.run()
    _wait(w)
    viewer.layers.selection.active = viewer.layers["nuclei stack snic"]  # its controls: the 3D rendering
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    viewer.camera.angles = (0, 40, 60)
    _save_3d(viewer, out / "napari_volume.png", overwrite)
    viewer.close()


def _save_3d(viewer, path: Path, overwrite: bool) -> None:
    """As :func:`_save`, keeping the 3D camera (no view reset)."""
    _save(viewer, path, overwrite, reset=False)


def shot_metrics(out: Path, overwrite: bool) -> None:
    """Fluorescence nuclei and their mask file opened as napari opens it (an Image layer), SNIC and SLIC
    superpixels named as a microscope names its exports; the mask is scored as ground truth, object
    scores, background ignored."""
    import imageio.v3 as iio

    from napari_deepsuperpixel._napari._metrics_widget import MetricsWidget
    from napari_deepsuperpixel._napari._segment_widget import SegmentWidget

    if not (DSB / "images" / DSB_IMAGE).exists():
        print(f"skipping the metrics screenshot: {DSB} not found", file=sys.stderr)
        return
    viewer = _viewer()
    base = "IXMtest_A02_s1_w1051DAA7C-7042-435F-99F0-1E847D9B42CB"
    img = iio.imread(DSB / "images" / DSB_IMAGE)
    image = viewer.add_image(img, name=base, colormap="gray")
    mask = viewer.add_image(iio.imread(DSB / "masks" / DSB_IMAGE), name=f"{base}_mask.png", visible=False)
    seg = SegmentWidget(viewer)  # the results made as a user makes them: marked, the newest one by default
    for method in ("slic", "snic"):
        seg.method.value = method
        seg.params.set_values({"n_segments": 150})
        seg.image.value = image
        seg.run()
        _wait(seg)
    viewer.layers[f"{base} snic"].contour = 1
    viewer.layers[f"{base} slic"].visible = False
    w = MetricsWidget(viewer)
    viewer.window.add_dock_widget(w, name="Segmentation metrics")
    w.ground_truth.value = [mask]
    w.image.value = image
    w.ignore_background.value = True
    w.objects.value = True
    w.compute()
    _wait(w)
    _wait(w, "warming")
    _save(viewer, out / "napari_metrics.png", overwrite)
    viewer.close()


def shot_batch(out: Path, overwrite: bool) -> None:
    """The batch dock over a folder of cell crops, run again with *overwrite existing outputs* ticked."""
    import tempfile

    import imageio.v3 as iio
    from skimage import data

    from napari_deepsuperpixel._napari._batch_widget import BatchWidget

    viewer = _viewer()
    w = BatchWidget(viewer)
    viewer.window.add_dock_widget(w, name="Batch superpixels")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "cells"
        src.mkdir()
        cell = data.cell()
        for i in range(6):
            iio.imwrite(src / f"cell_{i}.png", cell[40 * i:40 * i + 320, 60 * i:60 * i + 320])
        w.folder.value, w.output.value = src, Path(tmp) / "superpixels"
        w.params.set_values({"n_segments": 300})
        w.formats.value = ["tif", "overlay"]
        w.run()
        _wait(w)
        w.overwrite.value = True
        w.run()
        _wait(w)
        _save(viewer, out / "napari_batch.png", overwrite)
    viewer.close()


def shot_segment_fields(out: Path, overwrite: bool) -> None:
    """The segmentation dock with backprop on the cell sample: the fields left to the preset say its values."""
    from napari_deepsuperpixel._napari._sample_data import cell
    from napari_deepsuperpixel._napari._segment_widget import SegmentWidget

    viewer = _viewer()
    [(data, meta, _)] = cell()
    viewer.add_image(data, **meta)
    w = SegmentWidget(viewer)
    viewer.window.add_dock_widget(w, name="Superpixels & segmentation")
    w.method.value = "backprop"
    w.device.value = "cpu"
    _save(viewer, out / "napari_segment_fields.png", overwrite)
    viewer.close()


def shot_demo(out: Path, overwrite: bool) -> None:
    """``deepsuperpixel demo`` (every method on the astronaut) and the grid of its overlays."""
    import tempfile

    from napari_deepsuperpixel.cli import main as deepsuperpixel
    from napari_deepsuperpixel.io.writes import check_writable

    target = out / "demo_overview.png"
    check_writable([target], overwrite)
    with tempfile.TemporaryDirectory() as tmp:
        if deepsuperpixel(["demo", "-o", tmp, "--overwrite"]) != 0:
            raise RuntimeError("deepsuperpixel demo failed")
        sys.path.insert(0, str(Path(__file__).parent))
        import render_demo_overview

        render_demo_overview.main(tmp, target)


def shot_annotate(out: Path, overwrite: bool) -> None:
    """The annotation walkthrough's pictures (``render_annotate.py``)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import render_annotate

    render_annotate.main(["--out", str(out), *(["--overwrite"] if overwrite else [])])


#: the annotate dock's picture: DSB2018 fluorescence nuclei (256 x 256, 53 nuclei), as on docs/annotate.md
ANNOTATE_IMAGE = "fluorescence_0bda515e370294ed.png"


def annotate_strokes(mask, n: int = 3, seed: int = 4):
    """Strokes as a user draws them: label 1 across ``n`` nuclei of an instance mask, 2 on ``n`` background spots."""
    from scipy import ndimage as ndi

    ids, sizes = np.unique(mask[mask > 0], return_counts=True)
    strokes = np.zeros(mask.shape, np.int32)
    for nucleus in ids[np.argsort(sizes)[::-1][[1, 6, 12][:n]]]:  # across the middle of large nuclei
        ys, xs = np.nonzero(ndi.binary_erosion(mask == nucleus, iterations=2))
        r = int(np.median(ys))
        cols = xs[ys == r]
        strokes[r - 1:r + 2, cols.min():cols.max() + 1] = 1
    far = ndi.distance_transform_edt(mask == 0)
    rng = np.random.default_rng(seed)
    ys, xs = np.nonzero(far > 12)
    for k in rng.choice(ys.size, n, replace=False):  # short lines far from the nuclei
        strokes[ys[k] - 1:ys[k] + 2, max(xs[k] - 8, 0):xs[k] + 8] = 2
    return strokes * ((strokes != 1) | (mask > 0))


def shot_annotate_dock(out: Path, overwrite: bool) -> None:
    """The annotate dock under the segmentation dock and above the metrics dock, after one training on three
    strokes per class: the objects as contours, the superpixels it made from the measured nucleus size, the
    objects scored against the nucleus mask (``napari_annotate.png``); then the annotate dock alone, its
    settings shown (``napari_annotate_sections.png``)."""
    import imageio.v3 as iio

    from napari_deepsuperpixel._napari._annotate_widget import AnnotateWidget
    from napari_deepsuperpixel._napari._metrics_widget import MetricsWidget
    from napari_deepsuperpixel._napari._segment_widget import SegmentWidget

    if not (DSB / "images" / ANNOTATE_IMAGE).exists():
        print(f"skipping the annotate dock screenshot: {DSB} not found", file=sys.stderr)
        return
    viewer = _viewer()
    img = iio.imread(DSB / "images" / ANNOTATE_IMAGE)
    mask = iio.imread(DSB / "masks" / ANNOTATE_IMAGE)
    image = viewer.add_image(img, name="nuclei", colormap="gray")
    truth = viewer.add_image(mask, name="nuclei_mask.png", visible=False)
    seg, ann, met = SegmentWidget(viewer), AnnotateWidget(viewer), MetricsWidget(viewer)
    docks = [viewer.window.add_dock_widget(w, name=title) for w, title in (
        (seg, "Superpixels & segmentation"), (ann, "Annotate with superpixels"), (met, "Segmentation metrics"))]
    ann.image.value = image
    scr = ann.add_scribble_layer()
    scr.data = annotate_strokes(np.asarray(mask))
    scr.mode = "pan_zoom"
    ann.train()
    _wait(ann)
    objects = viewer.layers["nuclei objects"]
    objects.contour = 2
    viewer.layers.selection.active = objects
    met.prediction.value = objects
    met.ground_truth.value = [truth]
    met.image.value = image
    met.ignore_background.value = True
    met.objects.value = True
    met.compute()
    _wait(met)
    _wait(met, "warming")
    viewer.layers.selection.active = scr
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QApplication

    # the annotate dock taller than napari's split (as a user drags the splitters); all fit either way
    for _ in range(20):
        QApplication.processEvents()
        time.sleep(0.01)
    viewer.window._qt_window.resizeDocks(docks, [160, 700, 220], Qt.Orientation.Vertical)
    _save(viewer, out / "napari_annotate.png", overwrite)
    # the annotate dock alone: every section in view
    for w in (seg, met):
        viewer.window.remove_dock_widget(w.native.parent())
    ann.more.value = True
    _save(viewer, out / "napari_annotate_sections.png", overwrite)
    viewer.close()


def shot_training(out: Path, overwrite: bool) -> None:
    """The training widget after a (very) short SuperAE run on crops of the cell and nuclei samples."""
    import tempfile

    import imageio.v3 as iio
    from skimage import data

    from napari_deepsuperpixel._napari._sample_data import make_nuclei_stack
    from napari_deepsuperpixel._napari._training_widget import TrainingWidget

    viewer = _viewer()
    viewer.add_image(data.cell(), name="cell", colormap="gray")
    w = TrainingWidget(viewer)
    viewer.window.add_dock_widget(w, name="Train SuperAE / SEN")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        folder.mkdir()
        iio.imwrite(folder / "cell.png", data.cell()[200:296, 200:296])
        nuclei = make_nuclei_stack()[4, :96, :96]
        iio.imwrite(folder / "nuclei.png", (nuclei // 16).astype(np.uint8))
        w.trainer.value = "superae"
        w.data.value = folder
        w.output.value = Path(tmp) / "superae_demo.pt"
        w.params.set_values({"epochs": 3, "batch_size": 2, "crop": 64, "template": "slic:n_segments=50"})
        w.train()
        _wait(w)
        _save(viewer, out / "napari_training.png", overwrite)
    viewer.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--overwrite", action="store_true", help="replace existing PNGs")
    ap.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(SHOTS),
                    help="render only these pictures (default: all)")
    ap.add_argument("--fast", action="store_true",
                    help="one small picture (the segmentation dock, 1024 x 700) into --out: a check that this runs")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.fast:
        SIZE[:] = [1024, 700]
        args.only = args.only or ["segment"]
    import warnings

    # keep napari's deprecation toasts (e.g. "PyQt5 backend is deprecated") out of the pictures
    warnings.filterwarnings("ignore", message=".*PyQt5.*")
    warnings.filterwarnings("ignore", message=".*theme detection.*")
    np.random.seed(0)
    import napari

    # napari may show a one-time toast with the first window: spend it here
    napari.Viewer(show=True).close()
    for name in args.only or SHOTS:
        SHOTS[name](args.out, args.overwrite)
    return 0


SHOTS = {"microscopy": shot_microscopy, "segment": shot_segment, "segment_fields": shot_segment_fields,
         "stack": shot_stack, "volume": shot_volume, "metrics": shot_metrics, "batch": shot_batch,
         "training": shot_training, "demo": shot_demo, "annotate": shot_annotate,
         "annotate_dock": shot_annotate_dock}


if __name__ == "__main__":
    sys.exit(main())
