"""Superpixel metrics against hand-computed values on tiny label maps."""

import numpy as np
import pytest

from napari_deepsuperpixel.metrics import _labels
from napari_deepsuperpixel.metrics import superpixel as sp

# 4x4 ground truth: left half 1, right half 2
GT = np.array([[1, 1, 2, 2]] * 4)
# superpixels: s1 (6 px), s2 (2 px), s3 (8 px, the bottom half)
SP = np.array([[1, 1, 1, 2],
               [1, 1, 1, 2],
               [3, 3, 3, 3],
               [3, 3, 3, 3]])


def test_asa_and_corrected_ue_by_hand():
    # s1: max(4, 2) = 4; s2: 2; s3: max(4, 4) = 4 -> 10 / 16
    assert sp.achievable_segmentation_accuracy(SP, GT) == pytest.approx(10 / 16)
    assert sp.corrected_undersegmentation_error(SP, GT) == pytest.approx(6 / 16)
    # a perfect superpixel map and a single superpixel
    assert sp.achievable_segmentation_accuracy(GT * 7, GT) == 1.0
    assert sp.achievable_segmentation_accuracy(np.zeros_like(GT), GT) == pytest.approx(0.5)


def test_neubert_protzel_ue_by_hand():
    # (s1,g1) min(4,2)=2, (s1,g2) min(2,4)=2, (s2,g2) min(2,0)=0, (s3,g1) 4, (s3,g2) 4 -> 12/16
    assert sp.undersegmentation_error_np(SP, GT) == pytest.approx(12 / 16)
    assert sp.undersegmentation_error_np(GT, GT) == 0.0


def test_labels_are_values_not_indices():
    # arbitrary (negative, huge, sparse) label values give the same numbers
    odd = np.where(SP == 1, -5, np.where(SP == 2, 10**12, 3))
    gt_odd = np.where(GT == 1, 0, 65535).astype(np.uint16)
    assert sp.achievable_segmentation_accuracy(odd, gt_odd) == pytest.approx(10 / 16)
    assert sp.undersegmentation_error_np(odd, gt_odd) == pytest.approx(12 / 16)


def test_boundary_map_is_one_sided():
    b = sp.boundary_map(SP)
    expected = np.zeros((4, 4), bool)
    expected[0, 2] = True  # right neighbour differs
    expected[1, :] = True  # pixel below differs
    np.testing.assert_array_equal(b, expected)
    np.testing.assert_array_equal(sp.boundary_map(GT), np.array([[0, 1, 0, 0]] * 4, bool))


def test_boundary_recall_precision_by_hand():
    # GT boundary: column 1 (4 px); superpixel boundary: (0,2) and row 1 (5 px)
    assert sp.boundary_recall(SP, GT, r=0) == pytest.approx(1 / 4)  # only (1,1) coincides
    assert sp.boundary_recall(SP, GT, r=1) == pytest.approx(3 / 4)  # (3,1) is 2 px away
    assert sp.boundary_recall(SP, GT, r=2) == pytest.approx(1.0)
    assert sp.boundary_precision(SP, GT, r=0) == pytest.approx(1 / 5)
    assert sp.boundary_precision(SP, GT, r=1) == pytest.approx(4 / 5)  # (1,3) is 2 px from column 1
    p, r = 4 / 5, 3 / 4
    assert sp.boundary_f1(SP, GT, r=1) == pytest.approx(2 * p * r / (p + r))


@pytest.mark.parametrize("window, expected_recall", [("square", 1.0), ("disk", 2 / 3)])
def test_boundary_window_shapes_differ_on_the_diagonal(window, expected_recall):
    sp_map = np.ones((5, 5), int)
    sp_map[0, 0] = 2  # superpixel boundary: {(0,0)}
    gt = np.ones((5, 5), int)
    gt[1, 1] = 2  # gt boundary: {(0,1), (1,0), (1,1)}; (1,1) is sqrt(2) from (0,0)
    assert sp.boundary_recall(sp_map, gt, r=1, window=window) == pytest.approx(expected_recall)
    assert sp.boundary_precision(sp_map, gt, r=1, window=window) == 1.0
    # at r = 1.5 the disk reaches the diagonal too
    assert sp.boundary_recall(sp_map, gt, r=1.5, window="disk") == 1.0


def test_boundary_degenerate_cases():
    one = np.ones((4, 4), int)
    assert sp.boundary_recall(SP, one) == 1.0  # nothing to recall
    assert sp.boundary_precision(SP, one) == 0.0  # every proposed boundary is false
    assert sp.boundary_precision(one, GT) == 1.0  # no boundary proposed
    assert sp.boundary_recall(one, GT) == 0.0


def test_explained_variation_by_hand():
    labels = np.array([[1, 1], [2, 2]])
    img = np.array([[0.0, 2.0], [4.0, 4.0]])
    # mean 2.5; total 6.25+0.25+2.25+2.25 = 11; explained 2*1.5^2 + 2*1.5^2 = 9
    assert sp.explained_variation(labels, img) == pytest.approx(9 / 11)
    rgb = np.stack([img, 2 * img, np.full_like(img, 3.0)], axis=-1)
    assert sp.explained_variation(labels, rgb) == pytest.approx(9 / 11)
    assert sp.explained_variation(np.arange(4).reshape(2, 2), img) == pytest.approx(1.0)
    assert sp.explained_variation(np.ones((2, 2), int), img) == pytest.approx(0.0)
    assert sp.explained_variation(labels, np.ones((2, 2))) == 1.0


def test_compactness_by_hand():
    labels = np.array([[1, 1, 2, 2],
                       [1, 1, 2, 2],
                       [1, 1, 3, 3],
                       [1, 1, 3, 3]])
    areas, per = sp.perimeters(labels)
    np.testing.assert_array_equal(areas, [8, 4, 4])
    np.testing.assert_array_equal(per, [12, 8, 8])
    # 8/16 * 4pi*8/144 + 2 * 4/16 * 4pi*4/64 = pi/9 + pi/8
    assert sp.compactness(labels) == pytest.approx(np.pi / 9 + np.pi / 8)
    line = np.ones((1, 5), int)  # a 1x5 line: area 5, perimeter 12
    assert sp.compactness(line) == pytest.approx(4 * np.pi * 5 / 12 ** 2)


def test_n_segments():
    assert sp.n_segments(SP) == 3
    assert sp.n_segments(np.array([[5, -1], [5, 7]])) == 3


def test_several_annotators_reduce():
    gts = [GT, np.ones((4, 4), int)]
    assert sp.achievable_segmentation_accuracy(SP, gts) == pytest.approx((10 / 16 + 1) / 2)
    assert sp.achievable_segmentation_accuracy(SP, gts, reduce="worst") == pytest.approx(10 / 16)
    assert sp.achievable_segmentation_accuracy(SP, gts, reduce="best") == 1.0
    assert sp.corrected_undersegmentation_error(SP, gts, reduce="worst") == pytest.approx(6 / 16)
    assert sp.corrected_undersegmentation_error(SP, gts, reduce="best") == 0.0
    assert sp.boundary_recall(SP, gts, r=1, reduce="none") == pytest.approx([3 / 4, 1.0])
    # a (K, Y, X) array is K annotators
    assert sp.achievable_segmentation_accuracy(SP, np.stack(gts)) == pytest.approx((10 / 16 + 1) / 2)


def _brute_force_asa_ue(s, g):
    asa = ue_np = 0
    for a in np.unique(s):
        m = s == a
        overl = [np.count_nonzero(m & (g == b)) for b in np.unique(g)]
        asa += max(overl)
        ue_np += sum(min(o, m.sum() - o) for o in overl if o)
    return asa / s.size, ue_np / s.size


def test_matches_brute_force_and_all_at_once():
    rng = np.random.default_rng(1)
    s = rng.integers(0, 30, size=(40, 50))
    g = np.repeat(np.repeat(rng.integers(0, 6, size=(4, 5)), 10, 0), 10, 1)
    asa, ue = _brute_force_asa_ue(s, g)
    assert sp.achievable_segmentation_accuracy(s, g) == pytest.approx(asa)
    assert sp.undersegmentation_error_np(s, g) == pytest.approx(ue)
    img = rng.random((40, 50, 3))
    gts = [g, g[::-1]]
    allm = sp.superpixel_metrics(s, gts, img, r=2, window="disk")
    assert allm["asa"] == pytest.approx(sp.achievable_segmentation_accuracy(s, gts))
    assert allm["ue"] == pytest.approx(sp.corrected_undersegmentation_error(s, gts))
    assert allm["ue_np"] == pytest.approx(sp.undersegmentation_error_np(s, gts))
    assert allm["br"] == pytest.approx(sp.boundary_recall(s, gts, window="disk"))
    assert allm["bp"] == pytest.approx(sp.boundary_precision(s, gts, window="disk"))
    assert allm["bf1"] == pytest.approx(sp.boundary_f1(s, gts, window="disk"))
    assert allm["ev"] == pytest.approx(sp.explained_variation(s, img))
    assert allm["co"] == pytest.approx(sp.compactness(s))
    assert allm["n_segments"] == 30


def test_sparse_contingency_path(monkeypatch):
    rng = np.random.default_rng(2)
    s = rng.integers(0, 200, size=(30, 30))
    g = rng.integers(0, 50, size=(30, 30))
    dense = (sp.achievable_segmentation_accuracy(s, g), sp.undersegmentation_error_np(s, g))
    monkeypatch.setattr(_labels, "_DENSE_LIMIT", 10)
    assert (sp.achievable_segmentation_accuracy(s, g), sp.undersegmentation_error_np(s, g)) == pytest.approx(dense)


def test_bad_input_messages():
    with pytest.raises(ValueError, match="same image size"):
        sp.achievable_segmentation_accuracy(SP, GT[:3])
    with pytest.raises(ValueError, match="window"):
        sp.boundary_recall(SP, GT, window="circle")
    with pytest.raises(ValueError, match="reduce"):
        sp.achievable_segmentation_accuracy(SP, GT, reduce="median")
    with pytest.raises(ValueError, match="integer labels"):
        sp.n_segments(SP + 0.5)
    with pytest.raises(ValueError, match="2D"):
        sp.n_segments(np.ones(5, int))
    with pytest.raises(ValueError, match="r must be"):
        sp.boundary_recall(SP, GT, r=-1)
    with pytest.raises(ValueError, match="at least one"):
        sp.achievable_segmentation_accuracy(SP, [])
