"""The metrics widget in a real viewer: values equal the metrics module's."""

import csv

import numpy as np
import pytest

napari = pytest.importorskip("napari")
from napari_deepsuperpixel._napari._metrics_job import compute_metrics  # noqa: E402
from napari_deepsuperpixel._napari._metrics_widget import MetricsWidget  # noqa: E402


@pytest.fixture
def bsds_crop(bsds_bench_dir):
    """A BSDS image crop, its annotators (labels + stored boundaries) and SLIC superpixels."""
    import imageio.v3 as iio

    from napari_deepsuperpixel import segment
    from napari_deepsuperpixel.datasets.bsds import load_ground_truth

    sl = np.s_[40:136, 60:188]
    img = iio.imread(bsds_bench_dir / "images" / "2018.jpg")[sl]
    gt = load_ground_truth(bsds_bench_dir / "groundTruth" / "2018.mat")
    segs = [s[sl] for s in gt.segmentations[:2]]
    bnds = [b[sl] for b in gt.boundaries[:2]]
    return img, segs, bnds, segment(img, "slic", n_segments=80)


def test_compute_metrics_equals_the_metrics_module(bsds_crop):
    from napari_deepsuperpixel.datasets.bsds import GroundTruth
    from napari_deepsuperpixel.metrics import boundary_counts, region_scores, seg_to_boundaries
    from napari_deepsuperpixel.metrics.superpixel import superpixel_metrics

    img, segs, bnds, pred = bsds_crop
    out = compute_metrics(pred, segs, gt_boundaries=bnds, image=img, match_map=True)
    row = out["row"]
    gt = GroundTruth(segs, bnds)
    reg = region_scores(pred, gt)
    cnt = boundary_counts(seg_to_boundaries(pred), gt)
    sp = superpixel_metrics(pred, segs, img)
    assert row["covering"] == pytest.approx(reg["covering"])
    assert row["pri"] == pytest.approx(reg["pri"]) and row["vi"] == pytest.approx(reg["vi"])
    assert row["boundary_r"] == pytest.approx(cnt.recall) and row["boundary_p"] == pytest.approx(cnt.precision)
    for k in ("asa", "br", "bp", "ue", "ev", "n_segments"):
        assert row[k] == pytest.approx(sp[k])
    # the match map agrees with the benchmark counts
    m = out["matches"]
    assert int((m == 1).sum()) == cnt.cntP
    assert int(((m == 1) | (m == 2)).sum()) == cnt.sumP
    with pytest.raises(ValueError, match="2D"):
        compute_metrics(np.stack([pred, pred])[None], segs)  # 4D: neither an image nor a volume
    with pytest.raises(ValueError, match="shape"):
        compute_metrics(pred, [segs[0][:10]])


def test_metrics_widget_table_layer_and_csv(make_napari_viewer, qtbot, bsds_crop, tmp_path):
    img, segs, bnds, pred = bsds_crop
    viewer = make_napari_viewer()
    viewer.add_image(img, name="img")
    viewer.add_labels(pred, name="pred", scale=(2, 2))
    for k, (s, b) in enumerate(zip(segs, bnds)):
        viewer.add_labels(s, name=f"gt{k}", metadata={"bsds_boundaries": b}, scale=(2, 2))
    w = MetricsWidget(viewer)
    viewer.window.add_dock_widget(w)
    w.prediction.value = viewer.layers["pred"]
    w.ground_truth.value = [viewer.layers["gt0"], viewer.layers["gt1"]]
    w.image.value = viewer.layers["img"]
    w.show_matches.value = True
    assert w.compute() is not None
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    expected = compute_metrics(pred, segs, gt_boundaries=bnds, image=img)["row"]
    assert w.table.column_headers == ("metric", "pred")
    from napari_deepsuperpixel.metrics.info import METRIC_INFO

    # the first column holds the full names (wrapped onto two lines where long)
    values = {" ".join(row[0].split()): row[1] for row in w.table.data}
    renamed = {"boundary_f": "bdry_f"}
    for k in ("covering", "pri", "vi", "boundary_f", "asa", "br", "bp", "ue"):
        shown = values[METRIC_INFO[renamed.get(k, k)].label]
        assert shown == f"{expected[k]:.3f}", k  # one number format: 3 decimals
    assert values["Number of segments"] == str(expected["n_segments"])
    assert values["ground truth"] == "2 annotators"
    assert values["background (label 0)"] == "a segment"
    matches = viewer.layers["pred boundary matches"]
    np.testing.assert_allclose(matches.scale, (2, 2))
    assert set(np.unique(matches.data)) <= {0, 1, 2, 3} and (matches.data == 1).any()
    # the match layer is not offered as a prediction / ground truth
    assert matches not in [v for v in w.prediction.choices]

    out = tmp_path / "metrics.csv"
    w.csv_path.value = out
    w.save_button.clicked.emit()
    rows = list(csv.DictReader(open(out)))
    assert rows[0]["prediction"] == "pred"
    assert float(rows[0]["pri"]) == pytest.approx(expected["pri"])
    w.save_button.clicked.emit()  # a second save must not overwrite silently
    assert "overwrite" in w.status.value
    w.overwrite.value = True
    w.save_button.clicked.emit()
    assert w.status.value.startswith("saved")


def test_metrics_widget_rejects_missing_ground_truth(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_labels(np.ones((8, 8), np.int32), name="pred")
    w = MetricsWidget(viewer)
    w.ground_truth.value = []
    assert w.compute() is None
    assert "ground truth" in w.status.value


def test_metrics_widget_compiles_its_kernels_when_it_opens(make_napari_viewer, qtbot):
    """The first Compute must not wait for numba: opening the widget warms the metric kernels."""
    import sys

    w = MetricsWidget(make_napari_viewer())
    qtbot.waitUntil(lambda: not w.warming, timeout=120_000)
    assert "napari_deepsuperpixel.metrics._boundary_kernels" in sys.modules
    assert "napari_deepsuperpixel.metrics._ucm_kernels" in sys.modules
