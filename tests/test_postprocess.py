"""Connectivity post-processing: one component per label, small-segment merging."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_deepsuperpixel.postprocess import (
    enforce_connectivity,
    merge_small_segments,
    split_components,
    ward_merge,
)


def assert_connected(labels):
    for lab in np.unique(labels):
        _, n = ndi.label(labels == lab)  # default structure = 4-connectivity
        assert n == 1, f"label {lab} has {n} components"


def test_split_disconnected_label():
    lab = np.array([[1, 1, 2, 1], [2, 2, 2, 1], [1, 2, 1, 1]])
    out = split_components(lab)
    assert_connected(out)
    assert out.dtype == np.int32 and out.min() == 1
    # label 1 had 3 components: top-left pair, right column block, bottom-left pixel
    assert out.max() == 4


def test_diagonal_touch_is_not_connected_with_4_connectivity():
    lab = np.array([[1, 0], [0, 1]])
    assert enforce_connectivity(lab).max() == 4
    assert enforce_connectivity(lab, connectivity=2).max() == 2


def test_merge_small_into_most_similar_neighbour():
    lab = np.ones((10, 10), int)
    lab[:, 5:] = 2
    lab[4:6, 4:6] = 3  # a 4-pixel segment between 1 and 2
    feat = np.zeros((10, 10), float)
    feat[:, 5:] = 10.0
    feat[4:6, 4:6] = 9.0  # similar to segment 2
    out = merge_small_segments(lab, min_size=5, features=feat)
    assert out.max() == 2
    assert out[4, 4] == out[0, 9] != out[0, 0]


def test_merge_without_features_uses_longest_border():
    lab = np.ones((6, 6), int)
    lab[:, 3:] = 2
    lab[0, 2:4] = 3  # touches 1 on one side, 2 on one side and along the top: equal borders
    lab[5, 3] = 4   # touches 1 (left) and 2 (right and top): longest border with 2
    out = merge_small_segments(lab, min_size=3)
    assert out[5, 3] == out[5, 5]


def test_enforce_connectivity_random_labels():
    rng = np.random.default_rng(0)
    lab = rng.integers(0, 5, size=(40, 50))
    out = enforce_connectivity(lab, min_size=10, features=rng.random((40, 50, 3)))
    assert_connected(out)
    assert np.bincount(out.ravel())[1:].min() >= 10
    assert set(np.unique(out)) == set(range(1, out.max() + 1))


def test_min_size_larger_than_image_gives_one_segment():
    lab = np.arange(16).reshape(4, 4)
    out = enforce_connectivity(lab, min_size=100)
    assert np.all(out == 1)


@pytest.mark.parametrize("min_size", [0, 1])
def test_no_merge_when_disabled(min_size):
    lab = np.arange(16).reshape(4, 4)
    assert enforce_connectivity(lab, min_size=min_size).max() == 16


def test_max_segments_merges_the_smallest_first_and_stays_connected():
    rng = np.random.default_rng(1)
    lab = rng.integers(0, 6, size=(60, 70))
    feats = rng.random((60, 70, 3))
    free = enforce_connectivity(lab, min_size=4, features=feats)
    assert free.max() > 40
    out = enforce_connectivity(lab, min_size=4, features=feats, max_segments=40)
    assert 1 <= out.max() <= 40
    assert set(np.unique(out)) == set(range(1, out.max() + 1))
    assert_connected(out)
    # the largest segment of the unlimited result survives whole (only smaller ones merged into it)
    sizes = np.bincount(free.ravel())
    big = free == sizes[1:].argmax() + 1
    assert len(np.unique(out[big])) == 1


def test_max_segments_already_met_changes_nothing():
    lab = np.repeat(np.arange(1, 5), 25).reshape(10, 10)
    out = enforce_connectivity(lab, max_segments=4)
    assert np.array_equal(out, lab)
    assert enforce_connectivity(lab, max_segments=1).max() == 1
    with pytest.raises(ValueError, match="max_segments"):
        merge_small_segments(lab, 0, max_segments=0)


def test_max_segments_merges_into_the_most_similar_neighbour():
    # four vertical bands 1 | 2 | 4 | 3, widths 4, 2, 2, 4; bands 2 and 4 are the smallest
    lab = np.ones((10, 12), int)
    lab[:, 4:6] = 2
    lab[:, 6:8] = 4
    lab[:, 8:] = 3
    feat = np.zeros((10, 12))
    feat[:, 4:6] = 1.0
    feat[:, 6:8] = 1.2
    feat[:, 8:] = 5.0
    out = enforce_connectivity(lab, features=feat, max_segments=3)
    # 2 and 4 are each other's most similar neighbours: they merge together, 1 and 3 stay
    assert out.max() == 3
    assert out[0, 4] == out[0, 7] and len({out[0, 0], out[0, 4], out[0, 11]}) == 3


def test_ward_merge_is_ward_clustering_of_the_pixels():
    # the stepwise region merge gives the partition of scikit-learn's pixel-level Ward under
    # 4-connectivity started from the same segments (pixels carry their segment's mean colour)
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.image import grid_to_graph

    rng = np.random.default_rng(3)
    lab = enforce_connectivity(rng.integers(0, 5, size=(24, 30)), min_size=3, features=None)
    feat = rng.random((24, 30, 3))
    n = int(lab.max())
    means = np.stack([np.bincount(lab.ravel(), weights=feat[..., c].ravel(), minlength=n + 1)
                      for c in range(3)], 1) / np.bincount(lab.ravel(), minlength=n + 1)[:, None].clip(1)
    x = means[lab].reshape(-1, 3)
    for k in (12, 5, 2):
        ours = ward_merge(lab, feat, k)
        ref = AgglomerativeClustering(n_clusters=k, linkage="ward", connectivity=grid_to_graph(24, 30)).fit(x)
        ref = ref.labels_.reshape(lab.shape)
        assert ours.max() == k
        # the same partition up to the names of the segments
        pairs = set(zip(ours.ravel().tolist(), ref.ravel().tolist()))
        assert len(pairs) == k
        assert_connected(ours)


def test_ward_merge_joins_two_halves_of_a_region_before_a_small_distinct_one():
    # a smooth band split in two large halves (1 | 2, colours 0 and 0.15) and a small distinct
    # square (3, colour 1) inside 1: at two segments Ward joins the halves and keeps the square,
    # while merging the smallest first swallows the square
    lab = np.ones((40, 40), int)
    lab[:, 20:] = 2
    lab[5:10, 5:10] = 3
    feat = np.zeros((40, 40))
    feat[:, 20:] = 0.15
    feat[5:10, 5:10] = 1.0
    out = ward_merge(lab, feat, 2)
    assert out.max() == 2
    assert out[0, 0] == out[0, 39] and out[7, 7] != out[0, 0]
    smallest = merge_small_segments(lab, 0, feat, max_segments=2)
    assert smallest[7, 7] == smallest[0, 0]


def test_ward_merge_leaves_a_met_count_and_refuses_a_bad_one():
    lab = np.repeat(np.arange(1, 5), 25).reshape(10, 10)
    assert np.array_equal(ward_merge(lab, np.zeros((10, 10)), 4), lab)
    assert ward_merge(lab, np.zeros((10, 10)), 1).max() == 1
    with pytest.raises(ValueError, match="max_segments"):
        ward_merge(lab, np.zeros((10, 10)), 0)
    with pytest.raises(ValueError, match="features shape"):
        ward_merge(lab, np.zeros((5, 10)), 2)


def _disc_with_labels_off_by(shift, shape=(60, 60), r=12, seed=0):
    """A bright noisy disc on a dark background, and labels whose disc is ``shift`` pixels too wide."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    d = np.hypot(yy - 30, xx - 30)
    img = np.where(d < r, 1.0, 0.1) + rng.normal(0, 0.05, shape)
    return img, (d < r).astype(int) + 1, (d < r + shift).astype(int) + 1


def test_icm_moves_a_boundary_off_the_edge_onto_it():
    from napari_deepsuperpixel.postprocess import icm_refine

    img, truth, labels = _disc_with_labels_off_by(3)
    out = icm_refine(labels, img, passes=8)
    assert np.mean(labels != truth) > 0.04  # about 250 pixels wrong before
    assert np.mean(out != truth) < 0.005
    assert set(np.unique(out)) <= set(np.unique(labels))  # labels are moved, never invented


def test_icm_off_and_smoothness():
    from napari_deepsuperpixel.postprocess import icm_refine

    img, truth, labels = _disc_with_labels_off_by(3)
    assert np.array_equal(icm_refine(labels, img, passes=0), labels)
    # noise alone does not speckle a flat region: the Potts term keeps it one segment
    rng = np.random.default_rng(1)
    flat = rng.normal(0.5, 0.05, (40, 40))
    halves = np.repeat([[1] * 20 + [2] * 20], 40, axis=0)
    out = icm_refine(halves, flat, passes=8, beta=1.0)
    assert split_components(out).max() <= 4
    with pytest.raises(ValueError, match="do not match"):
        icm_refine(labels, img[:-1], passes=2)


def test_icm_in_a_volume_and_with_channels():
    from napari_deepsuperpixel.postprocess import icm_refine

    img, truth, labels = _disc_with_labels_off_by(2)
    vol = np.stack([img] * 5)
    out = icm_refine(np.stack([labels] * 5), np.stack([vol, vol], -1), passes=6)
    assert out.shape == (5, 60, 60)
    assert np.mean(out != np.stack([truth] * 5)) < 0.005


def _icm_reference(labels, feats, passes, beta):
    """ICM with a Potts prior written the plain way (whole-image numpy, float64), for the kernel's test.

    Per sweep the segments' means and the pooled variance once, then the checkerboard's two colours in turn.
    """
    lab = labels.astype(np.int64)
    f = feats if feats.ndim == lab.ndim + 1 else feats[..., None]
    parity = np.indices(lab.shape).sum(0) % 2
    for _ in range(passes):
        n = lab.max() + 1
        cnt = np.maximum(np.bincount(lab.ravel(), minlength=n), 1)
        mean = np.stack([np.bincount(lab.ravel(), f[..., c].ravel(), minlength=n) / cnt
                         for c in range(f.shape[-1])], 1)
        var = np.maximum(((f - mean[lab]) ** 2).reshape(-1, f.shape[-1]).mean(0), 1e-12)
        start = lab.copy()
        for colour in (0, 1):
            pad = np.pad(lab, 1, constant_values=-1)
            core = (slice(1, -1),) * lab.ndim
            nbs = []
            for ax in range(lab.ndim):
                for step in (-1, 1):
                    sl = list(core)
                    sl[ax] = slice(1 + step, pad.shape[ax] - 1 + step)
                    nbs.append(pad[tuple(sl)])
            cands = [lab] + [np.where(nb < 0, lab, nb) for nb in nbs]
            cost = np.stack([(((mean[c] - f) ** 2) / (2 * var)).sum(-1) - beta * sum((nb == c) for nb in nbs)
                             for c in cands])
            best = np.take_along_axis(np.stack(cands), cost.argmin(0)[None], 0)[0]
            lab = np.where(parity == colour, best, lab)
        if np.array_equal(lab, start):
            break
    return lab


@pytest.mark.parametrize("seed", range(4))
def test_icm_kernel_is_the_plain_sweep(seed):
    from napari_deepsuperpixel.postprocess import icm_refine

    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(5, 40)), int(rng.integers(5, 40)))
    lab = split_components(rng.integers(0, 4, shape).repeat(2, 0).repeat(2, 1))
    feats = rng.random(lab.shape + (2,)) + (lab % 3)[..., None] * 0.5
    out = icm_refine(lab, feats, 6, 1.0)
    want = _icm_reference(lab, feats.astype(np.float32).astype(np.float64), 6, 1.0)
    assert np.mean(out == want) > 0.999  # float32 costs against float64: a rare exact tie may go the other way
    vol = split_components(rng.integers(0, 3, (4, 12, 14)))
    vf = rng.random((4, 12, 14)) + vol * 0.3
    assert np.mean(icm_refine(vol, vf, 4) == _icm_reference(vol, vf.astype(np.float32).astype(np.float64), 4, 1.0)) > 0.999
