"""SEN training: pseudo labels, one tiny training step into tmp_path, checkpoints, resume, CLI."""

import numpy as np
import pytest
import torch

from napari_deepsuperpixel.training.sen import find_training_images, pseudo_labels, train_sen

TINY = dict(epochs=1, steps_per_epoch=1, batch_size=2, crop=32, base_channels=4, max_channels=8,
            gbms_iter=1, train_anchors=16, device="cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def image_dir(tmp_path, rgb_image):
    from napari_deepsuperpixel.io.files import write_png

    d = tmp_path / "imgs"
    d.mkdir()
    write_png(d / "a.png", rgb_image[:48, :56])
    write_png(d / "b.png", rgb_image[60:100, 70:130])
    return d


def test_find_training_images(image_dir, tmp_path):
    assert [p.name for p in find_training_images(image_dir, "train")] == ["a.png", "b.png"]
    with pytest.raises(ValueError, match="does not exist"):
        find_training_images(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no training images"):
        find_training_images(tmp_path / "empty")


def test_find_training_images_bsds_splits(bsds_root):
    files = find_training_images(bsds_root, "train,val")
    assert len(files) == 300 and all("test" not in p.parts for p in files)


def test_pseudo_labels_vary_with_rng(rgb_image):
    from skimage.color import rgb2lab

    rgb = rgb_image[:64, :64] / 255.0
    lab = rgb2lab(rgb)
    maps = [pseudo_labels(rgb, lab, np.random.default_rng(s)) for s in range(8)]
    counts = {len(np.unique(m)) for m in maps}
    assert all(m.shape == (64, 64) for m in maps)
    assert len(counts) > 1 and min(counts) >= 2  # several scales / compactness values


def test_train_one_tiny_step_and_use_it(image_dir, tmp_path, rgb_image):
    from napari_deepsuperpixel import segment
    from napari_deepsuperpixel.nn.checkpoint import load_checkpoint

    events = []
    res = train_sen(image_dir, out=tmp_path / "sen.pt", progress=events.append, **TINY)
    out = res.path
    assert out == tmp_path / "sen.pt" and res.epochs_done == 1 and len(res.loss_history) == 1
    ck = load_checkpoint(out, method="sen")
    assert ck.epoch == 1 and ck.hyperparameters["model"]["base_channels"] == 4
    assert any(e.stage == "train" and np.isfinite(e.info["loss"]) for e in events)
    assert "kappa" in [e for e in events if e.stage == "train"][0].info
    assert any(e.stage == "pseudo_labels" for e in events)
    lab = segment(rgb_image[:40, :40], "sen", n_segments=8, checkpoint=str(out), device="cpu")
    assert lab.shape == (40, 40)

    # never overwritten silently; resume extends the run
    with pytest.raises(FileExistsError, match="overwrite"):
        train_sen(image_dir, out=out, **TINY)
    out2 = train_sen(image_dir, out=out, resume=True, **{**TINY, "epochs": 2}).path
    assert load_checkpoint(out2, method="sen").epoch == 2

    # inference-only float16 export (how the shipped weights are made)
    from napari_deepsuperpixel.training.sen import export_sen_weights

    small = export_sen_weights(out2, tmp_path / "small.pt")
    ck16 = load_checkpoint(small, method="sen")
    assert ck16.state_dict["unet.head.weight"].dtype == torch.float16
    assert "optimizer" not in ck16.training_state and ck16.epoch == 2
    assert small.stat().st_size < out2.stat().st_size / 2
    with pytest.raises(FileExistsError):
        export_sen_weights(out2, small)
    lab16 = segment(rgb_image[:40, :40], "sen", n_segments=8, checkpoint=str(small), device="cpu")
    assert lab16.shape == (40, 40)


def test_training_is_seeded(image_dir, tmp_path):
    from napari_deepsuperpixel.nn.checkpoint import load_checkpoint

    a = load_checkpoint(train_sen(image_dir, out=tmp_path / "a.pt", seed=3, **TINY).path)
    b = load_checkpoint(train_sen(image_dir, out=tmp_path / "b.pt", seed=3, **TINY).path)
    c = load_checkpoint(train_sen(image_dir, out=tmp_path / "c.pt", seed=4, **TINY))  # the result is a path too
    key = "unet.head.weight"
    assert torch.equal(a.state_dict[key], b.state_dict[key])
    assert not torch.equal(a.state_dict[key], c.state_dict[key])


def test_train_sen_cli(image_dir, tmp_path):
    from napari_deepsuperpixel.cli import main

    out = tmp_path / "cli.pt"
    args = ["train", "sen", "--data", str(image_dir), "-o", str(out), "--epochs", "1", "--batch-size", "2",
            "-p", "crop=32", "-p", "steps_per_epoch=1", "-p", "base_channels=4", "-p", "max_channels=8",
            "-p", "gbms_iter=1", "-p", "train_anchors=16", "--device", "cpu", "-q"]
    assert main(args) == 0 and out.is_file()
    assert main(args) == 3  # refuses to overwrite


def test_hyperparameters_are_declared_and_checked_before_any_image_is_read(tmp_path):
    import inspect

    from napari_deepsuperpixel.training import TRAINERS
    from napari_deepsuperpixel.training.sen import DEFAULTS, SENTrainParams

    info = TRAINERS["sen"]
    assert train_sen.params_cls is SENTrainParams and all(p.help for p in info.parameters)
    assert DEFAULTS["epochs"] == 40 and DEFAULTS["crop"] == 256 and DEFAULTS["precision"] == "fp32"
    assert DEFAULTS["pseudo"] == "snic_image" and DEFAULTS["dead_zone"] == 10.0
    # the signature shows the declared hyperparameters with their defaults
    sig = inspect.signature(train_sen).parameters
    assert sig["crop"].default == 256 and sig["crop"].kind is inspect.Parameter.KEYWORD_ONLY
    missing = tmp_path / "no_such_folder"  # the data is never looked at: the settings fail first
    for bad, match in (({"crop": 8}, "'crop' of 'sen training' must be >= 16"),
                       ({"precision": "half"}, "'precision'"),
                       ({"lr": 0}, "'lr'"),
                       ({"colour": "red"}, "unknown parameter")):
        with pytest.raises(ValueError, match=match):
            train_sen(missing, out=tmp_path / "x.pt", **bad)
    assert not (tmp_path / "x.pt").exists()


def test_pseudo_labels_are_computed_once_per_image(image_dir, tmp_path, monkeypatch):
    """The SNIC teacher runs once per image and setting before training, never per step (the paper's recipe)."""
    import napari_deepsuperpixel.training.sen_labels as sen_mod

    calls = []
    real = sen_mod._teacher

    def counting(lab, n, c):
        calls.append((lab.shape, n, c))
        return real(lab, n, c)

    monkeypatch.setattr(sen_mod, "_teacher", counting)

    def no_per_crop_teacher(*a, **k):
        raise AssertionError("per-crop pseudo labels computed during snic_image training")

    monkeypatch.setattr(sen_mod, "pseudo_labels", no_per_crop_teacher)
    kw = {**TINY, "epochs": 2, "steps_per_epoch": 3, "pseudo_counts": "4,8", "pseudo_compactness": "5,20"}
    train_sen(image_dir, out=tmp_path / "once.pt", **kw)
    # 2 images x (2 counts x 2 compactness), on the whole images (48 x 56 and 40 x 60), over 2 x 3 steps of 2 crops
    assert len(calls) == 2 * 4
    assert {c[0][:2] for c in calls} == {(48, 56), (40, 60)}
    # a disk cache serves a second run without any teacher call
    calls.clear()
    cache = tmp_path / "pl_cache"
    train_sen(image_dir, out=tmp_path / "c1.pt", pseudo_cache=str(cache), **kw)
    assert len(calls) == 8 and len(list(cache.glob("*.npz"))) == 2
    calls.clear()
    train_sen(image_dir, out=tmp_path / "c2.pt", pseudo_cache=str(cache), **kw)
    assert calls == []


def test_cached_crops_carry_whole_superpixel_colours(rgb_image):
    from skimage.color import rgb2lab

    from napari_deepsuperpixel.training.sen_labels import PseudoLabelCache, _make_cached_batch

    img = rgb_image[:40, :50]
    cache = PseudoLabelCache([img], ["a"], [6], [10.0])
    labels, mean = cache.get(0, 0)
    assert labels.shape == (40, 50) and mean.shape == (labels.max() + 1, 3)
    lab = rgb2lab(img)
    k = labels[0, 0]
    assert np.allclose(mean[k], lab[labels == k].mean(0), atol=1e-3)
    x, lc, sp, _ = _make_cached_batch([img], cache, np.random.default_rng(0), 3, 24)
    assert x.shape == (3, 3, 24, 24) and lc.shape == (3, 24, 24) and sp.shape == (3, 3, 24, 24)
    for b in range(3):  # every crop pixel carries the whole superpixel's mean colour
        assert np.allclose(sp[b].permute(1, 2, 0).numpy(), mean[lc[b].numpy()])


def test_dead_zone_margin():
    from napari_deepsuperpixel.nn.sen_loss import variable_margin_loss

    labels = torch.zeros(1, 8, 8, dtype=torch.long)
    labels[:, :, 4:] = 1
    emb = torch.ones(1, 2, 8, 8)  # every pixel the same embedding: only the non-matching term is non-zero
    sp = torch.zeros(1, 3, 8, 8)
    sp[:, 0, :, 4:] = 20.0  # the two superpixels differ by 20 Lab units
    full = variable_margin_loss(emb, labels, sp, beta_scale=40.0)
    half = variable_margin_loss(emb, labels, sp, beta_scale=40.0, dead_zone=10.0)
    none = variable_margin_loss(emb, labels, sp, beta_scale=40.0, dead_zone=25.0)
    assert float(full) == pytest.approx(2 * float(half)) and float(none) == 0.0 and float(full) > 0
    with pytest.raises(ValueError, match="dead_zone"):
        variable_margin_loss(emb, labels, sp, dead_zone=-1.0)


def test_checkpoint_records_the_recipe(image_dir, tmp_path):
    from napari_deepsuperpixel.nn.checkpoint import load_checkpoint

    new = load_checkpoint(train_sen(image_dir, out=tmp_path / "n.pt", pseudo_counts="4,8", **TINY)).hyperparameters
    assert new["pseudo_labels"]["method"] == "snic_image" and new["pseudo_labels"]["counts"] == [4, 8]
    assert new["loss"]["dead_zone"] == 10.0
    old = load_checkpoint(train_sen(image_dir, out=tmp_path / "o.pt", pseudo="crop_mixed", dead_zone=0.0,
                                    **TINY)).hyperparameters
    # the earlier recipe is recorded as before, so its checkpoints resume with the same settings
    assert "method" not in old["pseudo_labels"] and "dead_zone" not in old["loss"]
    assert "learn_kappa" not in old and "init" not in old


def test_init_and_fixed_kappa(image_dir, tmp_path):
    from napari_deepsuperpixel.nn.checkpoint import load_checkpoint

    kw = {**TINY, "pseudo_counts": "4,8"}
    first = train_sen(image_dir, out=tmp_path / "a.pt", **kw).path
    fixed = load_checkpoint(train_sen(image_dir, out=tmp_path / "b.pt", init=str(first), kappa=40.0,
                                      learn_kappa=False, **kw))
    assert fixed.hyperparameters["init"] == str(first) and fixed.hyperparameters["learn_kappa"] is False
    assert float(fixed.state_dict["gbms.log_kappa"].exp()) == pytest.approx(40.0)  # not trained
    with pytest.raises(ValueError, match="init="):
        train_sen(image_dir, out=tmp_path / "c.pt", init=str(first), **{**kw, "base_channels": 8})
