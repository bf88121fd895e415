"""Metric names/directions (metrics.info), object-level scores and the background convention."""

import numpy as np
import pytest

from napari_deepsuperpixel.metrics.evaluate import OBJECT_KEYS, evaluate_segmentation
from napari_deepsuperpixel.metrics.info import METRIC_INFO, format_value, metric_info


def _nuclei():
    """A background-dominated instance mask: three square nuclei on label 0."""
    gt = np.zeros((40, 40), np.int32)
    gt[5:15, 5:15] = 1
    gt[20:30, 5:15] = 2
    gt[10:20, 25:35] = 3
    return gt


def test_every_displayed_metric_has_a_name_direction_and_definition():
    for key in ("covering", "pri", "vi", "bdry_f", "asa", "br", "bp", "ue", "ev", *OBJECT_KEYS):
        m = METRIC_INFO[key]
        assert m.name and m.definition and m.reference and m.better in ("higher", "lower")
        tip = m.tooltip()
        assert m.definition in tip and f"{m.better.capitalize()} is better." in tip
    assert METRIC_INFO["vi"].better == "lower" and METRIC_INFO["vi"].label.endswith("\u2193")
    assert METRIC_INFO["pri"].label == "Probabilistic Rand index (PRI) \u2191"
    assert metric_info("not_a_metric").name == "not_a_metric"


def test_one_number_format():
    assert format_value(0.70471) == "0.705" and format_value(2.75e-02) == "0.028"
    assert format_value(204) == "204" and format_value(np.int64(7)) == "7"
    assert format_value(float("nan")) == "n/a" and format_value("a segment") == "a segment"


def test_default_keys_unchanged_and_objects_only_when_asked():
    gt = _nuclei()
    row = evaluate_segmentation(gt, None, [gt])
    assert not set(OBJECT_KEYS) & set(row)
    row = evaluate_segmentation(gt, None, [gt], objects=True)
    assert all(row[k] == pytest.approx(1.0) for k in OBJECT_KEYS)


def test_object_scores_count_objects_not_the_background():
    gt = _nuclei()
    pred = gt.copy()
    pred[20:30, 5:15] = 0   # nucleus 2 missed
    pred[30:38, 30:38] = 4  # a false object on the background
    row = evaluate_segmentation(pred, None, [gt], objects=True)
    # predicted objects 1, 3, 4 (label 0 is background): 2 correct; ground-truth objects 1, 2, 3: 2 found
    assert row["obj_p50"] == pytest.approx(2 / 3) and row["obj_r50"] == pytest.approx(2 / 3)
    assert row["obj_f50"] == pytest.approx(2 / 3)
    assert 0 < row["obj_ap50"] < 1


def test_ignore_background_scores_only_the_annotated_pixels():
    gt = _nuclei()
    # superpixels that split the background into a grid but keep every nucleus whole
    pred = (np.arange(40)[:, None] // 10 * 4 + np.arange(40)[None, :] // 10 + 10).astype(np.int32)
    pred[gt > 0] = gt[gt > 0]
    counted = evaluate_segmentation(pred, None, [gt], objects=True)
    ignored = evaluate_segmentation(pred, None, [gt], objects=True, ignore_background=True)
    assert counted["pri"] < 0.9 and counted["vi"] > 0.5  # the split background is penalised
    assert ignored["pri"] == pytest.approx(1.0) and ignored["vi"] == pytest.approx(0.0, abs=1e-12)
    assert ignored["asa"] == pytest.approx(1.0) and ignored["ue"] == pytest.approx(0.0)
    # background superpixels are false objects unless the background is ignored
    assert counted["obj_p50"] < 0.5 and ignored["obj_p50"] == pytest.approx(1.0)
    assert ignored["br"] == counted["br"] and ignored["bp"] == counted["bp"]  # boundary metrics unchanged
    with pytest.raises(ValueError, match="all background"):
        evaluate_segmentation(pred, None, [np.zeros_like(gt)], ignore_background=True)
