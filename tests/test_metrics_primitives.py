"""Shared metric primitives, the numba kernel modules and the BSDS .mat module."""


import numpy as np
import pytest

from napari_deepsuperpixel.metrics import _labels


def test_warm_kernels_compiles_every_kernel():
    from napari_deepsuperpixel.metrics import _boundary_kernels, _ucm_kernels, warm_kernels

    warm_kernels()
    # the kernels called from Python (the others are compiled into their callers)
    kernels = [_boundary_kernels.thin, _boundary_kernels.pixel_ids, _boundary_kernels.candidate_entries,
               _boundary_kernels.build_graph, _boundary_kernels.max_matching, _boundary_kernels.counts_entries,
               _ucm_kernels.ucm_hierarchy]
    assert all(k.signatures for k in kernels)
    warm_kernels()  # a second call is cheap and harmless


def test_dense_ids_ranks_any_labels():
    for a in (np.array([[5, -3, 5], [10**9, 0, -3]]), np.array([[2, 2], [7, 3]], np.uint16),
              np.array([[1.0, 4.0], [1.0, 2.5]])):
        idx, values, sizes = _labels.dense_ids(a, counts=True)
        np.testing.assert_array_equal(values, np.unique(a))
        np.testing.assert_array_equal(values[idx], a.ravel())
        np.testing.assert_array_equal(sizes, np.unique(a, return_counts=True)[1])


def test_sparse_and_dense_joint_counts_agree(monkeypatch):
    rng = np.random.default_rng(0)
    ia, ib = rng.integers(0, 30, 500), rng.integers(0, 7, 500)
    table = _labels.joint_table(ia, 30, ib, 7)
    dense = _labels.sparse_joint_counts(ia, 30, ib, 7)
    monkeypatch.setattr(_labels, "_DENSE_LIMIT", 10)
    sparse = _labels.sparse_joint_counts(ia, 30, ib, 7)
    for cells, counts in (dense, sparse):
        np.testing.assert_array_equal(cells, np.flatnonzero(table))
        np.testing.assert_array_equal(counts, table.ravel()[cells])


def test_errors_name_the_argument():
    from napari_deepsuperpixel.metrics import region, superpixel

    good = np.ones((2, 2), int)
    with pytest.raises(ValueError, match=r"^gt\[0\] has shape"):
        region.region_scores(good, [np.ones((2, 3), int)])
    with pytest.raises(ValueError, match="^seg has negative"):
        region.region_scores(-good, [good])
    with pytest.raises(ValueError, match=r"^gt\[1\] has negative"):
        region.region_scores(good, [good, -good])
    with pytest.raises(ValueError, match="^labels must hold integer"):
        superpixel.achievable_segmentation_accuracy(good + 0.5, good)
    with pytest.raises(ValueError, match=r"^ground_truth\[0\] must hold integer"):
        superpixel.achievable_segmentation_accuracy(good, good + 0.5)
    with pytest.raises(ValueError, match="^labels is empty"):
        superpixel.n_segments(np.ones((0, 3), int))
    assert superpixel.n_segments(np.array([[True, False]])) == 2


def test_ground_truth_has_one_home():
    from napari_deepsuperpixel import datasets
    from napari_deepsuperpixel.datasets import bsds
    from napari_deepsuperpixel.metrics import ground_truth

    assert datasets.GroundTruth is bsds.GroundTruth is ground_truth.GroundTruth
    assert datasets.load_ground_truth is bsds.load_ground_truth is ground_truth.load_ground_truth


def test_bsds_mat_readers_and_writer(tmp_path, bsds_bench_dir):
    from napari_deepsuperpixel.io import bsds_mat

    assert bsds_mat.mat_kind(bsds_bench_dir / "groundTruth" / "2018.mat") == "groundTruth"
    assert bsds_mat.mat_kind(bsds_bench_dir / "ucm2" / "2018.mat") == "ucm2"
    assert bsds_mat.mat_kind(bsds_bench_dir / "segs" / "2018.mat") == "segs"
    segs, bdries = bsds_mat.read_ground_truth_mat(bsds_bench_dir / "groundTruth" / "2018.mat")
    assert len(segs) == len(bdries) == 5 and segs[0].dtype == np.int32 and bdries[0].dtype == bool
    ucm, kind = bsds_mat.read_result_mat(bsds_bench_dir / "ucm2" / "2018.mat")
    assert kind == "ucm2" and ucm.shape == (2 * segs[0].shape[0] + 1, 2 * segs[0].shape[1] + 1)
    np.testing.assert_array_equal(bsds_mat.read_ucm2(bsds_bench_dir / "ucm2" / "2018.mat"), ucm)
    with pytest.raises(ValueError, match="no 'ucm2'"):
        bsds_mat.read_ucm2(bsds_bench_dir / "segs" / "2018.mat")
    out = bsds_mat.write_segs_mat(tmp_path / "2018.mat", np.stack(segs[:2]))
    back = bsds_mat.read_segs(out)
    assert len(back) == 2
    for a, b in zip(back, segs):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(FileNotFoundError, match="no such result file"):
        bsds_mat.read_result_mat(tmp_path / "missing.mat")
