"""Mean-shift segmentation (Comaniciu & Meer 2002), the MS superpixels of DSC's tables."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_deepsuperpixel import segment
from napari_deepsuperpixel.methods.meanshift import meanshift_filter, meanshift_segmentation


def _two_regions(seed=0):
    rng = np.random.default_rng(seed)
    img = np.full((40, 50, 3), 30.0, np.float32)
    img[:, 25:] = (70.0, 20.0, -10.0)
    return img + rng.normal(0, 1.0, img.shape).astype(np.float32)


def test_filter_moves_noisy_pixels_to_their_region_mode():
    img = _two_regions()
    modes = meanshift_filter(img, 5, 6.5)
    left, right = modes[:, :20], modes[:, 30:]
    # the noise (std 1) is gone: every pixel sits near its region's mean colour
    assert np.abs(left - 30.0).max() < 0.5
    assert np.abs(right - np.array([70.0, 20.0, -10.0])).max() < 0.5


def test_two_flat_regions_give_two_segments_split_at_the_edge():
    lab = meanshift_segmentation(_two_regions(), 5, 6.5, min_size=20)
    assert lab.dtype == np.int32 and lab.min() == 1 and lab.max() == 2
    assert len(np.unique(lab[:, :25])) == 1 and len(np.unique(lab[:, 25:])) == 1
    assert lab[0, 0] != lab[0, -1]


def test_range_radius_controls_the_count_and_n_segments_caps_it(rgb_image):
    fine = segment(rgb_image, "meanshift", range_radius=4.0)
    coarse = segment(rgb_image, "meanshift", range_radius=12.0)
    assert coarse.max() < fine.max()
    capped = segment(rgb_image, "meanshift", range_radius=4.0, n_segments=15)
    assert capped.max() == 15
    for lab in (fine, capped):  # every label one 4-connected region
        for v in range(1, int(lab.max()) + 1):
            assert ndi.label(lab == v)[1] == 1


def test_count_merge_chooses_how_n_segments_is_reached(rgb_image):
    ward = segment(rgb_image, "meanshift", range_radius=4.0, n_segments=15, count_merge="ward")
    smallest = segment(rgb_image, "meanshift", range_radius=4.0, n_segments=15, count_merge="smallest")
    assert ward.max() == smallest.max() == 15
    assert not np.array_equal(ward, smallest)
    for v in range(1, 16):
        assert ndi.label(ward == v)[1] == 1
    # without n_segments the rule does not matter
    assert np.array_equal(segment(rgb_image, "meanshift", count_merge="ward"),
                          segment(rgb_image, "meanshift", count_merge="smallest"))
    with pytest.raises(ValueError, match="count_merge"):
        segment(rgb_image, "meanshift", n_segments=15, count_merge="biggest")


def test_grey_and_16_bit_images(rgb_image):
    grey = (rgb_image.mean(-1) * 257).astype(np.uint16)
    lab = segment(grey, "meanshift")
    assert lab.shape == grey.shape and lab.max() >= 2


def test_dsc_takes_meanshift_superpixels(rgb_image):
    lab = segment(rgb_image[:64, :64], "superae", superpixel_method="meanshift",
                  superpixel_params="n_segments=20")
    assert 1 <= lab.max() <= 20


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="spatial_radius"):
        segment(np.zeros((8, 8)), "meanshift", spatial_radius=0)
