"""The Batch widget and dask-backed layers in a real viewer (run with ``xvfb-run -a python -m pytest``)."""

import csv
import time
from dataclasses import dataclass

import numpy as np
import pytest

from napari_deepsuperpixel import Result
from napari_deepsuperpixel._types import param
from napari_deepsuperpixel.methods import REGISTRY, MethodInfo, register

napari = pytest.importorskip("napari")
da = pytest.importorskip("dask.array")
from napari_deepsuperpixel._napari._batch_widget import BatchWidget  # noqa: E402


@pytest.fixture
def batch(docked):
    return docked(BatchWidget)


@pytest.fixture
def folder(tmp_path):
    from skimage import data

    from napari_deepsuperpixel.io.files import write_png

    d = tmp_path / "in"
    d.mkdir()
    for i in range(3):
        write_png(d / f"img{i}.png", np.roll(data.coins()[:80, :100], 9 * i, axis=0))
    return d


def _wait(qtbot, w, timeout=60_000):
    qtbot.waitUntil(lambda: not w.running, timeout=timeout)


def test_batch_over_a_folder_writes_files_summary_and_table(batch, qtbot, folder, tmp_path):
    viewer, w = batch
    w.folder.value, w.output.value = folder, tmp_path / "out"
    w.method.value = "snic"
    w.params.set_values({"n_segments": 25})
    assert w.run() is not None
    _wait(qtbot, w)
    qtbot.waitUntil(lambda: len(w.rows) == 3, timeout=5_000)
    assert w.table.shape == (3, 4)
    assert sorted(p.name for p in (tmp_path / "out").glob("*_snic.tif")) == [f"img{i}_snic.tif" for i in range(3)]
    rows = list(csv.DictReader(open(tmp_path / "out" / "summary.csv")))
    assert len(rows) == 3 and w.progress.value == w.progress.max
    assert "3 image(s) segmented" in w.status.value
    # a second run resumes: nothing left to do, the finished files are kept
    assert w.run() is not None
    _wait(qtbot, w)
    assert "0 image(s) segmented" in w.status.value


@dataclass
class SlowParams:
    """A test method that takes a second per image and reports progress all along."""

    n_iter: int = param(20, "iterations of 0.05 s", min=1)


def run_slow(image, *, params, seed=0, device="cpu", progress=None):
    for i in range(params.n_iter):
        time.sleep(0.05)
        progress(i + 1, params.n_iter, "iterate")
    return Result(np.ones(image.shape[:2], np.int32))


@pytest.fixture
def slow_method():
    register(MethodInfo("test_slow_batch", "a second per image", "superpixels",
                        f"{__name__}:SlowParams", f"{__name__}:run_slow"))
    yield "test_slow_batch"
    REGISTRY.pop("test_slow_batch", None)


def test_batch_over_open_layers_and_cancel_between_images(batch, qtbot, folder, tmp_path, slow_method):
    viewer, w = batch
    from napari_deepsuperpixel.io.files import read_image

    for i in range(3):
        viewer.add_image(read_image(folder / f"img{i}.png"), name=f"layer{i}")
    w.source.value = "open layers"
    w.reset_choices()  # also lists the method registered after the dock opened
    w.layers.value = [viewer.layers[f"layer{i}"] for i in range(3)]
    w.output.value = tmp_path / "out"
    w.method.value = slow_method
    w.run_button.clicked.emit()
    assert w.running and not w.run_button.enabled and w.cancel_button.enabled
    qtbot.waitUntil(lambda: len(w.rows) == 1, timeout=30_000)  # the first image is written
    w.cancel_button.clicked.emit()  # while the second runs
    _wait(qtbot, w)
    assert "cancelled after 1 image(s)" in w.status.value
    assert len(list((tmp_path / "out").glob(f"layer*_{slow_method}.tif"))) == 1  # stopped within the second
    assert w.run_button.enabled and not w.cancel_button.enabled


def test_existing_outputs_are_refused_without_resume(batch, folder, tmp_path):
    viewer, w = batch
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "img0_snic.tif").write_bytes(b"x")
    w.folder.value, w.output.value, w.method.value = folder, tmp_path / "out", "snic"
    w.skip.value = False
    assert w.run() is None and "refusing to overwrite" in w.status.value


def test_a_large_dask_layer_is_segmented_block_by_block_into_a_dask_labels_layer(monkeypatch, tmp_path):
    """The widget's worker keeps a dask layer lazy: never computed whole, the result a dask pyramid."""
    from skimage import data

    from napari_deepsuperpixel import tiled
    from napari_deepsuperpixel._napari._workers import SegmentJob, run_segment_job

    img = np.tile(data.coins(), (2, 2))[:600, :760]
    monkeypatch.setattr(tiled.policy, "AUTO_PIXELS", 300 * 300)
    monkeypatch.setattr(tiled.policy, "DEFAULT_BLOCK", 256)
    monkeypatch.setattr(tiled, "ZARR_PIXELS", 300 * 300)
    lazy = da.from_array(img, chunks=(128, 128))
    real_array = da.Array.__array__

    def refuse(self, *a, **k):
        if self.shape == img.shape:
            raise AssertionError("the whole dask array was computed")
        return real_array(self, *a, **k)

    monkeypatch.setattr(da.Array, "__array__", refuse)
    out = run_segment_job(SegmentJob(datas=[lazy], rgb=False, method="snic", params={"n_segments": 1500}))
    monkeypatch.undo()
    levels = out["labels"]
    from napari_deepsuperpixel.io import lazy as lazy_io

    assert isinstance(levels, da.Array) or isinstance(levels[0], da.Array)
    level0 = levels[0] if isinstance(levels, list) else levels
    expected = tiled_expected(img)
    np.testing.assert_array_equal(np.asarray(level0), expected)
    assert len(out["features"]["label"]) == expected.max()
    assert lazy_io.is_lazy(level0)


def tiled_expected(img):
    from napari_deepsuperpixel import segment

    return segment(img, "snic", n_segments=1500, block_size=256)


def test_a_multiscale_result_is_shown_as_a_multiscale_labels_layer(make_napari_viewer, tmp_path):
    from napari_deepsuperpixel._napari._layers import add_result_layers
    from napari_deepsuperpixel._napari._workers import SegmentJob
    from napari_deepsuperpixel.io.lazy import labels_pyramid, write_labels_zarr

    viewer = make_napari_viewer()
    layer = viewer.add_image(np.zeros((3000, 2500), np.uint8), scale=(0.5, 0.5))
    lab = np.repeat(np.arange(1, 4, dtype=np.int32), 1000)[:, None] * np.ones((1, 2500), np.int32)
    levels = labels_pyramid(write_labels_zarr(tmp_path / "l.zarr", lab))
    assert [lv.shape for lv in levels] == [(3000, 2500), (1500, 1250)]
    out = {"labels": levels, "features": {"label": np.arange(1, 4)}, "layers": []}
    res = add_result_layers(viewer, out, SegmentJob(datas=[], rgb=False, method="snic"), layer)
    assert res.multiscale and tuple(res.scale) == (0.5, 0.5)
