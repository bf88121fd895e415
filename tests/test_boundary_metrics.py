"""Boundary metrics: seg2bdry, thinning, the exact matcher, pooled counts."""

import numpy as np
import pytest

from napari_deepsuperpixel.metrics.boundary import (
    BoundaryMatcher,
    boundary_counts,
    boundary_prf,
    match_boundaries,
    seg_to_boundaries,
    thin_boundaries,
    tolerance_pixels,
)


def test_seg_to_boundaries_hand_example():
    seg = np.array([[1, 2, 2], [1, 2, 2], [1, 2, 2]])
    # official seg2bdry 'imageSize': the pixel left of a vertical change is marked
    expected = np.zeros((3, 3), bool)
    expected[:, 0] = True
    np.testing.assert_array_equal(seg_to_boundaries(seg), expected)
    seg = np.array([[1, 1], [2, 2]])
    # last row only counts horizontal changes; bottom-right pixel never marked
    np.testing.assert_array_equal(seg_to_boundaries(seg), [[True, True], [False, False]])
    assert not seg_to_boundaries(np.ones((4, 5))).any()


def test_thinning_equals_scikit_image():
    from scipy import ndimage as ndi
    from skimage.morphology import thin

    rng = np.random.default_rng(0)
    for _ in range(30):
        b = ndi.binary_dilation(rng.random((30, 40)) < 0.08, iterations=int(rng.integers(0, 3)))
        np.testing.assert_array_equal(thin_boundaries(b), thin(b))
    line = np.zeros((9, 9), bool)
    line[4, 1:8] = True
    np.testing.assert_array_equal(thin_boundaries(line), line)  # already thin: unchanged
    thick = np.zeros((9, 9), bool)
    thick[3:6, 1:8] = True
    assert thin_boundaries(thick).sum() < thick.sum() and thin_boundaries(thick)[4].any()


def _single(shape, yx):
    b = np.zeros(shape, bool)
    b[yx] = True
    return b


@pytest.mark.parametrize("matcher", ["exact", "mincost"])
def test_tolerance_is_inclusive_euclidean(matcher):
    shape = (481, 321)
    r = tolerance_pixels(shape)  # 0.0075 * diagonal = 4.337 px
    assert r == pytest.approx(4.3374, abs=1e-3)
    gt = _single(shape, (100, 100))
    for dyx, ok in [((4, 0), True), ((3, 3), True), ((0, -4), True), ((5, 0), False), ((4, 2), False)]:
        m = _single(shape, (100 + dyx[0], 100 + dyx[1]))
        mm, mg = match_boundaries(m, gt, matcher=matcher)
        assert mm.any() == ok and mg.any() == ok, dyx


@pytest.mark.parametrize("matcher", ["exact", "mincost"])
def test_maximum_cardinality_needs_augmentation(matcher):
    # radius 2 (diagonal 100). Nearest-first greedy pairs X with A (distance 0) and strands Y
    # and B; the maximum matching is X-B, Y-A.
    shape, md = (60, 80), 0.02
    gt = np.zeros(shape, bool)
    gt[10, 10] = gt[10, 12] = True  # X, Y
    m = np.zeros(shape, bool)
    m[10, 10] = m[10, 8] = True  # A, B
    mm, mg = match_boundaries(m, gt, max_dist=md, matcher=matcher)
    np.testing.assert_array_equal(mm, m)
    np.testing.assert_array_equal(mg, gt)
    c = boundary_counts(m, [gt], max_dist=md, thin=False, matcher=matcher)
    assert (c.cntR, c.sumR, c.cntP, c.sumP) == (2, 2, 2, 2)


def test_recall_pooled_precision_union():
    shape, md = (60, 80), 0.02
    m = np.zeros(shape, bool)
    m[20, 10] = m[20, 30] = True
    g1 = _single(shape, (21, 10))  # matches the first machine pixel only
    g2 = np.zeros(shape, bool)
    g2[20, 31] = g2[40, 40] = True  # matches the second; one pixel far away
    c = boundary_counts(m, [g1, g2], max_dist=md, thin=False)
    assert (c.cntR, c.sumR) == (2, 3)  # pooled over annotators
    assert (c.cntP, c.sumP) == (2, 2)  # each machine pixel matched by some annotator
    assert c.precision == 1 and c.recall == pytest.approx(2 / 3)
    assert boundary_prf(m, [g1, g2], max_dist=md, thin=False)["f"] == pytest.approx(0.8)


def test_thinning_before_matching():
    shape = (50, 50)
    thick = np.zeros(shape, bool)
    thick[20:23, 5:45] = True
    gt = np.zeros(shape, bool)
    gt[21, 5:45] = True
    c = boundary_counts(thick, [gt])
    assert c.sumP == thin_boundaries(thick).sum() < thick.sum()
    assert c.recall > 0.9 and c.precision == 1
    c_raw = boundary_counts(thick, [gt], thin=False)
    assert c_raw.sumP == thick.sum() and c_raw.precision < 0.5


def test_exact_and_mincost_agree_on_real_data(bsds_bench_dir):
    import scipy.io as sio

    from napari_deepsuperpixel.datasets import load_ground_truth

    gt = load_ground_truth(bsds_bench_dir / "groundTruth" / "5096.mat")
    pb = sio.loadmat(bsds_bench_dir / "ucm2" / "5096.mat")["ucm2"][2::2, 2::2]
    b = thin_boundaries(pb >= 0.3)
    ex = boundary_counts(b, gt, thin=False, matcher="exact")
    mc = boundary_counts(b, gt, thin=False, matcher="mincost")
    pre = BoundaryMatcher(gt, possible=pb > 0).counts(b, thin=False)
    assert ex == pre
    assert ex.cntR == mc.cntR and ex.sumR == mc.sumR and ex.sumP == mc.sumP  # both maximum cardinality
    assert abs(ex.cntP - mc.cntP) <= 0.005 * ex.sumP  # may differ in which machine pixels are used
    for g in gt.boundaries:  # per annotator, matched counts agree and are consistent
        mm, mg = match_boundaries(b, g)
        assert mm.sum() == mg.sum() and not (mm & ~b).any() and not (mg & ~g).any()


def test_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        match_boundaries(np.zeros((4, 4), bool), np.zeros((4, 5), bool))
    with pytest.raises(ValueError, match="matcher"):
        boundary_counts(np.zeros((4, 4), bool), [np.zeros((4, 4), bool)], matcher="csa")
    with pytest.raises(ValueError, match="max_dist"):
        tolerance_pixels((4, 4), -1)
    with pytest.raises(ValueError, match="does not match"):
        boundary_counts(np.zeros((4, 4), bool), [np.zeros((5, 4), bool)])
