"""BSDS500 loader: image lists, ground truth files, errors."""

import numpy as np
import pytest

from napari_deepsuperpixel.datasets import BSDS500, GroundTruth, ground_truth_files, load_ground_truth


def test_split_sizes_and_orientations(bsds_root):
    ds = BSDS500(bsds_root)
    assert [len(ds.ids(s)) for s in ("train", "val", "test")] == [200, 100, 200]
    ids = ds.ids("test")
    assert ids == sorted(ids) and all(i.isdigit() for i in ids)
    shapes = {ds.ground_truth("test", i).shape for i in ids[:12]}
    assert shapes == {(321, 481), (481, 321)}  # both orientations occur


def test_ground_truth_contents(bsds_bench_dir):
    gt = load_ground_truth(bsds_bench_dir / "groundTruth" / "2018.mat")
    assert gt.name == "2018" and gt.n_annotators == 5 and gt.shape == (481, 321)
    for s, b in zip(gt.segmentations, gt.boundaries):
        assert s.dtype == np.int32 and s.min() >= 1
        assert b.dtype == bool and b.shape == s.shape and 0 < b.sum() < b.size // 10


def test_from_segmentations_reproduces_stored_boundaries(bsds_bench_dir):
    gt = load_ground_truth(bsds_bench_dir / "groundTruth" / "3063.mat")
    rebuilt = GroundTruth.from_segmentations(gt.segmentations)
    for a, b in zip(rebuilt.boundaries, gt.boundaries):
        np.testing.assert_array_equal(a, b)


def test_image_list_ignores_other_files(tmp_path):
    import imageio.v3 as iio
    import scipy.io as sio

    for split in ("train", "val", "test"):
        (tmp_path / "data" / "images" / split).mkdir(parents=True)
        (tmp_path / "data" / "groundTruth" / split).mkdir(parents=True)
    img = np.zeros((6, 4, 3), np.uint8)
    seg = np.ones((6, 4), np.uint16)
    seg[3:] = 2
    cell = np.empty((1, 1), dtype=object)
    cell[0, 0] = {"Segmentation": seg, "Boundaries": np.zeros((6, 4), np.uint8)}
    for name in ("12", "3"):
        iio.imwrite(tmp_path / "data" / "images" / "test" / f"{name}.jpg", img)
        sio.savemat(tmp_path / "data" / "groundTruth" / "test" / f"{name}.mat", {"groundTruth": cell})
    iio.imwrite(tmp_path / "data" / "images" / "test" / "99.jpg", img)  # no ground truth
    (tmp_path / "data" / "images" / "test" / "Thumbs.db").write_bytes(b"x")
    (tmp_path / "data" / "groundTruth" / "test" / "Thumbs.db").write_bytes(b"x")
    ds = BSDS500(tmp_path / "data")  # the data folder is accepted too
    assert ds.ids("test") == ["12", "3"]
    assert ds.ids("train") == []
    s = ds.sample("test", "3")
    assert s.load_image().shape == (6, 4, 3)
    gt = s.load_ground_truth()
    assert gt.n_annotators == 1 and gt.segmentations[0][5, 0] == 2
    assert list(ground_truth_files(tmp_path / "data" / "groundTruth" / "test")) == ["12", "3"]


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a BSDS500 folder"):
        BSDS500(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_ground_truth(tmp_path / "nope.mat")
    bad = tmp_path / "bad.mat"
    bad.write_text("not a mat file")
    with pytest.raises(ValueError, match="MATLAB"):
        load_ground_truth(bad)
    import scipy.io as sio

    sio.savemat(tmp_path / "other.mat", {"ucm2": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="groundTruth"):
        load_ground_truth(tmp_path / "other.mat")
    with pytest.raises(ValueError, match="same shape|one shape"):
        GroundTruth([np.ones((3, 3), int)], [np.ones((3, 4), bool)])
    with pytest.raises(ValueError, match="no annotations"):
        GroundTruth([], [])


def test_unknown_split(bsds_root):
    with pytest.raises(ValueError, match="split"):
        BSDS500(bsds_root).ids("validation")
