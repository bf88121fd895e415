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
    assert objects.max() == 1 and np.all(objects[10:30, 20:40] == 1)
    feats = viewer.layers["sp"].features
    assert list(feats["label"]) == list(range(1, 25)) and "intensity_mean" in feats and "confidence" in feats
    assert "cells least confident" in viewer.layers
    # retraining reuses the cached feature table
    w.train_button.clicked.emit()
    assert w.status.value == "training..."
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    assert w.status.value.startswith("1 objects in 'cells objects run 2'")
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


# -- the dock a new user understands (pickers, sections, classes, size, split, saving, screen) ------------
def _discs(shape=(64, 96), centres=((32, 30), (32, 48), (32, 76)), r=10):
    """Bright discs on a dark background: the first two touch (one blob of two nuclei), the third stands alone."""
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    img = np.zeros(shape)
    for cy, cx in centres:
        img[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 1.0
    return img + 0.02 * np.random.default_rng(0).standard_normal(shape)


def _strokes(shape):
    sc = np.zeros(shape, np.int32)
    sc[..., 32, 72:80] = 1                 # across the lone disc
    sc[..., 28:31, 26:34] = 1              # and into the first of the touching pair
    sc[..., 5, 5:40] = 2                   # background
    sc[..., 58, 50:90] = 2
    return sc


def _marked(metadata, kind):
    from napari_deepsuperpixel._napari._layers import mark

    return mark(metadata, kind)


def test_pickers_default_to_the_right_layers_and_show_the_classes(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_image(_discs(), name="nuclei")
    sp = viewer.add_labels(_blocks(64, 96, 8), name="nuclei snic", metadata=_marked({}, "superpixels"))
    w = AnnotateWidget(viewer)
    # the superpixels the segmentation dock made; never them as target or scribbles
    assert w.superpixels.value is sp and w.image.value is viewer.layers["nuclei"]
    assert w.target.value is None and w.scribbles.value is None
    for picker in (w.target, w.scribbles):
        assert sp not in [c for c in picker.choices]
    assert "1 = objects" in w.classes_note.value and "2 = background" in w.classes_note.value
    scr = w.add_scribble_layer()
    assert w.scribbles.value is scr and w.target.value is None
    assert scr.mode == "paint" and scr.selected_label == 1
    colours = scr.colormap.color_dict
    assert tuple(np.round(colours[1][:3], 2)) == (1.0, 0.25, 0.25) and colours[2][2] > colours[2][0]  # red, blue
    assert list(scr.features["class"][:3]) == ["not annotated", "objects", "background"]
    target = w.add_target_layer()
    assert w.target.value is target and w.scribbles.value is scr
    assert scr not in list(w.target.choices) and target not in list(w.scribbles.choices)
    # a dock opened later finds them by their role
    w2 = AnnotateWidget(viewer)
    assert (w2.superpixels.value, w2.target.value, w2.scribbles.value) == (sp, target, scr)
    # painting draws the superpixels as contours (the image shows through)
    sp.contour = 0
    w.mode.value = "paint"
    assert sp.contour >= 1
    w.mode.value = "off"


def test_sections_follow_the_work(make_napari_viewer):
    viewer = make_napari_viewer()
    w = AnnotateWidget(viewer)
    import re

    titles = [re.sub("<[^>]+>", "", c.value) for c in w.body if type(c).__name__ == "Label"]
    assert [t.split(" · ")[0] for t in titles] == ["1", "2", "3", "4"]
    assert [t.split(" · ")[1].split()[0] for t in titles] == ["Superpixels", "Paint", "Scribbles", "Objects"]
    # the main buttons are below the scrolling sections: always visible
    for button in (w.train_button, w.save_button):
        assert not w.body.native.isAncestorOf(button.native)


@pytest.mark.parametrize("stack", [False, True], ids=["2d", "stack"])
def test_the_dock_calls_segment_objects(make_napari_viewer, qtbot, monkeypatch, stack):
    import napari_deepsuperpixel.annotate as annotate

    img = _discs()
    if stack:
        img = np.stack([img, img[:, ::-1]])
    viewer = make_napari_viewer()
    viewer.add_image(img, name="nuclei")
    w = AnnotateWidget(viewer)
    scr = w.add_scribble_layer()
    scr.data = _strokes(img.shape)
    calls = []
    real = annotate.segment_objects
    monkeypatch.setattr(annotate, "segment_objects", lambda *a, **k: calls.append(k) or real(*a, **k))
    w.train()
    qtbot.waitUntil(lambda: not w.running, timeout=120_000)
    assert len(calls) == 1 and calls[0]["superpixels"] is None and calls[0]["object_size"] is None
    got = viewer.layers["nuclei objects"].data
    # what a script gets from the same call
    ref = real(img, _strokes(img.shape), object_class=1)
    np.testing.assert_array_equal(got, ref.objects)
    np.testing.assert_array_equal(viewer.layers["nuclei superpixels"].data, ref.superpixels)
    assert got.shape == img.shape and ref.n_objects == (6 if stack else 3)
    assert w.superpixels.value is viewer.layers["nuclei superpixels"]  # reused by the next training
    assert "measured" in w.size_note.value and f"{ref.object_size:.0f} px" in w.size_note.value
    # the next training passes the features back: only the classifier trains again
    w.train()
    assert w.status.value == "training..."
    qtbot.waitUntil(lambda: not w.running, timeout=120_000)
    assert calls[1]["features"] is not None and calls[1]["superpixels"] is not None


def test_retraining_keeps_the_previous_objects_and_split_shows_live(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_image(_discs(), name="nuclei")
    w = AnnotateWidget(viewer)
    w.split.value = "none"                 # the touching pair stays one object
    scr = w.add_scribble_layer()
    scr.data = _strokes(scr.data.shape)
    w.train()
    qtbot.waitUntil(lambda: not w.running, timeout=120_000)
    first = viewer.layers["nuclei objects"]
    assert first.data.max() == 2
    before = first.data.copy()
    # the split control redoes the latest objects at once, in the same layer
    w.split.value = "shape"
    qtbot.waitUntil(lambda: w._split_worker is None and first.data.max() == 3, timeout=60_000)
    assert "split shape" in w.status.value and "3 objects" in w.status.value
    assert not np.array_equal(first.data, before)
    # a deeper split depth: fewer cuts, live
    w.split_h.value = 3.0
    qtbot.waitUntil(lambda: w._split_worker is None and first.data.max() == 2, timeout=60_000)
    w.split_h.value = 0.6
    qtbot.waitUntil(lambda: w._split_worker is None and first.data.max() == 3, timeout=60_000)
    kept = first.data.copy()
    # retraining: a new layer, the previous one kept (hidden), never overwritten
    w.train()
    qtbot.waitUntil(lambda: not w.running, timeout=120_000)
    second = viewer.layers["nuclei objects run 2"]
    assert second is not first and not first.visible and second.visible
    np.testing.assert_array_equal(first.data, kept)
    assert "'nuclei objects' kept" in w.status.value
    # objects edited by hand are never replaced by a split: the split goes to a new layer
    second.data[0, 0] = 9
    w.split.value = "none"
    qtbot.waitUntil(lambda: w._split_worker is None and "nuclei objects run 3" in viewer.layers, timeout=60_000)
    assert second.data[0, 0] == 9


def test_object_size_is_measured_unless_set(make_napari_viewer, qtbot):
    from napari_deepsuperpixel.annotate import estimate_object_size

    viewer = make_napari_viewer()
    img = _discs()
    viewer.add_image(img, name="nuclei")
    w = AnnotateWidget(viewer)
    assert w.object_size.value == 0 and w.object_size.native.text() == "auto"
    w.make_superpixels()
    qtbot.waitUntil(lambda: not w.running, timeout=120_000)
    sp = viewer.layers["nuclei superpixels"]
    size = estimate_object_size(img)
    assert w.superpixels.value is sp and sp.contour >= 1 and sp.metadata["object_size"] == pytest.approx(size)
    assert 15 <= size <= 25  # the discs are 21 pixels across
    assert f"≈ {size:.0f} px across (measured)" in w.size_note.value
    w.object_size.value = 8                # set by hand: smaller superpixels
    w.make_superpixels()
    qtbot.waitUntil(lambda: not w.running, timeout=120_000)
    assert viewer.layers["nuclei superpixels [1]"].data.max() > sp.data.max()
    assert "(set)" in w.size_note.value


def test_annotation_saved_and_reloaded_with_the_image(make_napari_viewer, tmp_path):
    import tifffile

    path = tmp_path / "nuclei.tif"
    tifffile.imwrite(path, (_discs() * 1000).clip(0, None).astype(np.uint16))
    viewer = make_napari_viewer()
    [image] = viewer.open(str(path))
    w = AnnotateWidget(viewer)
    assert w.image.value is image
    assert w.save_annotation() is None and "no strokes" in w.status.value
    scr = w.add_scribble_layer()
    scr.data = _strokes(scr.data.shape)
    w.split.value, w.split_h.value, w.object_size.value, w.object_class.value = "learned", 0.9, 20, 1
    out = w.save_annotation()
    assert out == tmp_path / "nuclei.annotation.tif" and out.is_file()
    assert scr.metadata["annotate"]["split"] == "learned"
    # the file is a plain labels TIFF too
    np.testing.assert_array_equal(tifffile.imread(out), _strokes(scr.data.shape))
    # the image opened again: the strokes and the settings come back with it
    viewer2 = make_napari_viewer()
    [image2] = viewer2.open(str(path))
    w2 = AnnotateWidget(viewer2)
    assert w2.image.value is image2
    loaded = viewer2.layers["nuclei scribbles"]
    np.testing.assert_array_equal(loaded.data, _strokes(scr.data.shape))
    assert w2.scribbles.value is loaded
    assert (w2.split.value, w2.split_h.value, w2.object_size.value) == ("learned", 0.9, 20)
    assert "loaded" in w2.status.value
    # the dock open first, the image opened next: the same
    viewer3 = make_napari_viewer()
    w3 = AnnotateWidget(viewer3)
    viewer3.open(str(path))
    np.testing.assert_array_equal(viewer3.layers["nuclei scribbles"].data, _strokes(scr.data.shape))
    assert w3.split.value == "learned" and w3.scribbles.value is viewer3.layers["nuclei scribbles"]
    # a foreign file in its place: one line, nothing loaded
    tifffile.imwrite(out, np.zeros((4, 4), np.uint8))
    viewer2.layers.remove(loaded)
    assert w2.load_annotation() is None and "not an annotation file" in w2.status.value


def _tree_built(w, qtbot):
    w.tree_button.clicked.emit()
    qtbot.waitUntil(lambda: w.threshold.enabled and not w.running, timeout=60_000)


@pytest.mark.parametrize("other", ["3d", "other 2d shape"])
def test_another_superpixel_layer_resets_the_merge_tree(make_napari_viewer, qtbot, other):
    viewer = make_napari_viewer()
    img2 = np.random.default_rng(1).random((40, 60))
    viewer.add_image(img2, name="a")
    sp_a = viewer.add_labels(_blocks(40, 60, 10), name="a sp")
    w = AnnotateWidget(viewer)
    w.image.value, w.superpixels.value = viewer.layers["a"], sp_a
    _tree_built(w, qtbot)
    w.threshold.value = w.threshold.max / 2
    qtbot.waitUntil(lambda: w._cut_worker is None and "a sp merged" in viewer.layers, timeout=10_000)
    if other == "3d":
        data, sp_b = np.random.default_rng(2).random((3, 40, 60)), np.stack([_blocks(40, 60, 10) + 24 * z
                                                                             for z in range(3)])
    else:
        data, sp_b = np.random.default_rng(2).random((50, 30)), _blocks(50, 30, 10)
    viewer.add_image(data, name="b")
    layer_b = viewer.add_labels(sp_b, name="b sp")
    w.image.value, w.superpixels.value = viewer.layers["b"], layer_b
    assert w._tree is None and not w.threshold.enabled
    assert "Build merge tree" in w.status.value
    w.request_cut(w.threshold.max)        # the slider before a new tree: nothing, no error
    assert w._cut_worker is None and "b sp merged" not in viewer.layers
    _tree_built(w, qtbot)
    w.threshold.value = w.threshold.max
    qtbot.waitUntil(lambda: w._cut_worker is None and "b sp merged" in viewer.layers, timeout=10_000)
    merged = viewer.layers["b sp merged"]
    assert merged.data.shape == sp_b.shape and merged.ndim == sp_b.ndim
    assert viewer.layers["a sp merged"].data.shape == (40, 60)  # the old cut is left as it was
    assert "\u26a0" not in w.status.value


def test_a_cut_of_the_old_tree_arriving_late_is_dropped(scene, qtbot):
    viewer, w = scene
    _tree_built(w, qtbot)
    qtbot.waitUntil(lambda: w._cut_worker is None and "sp merged" in viewer.layers, timeout=10_000)
    viewer.layers.remove("sp merged")
    state = w._tree
    viewer.add_labels(np.stack([_blocks(40, 60, 10)] * 2), name="vol sp")
    w.superpixels.value = viewer.layers["vol sp"]
    w._on_cut(state[0].cut(0.0), 0.0, state)   # what a worker started before the switch returns
    assert "sp merged" not in viewer.layers


def test_nan_embedding_is_refused_in_one_line(scene):
    viewer, w = scene
    scr = w.add_scribble_layer()
    scr.data[15, 25:28] = 1
    scr.data[2, 2:5] = 2
    emb = np.random.default_rng(0).random((40, 60, 4))
    emb[3, 4, 1] = np.nan
    viewer.add_image(emb[..., 0].copy(), name="ok")  # (an Image layer per channel is what napari opens)
    bad = viewer.add_image(emb, name="embedding", rgb=False, channel_axis=None)
    w.embedding.reset_choices()
    w.embedding.value = bad
    assert w.train() is None and not w.running
    assert "NaN" in w.status.value and "'embedding'" in w.status.value and "\n" not in w.status.value
    inf = emb.copy()
    inf[3, 4, 1] = np.inf
    bad.data = inf
    assert w.train() is None and "infinite" in w.status.value


def test_shortcuts_train_and_toggle_painting(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.add_image(_discs(), name="nuclei")
    w = AnnotateWidget(viewer)
    viewer.window.add_dock_widget(w)
    keys = list(w.shortcuts)
    assert set(keys) == {w.TRAIN_KEYS, w.PAINT_KEYS, w.SCRIBBLE_KEYS, w.SAVE_KEYS}
    from napari._app_model import get_app_model

    taken = {str(kb.keybinding) for kb in get_app_model().keybindings}
    assert not taken & set(keys)  # napari's own shortcuts are left alone
    assert "Ctrl+Shift+Return" in w.train_button.tooltip or "Return" in w.train_button.tooltip
    w.shortcuts[w.SCRIBBLE_KEYS].activated.emit()
    scr = viewer.layers["nuclei scribbles"]
    scr.data = _strokes(scr.data.shape)
    w.shortcuts[w.TRAIN_KEYS].activated.emit()
    assert w.running
    qtbot.waitUntil(lambda: not w.running, timeout=120_000)
    assert "nuclei objects" in viewer.layers
    w.shortcuts[w.PAINT_KEYS].activated.emit()   # paint by superpixel: a target layer is made
    assert w.mode.value == "paint" and w.target.value is viewer.layers["nuclei annotation"]
    w.shortcuts[w.PAINT_KEYS].activated.emit()
    assert w.mode.value == "off"


#: napari's own rows around the docks: menu bar, status bar, a dock title per dock
CHROME = 60


def test_segmentation_annotate_and_metrics_docks_fit_1920x1080(make_napari_viewer, qtbot):
    from napari_deepsuperpixel._napari._metrics_widget import MetricsWidget
    from napari_deepsuperpixel._napari._segment_widget import SegmentWidget

    viewer = make_napari_viewer(show=True)
    long = "nuclei_" + "very_long_acquisition_name_from_the_microscope_export_" * 3 + "ch0"
    img = _discs()
    viewer.add_image(img, name=long)
    seg, ann, met = SegmentWidget(viewer), AnnotateWidget(viewer), MetricsWidget(viewer)
    docks = [viewer.window.add_dock_widget(w) for w in (seg, ann, met)]
    scr = ann.add_scribble_layer()
    scr.data = _strokes(img.shape)
    ann.train()                             # long layer names and a long status line
    qtbot.waitUntil(lambda: not ann.running, timeout=120_000)
    viewer.add_labels(np.asarray(viewer.layers[f"{long} objects"].data), name=f"{long} ground truth")
    met.ground_truth.value = [viewer.layers[f"{long} ground truth"]]
    met.objects.value = True
    met.compute()
    qtbot.waitUntil(lambda: not met.running, timeout=60_000)
    qtbot.wait(50)
    heights = [d.minimumSizeHint().height() for d in docks]
    assert sum(heights) + CHROME <= 1080, heights
    assert max(d.minimumSizeHint().width() for d in docks) <= 480
    window = ann.native.window()
    window.resize(1920, 1080)
    qtbot.wait(50)
    assert window.height() <= 1080 and window.width() <= 1920
    for w, button in ((seg, seg.run_button), (ann, ann.train_button), (ann, ann.save_button),
                      (met, met.compute_button)):
        assert not w.body.native.isAncestorOf(button.native)
        assert button.native.isVisible() and button.native.visibleRegion().boundingRect().height() > 10
