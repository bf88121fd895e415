"""`deepsuperpixel train superae` end to end on a few tiny images."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from napari_deepsuperpixel.cli import main  # noqa: E402
from napari_deepsuperpixel.nn.checkpoint import load_checkpoint  # noqa: E402
from napari_deepsuperpixel.training import get_trainer  # noqa: E402


@pytest.fixture
def image_dir(tmp_path, rgb_image):
    import imageio.v3 as iio

    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(3):
        iio.imwrite(d / f"im{i}.png", np.ascontiguousarray(rgb_image[i * 20:i * 20 + 40, i * 30:i * 30 + 44]))
    return d


def _args(image_dir, out, *extra):
    return ["train", "superae", "--data", str(image_dir), "-o", str(out), "--batch-size", "2", "-q",
            "-p", "crop=32", "-p", "template=slic:n_segments=12", "--device", "cpu", *extra]


def test_train_superae_cli_one_epoch_resume_and_no_overwrite(image_dir, tmp_path, capsys, monkeypatch):
    out = tmp_path / "run" / "superae.pt"
    assert main(_args(image_dir, out, "--epochs", "1", "--export", str(tmp_path / "w.pt"))) == 0
    ck = load_checkpoint(out, method="superae")
    assert ck.epoch == 1 and ck.hyperparameters["crop"] == 32 and ck.hyperparameters["n_images"] == 3
    assert "optimizer" in ck.training_state
    w = load_checkpoint(tmp_path / "w.pt", method="superae")
    assert "optimizer" not in w.training_state and w.content_hash != ""
    assert "epoch 1/1" in capsys.readouterr().out

    before = out.read_bytes()
    assert main(_args(image_dir, out, "--epochs", "1")) == 3  # refuses to overwrite
    assert out.read_bytes() == before
    assert "--overwrite" in capsys.readouterr().err

    # the same folder written another way (with a trailing slash, from its parent) is the same data
    monkeypatch.chdir(image_dir.parent)
    assert main(_args(f"{image_dir.name}/", out, "--epochs", "2", "--resume")) == 0
    ck2 = load_checkpoint(out, method="superae")
    assert ck2.epoch == 2 and len(ck2.training_state["loss_history"]) == 2
    assert ck2.training_state["loss_history"][0] == pytest.approx(ck.training_state["loss_history"][0])

    # the trained weights are usable by the methods
    import napari_deepsuperpixel as nds

    lab = nds.segment(np.random.default_rng(0).random((24, 28, 3)), "superae", checkpoint=str(out),
                      superpixel_method="slic", superpixel_params="n_segments=8")
    assert lab.shape == (24, 28) and lab.min() == 1


def test_train_cli_errors(image_dir, tmp_path, capsys):
    assert main(["train", "superae", "--data", str(tmp_path / "nope"), "-o", str(tmp_path / "a.pt")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(_args(image_dir, tmp_path / "b.pt", "-p", "colour=red")) == 2
    assert "no setting" in capsys.readouterr().err
    assert main(_args(image_dir, tmp_path / "c.pt", "-p", "template=ucm2:0.05")) == 2
    assert "ucm2" in capsys.readouterr().err
    with pytest.raises(ValueError, match="trainable models"):
        get_trainer("unet")
    with pytest.raises(SystemExit):
        main(["train", "nonsense", "-o", str(tmp_path / "d.pt")])


def test_settings_and_the_template_are_checked_before_any_image_is_read(tmp_path, capsys):
    from napari_deepsuperpixel.training import TRAINERS
    from napari_deepsuperpixel.training.superae import DEFAULTS, train_superae

    empty = tmp_path / "empty"  # no images: reading them would fail with another message
    empty.mkdir()
    for param, match in (("template=slic:n_segments=0", "template 'slic:n_segments=0': parameter 'n_segments'"),
                         ("template=nosuchmethod", "unknown method 'nosuchmethod'"),
                         ("template=ucm2:0.05", "is not a BSDS500 folder"),
                         ("crop=4", "'crop' of 'superae training' must be >= 8"),
                         ("lam=-1", "'lam'")):
        assert main(["train", "superae", "--data", str(empty), "-o", str(tmp_path / "x.pt"), "-p", param]) == 2
        err = capsys.readouterr().err
        assert match in err and len(err.strip().splitlines()) == 1, err
        with pytest.raises(ValueError, match="template|crop|lam"):
            train_superae(empty, out=tmp_path / "x.pt", **dict([param.split("=", 1)]))
    assert not (tmp_path / "x.pt").exists()
    # the same declaration drives the defaults, the widget panel and the CLI
    assert [p.name for p in TRAINERS["superae"].parameters][:6] == ["epochs", "batch_size", "crop", "lr", "lam",
                                                                   "template"]
    assert (DEFAULTS["epochs"], DEFAULTS["batch_size"], DEFAULTS["crop"]) == (100, 10, 300)
