"""Bad input gets a clear error up front; nothing wrong passes silently (see also test_bad_input.py)."""

import json
import math
import warnings
import zipfile

import numpy as np
import pytest

import napari_deepsuperpixel as nds
from napari_deepsuperpixel._types import build_params, check_seed
from napari_deepsuperpixel.io.prepare import prepare_image
from napari_deepsuperpixel.methods import get_method

torch = pytest.importorskip("torch")

from napari_deepsuperpixel.nn.checkpoint import (  # noqa: E402  (after the torch check)
    CheckpointError,
    checkpoint_hash,
    load_checkpoint,
    load_model,
    save_checkpoint,
    shipped_weights_path,
)

IMG = np.random.default_rng(0).random((24, 24, 3))


# --- checkpoints -------------------------------------------------------------------------------


def _trained(tmp_path):
    torch.manual_seed(0)
    m = torch.nn.Linear(4, 3)
    opt = torch.optim.Adam(m.parameters(), lr=0.1)
    m(torch.ones(2, 4)).sum().backward()
    opt.step()
    ts = {"epoch": 1, "loss_history": [0.5], "optimizer": opt.state_dict(), "scheduler": None}
    return save_checkpoint(tmp_path / "run.pt", method="toy", state_dict=m.state_dict(),
                           hyperparameters={"lr": 0.1}, training_state=ts)


def _data_records(path):
    """(offset, size) of every tensor record inside the torch zip file."""
    out = []
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if "/data/" in info.filename and info.file_size:
                with open(path, "rb") as f:
                    f.seek(info.header_offset + 26)
                    n, m = np.frombuffer(f.read(4), "<u2")
                out.append((info.header_offset + 30 + int(n) + int(m), info.file_size))
    return out


def test_checkpoint_hash_covers_the_optimizer_state(tmp_path):
    p = _trained(tmp_path)
    ck = load_checkpoint(p)
    assert ck.format_version == 2 and ck.training_state_verified
    # a valid-looking file whose optimizer moments changed (torch does not check the zip CRCs)
    obj = torch.load(p, weights_only=True)
    obj["training_state"]["optimizer"]["state"][0]["exp_avg"][0, 0] += 1.0
    torch.save(obj, tmp_path / "moved.pt")
    with pytest.raises(CheckpointError, match=r"moved\.pt is corrupt: its content hash"):
        load_checkpoint(tmp_path / "moved.pt")
    obj = torch.load(p, weights_only=True)
    obj["training_state"]["epoch"] = 7
    torch.save(obj, tmp_path / "epoch.pt")
    with pytest.raises(CheckpointError, match="content hash"):
        load_checkpoint(tmp_path / "epoch.pt")


def test_checkpoint_every_bit_flip_in_a_tensor_is_caught(tmp_path):
    p = _trained(tmp_path)
    raw = p.read_bytes()
    records = _data_records(p)
    assert len(records) >= 4  # weights, bias and the Adam moments
    for k, (off, size) in enumerate(records):
        flipped = bytearray(raw)
        flipped[off + size // 2] ^= 0x10
        bad = tmp_path / f"flip{k}.pt"
        bad.write_bytes(bytes(flipped))
        with pytest.raises(CheckpointError, match=f"flip{k}.pt"):
            load_checkpoint(bad)


def _crafted(tmp_path, name, **change):
    p = _trained(tmp_path) if not (tmp_path / "run.pt").exists() else tmp_path / "run.pt"
    obj = torch.load(p, weights_only=True)
    for k, v in change.items():
        if k.startswith("ts_"):
            obj["training_state"][k[3:]] = v
        else:
            obj[k] = v
    obj["content_hash"] = checkpoint_hash(obj)
    torch.save(obj, tmp_path / name)
    return tmp_path / name


@pytest.mark.parametrize("change, match", [
    ({"method": 3}, "'method' must be a non-empty string"),
    ({"hyperparameters": [1, 2]}, "'hyperparameters' must be a dict"),
    ({"state_dict": {"weight": [1.0, 2.0]}}, "not a tensor"),
    ({"state_dict": {}}, "non-empty dict"),
    ({"training_state": [1]}, "'training_state' must be a dict"),
    ({"ts_epoch": "3"}, "'epoch' must be an integer"),
    ({"ts_loss_history": "x"}, "'loss_history' must be a list"),
    ({"ts_optimizer": 5}, "'optimizer' must be a dict"),
    ({"format_version": 0}, "format version"),
])
def test_crafted_checkpoint_with_a_valid_hash_is_a_checkpoint_error(tmp_path, change, match):
    p = _crafted(tmp_path, "crafted.pt", **change)
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(p)


def test_nan_weights_are_reported_as_such(tmp_path):
    sd = {"weight": torch.tensor([[1.0, float("nan")]]), "bias": torch.zeros(1)}
    p = save_checkpoint(tmp_path / "nan.pt", method="toy", state_dict=sd)
    with pytest.raises(CheckpointError, match=r"NaN or infinite weights \(1 value\(s\) in 'weight'\)"):
        load_checkpoint(p)


def test_model_that_does_not_fit_is_a_checkpoint_error(tmp_path):
    from napari_deepsuperpixel.methods.dsc import _build_superae

    p = save_checkpoint(tmp_path / "small.pt", method="superae", state_dict={"w": torch.ones(2)},
                        hyperparameters={"widths": "abc"})
    with pytest.raises(CheckpointError, match=r"small\.pt.*do not fit the superae architecture"):
        load_model(p, method="superae", shipped="superae_bsds.pt", build=_build_superae)


def test_shipped_format1_weights_still_load_but_cannot_be_resumed(tmp_path):
    for name, method in (("sen_bsds.pt", "sen"), ("superae_bsds.pt", "superae")):
        ck = load_checkpoint(shipped_weights_path(name), method=method)
        assert ck.format_version == 1 and not ck.training_state_verified
    assert nds.segment(IMG, "sen", n_segments=10).max() >= 1
    assert nds.segment(IMG, "superae").max() >= 1


def test_resume_refuses_a_damaged_optimizer_state(tmp_path):
    from napari_deepsuperpixel.training.loop import train_loop

    torch.manual_seed(0)
    m = torch.nn.Linear(4, 1)
    opt = torch.optim.Adam(m.parameters(), lr=0.01)
    x = torch.ones(3, 4)

    def step(ctx):
        return (m(x) ** 2).mean()

    out = tmp_path / "t.pt"
    train_loop(m, opt, step, method="toy", epochs=1, steps_per_epoch=1, out=out)
    obj = torch.load(out, weights_only=True)
    obj["training_state"]["optimizer"]["param_groups"] = []
    obj["content_hash"] = checkpoint_hash(obj)
    torch.save(obj, out)
    with pytest.raises(CheckpointError, match="cannot resume from .*optimizer state do not fit"):
        train_loop(m, opt, step, method="toy", epochs=2, steps_per_epoch=1, out=out, resume=True)


# --- parameters: non-finite, zero, wrong types ------------------------------------------------------


@pytest.mark.parametrize("method, name", [("slic", "compactness"), ("snic", "compactness"),
                                          ("backprop", "lr"), ("neural_superpixels", "lr"), ("dsc", "lr"),
                                          ("felzenszwalb", "scale")])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), "nan", "inf"])
def test_non_finite_float_parameters_are_refused(method, name, value):
    with pytest.raises(ValueError, match=f"parameter '{name}' of '{method}' must be a finite number"):
        build_params(get_method(method).params_cls, method, {name: value})


def test_int_parameter_refuses_inf_nan_and_fractions():
    cls = get_method("slic").params_cls
    for v in (float("nan"), float("inf"), 2.5, "2.5e0", True, "abc"):
        with pytest.raises(ValueError, match="'n_segments' expects an integer"):
            build_params(cls, "slic", {"n_segments": v})
    assert build_params(cls, "slic", {"n_segments": "2e2"}).n_segments == 200


def test_compactness_zero():
    # scikit-image's SLIC divides by compactness: 0 is refused up front
    with pytest.raises(ValueError, match=r"parameter 'compactness' of 'slic' must be >= 0.001"):
        nds.segment(IMG, "slic", compactness=0)
    # SNIC (pure colour distance) and the compact watershed (plain watershed) work with 0
    for method in ("snic", "watershed"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            lab = nds.segment(IMG, method, compactness=0, n_segments=20)
        assert lab.min() == 1 and lab.dtype == np.int32


def test_string_parameter_refuses_containers():
    with pytest.raises(ValueError, match="'superpixel_method' expects a string"):
        build_params(get_method("backprop").params_cls, "backprop", {"superpixel_method": ["slic"]})


# --- seeds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [-1, 2**32, 2**70, True, 1.5, "abc", None, float("nan")])
@pytest.mark.parametrize("method", ["slic", "felzenszwalb", "snic", "backprop"])
def test_one_seed_rule_for_every_method(method, seed):
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*32\)"):
        nds.segment(IMG, method, seed=seed)


def test_seed_rule_accepts_integers():
    assert check_seed(np.int64(7)) == 7 and check_seed(3.0) == 3 and check_seed(2**32 - 1) == 2**32 - 1
    from napari_deepsuperpixel.methods.compose import run_method
    from napari_deepsuperpixel.nn.optim import seed_everything
    from napari_deepsuperpixel.training.loop import train_loop

    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)
    with pytest.raises(ValueError, match="seed"):
        run_method(IMG, "slic", seed="abc")
    with pytest.raises(ValueError, match="seed"):
        train_loop(torch.nn.Linear(1, 1), None, None, method="toy", epochs=1, steps_per_epoch=1, seed=-3)


def test_trainers_check_the_seed_first(tmp_path):
    from napari_deepsuperpixel.training import get_trainer

    for name in ("sen", "superae"):
        with pytest.raises(ValueError, match="seed"):
            get_trainer(name)(data=tmp_path, out=tmp_path / "x.pt", seed=-1)


# --- images: huge floats, ambiguous shapes ---------------------------------------------------------


def test_float64_beyond_float32_range_is_scaled_not_inf():
    base = np.zeros((20, 20))
    base[:, 10:] = 1.0
    img = base * 1e300
    prep = prepare_image(img)
    assert np.isfinite(prep.data).all() and prep.data.max() == pytest.approx(1.0)
    lab = nds.segment(img, "felzenszwalb")
    assert np.array_equal(lab, nds.segment(base, "felzenszwalb")) and lab.max() == 2
    near_max = np.array([[-1.7e308, 1.7e308], [0.0, 1e308]])
    assert np.isfinite(prepare_image(near_max, normalize="minmax").data).all()
    with pytest.raises(ValueError, match="beyond float32's range"):
        prepare_image(img, normalize="none")


@pytest.mark.parametrize("shape, taken, channels", [((30, 30, 5), "channels", 5), ((30, 30, 2), "channels", 2),
                                                   ((3, 3, 3), "stack", 1), ((5, 30, 30), None, 1)])
def test_ambiguous_shapes_warn_and_say_how_they_were_taken(shape, taken, channels):
    img = np.random.default_rng(0).random(shape)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        prep = prepare_image(img)
    msgs = [str(w.message) for w in rec if issubclass(w.category, UserWarning)]
    assert prep.n_channels == channels
    if taken is None:
        assert not msgs  # (Z, Y, X) with a long last axis is not ambiguous
    else:
        assert len(msgs) == 1 and "ambiguous" in msgs[0] and "channel_axis=" in msgs[0]
        assert ("(Y, X, C)" in msgs[0]) == (taken == "channels")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare_image(img, channel_axis=None)
        prepare_image(np.zeros((30, 30, 3)))  # RGB is not ambiguous


# --- deep runs that diverge, sizes too small ------------------------------------------------------


@pytest.mark.parametrize("method, kw", [
    ("backprop", {"preset": "fast", "max_iter": 3, "lr": 1e30}),
    ("neural_superpixels", {"preset": "fast", "max_iter": 3, "lr": 1e30, "n_segments": 4}),
    ("dsc", {"max_iter": 3, "lr": 1e30, "min_labels": 0}),  # without the stop rule (it may stop at once)
])
def test_diverged_deep_run_is_an_error_not_a_result(method, kw):
    with pytest.raises(FloatingPointError, match=f"{method} diverged: the loss is .* at iteration \\d+; lower lr"):
        nds.segment(IMG, method, seed=0, **kw)


def test_run_loop_names_method_and_iteration():
    from napari_deepsuperpixel.nn.optim import StepOutcome, run_loop

    losses = [1.0, 0.5, math.nan]
    with pytest.raises(FloatingPointError, match="toy diverged: the loss is nan at iteration 3; lower lr"):
        run_loop(lambda it: StepOutcome(losses[it]), 3, method="toy")


def test_dsc_too_small_image_is_a_clear_error():
    with pytest.raises(ValueError, match="dsc needs an image of at least 5 pixels"):
        nds.segment(np.random.default_rng(0).random((4, 4)), "dsc", max_iter=1)
    with pytest.raises(ValueError, match="larger max_side"):
        nds.segment(np.random.default_rng(0).random((40, 40)), "dsc", max_iter=1, max_side=4)


def test_demo_accepts_only_sample_images(tmp_path):
    from napari_deepsuperpixel.demo import sample_image, sample_images

    assert "astronaut" in sample_images() and "__init__" not in sample_images()
    for name in ("__init__", "data_dir", "download_all", "nope", "lbp_frontal_face_cascade_filename"):
        with pytest.raises(ValueError, match="sample image"):
            sample_image(name)
    assert sample_image("camera").ndim == 2


# --- a failed run does not block the corrected rerun -----------------------------------------------


def _folder_dataset(root, n=2):
    import imageio.v3 as iio

    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        iio.imwrite(root / "images" / f"im{i}.png", (rng.random((24, 32, 3)) * 255).astype(np.uint8))
        m = np.zeros((24, 32), np.uint8)
        m[:, 16:] = 1
        iio.imwrite(root / "masks" / f"im{i}.png", m)
    return root


def test_bench_refused_run_does_not_block_the_corrected_one(tmp_path):
    from napari_deepsuperpixel.bench.runner import run_benchmark

    data = _folder_dataset(tmp_path / "data")
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="limit"):
        run_benchmark("slic", data=data, out=out, limit=0, workers=1, progress=False)
    with pytest.raises(ValueError, match="exceeds"):
        run_benchmark("slic", params={"n_segments": 100000}, data=data, out=out, workers=1, progress=False)
    assert not (out / "bench.json").exists()
    res = run_benchmark("slic", params={"n_segments": 20}, data=data, out=out, workers=1, progress=False,
                        plots=False)
    assert res.n_computed == 2 and (out / "bench.json").is_file()
    # the finished tables of another configuration are still protected
    with pytest.raises(FileExistsError, match="another benchmark configuration"):
        run_benchmark("slic", params={"n_segments": 30}, data=data, out=out, workers=1, progress=False)


def test_bench_cache_entry_of_the_wrong_structure_is_recomputed(tmp_path):
    from napari_deepsuperpixel.bench.runner import run_benchmark

    data = _folder_dataset(tmp_path / "data", n=1)
    out = tmp_path / "out"
    kw = {"params": {"n_segments": 20}, "data": data, "out": out, "workers": 1, "progress": False, "plots": False}
    first = run_benchmark("slic", **kw)
    (entry,) = (out / "cache").glob("*.json")
    for bad in ({"row": [1, 2]}, {"row": {"asa": "x"}}, {"nothing": 1}, [1], "text"):
        entry.write_text(json.dumps(bad))
        again = run_benchmark("slic", **kw)
        assert (again.n_computed, again.n_cached) == (1, 0)
        assert again.rows[0]["asa"] == first.rows[0]["asa"]
    entry.write_text("{ truncated")
    assert run_benchmark("slic", **kw).n_computed == 1


def test_bool_int_and_size_limits_of_parameters():
    cls = get_method("sen").params_cls
    for v in (float("nan"), 2, -1, "maybe", [True]):
        with pytest.raises(ValueError, match="'clustering' expects true/false"):
            build_params(cls, "sen", {"clustering": v})
    assert build_params(cls, "sen", {"clustering": np.bool_(False)}).clustering is False
    with pytest.raises(ValueError, match=r"'max_iter' of 'slic' must be <= 100"):
        build_params(get_method("slic").params_cls, "slic", {"max_iter": 10**30})
    with pytest.raises(ValueError, match=r"'sigma' of 'felzenszwalb' must be <= 1000"):
        build_params(get_method("felzenszwalb").params_cls, "felzenszwalb", {"sigma": 1e30})


def test_parameters_naming_a_method_or_a_file_say_which_parameter():
    with pytest.raises(ValueError, match="superpixel_method: unknown method 'nope'"):
        nds.segment(IMG, "backprop", preset="fast", max_iter=1, superpixel_method="nope")
    with pytest.raises(FileNotFoundError, match="checkpoint='nope.pt' names no file"):
        nds.segment(IMG, "superae", checkpoint="nope.pt")


# --- hangs: pipes, bounded iterations, interruptible loops (issue: nothing lost, nothing silently wrong) --


def test_load_checkpoint_refuses_a_named_pipe_instead_of_blocking(tmp_path):
    import os

    fifo = tmp_path / "weights.pt"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match=r"weights\.pt is not a regular file \(a pipe"):
        load_checkpoint(fifo)  # before the fix: blocked forever in open()


@pytest.mark.parametrize("method, name, value, match", [
    ("slic", "max_iter", 10**9, "<= 100"),
    ("slic", "compactness", 1e-320, ">= 0.001"),
    ("meanshift", "max_iter", 100000, "<= 1000"),
    ("meanshift", "spatial_radius", 65, "<= 64"),
    ("quickshift", "kernel_size", 1e6, "<= 10"),
])
def test_iteration_and_size_parameters_have_upper_bounds(method, name, value, match):
    with pytest.raises(ValueError, match=f"parameter '{name}' of '{method}' must be .*{match}"):
        build_params(get_method(method).params_cls, method, {name: value})


def test_mean_shift_stops_within_two_seconds_of_cancel():
    import time

    nds.segment(IMG[:8, :8], "meanshift")  # the kernel compiled
    img = np.random.default_rng(1).random((160, 160, 3))
    t0 = time.monotonic()
    stop_at = t0 + 1.0
    with pytest.raises(nds.Cancelled):
        nds.segment(img, "meanshift", spatial_radius=40, max_iter=1000, range_radius=1000.0,
                    cancel_check=lambda: time.monotonic() > stop_at)
    assert time.monotonic() - stop_at < 2.0


@pytest.mark.parametrize("image", ["uniform noise", "noisy crop"])
def test_slic_warns_when_it_makes_far_fewer_segments_than_asked(image):
    rng = np.random.default_rng(0)
    if image == "uniform noise":
        img = rng.random((200, 200))
    else:  # a smooth picture under strong noise (as a dim microscopy crop)
        yy, xx = np.mgrid[:200, :200]
        img = np.sin(yy / 20.0) + np.cos(xx / 25.0) + rng.normal(0, 1.5, (200, 200))
    with pytest.warns(UserWarning, match=r"slic made \d+ segments of the n_segments=100 asked for.*raise "
                                         r"compactness"):
        lab = nds.segment(img, "slic", n_segments=100)
    assert lab.max() < 50
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert nds.segment(img, "slic", n_segments=100, compactness=100).max() >= 50  # the advice works


# --- memory: an estimate before any work (issue: nothing lost, nothing silently wrong) -----------------


def test_a_run_that_does_not_fit_in_memory_turns_to_blocks_or_is_refused(monkeypatch):
    from napari_deepsuperpixel import pipeline

    monkeypatch.setattr(pipeline, "available_memory", lambda: 20 * 2**20)
    img = np.random.default_rng(0).random((1024, 1024))
    with pytest.raises(ValueError, match=r"^slic on this image \(shape \(1024, 1024\)\) needs about \d+ MB of memory "
                                         r"and 20 MB is available; use a method that runs in blocks \(snic, "
                                         r"watershed\) or a smaller"):
        nds.segment(img, "slic")
    with pytest.warns(UserWarning, match=r"snic: the whole 1024 x 1024 image would need about \d+ MB of memory and "
                                         r"20 MB is available: segmenting it in blocks of 256 pixels"):
        res = nds.segment_result(img, "snic", n_segments=4000)
    assert res.extras["blocks"] == (4, 4) and res.labels.shape == (1024, 1024)
    with pytest.raises(ValueError, match=r"needs about .* segment it in blocks \(block_size='auto'"):
        nds.segment(img, "snic", n_segments=4000, block_size=None)
    with pytest.raises(ValueError, match=r"needs about .*segment fewer slices"):
        nds.segment(np.random.default_rng(0).random((6, 600, 600)), "felzenszwalb")


def test_every_method_declares_its_memory_and_the_estimate_grows_with_the_image():

    for info in nds.list_methods():
        assert info.bytes_per_pixel > 0, info.name
        p = build_params(info.params_cls, info.name, {})
        small, big = (pipeline_estimate(np.zeros(s, np.uint8), info, p) for s in ((100, 100), (1000, 1000)))
        assert 90 * small < big < 110 * small, info.name


def pipeline_estimate(img, info, params):
    from napari_deepsuperpixel.io.layout import describe_image
    from napari_deepsuperpixel.options import RunOptions
    from napari_deepsuperpixel.pipeline import estimate_memory

    return estimate_memory(img, describe_image(img), info, params, RunOptions(), "slices", None)


def test_the_command_line_refuses_an_image_that_does_not_fit_before_any_work(monkeypatch, tmp_path, capsys):
    from napari_deepsuperpixel import pipeline
    from napari_deepsuperpixel.cli import main
    from napari_deepsuperpixel.io.files import write_png

    write_png(tmp_path / "a.png", (np.random.default_rng(0).random((600, 600)) * 255).astype(np.uint8))
    monkeypatch.setattr(pipeline, "available_memory", lambda: 2**20)
    assert main(["segment", str(tmp_path / "a.png"), "-m", "felzenszwalb", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {tmp_path / 'a.png'}: felzenszwalb on this image") and "\n" not in err
    assert not list((tmp_path / "o").glob("a_*"))


def test_a_memory_error_is_one_line_not_an_unexpected_error(monkeypatch, tmp_path, capsys):
    import napari_deepsuperpixel as pkg
    from napari_deepsuperpixel.cli import main
    from napari_deepsuperpixel.io.files import write_png

    write_png(tmp_path / "a.png", np.zeros((40, 40), np.uint8))

    def oom(*a, **k):
        raise MemoryError("Unable to allocate 8.00 GiB")

    monkeypatch.setattr(pkg, "segment_result", oom)
    assert main(["segment", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: out of memory (Unable to allocate") and "report" not in err
