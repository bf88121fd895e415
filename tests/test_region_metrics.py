"""Region metrics: hand-computed cases and brute-force cross-checks."""

import itertools
import math

import numpy as np
import pytest

from napari_deepsuperpixel.metrics.region import (
    contingency_table,
    probabilistic_rand_index,
    region_scores,
    segmentation_covering,
    variation_of_information,
)


def test_identical_segmentation_is_perfect():
    seg = np.array([[1, 1, 2], [3, 3, 2]])
    s = region_scores(seg, [seg + 10])  # label values do not matter
    assert s["covering"] == pytest.approx(1) and s["covering_seg"] == pytest.approx(1)
    assert s["pri"] == pytest.approx(1) and s["vi"] == pytest.approx(0, abs=1e-12)


def test_hand_computed_crossing_partitions():
    seg = np.array([[1, 1], [2, 2]])
    gt = np.array([[1, 2], [1, 2]])
    # every region meets every other in 1 pixel: IoU 1/3; RI = 1 - (4 + 4 - 4) / 6; VI = 1 + 1 - 0 bits
    assert segmentation_covering(seg, [gt]) == pytest.approx(1 / 3)
    assert segmentation_covering(seg, [gt], direction="seg") == pytest.approx(1 / 3)
    assert probabilistic_rand_index(seg, [gt]) == pytest.approx(1 / 3)
    assert variation_of_information(seg, [gt]) == pytest.approx(2.0)


def test_annotators_pooled_and_averaged():
    seg = np.array([[1, 1], [2, 2]])
    gt_cross = np.array([[1, 2], [1, 2]])
    # covering pools the regions of all annotators (equal areas here): (1 + 1/3) / 2
    assert segmentation_covering(seg, [seg, gt_cross]) == pytest.approx(2 / 3)
    assert probabilistic_rand_index(seg, [seg, gt_cross]) == pytest.approx((1 + 1 / 3) / 2)
    assert variation_of_information(seg, [seg, gt_cross]) == pytest.approx(1.0)


def test_label_zero_is_no_region_for_covering():
    seg = np.array([[0, 0, 1, 1]])
    gt = np.array([[1, 1, 1, 1]])
    # gt region (area 4) best IoU with region 1 = 2 / 4; label 0 is never a region
    assert segmentation_covering(seg, [gt]) == pytest.approx(0.5)
    assert segmentation_covering(seg, [gt], direction="seg") == pytest.approx(0.5)


def _brute_ri(a, b):
    a, b = a.ravel(), b.ravel()
    agree = sum((a[i] == a[j]) == (b[i] == b[j]) for i, j in itertools.combinations(range(a.size), 2))
    return agree / math.comb(a.size, 2)


def _brute_vi(a, b):
    a, b = a.ravel(), b.ravel()
    n = a.size
    pa = {u: np.mean(a == u) for u in set(a)}
    pb = {v: np.mean(b == v) for v in set(b)}
    ha = -sum(p * math.log(p) for p in pa.values())
    hb = -sum(p * math.log(p) for p in pb.values())
    mi = 0.0
    for u in pa:
        for v in pb:
            p = np.sum((a == u) & (b == v)) / n
            if p > 0:
                mi += p * math.log(p / (pa[u] * pb[v]))
    return (ha + hb - 2 * mi) / math.log(2)


def _brute_covering(seg, gts):
    num = den = 0.0
    for g in gts:
        for v in np.unique(g):
            if v == 0:
                continue
            G = g == v
            best = max(np.sum(G & (seg == u)) / np.sum(G | (seg == u)) for u in np.unique(seg) if u != 0)
            num += G.sum() * best
            den += G.sum()
    return num / den


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, 4, size=(5, 6))
    gts = [rng.integers(1, 4, size=(5, 6)) for _ in range(2)]
    assert probabilistic_rand_index(seg, gts) == pytest.approx(np.mean([_brute_ri(seg, g) for g in gts]))
    assert variation_of_information(seg, gts) == pytest.approx(np.mean([_brute_vi(seg, g) for g in gts]))
    assert segmentation_covering(seg, gts) == pytest.approx(_brute_covering(seg, gts))


def test_contingency_table():
    t, su, gu = contingency_table(np.array([[5, 5, 7]]), np.array([[0, 2, 2]]))
    np.testing.assert_array_equal(su, [5, 7])
    np.testing.assert_array_equal(gu, [0, 2])
    np.testing.assert_array_equal(t, [[1, 1], [0, 1]])


def test_bad_input():
    with pytest.raises(ValueError, match="shape"):
        segmentation_covering(np.ones((2, 2), int), [np.ones((2, 3), int)])
    with pytest.raises(ValueError, match="integer"):
        probabilistic_rand_index(np.full((2, 2), 0.5), [np.ones((2, 2), int)])
    with pytest.raises(ValueError, match="negative"):
        variation_of_information(-np.ones((2, 2), int), [np.ones((2, 2), int)])
    with pytest.raises(ValueError, match="direction"):
        segmentation_covering(np.ones((2, 2), int), [np.ones((2, 2), int)], direction="both")
