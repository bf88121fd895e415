"""The *Annotate with superpixels* widget in a real viewer: painting by superpixel, undo, training."""

import threading
from dataclasses import dataclass, field

import numpy as np
import pytest

napari = pytest.importorskip("napari")
from napari.utils.interactions import (  # noqa: E402
    mouse_move_callbacks,
    mouse_press_callbacks,
    mouse_release_callbacks,
)

from napari_deepsuperpixel._napari._annotate_widget import AnnotateWidget  # noqa: E402


@dataclass
class Event:
    """The mouse event fields napari's callbacks read."""

    type: str
    position: tuple
    is_dragging: bool = False
    modifiers: tuple = ()
    button: int = 1
    dims_displayed: tuple = (0, 1)
    view_direction: object = None
    up_direction: object = None
    handled: bool = False
    pos: tuple = field(default=(0, 0))


def _blocks(ny, nx, side):
    yy, xx = np.mgrid[:ny, :nx]
    return ((yy // side) * -(-nx // side) + xx // side + 1).astype(np.int32)


@pytest.fixture
def scene(make_napari_viewer):
    viewer = make_napari_viewer()
    img = np.zeros((40, 60))
    img[10:30, 20:40] = 1.0
    viewer.add_image(img, name="cells", scale=(2, 2))
    viewer.add_labels(_blocks(40, 60, 10), name="sp", scale=(2, 2))
    w = AnnotateWidget(viewer)
    viewer.window.add_dock_widget(w)
    w.superpixels.value = viewer.layers["sp"]
    w.image.value = viewer.layers["cells"]
    return viewer, w


def _drag(layer, points):
    """Press at the first world point, move through the others, release at the last.

    The events go through napari's own dispatch, wrapped as napari's canvas wraps them.
    """
    from napari.utils._proxies import ReadOnlyWrapper

    mouse_press_callbacks(layer, ReadOnlyWrapper(Event("mouse_press", points[0])))
    for p in points[1:]:
        mouse_move_callbacks(layer, ReadOnlyWrapper(Event("mouse_move", p, is_dragging=True)))
    mouse_release_callbacks(layer, ReadOnlyWrapper(Event("mouse_release", points[-1])))


def test_a_drag_paints_exactly_the_superpixels_under_it_and_undo_removes_it(scene):
    viewer, w = scene
    target = w.add_target_layer()
    assert target.data.shape == (40, 60) and tuple(target.scale) == (2, 2)
    w.mode.value = "paint"
    assert target.mode == "pan_zoom" and not target.mouse_pan
    target.selected_label = 3
    sp = viewer.layers["sp"].data
    # world (y, x) = 2 x data; a drag along data row 5 from x=5 to x=25 crosses superpixels 1, 2, 3
    _drag(target, [(10, 10), (10, 30), (10, 50)])
    np.testing.assert_array_equal(target.data == 3, np.isin(sp, [1, 2, 3]))
    # a click on one more superpixel
    _drag(target, [(30, 10)])
    np.testing.assert_array_equal(target.data == 3, np.isin(sp, [1, 2, 3, 7]))
    target.undo()                          # napari's own history: the click ...
    np.testing.assert_array_equal(target.data == 3, np.isin(sp, [1, 2, 3]))
    target.undo()                          # ... and the whole drag, in one step each
    assert not target.data.any()
    target.redo()
    np.testing.assert_array_equal(target.data == 3, np.isin(sp, [1, 2, 3]))


def test_erase_clears_whole_superpixels_and_mode_off_stops_painting(scene):
    viewer, w = scene
    target = w.add_target_layer()
    target.data[...] = 5
    w.mode.value = "erase"
    _drag(target, [(30, 30)])              # data (15, 15): superpixel 8
    sp = viewer.layers["sp"].data
    np.testing.assert_array_equal(target.data == 0, sp == 8)
    w.mode.value = "off"
    assert target.mouse_pan
    _drag(target, [(70, 100)])
    assert np.count_nonzero(target.data == 0) == 100


def test_selected_superpixels_merge_into_one_new_object(scene):
    viewer, w = scene
    target = w.add_target_layer()
    target.data[0, 0] = 4                  # an existing object
    w.mode.value = "select"
    for p in [(30, 50), (30, 70), (50, 50), (50, 70), (10, 110)]:
        _drag(target, [p])
    _drag(target, [(10, 110)])             # clicked twice: deselected again
    assert viewer.layers["sp selection"].data.sum() == 400
    label = w.merge_selected()
    sp = viewer.layers["sp"].data
    assert label == 5
    np.testing.assert_array_equal(target.data == 5, np.isin(sp, [9, 10, 15, 16]))
    assert not viewer.layers["sp selection"].data.any()
    target.undo()
    assert not (target.data == 5).any()


def test_train_runs_in_a_worker_and_adds_classes_objects_and_features(scene, qtbot, monkeypatch, tmp_path):
    viewer, w = scene
    import napari_deepsuperpixel._napari._annotate_job as job_mod

    threads = []
    real = job_mod.run_train_job

    def spy(job):
        threads.append(threading.current_thread())
        return real(job)

    monkeypatch.setattr(job_mod, "run_train_job", spy)
    assert w.train() is None and "scribble" in w.status.value   # no scribbles yet: a message
    scr = w.add_scribble_layer()
    scr.data[15, 25:28] = 1                # on the bright square
    scr.data[2, 2:5] = 2                   # on the background
    w.train_button.clicked.emit()
    assert w.running and w.status.value == "computing features and training..."
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    assert threads and threads[0] is not threading.main_thread()
    classes = viewer.layers["cells classes"].data
    truth = np.where(np.isin(_blocks(40, 60, 10), [9, 10, 15, 16]), 1, 2)
    np.testing.assert_array_equal(classes, truth)
    objects = viewer.layers["cells objects"].data
    assert objects.max() == 1 and np.all(objects[truth == 1] == 1)
    feats = viewer.layers["sp"].features
    assert list(feats["label"]) == list(range(1, 25)) and "intensity_mean" in feats and "confidence" in feats
    assert "cells least confident" in viewer.layers
    # retraining reuses the cached feature table
    w.train_button.clicked.emit()
    assert w.status.value == "training..."
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    assert w.status.value.startswith("trained on 2 superpixels")
    out = w.export_csv(tmp_path / "sp.csv")
    header = out.read_text().splitlines()[0].split(",")
    assert header[0] == "label" and "predicted_class" in header and len(out.read_text().splitlines()) == 25


def test_merge_slider_shows_fewer_segments_for_a_higher_threshold(scene, qtbot):
    viewer, w = scene
    w.weight.value = "color"
    assert not w.threshold.enabled  # no tree yet
    w.tree_button.clicked.emit()
    qtbot.waitUntil(lambda: w.threshold.enabled and not w.running, timeout=60_000)
    counts = []
    for t in (0.0, 0.5, w.threshold.max):
        w.threshold.value = t
        qtbot.waitUntil(lambda: "sp merged" in viewer.layers, timeout=10_000)
        qtbot.waitUntil(lambda t=t: viewer.layers["sp merged"].metadata.get("merge_threshold") == t,
                        timeout=10_000)
        counts.append(len(np.unique(viewer.layers["sp merged"].data)))
    # at 0 the blocks of equal colour have merged (square and background), at the top everything
    assert counts == [2, 2, 1]


def test_stack_superpixels_paint_in_the_displayed_slice(make_napari_viewer):
    viewer = make_napari_viewer()
    sp = np.stack([_blocks(20, 20, 10), _blocks(20, 20, 10) + 4])
    viewer.add_image(np.zeros((2, 20, 20)), name="stack")
    viewer.add_labels(sp, name="sp")
    w = AnnotateWidget(viewer)
    w.superpixels.value = viewer.layers["sp"]
    target = w.add_target_layer()
    w.mode.value = "paint"
    target.selected_label = 2
    _drag(target, [(1, 5, 15)])
    np.testing.assert_array_equal(target.data == 2, sp == 6)
