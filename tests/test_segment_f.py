"""Kanezaki's IoU-matched segment F-measure and size-ranked AP on constructed cases."""

import numpy as np
import pytest

from napari_deepsuperpixel.metrics import segment_f as sf

# 4x4 ground truth: g1 top half (8 px), g2 bottom-left 2x2, g3 bottom-right 2x2
GT = np.array([[1, 1, 1, 1],
               [1, 1, 1, 1],
               [2, 2, 3, 3],
               [2, 2, 3, 3]])
# prediction: A = top half (IoU 1 with g1), B = 6 px (IoU 4/6 with g2), C = 2 px (IoU 2/4 with g3)
PRED = np.array([[1, 1, 1, 1],
                 [1, 1, 1, 1],
                 [2, 2, 2, 2],
                 [2, 2, 3, 3]])


def test_match_segments_ious():
    m = sf.match_segments(PRED, GT)
    np.testing.assert_allclose(m.sizes, [8 / 16, 6 / 16, 2 / 16])
    np.testing.assert_allclose(m.best_iou, [1.0, 4 / 6, 0.5])
    np.testing.assert_allclose(m.gt_best_iou, [1.0, 4 / 6, 0.5])
    np.testing.assert_array_equal(m.gt_first[0.5], [0, 1, -1])  # IoU 0.5 is not > 0.5
    np.testing.assert_array_equal(m.gt_first[0.7], [0, -1, -1])


@pytest.mark.parametrize("t, p, r", [(0.5, 2 / 3, 2 / 3), (0.7, 1 / 3, 1 / 3), (0.4, 1.0, 1.0)])
def test_f_measure_by_hand(t, p, r):
    d = sf.segment_f_measure(PRED, GT, threshold=t)
    assert d["precision"] == pytest.approx(p)
    assert d["recall"] == pytest.approx(r)
    assert d["f"] == pytest.approx(2 * p * r / (p + r))
    assert (d["n_pred"], d["n_gt"]) == (3, 3)


def test_ap_single_image_by_hand():
    m = sf.match_segments(PRED, GT)
    # t=0.5: (P,R) after A: (1, 1/3), after B: (1, 2/3), after C: (2/3, 2/3) -> AP = 2/3
    p, r, s = sf.segment_pr_curve([m], threshold=0.5)
    np.testing.assert_allclose(p, [1, 1, 2 / 3])
    np.testing.assert_allclose(r, [1 / 3, 2 / 3, 2 / 3])
    np.testing.assert_allclose(s, [0.5, 6 / 16, 2 / 16])
    assert sf.segment_average_precision([m], threshold=0.5) == pytest.approx(2 / 3)
    # t=0.7: after A: (1, 1/3), then no more recall -> AP = 1/3
    assert sf.segment_average_precision([m], threshold=0.7) == pytest.approx(1 / 3)


def test_ap_pools_images_and_groups_equal_sizes():
    m1 = sf.match_segments(PRED, GT)
    # second image: same prediction, ground truth = left/right halves: nothing matches
    gt2 = np.array([[1, 1, 2, 2]] * 4)
    m2 = sf.match_segments(PRED, gt2)
    assert m2.n_gt == 2 and not np.any(m2.best_iou > 0.5)
    # size 8 group: 1 correct of 2, recall 1/5; size 6 group: 2 of 4, 2/5; size 2: 2 of 6, 2/5
    p, r, _ = sf.segment_pr_curve([m1, m2], threshold=0.5)
    np.testing.assert_allclose(p, [1 / 2, 2 / 4, 2 / 6])
    np.testing.assert_allclose(r, [1 / 5, 2 / 5, 2 / 5])
    ap = sf.segment_average_precision([m1, m2], threshold=0.5)
    assert ap == pytest.approx(0.2)
    assert sf.segment_average_precision([m2, m1], threshold=0.5) == pytest.approx(ap)


def test_annotators_are_pooled():
    gt2 = np.array([[1, 1, 2, 2]] * 4)
    m = sf.match_segments(PRED, [GT, gt2])
    assert m.n_gt == 5
    d = sf.segment_f_measure(m, threshold=0.5)
    assert d["precision"] == pytest.approx(2 / 3)  # A and B match a segment of annotator 1
    assert d["recall"] == pytest.approx(2 / 5)


def test_connected_components_are_segments():
    pred = np.array([[1, 1, 2, 2],
                     [2, 2, 2, 2],
                     [2, 2, 2, 2],
                     [2, 2, 1, 1]])  # label 1 has two separate parts
    assert sf.match_segments(pred, GT).n_pred == 3
    assert sf.match_segments(pred, GT, connected=False).n_pred == 2


def test_summary_and_serialisation_round_trip():
    m = sf.match_segments(PRED, GT)
    back = sf.SegmentMatches.from_dict(m.to_dict())
    assert sf.segment_average_precision([back], threshold=0.7) == pytest.approx(1 / 3)
    s = sf.segment_f_summary([m, back])
    assert s["iou0.5"]["f"] == pytest.approx(2 / 3)
    assert s["iou0.5"]["ap"] == pytest.approx(2 / 3)
    assert s["iou0.7"]["precision"] == pytest.approx(1 / 3)


def test_errors():
    with pytest.raises(ValueError, match="thresholds"):
        sf.match_segments(PRED, GT, thresholds=[1.5])
    with pytest.raises(ValueError, match="not computed"):
        sf.segment_pr_curve([sf.match_segments(PRED, GT, thresholds=[0.5])], threshold=0.7)
    with pytest.raises(ValueError, match="ground_truth is required"):
        sf.segment_f_measure(PRED)
