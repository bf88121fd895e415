"""The segmentation widget in a real viewer (run with ``xvfb-run -a python -m pytest``)."""

import time
from dataclasses import dataclass

import numpy as np
import pytest

from napari_deepsuperpixel import Result, segment
from napari_deepsuperpixel._types import param
from napari_deepsuperpixel.methods import REGISTRY, MethodInfo, register

napari = pytest.importorskip("napari")
from napari_deepsuperpixel._napari._segment_widget import SegmentWidget  # noqa: E402


@dataclass
class SleepyParams:
    """A deliberately slow test method: sleeps and reports progress every iteration."""

    n_iter: int = param(300, "iterations", min=1)
    delay: float = param(0.02, "seconds per iteration", min=0.0, advanced=True)


def run_sleepy(image, *, params, seed=0, device="cpu", progress=None):
    for i in range(params.n_iter):
        time.sleep(params.delay)
        progress(i + 1, params.n_iter, "iterate", loss=1.0 / (i + 1))
    lab = np.ones(image.shape[:2], np.int32)
    lab[:, image.shape[1] // 2:] = 2
    return Result(lab)


@pytest.fixture
def sleepy():
    register(MethodInfo("test_sleepy", "slow test method", "superpixels",
                        f"{__name__}:SleepyParams", f"{__name__}:run_sleepy"))
    yield "test_sleepy"
    REGISTRY.pop("test_sleepy", None)


def _wait(qtbot, widget, timeout=60_000):
    qtbot.waitUntil(lambda: not widget.running, timeout=timeout)


def test_run_slic_adds_labels_with_input_geometry(viewer_widget, qtbot, rgb_image):
    viewer, w = viewer_widget
    viewer.add_image(rgb_image, name="astro", scale=(0.5, 0.25), translate=(10, -3))
    assert w.image.value is viewer.layers["astro"]
    w.method.value = "slic"
    w.params.set_values({"n_segments": 60, "compactness": 12.0})
    assert w.run() is not None
    _wait(qtbot, w)
    lab = viewer.layers["astro slic"]
    assert isinstance(lab, napari.layers.Labels)
    assert lab.data.shape == rgb_image.shape[:2] and lab.data.dtype == np.int32
    np.testing.assert_allclose(lab.scale, (0.5, 0.25))
    np.testing.assert_allclose(lab.translate, (10, -3))
    expected = segment(rgb_image, "slic", n_segments=60, compactness=12.0)
    np.testing.assert_array_equal(lab.data, expected)
    assert list(lab.features["index"]) == list(np.unique(expected))
    assert "mean_intensity_c0" in lab.features
    assert "segments" in w.status.value
    assert w.progress.value == w.progress.max == 1  # SLIC reports no steps: done = full bar

    # re-running replaces the result; "keep previous results" adds a second layer
    w.params.set_values({"n_segments": 20})
    w.run()
    _wait(qtbot, w)
    assert [layer.name for layer in viewer.layers] == ["astro", "astro slic"]
    assert lab.data.max() < expected.max()
    w.keep.value = True
    w.run()
    _wait(qtbot, w)
    # a kept rerun is "run 2", not napari's "[1]" (which reads like a slice index)
    assert [layer.name for layer in viewer.layers] == ["astro", "astro slic", "astro slic run 2"]


def test_parameter_panel_follows_the_method(viewer_widget):
    from napari_deepsuperpixel import get_method

    _, w = viewer_widget
    assert {"slic", "felzenszwalb", "quickshift", "watershed"} <= set(w.method.choices)
    for name in w.method.choices:
        w.method.value = name
        infos = get_method(name).parameters
        assert [x.name for x in w.params] == [p.name for p in infos]
        for widget, p in zip(w.params, infos):
            assert widget.tooltip == p.help
            assert widget.value == p.default or str(widget.value) == str(p.default)
    w.method.value = "slic"
    w.params.set_values({"n_segments": 77})
    w.method.value = "felzenszwalb"
    w.method.value = "slic"
    assert w.params.values()["n_segments"] == 77  # values survive switching methods
    w.detail.value = "fine"
    assert w.params.values()["n_segments"] == 1000
    w.detail.value = "default"
    assert w.params.values()["n_segments"] == 400
    assert w.device.value == "auto" and "cpu" in w.device.choices and not w.device.enabled


def test_cancel_stops_quickly_and_gui_stays_responsive(viewer_widget, qtbot, sleepy):
    viewer_widget[1].reset_choices()  # methods registered after the widget was built appear
    from qtpy.QtCore import QTimer

    viewer, w = viewer_widget
    viewer.add_image(np.random.default_rng(0).random((32, 40)), name="noise")
    w.method.value = sleepy
    assert [x.name for x in w.params] == ["n_iter", "delay"]
    assert w.params.delay.native.isHidden() and not w.advanced.native.isHidden()  # advanced hidden
    w.advanced.value = True
    assert not w.params.delay.native.isHidden()
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    w.run()
    assert w.progress.max == 0  # busy indicator until the first progress report
    qtbot.waitUntil(lambda: w.progress.value >= 20, timeout=20_000)
    # determinate progress: total = iterations, the bar advances
    assert w.progress.max == 300
    assert "loss" in w.status.value
    n_before = len(ticks)
    qtbot.wait(300)
    assert len(ticks) - n_before >= 5, "event loop blocked while the method runs"
    t0 = time.monotonic()
    w.cancel()
    _wait(qtbot, w, timeout=5_000)
    assert time.monotonic() - t0 < 2.0
    timer.stop()
    assert w.status.value == "cancelled"
    assert [layer.name for layer in viewer.layers] == ["noise"]
    assert w.run_button.enabled and not w.cancel_button.enabled


def test_stack_runs_slice_by_slice(viewer_widget, qtbot):
    from napari_deepsuperpixel._napari._sample_data import make_nuclei_stack

    viewer, w = viewer_widget
    stack = make_nuclei_stack(shape=(4, 48, 56), n_nuclei=6)
    viewer.add_image(stack, name="nuclei", scale=(2.0, 0.5, 0.5))
    w.method.value = "slic"
    w.params.set_values({"n_segments": 30})
    w.run()
    _wait(qtbot, w)
    lab = viewer.layers["nuclei slic"]
    assert lab.data.shape == stack.shape
    np.testing.assert_allclose(lab.scale, (2.0, 0.5, 0.5))
    assert w.progress.max == 4 and w.progress.value == 4  # per-slice progress
    # labels of different slices are distinct
    assert not set(np.unique(lab.data[0])) & set(np.unique(lab.data[1]))

    # only the displayed slice
    viewer.dims.set_current_step(0, 2)
    w.slice_only.value = True
    w.run()
    _wait(qtbot, w)
    lab2 = viewer.layers["nuclei slic (slice 2)"]
    # placed at its slice (z = 2 * scale 2.0), not drawn over every slice of the stack
    assert lab2.data.shape == (1, 48, 56)
    np.testing.assert_allclose(lab2.scale, (2.0, 0.5, 0.5))
    np.testing.assert_allclose(lab2.translate, (4.0, 0.0, 0.0))
    np.testing.assert_array_equal(lab2.data[0], segment(stack[2], "slic", n_segments=30,
                                                        normalize="percentile"))
    z_lo, z_hi = lab2.extent.world[:, 0]
    assert z_lo >= 3.0 and z_hi <= 5.0  # covers slice 2 only (world z 4), not slices 1 or 3


def test_several_16bit_layers_as_channels(viewer_widget, qtbot, gray16_image):
    viewer, w = viewer_widget
    a = viewer.add_image(gray16_image, name="c0")
    b = viewer.add_image(gray16_image[::-1].copy(), name="c1")
    w.method.value = "slic"
    w.params.set_values({"n_segments": 25})
    w.as_channels.value = True
    assert not w.channels.native.isHidden()
    w.channels.value = [a, b]
    w.run()
    _wait(qtbot, w)
    lab = viewer.layers["c0 slic"]
    expected = segment(np.stack([a.data, b.data], -1), "slic", channel_axis=-1, n_segments=25)
    np.testing.assert_array_equal(lab.data, expected)
    assert {"mean_intensity_c0", "mean_intensity_c1"} <= set(lab.features)


def test_multiscale_layer_uses_full_resolution(viewer_widget, qtbot, rgb_image):
    viewer, w = viewer_widget
    gray = rgb_image[..., 0]
    viewer.add_image([gray, gray[::2, ::2]], multiscale=True, name="pyr")
    w.params.set_values({"n_segments": 20})
    w.run()
    _wait(qtbot, w)
    np.testing.assert_array_equal(viewer.layers["pyr slic"].data, segment(gray, "slic", n_segments=20))


def test_bad_input_gives_a_message_not_a_crash(viewer_widget, qtbot):
    viewer, w = viewer_widget
    assert w.run() is None
    assert "no Image layer" in w.status.value
    viewer.add_image(np.zeros((2, 3, 4, 5, 6)), name="5d")
    assert w.run() is None
    assert "dimensions" in w.status.value
    viewer.layers.clear()
    viewer.add_image(np.random.default_rng(0).random((10, 12)), name="tiny")
    w.method.value = "slic"
    w.params.set_values({"n_segments": 5000})
    w.run()
    _wait(qtbot, w)
    assert "exceeds" in w.status.value
    assert [layer.name for layer in viewer.layers] == ["tiny"]


def test_reader_through_the_viewer(make_napari_viewer, bsds_root, tmp_path):
    from scipy.io import savemat

    viewer = make_napari_viewer()
    gt = bsds_root / "data" / "groundTruth" / "test" / "100007.mat"
    layers = viewer.open(str(gt), plugin="napari-deepsuperpixel")
    assert [layer.name for layer in layers] == [f"100007 annotator {k}" for k in range(1, 6)]
    assert all(isinstance(layer, napari.layers.Labels) for layer in layers)
    foreign = tmp_path / "foreign.mat"
    savemat(str(foreign), {"x": np.arange(3)})
    with pytest.raises(ValueError):
        viewer.open(str(foreign), plugin="napari-deepsuperpixel")
    assert len(viewer.layers) == 5


def test_bsds_image_opens_with_its_ground_truth(make_napari_viewer, bsds_bench_dir):
    viewer = make_napari_viewer()
    layers = viewer.open(str(bsds_bench_dir / "images" / "2018.jpg"), plugin="napari-deepsuperpixel")
    assert [layer.name for layer in layers] == ["2018"] + [f"2018 annotator {k}" for k in range(1, 6)]
    assert layers[0].rgb and isinstance(layers[1], napari.layers.Labels)
    assert layers[1].data.shape == layers[0].data.shape[:2]


@dataclass
class ExtrasParams:
    """A test method that returns every optional extra."""

    n_segments: int = param(4, "segments", min=1)


def run_extras(image, *, params, seed=0, device="cpu", progress=None):
    h, w = image.shape[:2]
    lab = np.ones((h, w), np.int32)
    lab[h // 2:] = 2
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    emb = np.stack([yy, xx, yy * xx, np.ones_like(yy)], -1)  # (Y, X, 4)
    return Result(lab, {"embedding": emb, "reconstruction": np.clip(image / 100.0, 0, 1),
                        "superpixels": lab * 2, "contours": np.abs(np.gradient(yy)[0])})


def test_extra_layers_from_result_extras(viewer_widget, qtbot, rgb_image):
    register(MethodInfo("test_extras", "returns extras", "superpixels",
                        f"{__name__}:ExtrasParams", f"{__name__}:run_extras"))
    try:
        viewer, w = viewer_widget
        w.reset_choices()
        viewer.add_image(rgb_image[:40, :50], name="img", scale=(3, 3))
        w.method.value = "test_extras"
        w.add_extras.value = True
        w.run()
        _wait(qtbot, w)
        names = [layer.name for layer in viewer.layers]
        assert names == ["img", "img test_extras", "img test_extras embedding",
                         "img test_extras reconstruction", "img test_extras superpixels",
                         "img test_extras contours"]
        emb = viewer.layers["img test_extras embedding"]
        assert emb.rgb and emb.data.shape == (40, 50, 3)
        assert 0 <= emb.data.min() and emb.data.max() <= 1
        np.testing.assert_allclose(emb.scale, (3, 3))
        assert viewer.layers["img test_extras reconstruction"].rgb
        assert isinstance(viewer.layers["img test_extras superpixels"], napari.layers.Labels)
        # re-running replaces the extra layers too
        w.run()
        _wait(qtbot, w)
        assert [layer.name for layer in viewer.layers] == names
    finally:
        REGISTRY.pop("test_extras", None)


def test_widgets_open_from_the_plugin_manifest(make_napari_viewer):
    from napari_deepsuperpixel._napari._metrics_widget import MetricsWidget

    viewer = make_napari_viewer()
    _, seg = viewer.window.add_plugin_dock_widget("napari-deepsuperpixel", "Superpixels & segmentation")
    _, met = viewer.window.add_plugin_dock_widget("napari-deepsuperpixel", "Segmentation metrics")
    assert isinstance(seg, SegmentWidget) and isinstance(met, MetricsWidget)
    viewer.open_sample("napari-deepsuperpixel", "coffee")
    assert seg.image.value is viewer.layers["coffee"]  # choices follow the layer list


def test_saving_a_result_layer_through_napari_writers(viewer_widget, qtbot, rgb_image, tmp_path):
    import csv

    from scipy.io import loadmat

    viewer, w = viewer_widget
    viewer.add_image(rgb_image, name="astro")
    w.params.set_values({"n_segments": 30})
    w.run()
    _wait(qtbot, w)
    lab = viewer.layers["astro slic"]
    saved = lab.save(str(tmp_path / "astro.mat"), plugin="napari-deepsuperpixel")
    assert saved == [str(tmp_path / "astro.mat")]
    mat = saved[0]
    np.testing.assert_array_equal(loadmat(mat)["segs"][0, 0], lab.data)
    lab.save(str(tmp_path / "astro.csv"), plugin="napari-deepsuperpixel")
    rows = list(csv.DictReader(open(tmp_path / "astro.csv")))
    assert len(rows) == len(np.unique(lab.data))
    assert {"label", "area", "centroid_y", "mean_intensity_c0", "mean_intensity_c2"} <= set(rows[0])
    k = int(rows[3]["label"])
    assert float(rows[3]["mean_intensity_c1"]) == pytest.approx(rgb_image[lab.data == k, 1].mean(), rel=1e-5)


def test_opening_the_widget_compiles_snic_in_the_background(viewer_widget, qtbot):
    """The first SNIC click must not wait for numba: the widget warms the kernels when it opens."""
    _, widget = viewer_widget
    qtbot.waitUntil(lambda: not widget.warming, timeout=120_000)
    import sys

    assert "napari_deepsuperpixel.methods._snic_kernels" in sys.modules


@dataclass
class StubbornParams:
    """A test method stuck in one call that never reports progress."""

    seconds: float = param(3.0, "seconds inside the uninterruptible call", min=0.0)


def run_stubborn(image, *, params, seed=0, device="cpu", progress=None):
    time.sleep(params.seconds)  # like one long scikit-image call: no progress, no cancel check
    return Result(np.ones(image.shape[:2], np.int32))


def test_cancel_of_an_uninterruptible_call_answers_within_a_second_and_adds_nothing(viewer_widget, qtbot):
    register(MethodInfo("test_stubborn", "stuck in one call", "superpixels",
                        f"{__name__}:StubbornParams", f"{__name__}:run_stubborn"))
    try:
        viewer, w = viewer_widget
        w.reset_choices()
        viewer.add_image(np.random.default_rng(0).random((32, 40)), name="noise")
        w.method.value = "test_stubborn"
        w.run()
        qtbot.wait(300)
        t0 = time.monotonic()
        w.cancel()
        qtbot.waitUntil(lambda: "cannot be interrupted" in w.status.value, timeout=2_000)
        assert time.monotonic() - t0 < 1.5
        _wait(qtbot, w, timeout=10_000)
        assert "cancelled" in w.status.value
        assert [layer.name for layer in viewer.layers] == ["noise"]  # the late result was discarded
        assert w.run_button.enabled
    finally:
        REGISTRY.pop("test_stubborn", None)


def test_cancel_during_a_tiled_sen_embedding_stops_within_a_second(viewer_widget, qtbot):
    from skimage import data

    viewer, w = viewer_widget
    viewer.add_image(data.astronaut()[:448, :448], name="astronaut", rgb=True)
    w.method.value = "sen"
    w.params.tile_size.value = 224  # 9 tiles of 224 px with the 96 px overlap
    w.run()
    qtbot.waitUntil(lambda: "embed" in w.status.value, timeout=60_000)
    t0 = time.monotonic()
    w.cancel()
    _wait(qtbot, w, timeout=10_000)
    assert time.monotonic() - t0 < 1.5
    assert w.status.value == "cancelled"
    assert [layer.name for layer in viewer.layers] == ["astronaut"]
