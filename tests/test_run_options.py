"""The one path: run options as one object, axes resolved once, the blocks on the shared preparation."""

import dataclasses
import warnings

import numpy as np
import pytest

import napari_deepsuperpixel as nds
from napari_deepsuperpixel import RunOptions, segment, segment_result
from napari_deepsuperpixel.methods import MethodInfo, param, register


@pytest.fixture(scope="module")
def mosaic():
    from skimage import data

    c = data.coins().astype(np.float64)
    return np.block([[c, c[:, ::-1]], [c[::-1], c]])[:600, :760]


def test_options_object_and_keywords_give_the_same_labels(mosaic):
    img = mosaic[:200, :200]
    a = segment(img, "slic", n_segments=50, seed=3, normalize="minmax")
    b = segment(img, "slic", options=RunOptions(seed=3, normalize="minmax"), n_segments=50)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="not both"):
        segment(img, "slic", options=RunOptions(seed=3), seed=4)


@pytest.mark.parametrize("bad, match", [
    ({"seed": -1}, "seed"), ({"device": "tpu"}, "device"), ({"normalize": "zscore"}, "normalize"),
    ({"mode": "4d"}, "mode"), ({"axes": "YXQ"}, "unknown letter"), ({"time_spacing": 0}, "time_spacing"),
    ({"block_size": 10}, "block_size"), ({"block_size": "big"}, "block_size"),
    ({"axes": "YX", "channel_axis": -1}, "not both"),
])
def test_run_options_are_checked_when_made(bad, match):
    with pytest.raises(ValueError, match=match):
        RunOptions(**bad)


def test_run_options_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RunOptions().seed = 2


def test_register_refuses_a_parameter_named_like_a_run_option():
    @dataclasses.dataclass
    class Clashing:
        seed: int = param(0, "a seed of its own")

    info = MethodInfo("clashing_method", "test", "superpixels", f"{__name__}:Clashing", f"{__name__}:nothing")
    globals()["Clashing"] = Clashing
    with pytest.raises(ValueError, match="seed.*run options"):
        register(info)
    assert "clashing_method" not in [m.name for m in nds.list_methods()]


def test_the_axes_are_worked_out_once_per_run(monkeypatch):
    """An ambiguous shape warns once, and the guess is made once, whatever the branch."""
    from napari_deepsuperpixel.io import axes as axes_module

    calls = []
    original = axes_module.guess_axes

    def counting(*a, **kw):
        calls.append(a)
        return original(*a, **kw)

    monkeypatch.setattr(axes_module, "guess_axes", counting)
    monkeypatch.setattr("napari_deepsuperpixel.io.layout.guess_axes", counting)
    monkeypatch.setattr("napari_deepsuperpixel.io.prepare.guess_axes", counting)
    img = np.random.default_rng(0).random((3, 64, 64)).astype(np.float32)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        segment(img, "slic", n_segments=20)
    assert len(calls) == 1
    assert sum("ambiguous" in str(x.message) for x in w) == 1


def test_float64_beyond_float32_range_gives_the_same_labels_tiled_and_untiled(mosaic):
    """The blocks are normalised by io.prepare's rules: values near 1e300 (a cast to float32 would make them
    inf) give the labels of the same image at ordinary scale, in blocks and whole."""
    huge = mosaic * 1e300
    with np.errstate(over="ignore"):
        assert not np.isfinite(huge.astype(np.float32)).all()
    for block_size in (256, None):
        ordinary = segment(mosaic, "snic", n_segments=1500, block_size=block_size)
        with np.errstate(over="ignore"):
            scaled = segment(huge, "snic", n_segments=1500, block_size=block_size)
        np.testing.assert_array_equal(scaled, ordinary)
    res = segment_result(huge, "snic", n_segments=1500, block_size=256)
    assert res.extras["blocks"] == (3, 3)


@pytest.mark.parametrize("normalize", ["percentile", "minmax", "dtype", "none"])
def test_blocks_scale_each_pixel_as_prepare_image_does(normalize):
    """The block path's channel ranges and scaling are prepare_image's (one rule, two readers)."""
    from napari_deepsuperpixel.io.layout import describe_image
    from napari_deepsuperpixel.io.prepare import normalisation_mode, prepare_image
    from napari_deepsuperpixel.tiled.blocks import _channels, _normalised, _ranges

    rng = np.random.default_rng(1)
    img = (rng.random((300, 200, 2)) * 4000).astype(np.uint16)
    if normalize in ("dtype", "none"):
        img = img.astype(np.float64) / 4000
    layout = describe_image(img, axes="YXC")
    mode = normalisation_mode(normalize, img.dtype, 2, True)
    chans = _channels(img, layout)
    blocks = _normalised([np.asarray(c) for c in chans], _ranges(chans, mode))
    np.testing.assert_array_equal(blocks, prepare_image(img, axes="YXC", normalize=normalize).data[0])


def test_extras_name_the_method_and_its_parameters_on_every_branch(mosaic):
    for kw in ({}, {"block_size": 256}):
        res = segment_result(mosaic, "snic", n_segments=1500, **kw)
        assert res.extras["method"] == "snic" and res.extras["params"]["n_segments"] == 1500
    stack = np.stack([mosaic[:100, :100]] * 2).astype(np.float32)
    res = segment_result(stack, "slic", n_segments=20, axes="ZYX", mode="3d")
    assert res.extras["method"] == "slic"


def test_image_like_extras_have_the_labels_shape_for_an_image_and_a_stack():
    """One shape whatever the input: a stack's per-slice embeddings come back as one (Z, Y, X, D) array,
    like a 3D run's; per-run values are lists with one entry per slice."""
    from napari_deepsuperpixel._types import collect_extras

    parts = [{"embedding": np.full((4, 5, 3), z, np.float32), "n_iter": z} for z in range(2)]
    ex = collect_extras(parts, (4, 5), (2, 4, 5))
    assert ex["embedding"].shape == (2, 4, 5, 3) and ex["embedding"][1].min() == 1
    assert ex["n_iter"] == [0, 1]
    one = collect_extras(parts[:1], (4, 5), (4, 5))
    assert one["embedding"].shape == (4, 5, 3) and one["n_iter"] == 0
    tlapse = collect_extras(parts, (4, 5), (2, 1, 4, 5))  # a TZYX image of one slice per frame
    assert tlapse["embedding"].shape == (2, 1, 4, 5, 3)


def test_an_out_store_appears_whole_or_not_at_all_and_killed_runs_leave_nothing(tmp_path, mosaic):
    """``out=`` is written beside the target and renamed at the end: a cancelled run leaves neither the
    store nor its temporary, and the temporary of a killed run (a dead process) is removed by the next run."""
    import zarr

    from napari_deepsuperpixel import Cancelled

    stale = tmp_path / ".labels.zarr.run999999999"  # a killed run's store (no such process)
    stale.mkdir()
    (stale / "junk").write_text("x")
    # whole-image run: nothing is written before the end (in blocks, a block already running when
    # Cancel comes may still write; tests/test_tiled.py covers that race)
    with pytest.raises(Cancelled):
        segment(mosaic, "snic", n_segments=1500, block_size=None, out=tmp_path / "labels.zarr",
                progress=lambda ev: (_ for _ in ()).throw(Cancelled("stop")) if ev.step >= 2 else None)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing half written, the stale store gone
    for kw in ({"block_size": 256}, {"block_size": None}):
        out = tmp_path / f"labels{len(kw)}{kw['block_size']}.zarr"
        res = segment_result(mosaic, "snic", n_segments=1500, out=out, **kw)
        assert isinstance(res.labels, zarr.Array) and out.is_dir()
        np.testing.assert_array_equal(np.asarray(res.labels[:]), np.asarray(zarr.open_array(str(out))[:]))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
