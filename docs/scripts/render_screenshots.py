"""Render the screenshots of docs/usage.md (run under a display, e.g. ``xvfb-run -a``).

Usage::

    xvfb-run -a python docs/scripts/render_screenshots.py [--out docs/images] [--overwrite] [--only NAME ...]

Every picture shows microscopy data: the package's samples (the cell image,
the nuclei stack, stained tissue) and, for the metrics picture, a
fluorescence image with its nucleus masks from
``../shared/microscopy/dsb2018_stage1_subset`` (skipped with a message when
absent). The window is 1920 x 1080, a common screen, with the docks as a user
sees them. Existing PNGs are kept unless ``--overwrite`` is given.
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


def _save(viewer, path: Path, overwrite: bool) -> None:
    """The whole window as a 256-colour PNG (small enough for the README and the napari hub)."""
    from PIL import Image

    from napari_deepsuperpixel.io.files import check_writable

    check_writable([path], overwrite)
    viewer.reset_view()
    viewer.window.screenshot(str(path), canvas_only=False, flash=False)
    Image.open(path).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)
    print("wrote", path)


def _viewer():
    """A shown viewer of the screenshots' size."""
    import napari

    viewer = napari.Viewer(show=True)
    viewer.window.resize(1920, 1080)
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
    """3D SNIC supervoxels of the 16-bit ZYX nuclei sample, in napari's 3D view (the layer's scale as spacing)."""
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
    # for the picture: only the supervoxels that lie on nuclei (mean intensity above Otsu's
    # threshold), so that the 3D shapes are visible instead of the block of background ones
    from scipy import ndimage as ndi
    from skimage.filters import threshold_otsu

    result = viewer.layers[-1]
    labels = np.asarray(result.data)
    means = ndi.mean(np.asarray(data, float), labels, np.arange(labels.max() + 1))
    keep = means > threshold_otsu(np.asarray(data))
    keep[0] = False
    viewer.add_labels(np.where(keep[labels], labels, 0), name="supervoxels on nuclei", scale=result.scale)
    result.visible = False
    viewer.layers[0].visible = False
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    viewer.camera.angles = (0, 40, 60)
    _save_3d(viewer, out / "napari_volume.png", overwrite)
    viewer.close()


def _save_3d(viewer, path: Path, overwrite: bool) -> None:
    """As :func:`_save`, keeping the 3D camera (no view reset)."""
    from PIL import Image

    from napari_deepsuperpixel.io.files import check_writable

    check_writable([path], overwrite)
    viewer.window.screenshot(str(path), canvas_only=False, flash=False)
    Image.open(path).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)
    print("wrote", path)


def shot_metrics(out: Path, overwrite: bool) -> None:
    """Fluorescence nuclei with their instance masks: SNIC superpixels scored, object scores, background ignored."""
    import imageio.v3 as iio

    from napari_deepsuperpixel import segment
    from napari_deepsuperpixel._napari._metrics_widget import MetricsWidget

    if not (DSB / "images" / DSB_IMAGE).exists():
        print(f"skipping the metrics screenshot: {DSB} not found", file=sys.stderr)
        return
    viewer = _viewer()
    img = iio.imread(DSB / "images" / DSB_IMAGE)
    mask = iio.imread(DSB / "masks" / DSB_IMAGE).astype(np.int32)
    image = viewer.add_image(img, name="nuclei (fluorescence)", colormap="gray")
    gt = viewer.add_labels(mask, name="nuclei masks", opacity=0.5)
    pred = viewer.add_labels(segment(img, "snic", n_segments=150), name="nuclei snic",
                             metadata={"method": "snic"})
    pred.contour = 1
    w = MetricsWidget(viewer)
    viewer.window.add_dock_widget(w, name="Segmentation metrics")
    w.ground_truth.value = [gt]
    w.image.value = image
    w.ignore_background.value = True
    w.objects.value = True
    w.compute()
    _wait(w)
    _save(viewer, out / "napari_metrics.png", overwrite)
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
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
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


SHOTS = {"microscopy": shot_microscopy, "segment": shot_segment, "stack": shot_stack, "volume": shot_volume,
         "metrics": shot_metrics, "training": shot_training}


if __name__ == "__main__":
    sys.exit(main())
