"""The segment widget on volumes: axes from the layer, "3D volume" mode, time matching."""

import numpy as np
import pytest

import napari_deepsuperpixel as nds

napari = pytest.importorskip("napari")
from napari_deepsuperpixel._napari._axes import layer_axes  # noqa: E402


def _wait(qtbot, widget, timeout=60_000):
    qtbot.waitUntil(lambda: not widget.running, timeout=timeout)


def test_layer_axes_from_rgb_labels_or_the_guess():
    assert layer_axes((20, 30, 3), rgb=True) == ("YXC", "")
    assert layer_axes((4, 20, 30, 3), rgb=True, labels=("t", "y", "x")) == ("TYXC", "")
    assert layer_axes((5, 20, 30), rgb=False, labels=("-3", "-2", "-1")) == ("ZYX", "")
    axes, note = layer_axes((520, 696, 2), rgb=False)
    assert axes == "YXC" and "ambiguous" in note  # two channels, not 520 slices of 696 x 2


def test_widget_runs_3d_snic_on_the_sample_stack(viewer_widget, qtbot):
    from napari_deepsuperpixel._napari._sample_data import nuclei_stack

    viewer, w = viewer_widget
    (data, meta, _), = nuclei_stack()
    viewer.add_image(data, **meta)
    w.method.value = "snic"
    assert w.volume.axes.value == "ZYX" and w.volume.mode.enabled
    w.volume.mode.value = "3D volume"
    w.params.set_values({"n_segments": 200})
    assert w.run() is not None
    _wait(qtbot, w)
    lab = viewer.layers[f"{meta['name']} snic"]
    assert lab.data.shape == data.shape
    np.testing.assert_allclose(lab.scale, meta["scale"])
    np.testing.assert_array_equal(lab.data, nds.segment(data, "snic", axes="ZYX", mode="3d",
                                                        spacing=meta["scale"], n_segments=200))
    # one label spans several slices (supervoxels, not per-slice labels)
    assert set(np.unique(lab.data[3])) & set(np.unique(lab.data[4]))
    assert w.progress.value == w.progress.max  # per-iteration progress of the one 3D run

    # a 2D-only method: the mode goes back to 2D per slice and cannot be changed
    w.method.value = "felzenszwalb"
    assert w.volume.mode.value == "2D per slice" and not w.volume.mode.enabled


def test_widget_two_channel_layer_taken_as_channels_when_axes_say_so(viewer_widget, qtbot):
    viewer, w = viewer_widget
    img = np.random.default_rng(0).random((40, 52, 2)).astype(np.float32)
    viewer.add_image(img, name="two", scale=(1.0, 0.5, 0.5))
    assert w.volume.axes.value == "YXC"
    w.method.value = "slic"
    w.params.set_values({"n_segments": 20})
    assert w.run() is not None
    _wait(qtbot, w)
    lab = viewer.layers["two slic"]
    assert lab.data.shape == (40, 52)
    np.testing.assert_allclose(lab.scale, (1.0, 0.5))
    w.volume.axes.value = "YXQ"
    assert w.run() is None and "unknown letter" in w.status.value


def test_widget_matches_labels_through_time(viewer_widget, qtbot):
    viewer, w = viewer_widget
    frame = np.zeros((40, 40), np.float32)
    frame[10:30, 10:30] = 1
    movie = np.stack([frame] * 3)
    viewer.add_image(movie, name="movie", axis_labels=("t", "y", "x"))  # the layer names its axes
    assert w.volume.axes.value == "TYX" and w.volume.match_time.enabled
    w.method.value = "felzenszwalb"
    w.volume.match_time.value = True
    assert w.run() is not None
    _wait(qtbot, w)
    lab = viewer.layers["movie felzenszwalb"].data
    assert len(set(lab[:, 20, 20])) == 1


def test_metrics_job_accepts_volumes():
    from napari_deepsuperpixel._napari._metrics_job import compute_metrics
    from napari_deepsuperpixel.datasets.synthetic import nuclei_volume
    from napari_deepsuperpixel.metrics.superpixel import superpixel_metrics

    img, gt = nuclei_volume((8, 48, 48), n_nuclei=6, seed=1)
    lab = nds.segment(img, "snic", axes="ZYX", mode="3d", n_segments=60)
    row = compute_metrics(lab, [gt], image=img, match_map=True)["row"]
    ref = superpixel_metrics(lab, gt, image=img)
    for k in ("asa", "br", "bp", "ue", "ev", "n_segments"):
        assert row[k] == pytest.approx(ref[k])
    assert 0 <= row["segment_f"] <= 1
    assert compute_metrics(gt, [gt])["row"]["asa"] == 1.0


def test_memory_note_of_a_3d_deep_job():
    from napari_deepsuperpixel import get_method
    from napari_deepsuperpixel._napari._axes import memory_note
    from napari_deepsuperpixel._napari._workers import SegmentJob

    job = SegmentJob(datas=[np.zeros((32, 256, 256), np.uint16)], rgb=False, method="backprop",
                     params={"preset": "paper"}, device="cpu", axes="ZYX", mode="3d")
    small = SegmentJob(**{**job.__dict__, "params": {"preset": "fast"}})
    big, little = memory_note(get_method("backprop"), job), memory_note(get_method("backprop"), small)
    assert big.startswith(" (about ") and big.endswith(" GB)")
    assert float(big.split()[1]) > float(little.split()[1])
    assert memory_note(get_method("snic"), job) == ""
