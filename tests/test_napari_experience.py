"""The docks as a new user meets them: the right layer by default, names that can be told apart,
masks accepted as ground truth, the batch's overwrite, every control explained, fields that show
the value in use, shortcuts, result volumes in the 3D view."""

import re

import numpy as np
import pytest

napari = pytest.importorskip("napari")
from qtpy.QtWidgets import (  # noqa: E402
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QScrollArea,
    QScrollBar,
)

from napari_deepsuperpixel._napari._batch_widget import BatchWidget, time_left  # noqa: E402
from napari_deepsuperpixel._napari._layers import mark  # noqa: E402
from napari_deepsuperpixel._napari._metrics_widget import IMAGE_AS_LABELS, MetricsWidget  # noqa: E402
from napari_deepsuperpixel._napari._segment_widget import SegmentWidget  # noqa: E402

#: a microscopy export name: layers of one acquisition differ only at their ends
BASE = "IXMtest_A02_s1_w1051DAA7C-7042-435F-99F0-1E847D9B42CB"


def _nuclei():
    gt = np.zeros((48, 48), np.uint16)
    gt[5:20, 5:20], gt[25:40, 8:22], gt[10:30, 28:44] = 1, 2, 3
    img = (gt > 0) * 200.0 + np.random.default_rng(0).normal(20, 5, gt.shape)
    return img.astype(np.float32), gt


# -- metrics: the default prediction, names, masks -------------------------------------------------
def test_default_prediction_after_an_annotation_is_the_objects_layer(make_napari_viewer):
    viewer = make_napari_viewer()
    img, gt = _nuclei()
    viewer.add_image(img, name=BASE)
    sp = viewer.add_labels(np.arange(48 * 48).reshape(48, 48) % 7 + 1, name=f"{BASE} snic",
                           metadata=mark({"method": "snic"}, "superpixels"))
    w = MetricsWidget(viewer)
    assert w.prediction.value is sp
    # what an annotation adds: a scribble layer (not a result), then its objects, then a layer
    # of the least confident superpixels (the plugin's, but not a result)
    viewer.add_labels(np.zeros((48, 48), np.int32), name=f"{BASE} snic annotation")
    objects = viewer.add_labels(gt.astype(np.int32), name=f"{BASE} snic objects",
                                metadata=mark({}, "objects"))
    viewer.add_labels(np.zeros((48, 48), np.int32), name=f"{BASE} snic least confident",
                      metadata=mark({}, "uncertain"))
    assert w.prediction.value is objects
    assert MetricsWidget(viewer).prediction.value is objects  # a dock opened afterwards too
    # a result made later wins; a ground-truth layer never does
    newer = viewer.add_labels(gt.astype(np.int32), name=f"{BASE} slic", metadata=mark({}, "segmentation"))
    viewer.add_labels(gt.astype(np.int32), name=f"{BASE} annotator 1", metadata=mark({}, "ground_truth"))
    assert MetricsWidget(viewer).default_prediction() is newer


def test_elided_names_keep_their_ends_and_show_in_full_on_hover(make_napari_viewer, qtbot):
    from napari_deepsuperpixel._napari._layout import displayed_text

    viewer = make_napari_viewer(show=True)
    img, gt = _nuclei()
    viewer.add_image(img, name=BASE)
    for m in ("snic", "slic"):
        viewer.add_labels(gt.astype(np.int32), name=f"{BASE} {m}", metadata=mark({}, "superpixels"))
    w = MetricsWidget(viewer)
    viewer.window.add_dock_widget(w)
    combo = w.prediction.native
    combo.setFixedWidth(220)
    qtbot.wait(50)
    shown = displayed_text(combo)
    assert "\u2026" in shown and len(shown) < len(combo.currentText())
    assert shown.startswith("IXM") and shown.endswith("slic")  # both ends: the method is visible
    from qtpy.QtCore import QEvent, QPoint
    from qtpy.QtGui import QHelpEvent
    from qtpy.QtWidgets import QApplication

    def hover_text():
        QApplication.sendEvent(combo, QHelpEvent(QEvent.Type.ToolTip, QPoint(5, 5), combo.mapToGlobal(QPoint(5, 5))))
        return combo.toolTip()

    assert hover_text().startswith(f"{BASE} slic\n")  # the full name, then what the field is for
    assert "newest result" in hover_text()
    w.prediction.value = viewer.layers[f"{BASE} snic"]
    assert displayed_text(combo).endswith("snic") and hover_text().startswith(f"{BASE} snic\n")
    combo.setFixedWidth(1400)  # room for the whole name: the field's own tooltip only
    qtbot.wait(50)
    assert displayed_text(combo) == combo.currentText() and not hover_text().startswith(BASE)
    # the ground-truth list: no sideways scrolling, names elided in the middle, each in full on hover
    view = w.ground_truth.native
    from qtpy.QtCore import Qt

    assert view.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    assert view.textElideMode() == Qt.TextElideMode.ElideMiddle
    tips = [view.item(i).toolTip() for i in range(view.count())]
    assert f"{BASE} snic" in tips and f"{BASE} slic" in tips
    viewer.add_labels(gt.astype(np.int32), name=f"{BASE} felzenszwalb")
    assert f"{BASE} felzenszwalb" in [view.item(i).toolTip() for i in range(view.count())]


def test_a_mask_image_layer_is_offered_and_scored_as_ground_truth(make_napari_viewer, qtbot):
    from napari_deepsuperpixel._napari._metrics_job import compute_metrics

    viewer = make_napari_viewer()
    img, gt = _nuclei()
    viewer.add_image(img, name=BASE)  # float: not a mask
    viewer.add_image(np.stack([gt] * 3, -1).astype(np.uint8), name="rgb", rgb=True)  # colour: not a mask
    mask = viewer.add_image(gt, name=f"{BASE}_mask.png")  # how napari opens a 16-bit mask file
    pred = gt.astype(np.int32).copy()
    pred[25:40, 8:22] = 0
    viewer.add_labels(pred, name=f"{BASE} snic", metadata=mark({}, "superpixels"))
    w = MetricsWidget(viewer)
    offered = {name: layer for name, layer in w.ground_truth_layers()}
    assert offered == {f"{BASE} snic": viewer.layers[f"{BASE} snic"], f"{BASE}_mask.png {IMAGE_AS_LABELS}": mask}
    w.ground_truth.value = [mask]
    w.objects.value = True
    w.ignore_background.value = True
    assert w.compute() is not None
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    row = w.rows[f"{BASE} snic"]
    expected = compute_metrics(pred, [gt.astype(np.int32)], objects=True, ignore_background=True)["row"]
    for key in ("covering", "asa", "obj_f50", "obj_r50"):
        assert row[key] == pytest.approx(expected[key])
    assert row["obj_r50"] == pytest.approx(2 / 3)  # one of the three nuclei was missed
    assert "used as labels" in w.status.value and "mask.png" in w.status.value
    assert isinstance(mask, napari.layers.Image)  # converted on use; the layer stays as it was


# -- batch -----------------------------------------------------------------------------------
def test_batch_overwrite_from_the_dock(docked, qtbot, tmp_path):
    from skimage import data

    from napari_deepsuperpixel.io.files import write_png

    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        write_png(src / f"img{i}.png", np.roll(data.coins()[:60, :80], 7 * i, axis=0))
    viewer, w = docked(BatchWidget)
    w.folder.value, w.output.value = src, tmp_path / "out"
    w.params.set_values({"n_segments": 20})
    w.run()
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    first = (tmp_path / "out" / "img0_snic.tif").stat().st_mtime_ns
    w.skip.value = False  # neither resume nor overwrite: refused, in the dock's words
    assert w.run() is None
    assert "tick 'overwrite existing outputs'" in w.status.value
    assert "tick 'skip finished images (resume)'" in w.status.value
    assert "overwrite=True" not in w.status.value and "--overwrite" not in w.status.value
    w.skip.value = True
    w.overwrite.value = True  # one or the other
    assert w.skip.value is False
    w.params.set_values({"n_segments": 30})
    assert w.run() is not None
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    assert "2 image(s) segmented in" in w.status.value
    assert (tmp_path / "out" / "img0_snic.tif").stat().st_mtime_ns > first
    assert re.fullmatch(r"\d+\.\d\d", w.table.native.item(0, 2).text())  # seconds: two decimals


def test_batch_time_estimate_from_the_finished_images():
    assert time_left(0, 10, 5.0) is None
    assert time_left(2, 10, 6.0) == pytest.approx(24.0)  # 3 s per image, 8 left
    assert time_left(10, 10, 30.0) == 0.0


# -- every control explained ---------------------------------------------------------------------
_CONTROLS = (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit, QAbstractItemView, QAbstractSlider)


def _untipped(dock) -> list:
    """The dock's controls without a tooltip of their own or of the field they belong to."""
    stop = {dock.native}
    for attr in ("body", "params"):
        if getattr(dock, attr, None) is not None:
            stop.add(getattr(dock, attr).native)
    stop.update(dock.native.findChildren(QScrollArea))
    stop.update(a.viewport() for a in dock.native.findChildren(QScrollArea))
    missing = []
    for control in dock.native.findChildren(_CONTROLS):
        if isinstance(control, QScrollBar):
            continue
        w, tip = control, ""
        while w is not None and w not in stop and not tip:
            tip = w.toolTip()
            w = w.parentWidget()
        if not tip:
            text = control.text() if hasattr(control, "text") else ""
            missing.append(f"{type(control).__name__} {text or control.objectName()!r}")
    return missing


def _annotate(viewer):
    from napari_deepsuperpixel._napari._annotate_widget import AnnotateWidget

    return AnnotateWidget(viewer)


def _training(viewer):
    from napari_deepsuperpixel._napari._training_widget import TrainingWidget

    return TrainingWidget(viewer)


@pytest.mark.parametrize("make", [
    pytest.param(SegmentWidget, id="segmentation"),
    pytest.param(MetricsWidget, id="metrics"),
    pytest.param(BatchWidget, id="batch"),
    pytest.param(_training, id="training"),
    pytest.param(_annotate, id="annotate"),
])
def test_every_control_has_a_tooltip(make_napari_viewer, make):
    viewer = make_napari_viewer()
    img, gt = _nuclei()
    viewer.add_image(img, name=BASE)
    viewer.add_labels(gt.astype(np.int32), name=f"{BASE} snic", metadata=mark({}, "superpixels"))
    dock = make(viewer)
    missing = _untipped(dock)
    # every method's (or trainer's) panel, advanced parameters included
    selector = getattr(dock, "method", None) or getattr(dock, "trainer", None)
    if selector is not None and hasattr(dock, "params"):
        for choice in list(selector.choices):
            selector.value = choice
            missing += [f"{choice}: {m}" for m in _untipped(dock)]
    assert not sorted(set(missing)), f"controls without a tooltip: {sorted(set(missing))}"


# -- fields left to the method -------------------------------------------------------------------
def test_unticked_fields_show_the_preset_value(make_napari_viewer):
    viewer = make_napari_viewer()
    img, _ = _nuclei()
    viewer.add_image(img, name="nuclei")
    w = SegmentWidget(viewer)
    w.method.value = "backprop"
    w.device.value = "cpu"
    fields = {f.name: f for f in w.params}
    assert fields["max_iter"].auto.value == "auto: 150 (fast preset)"
    assert fields["n_channels"].auto.value == "auto: 32 (fast preset)"
    assert not fields["max_iter"].auto.native.isHidden() and fields["max_iter"].inner.native.isHidden()
    assert fields["superpixel_count"].auto.value == "auto: 10000, at most a quarter of the pixels"
    assert fields["precision"].native.itemText(0) == "auto: auto (fast preset)"
    fields["preset"].value = "paper"
    assert fields["max_iter"].auto.value == "auto: 500 (paper preset)"
    assert fields["n_channels"].auto.value == "auto: 100 (paper preset)"
    fields["max_iter"].enabled_box.value = True  # ticking starts from the value in use
    assert not fields["max_iter"].inner.native.isHidden() and fields["max_iter"].auto.native.isHidden()
    assert fields["max_iter"].value == 500
    assert w.params.values()["n_channels"] is None  # unticked: still the preset's to decide
    # a method without presets: what None means, from its declaration
    w.method.value = "neural_superpixels"
    assert {f.name: f for f in w.params}["min_size"].auto.value == "auto: 6% of H*W/N"


def test_weights_field_names_the_set_in_use(make_napari_viewer):
    from napari_deepsuperpixel._napari._weights import SINGLE_CHANNEL_SET

    viewer = make_napari_viewer()
    img, _ = _nuclei()
    grey = viewer.add_image(img, name="nuclei")
    colour = viewer.add_image(np.zeros((48, 48, 3), np.uint8), name="photo", rgb=True)
    w = SegmentWidget(viewer)
    for method, model in (("sen", "sen"), ("superae", "superae")):
        w.method.value = method
        field = {f.name: f for f in w.params}["checkpoint"]
        w.image.value = colour
        assert field.native.itemText(0) == "auto: bsds \u2014 photographs (BSDS500)"
        assert w.make_job()[0].params["checkpoint"] == ""  # the library's default set
        w.image.value = grey
        chosen = SINGLE_CHANNEL_SET[model]
        assert field.native.itemText(0).startswith(f"auto: {chosen} \u2014")
        assert "single-channel image" in field.native.itemText(0)
        assert w.make_job()[0].params["checkpoint"] == chosen
    assert SINGLE_CHANNEL_SET == {"superae": "microscopy", "sen": "microscopy"}  # docs/training.md's held-out tables


# -- shortcuts, contours, 3D ---------------------------------------------------------------------
def test_shortcuts_run_and_toggle_contours(make_napari_viewer, qtbot):
    from napari_deepsuperpixel._napari._training_widget import TrainingWidget

    viewer = make_napari_viewer(show=True)
    img, _ = _nuclei()
    viewer.add_image(img, name="nuclei")
    w = SegmentWidget(viewer)
    t = TrainingWidget(viewer)
    viewer.window.add_dock_widget(w)
    viewer.window.add_dock_widget(t)
    assert "Ctrl+Shift+R" in w.run_button.tooltip and "Ctrl+Shift+B" in w.contours_button.tooltip
    assert "Ctrl+Shift+L" in t.train_button.tooltip
    keys = [*w.shortcuts, *t.shortcuts]
    assert len(keys) == len(set(keys)) == 3
    # napari's own shortcuts are left alone
    from qtpy.QtGui import QAction

    taken = {s.toString() for a in viewer.window._qt_window.findChildren(QAction) for s in a.shortcuts()}
    assert not taken & set(keys)
    w.method.value = "snic"
    w.params.set_values({"n_segments": 20})
    w.shortcuts[w.RUN_KEYS].activated.emit()
    assert w.running
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    result = viewer.layers["nuclei snic"]
    viewer.layers.selection.active = viewer.layers["nuclei"]  # not a Labels layer: the newest result
    w.shortcuts[w.CONTOUR_KEYS].activated.emit()
    assert result.contour == 1
    w.toggle_contours()
    assert result.contour == 0


def test_result_volumes_are_translucent_in_the_3d_view(make_napari_viewer):
    from napari_deepsuperpixel._napari._layers import VIEW_3D, follow_ndisplay

    viewer = make_napari_viewer()
    follow_ndisplay(viewer)
    vol = viewer.add_labels(np.arange(4 * 8 * 8).reshape(4, 8, 8) // 16 + 1, name="supervoxels",
                            metadata=mark({}, "superpixels"))
    flat = viewer.add_labels(np.ones((8, 8), np.int32), name="2d result", metadata=mark({}, "superpixels"))
    other = viewer.add_labels(np.ones((4, 8, 8), np.int32), name="not ours")
    before = (vol.rendering, vol.opacity, vol.blending)
    viewer.dims.ndisplay = 3
    assert (vol.rendering, vol.opacity, vol.blending) == (VIEW_3D["rendering"], VIEW_3D["opacity"],
                                                          VIEW_3D["blending"])
    assert flat.opacity == other.opacity == 0.7 and other.rendering == "iso_categorical"
    later = viewer.add_labels(np.ones((4, 8, 8), np.int32), name="made in 3D", metadata=mark({}, "segmentation"))
    assert later.blending == VIEW_3D["blending"]
    viewer.dims.ndisplay = 2
    assert (vol.rendering, vol.opacity, vol.blending) == before
