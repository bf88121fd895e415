"""The training widget: panel generated from the trainer, a short real run, cancel."""

import time

import numpy as np
import pytest

napari = pytest.importorskip("napari")
pytest.importorskip("napari_deepsuperpixel.training.superae")
from napari_deepsuperpixel._napari._training_widget import TrainingWidget  # noqa: E402


@pytest.fixture
def tiny_folder(tmp_path, rgb_image):
    import imageio.v3 as iio

    d = tmp_path / "imgs"
    d.mkdir()
    iio.imwrite(d / "a.png", rgb_image[:48, :48])
    iio.imwrite(d / "b.png", rgb_image[48:96, 48:96])
    return d


@pytest.fixture
def widget(make_napari_viewer):
    viewer = make_napari_viewer()
    w = TrainingWidget(viewer)
    viewer.window.add_dock_widget(w)
    return w


def _setup(w, folder, out, epochs):
    w.trainer.value = "superae"
    w.data.value = folder
    w.output.value = out
    w.params.set_values({"epochs": epochs, "batch_size": 2, "crop": 32,
                         "template": "slic:n_segments=20"})
    w.device.value = "cpu"


def test_panel_follows_the_trainer_declaration(widget):
    from napari_deepsuperpixel.training import TRAINERS
    from napari_deepsuperpixel.training.superae import DEFAULTS

    w = widget
    for name in ("sen", "superae"):
        w.trainer.value = name
        infos = TRAINERS[name].parameters
        assert [x.name for x in w.params] == [p.name for p in infos]
        assert all(x.tooltip == p.help for x, p in zip(w.params, infos))
        # the advanced ones stay hidden until asked for
        hidden = {x.name for x in w.params if x.native.isHidden()}
        assert hidden == {p.name for p in infos if p.advanced}
        assert f"({len(hidden)})" in w.advanced.text
    assert {"epochs", "batch_size", "crop", "lr", "template"} <= {x.name for x in w.params}
    assert w.params.epochs.value == DEFAULTS["epochs"] and w.params.epochs.tooltip
    assert w.params.precision.value == "auto" and set(w.params.precision.choices) == {"auto", "fp32", "bf16"}
    assert w.train() is None and "checkpoint" in w.status.value


def test_bad_settings_are_refused_before_training(widget, tiny_folder, tmp_path):
    w = widget
    _setup(w, tiny_folder, tmp_path / "x.pt", epochs=1)
    w.params.set_values({"template": "slic:n_segments=0"})
    w.train_button.clicked.emit()
    assert not w.running and "'n_segments'" in w.status.value and "template" in w.status.value
    w.params.set_values({"template": "ucm2:0.05"})
    w.train_button.clicked.emit()
    assert not w.running and "choose another 'template'" in w.status.value
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.slow
def test_short_training_run_writes_a_checkpoint(widget, qtbot, tiny_folder, tmp_path):
    from napari_deepsuperpixel.nn.checkpoint import load_checkpoint

    w = widget
    out = tmp_path / "sae.pt"
    _setup(w, tiny_folder, out, epochs=2)
    assert w.train() is not None
    qtbot.waitUntil(lambda: not w.running, timeout=120_000)
    assert w.status.value.startswith("saved"), w.status.value
    assert out.exists()
    assert load_checkpoint(out, method="superae") is not None
    assert w.progress.value == w.progress.max == 2  # 2 epochs x 1 step
    # an existing checkpoint is not replaced without "overwrite"
    w.train()
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    assert "exists" in w.status.value


def test_cancel_training(widget, qtbot, tiny_folder, tmp_path):
    w = widget
    _setup(w, tiny_folder, tmp_path / "c.pt", epochs=500)
    w.train()
    qtbot.waitUntil(lambda: w.progress.value >= 2, timeout=120_000)
    t0 = time.monotonic()
    w.cancel()
    qtbot.waitUntil(lambda: not w.running, timeout=10_000)
    assert time.monotonic() - t0 < 2.0
    assert w.status.value.startswith("cancelled")
    assert np.isfinite(w.progress.value)
