"""Public API: list_methods, segment, errors, stacks, progress and cancellation."""

import numpy as np
import pytest
from scipy import ndimage as ndi

import napari_deepsuperpixel as nds
from napari_deepsuperpixel import Cancelled, list_methods, segment, segment_result

CLASSICAL = ["slic", "snic", "felzenszwalb", "quickshift", "watershed"]


def test_list_methods_describes_each_method():
    methods = {m.name: m for m in list_methods()}
    for name in CLASSICAL:
        m = methods[name]
        assert m.description and m.kind == "superpixels"
        params = {p.name: p for p in m.parameters}
        assert all(p.help for p in params.values())
        if name in ("slic", "snic", "watershed"):
            assert params["n_segments"].default == 400 and params["n_segments"].type is int
        if name in ("slic", "snic", "watershed"):
            assert "compactness" in params


def test_list_methods_by_kind():
    assert {m.kind for m in list_methods("superpixels")} == {"superpixels"}
    with pytest.raises(ValueError, match="valid kinds"):
        list_methods("nonsense")


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, napari_deepsuperpixel; print('torch' in sys.modules, 'napari' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("method", CLASSICAL)
def test_every_classical_method_on_rgb(method, rgb_image):
    labels = segment(rgb_image, method)
    assert labels.dtype == np.int32
    assert labels.shape == rgb_image.shape[:2]
    assert labels.min() == 1
    assert set(np.unique(labels)) == set(range(1, labels.max() + 1))
    for lab in range(1, labels.max() + 1):
        assert ndi.label(labels == lab)[1] == 1


@pytest.mark.parametrize("method", CLASSICAL)
def test_every_classical_method_on_16bit_gray(method, gray16_image):
    labels = segment(gray16_image, method)
    assert labels.shape == gray16_image.shape and labels.dtype == np.int32 and labels.min() == 1


@pytest.mark.parametrize("method", ["slic", "snic", "watershed"])
def test_n_segments_is_honoured(method, rgb_image):
    few = segment(rgb_image, method, n_segments=50).max()
    many = segment(rgb_image, method, n_segments=400).max()
    assert few < many
    assert 25 <= few <= 100


def test_multichannel_image_with_many_channels():
    rng = np.random.default_rng(0)
    img = np.zeros((40, 48, 6), np.float32)
    img[:, 24:, :] = np.linspace(0.2, 1.0, 6)  # a step seen in all six channels
    img[:20, :, 5] += 0.5                      # and a second edge only in channel 5
    img += rng.normal(0, 0.01, img.shape).astype(np.float32)
    labels = segment(img, "slic", n_segments=8, compactness=0.1)
    # no segment straddles either edge
    for lab in np.unique(labels):
        rows, cols = np.nonzero(labels == lab)
        assert cols.max() < 24 or cols.min() >= 24
        assert rows.max() < 20 or rows.min() >= 20


def test_stack_runs_slice_by_slice_with_distinct_labels(rgb_image):
    stack = np.stack([rgb_image[..., 0], rgb_image[..., 1], rgb_image[..., 2]])  # ZYX
    events = []
    labels = segment(stack, "slic", n_segments=30, progress=events.append)
    assert labels.shape == stack.shape
    per_slice = [set(np.unique(labels[z])) for z in range(3)]
    assert not (per_slice[0] & per_slice[1]) and not (per_slice[1] & per_slice[2])
    assert labels.min() == 1 and set(np.unique(labels)) == set(range(1, labels.max() + 1))
    slice_events = [e for e in events if e.stage == "slice"]
    assert [e.step for e in slice_events] == [1, 2, 3] and all(e.total == 3 for e in slice_events)


def test_same_seed_same_labels(rgb_image):
    a = segment(rgb_image, "quickshift", seed=3)
    b = segment(rgb_image, "quickshift", seed=3)
    np.testing.assert_array_equal(a, b)


def test_min_size_merges_small_segments(rgb_image):
    labels = segment(rgb_image, "felzenszwalb", scale=10, min_size=0)
    merged = segment(rgb_image, "quickshift", min_size=40)
    assert np.bincount(merged.ravel())[1:].min() >= 40
    assert labels.max() > 1


def test_result_carries_params(rgb_image):
    res = segment_result(rgb_image, "slic", n_segments=20)
    assert res.extras["params"]["n_segments"] == 20 and res.extras["method"] == "slic"
    assert res.n_segments == res.labels.max()


def test_cancel_between_slices(rgb_image):
    stack = np.stack([rgb_image[..., 0]] * 4)

    def cb(ev):
        if ev.stage == "slice" and ev.step >= 1:
            raise Cancelled()

    with pytest.raises(Cancelled):
        segment(stack, "slic", n_segments=10, progress=cb)
    calls = []
    with pytest.raises(Cancelled):
        segment_result(stack, "slic", n_segments=10, cancel_check=lambda: calls.append(1) or True)


def test_unknown_method_lists_valid_ones(rgb_image):
    with pytest.raises(ValueError, match="valid methods: .*slic.*snic") as e:
        segment(rgb_image, "slik")
    assert "Did you mean 'slic'" in str(e.value)


def test_unknown_parameter_lists_valid_ones(rgb_image):
    with pytest.raises(ValueError, match="valid parameters: n_segments, compactness"):
        segment(rgb_image, "slic", n_segment=10)


@pytest.mark.parametrize("n", [0, -5])
def test_n_segments_below_one(rgb_image, n):
    with pytest.raises(ValueError, match="n_segments"):
        segment(rgb_image, "snic", n_segments=n)


def test_n_segments_above_pixel_count():
    with pytest.raises(ValueError, match="exceeds the number of pixels"):
        segment(np.zeros((5, 5)), "slic", n_segments=26)


def test_wrong_parameter_type(rgb_image):
    with pytest.raises(ValueError, match="expects an integer"):
        segment(rgb_image, "slic", n_segments="many")


def test_unknown_device(rgb_image):
    with pytest.raises(ValueError, match="unknown device"):
        segment(rgb_image, "slic", device="tpu")


def test_version():
    assert nds.__version__.count(".") == 2
