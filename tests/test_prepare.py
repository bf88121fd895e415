"""Image preparation: dtypes, shapes, channels, normalisation and clear errors."""

import numpy as np
import pytest

from napari_deepsuperpixel.io import prepare_image, to_feature_space


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int32, np.float32, np.float64, bool])
@pytest.mark.parametrize(
    "shape, is_stack, n_ch, spatial",
    [
        ((20, 30), False, 1, (20, 30)),
        ((20, 30, 3), False, 3, (20, 30)),
        ((20, 30, 4), False, None, (20, 30)),  # uint8: RGBA, alpha dropped; else 4 channels
        ((5, 20, 30), True, 1, (5, 20, 30)),
        ((5, 20, 30, 3), True, 3, (5, 20, 30)),
        ((4, 20, 30, 6), True, 6, (4, 20, 30)),
    ],
)
def test_shapes_and_dtypes(dtype, shape, is_stack, n_ch, spatial):
    rng = np.random.default_rng(0)
    if dtype is bool:
        img = rng.random(shape) > 0.5
    elif np.issubdtype(dtype, np.integer):
        img = rng.integers(0, min(np.iinfo(dtype).max, 4095), size=shape).astype(dtype)
    else:
        img = rng.random(shape).astype(dtype)
    p = prepare_image(img)
    assert p.data.dtype == np.float32
    assert p.data.ndim == 4
    assert p.is_stack == is_stack
    if n_ch is None:
        n_ch = 3 if dtype is np.uint8 else 4
    assert p.n_channels == n_ch
    assert p.spatial_shape == spatial
    assert np.all(np.isfinite(p.data))
    assert p.data.min() >= 0.0 and p.data.max() <= 1.0


def test_uint8_rgb_keeps_colours():
    img = np.zeros((4, 5, 3), np.uint8)
    img[..., 0] = 255
    img[0, 0] = (0, 128, 255)
    p = prepare_image(img)
    assert p.rgb
    np.testing.assert_allclose(p.data[0, 0, 0], [0, 128 / 255, 1.0], rtol=1e-6)
    np.testing.assert_allclose(p.data[0, 1, 1], [1.0, 0, 0])


def test_16bit_percentile_normalisation_is_robust_to_hot_pixels(gray16_image):
    img = gray16_image.copy()
    img[0, 0] = 65535  # one hot pixel must not squash the rest
    p = prepare_image(img)
    assert p.data[0, 0, 0, 0] == 1.0
    # the bulk of the intensity range is still used
    assert np.percentile(p.data, 99) > 0.5
    # 12-bit data in uint16 is not divided by 65535
    assert p.data.mean() > 0.01


def test_stack_normalised_consistently():
    img = np.stack([np.full((8, 8), 100, np.uint16), np.full((8, 8), 1000, np.uint16)])
    img[0, 0, 0] = 0
    p = prepare_image(img)
    assert p.data[1].mean() > p.data[0].mean()


@pytest.mark.parametrize(
    "shape, stack", [((64, 64, 6), False), ((64, 64, 16), False), ((6, 64, 64), True),
                     ((64, 64, 20), True), ((3, 3, 3), True)],
)
def test_auto_channel_axis(shape, stack):
    assert prepare_image(np.zeros(shape, np.float32)).is_stack == stack


def test_explicit_channel_axis_first():
    img = np.random.default_rng(1).random((2, 16, 18)).astype(np.float32)
    p = prepare_image(img, channel_axis=0)
    assert not p.is_stack and p.n_channels == 2 and p.spatial_shape == (16, 18)
    p2 = prepare_image(img, channel_axis=None)
    assert p2.is_stack and p2.n_channels == 1


def test_normalize_modes():
    img = np.array([[0.0, 2.0], [4.0, 8.0]])
    np.testing.assert_allclose(prepare_image(img, normalize="minmax").data.ravel(), [0, 0.25, 0.5, 1])
    np.testing.assert_allclose(prepare_image(img, normalize="none").data.ravel(), [0, 2, 4, 8])
    with pytest.raises(ValueError, match="normalize must be one of"):
        prepare_image(img, normalize="zscore")


def test_constant_image_is_fine():
    p = prepare_image(np.full((10, 10), 7, np.uint16))
    assert np.all(p.data == 0)


@pytest.mark.parametrize(
    "img, match",
    [
        (np.zeros((0, 10)), "empty"),
        (np.zeros((1, 10)), "too small"),
        (np.zeros((1, 1)), "too small"),
        (np.zeros(10), "at least 2 dimensions"),
        (np.zeros((2, 2, 2, 2, 2)), "at most 4"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), "NaN or infinite"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), "NaN or infinite"),
        (np.array([["a", "b"], ["c", "d"]]), "numeric"),
        (np.ones((4, 4), complex), "complex"),
    ],
)
def test_bad_images_raise_clear_errors(img, match):
    with pytest.raises(ValueError, match=match):
        prepare_image(img)


def test_bad_channel_axis():
    with pytest.raises(ValueError, match="out of range"):
        prepare_image(np.zeros((4, 4, 3)), channel_axis=5)


def test_feature_space_lab_scales_gray_like_lightness():
    gray = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4, 1)
    lab = to_feature_space(gray, rgb=False, space="lab")
    assert lab.max() == pytest.approx(100.0)
    rgb = np.ones((2, 2, 3), np.float32)
    assert to_feature_space(rgb, rgb=True, space="lab")[..., 0].max() == pytest.approx(100.0, abs=1e-3)


def test_dim_8bit_fluorescence_is_stretched_but_rgb_photos_are_not():
    rng = np.random.default_rng(0)
    dim = rng.integers(2, 41, size=(32, 32)).astype(np.uint8)  # uses 40 of 255 levels
    p = prepare_image(dim)
    assert p.data.max() == 1.0 and p.data.min() == 0.0
    rgb = np.full((8, 8, 3), 40, np.uint8)
    rgb[0, 0] = (10, 20, 30)
    assert prepare_image(rgb).data.max() == pytest.approx(40 / 255)
