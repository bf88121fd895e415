"""Shared fixtures: the ../shared data folder (skipped when absent) and small images."""

from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (clone the project next to ../shared)")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return _need(SHARED)


@pytest.fixture(scope="session")
def bsds_root() -> Path:
    return _need(SHARED / "BSDS500")


@pytest.fixture(scope="session")
def bsds_bench_dir() -> Path:
    return _need(SHARED / "bsds-bench")


@pytest.fixture(scope="session")
def microscopy_dir() -> Path:
    return _need(SHARED / "microscopy" / "dsb2018_stage1_subset")


@pytest.fixture
def rgb_image() -> np.ndarray:
    """A small natural RGB image (uint8, 128x160) cut from scikit-image's astronaut."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[100:228, 150:310])


@pytest.fixture
def gray16_image() -> np.ndarray:
    """A small 16-bit, 12-bit range microscopy-like image (blobs on noise)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:96, :112]
    img = np.zeros((96, 112))
    for cy, cx in rng.uniform(10, 90, size=(8, 2)):
        img += 2500 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 60.0)
    img += rng.normal(200, 20, img.shape)
    return np.clip(img, 0, 4095).astype(np.uint16)


def pytest_report_header(config):
    """Name the napari and Qt binding the widget tests run with."""
    try:
        import qtpy
        from qtpy import QtCore
    except Exception as exc:  # no binding: the widget tests are skipped or fail clearly
        return f"Qt: none ({type(exc).__name__}: {exc})"
    try:
        import importlib.metadata as md

        napari_version = md.version("napari")
    except Exception:
        napari_version = "not installed"
    return f"Qt: {qtpy.API_NAME} (Qt {QtCore.__version__}), napari {napari_version}"


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the test (small models run faster, and timings do not fight)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def docked(make_napari_viewer):
    """``docked(WidgetClass)``: a new viewer with that widget docked, as ``(viewer, widget)``."""

    def make(widget_cls):
        viewer = make_napari_viewer()
        widget = widget_cls(viewer)
        viewer.window.add_dock_widget(widget)
        return viewer, widget

    return make


@pytest.fixture
def viewer_widget(docked):
    """A viewer with the segmentation widget docked: ``(viewer, widget)``."""
    from napari_deepsuperpixel._napari._segment_widget import SegmentWidget

    return docked(SegmentWidget)
