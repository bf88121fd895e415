"""Reader, writers, sample data and per-segment features (no viewer needed)."""

import csv

import numpy as np
import pytest
from scipy.io import loadmat, savemat

from napari_deepsuperpixel._napari import _reader, _sample_data, _writer
from napari_deepsuperpixel.io.tables import segment_table


@pytest.fixture
def gt_path(bsds_root):
    return bsds_root / "data" / "groundTruth" / "test" / "100007.mat"


def test_reader_ground_truth_one_labels_layer_per_annotator(gt_path):
    reader = _reader.get_reader(str(gt_path))
    assert reader is not None
    layers = reader(str(gt_path))
    n_annot = loadmat(str(gt_path))["groundTruth"].size
    assert len(layers) == n_annot == 5
    for k, (data, meta, typ) in enumerate(layers):
        assert typ == "labels"
        assert data.shape == (321, 481) and data.dtype == np.int32
        assert meta["name"] == f"100007 annotator {k + 1}"
        assert data.min() >= 1
        assert meta["metadata"]["bsds_boundaries"].shape == data.shape  # stored thin boundaries kept
    assert [m["visible"] for _, m, _ in layers] == [True, False, False, False, False]


def test_reader_ucm2_is_boundary_strength_on_image_grid(bsds_root):
    path = sorted((bsds_root / "ucm2" / "val").glob("*.mat"))[0]
    layers = _reader.get_reader(str(path))(str(path))
    assert len(layers) == 1
    data, meta, typ = layers[0]
    ucm2 = loadmat(str(path))["ucm2"]
    assert typ == "image"
    assert data.shape == ((ucm2.shape[0] - 1) // 2, (ucm2.shape[1] - 1) // 2)
    np.testing.assert_array_equal(data, ucm2[2::2, 2::2].astype(np.float32))
    assert 0 < data.max() <= 1


def test_reader_declines_foreign_files_without_raising(tmp_path, bsds_root):
    foreign = tmp_path / "foreign.mat"
    savemat(str(foreign), {"x": np.arange(5), "groundTruth": np.zeros(3)})  # not a cell array
    garbage = tmp_path / "garbage.mat"
    garbage.write_bytes(b"this is not a MATLAB file at all")
    plain_jpg = tmp_path / "photo.jpg"
    import imageio.v3 as iio

    iio.imwrite(plain_jpg, np.zeros((8, 8, 3), np.uint8))
    for p in [foreign, garbage, plain_jpg, tmp_path / "missing.mat", tmp_path, tmp_path / "a.txt"]:
        assert _reader.get_reader(str(p)) is None
    assert _reader.get_reader([str(foreign), str(foreign)]) is None


def test_reader_bsds_image_brings_its_ground_truth(bsds_bench_dir, bsds_root):
    img500 = bsds_root / "data" / "images" / "test" / "100007.jpg"
    assert _reader.find_ground_truth(img500) == bsds_root / "data" / "groundTruth" / "test" / "100007.mat"
    img = bsds_bench_dir / "images" / "2018.jpg"
    assert _reader.find_ground_truth(img) == bsds_bench_dir / "groundTruth" / "2018.mat"
    layers = _reader.get_reader(str(img))(str(img))
    assert layers[0][2] == "image" and layers[0][1]["rgb"]
    assert [t for _, _, t in layers[1:]] == ["labels"] * 5
    assert all(d.shape == layers[0][0].shape[:2] for d, _, _ in layers[1:])


def test_segs_writer_round_trips_through_reader_and_benchmark_layout(tmp_path, bsds_bench_dir):
    seg_ref = loadmat(str(bsds_bench_dir / "segs" / "2018.mat"))["segs"]
    lab = np.stack([np.asarray(seg_ref[0, k]) for k in range(2)]).astype(np.int32)
    out = _writer.write_segs_mat(tmp_path / "2018.mat", lab)
    m = loadmat(str(out))
    assert m["segs"].shape == (1, 2)
    for k in range(2):
        assert m["segs"][0, k].dtype == np.uint16
        np.testing.assert_array_equal(m["segs"][0, k], lab[k])
    layers = _reader.get_reader(str(out))(str(out))
    np.testing.assert_array_equal(layers[1][0], lab[1])
    # the package's benchmark reads the file like the official segs
    from napari_deepsuperpixel.metrics.bsds import load_result

    (ours, kind), (official, _) = load_result(out), load_result(bsds_bench_dir / "segs" / "2018.mat")
    assert kind == "segs" and len(ours) == 2
    for a, b in zip(ours, official):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(FileExistsError, match="overwrite"):
        _writer.write_segs_mat(out, lab[0])
    _writer.write_segs_mat(out, lab[0], overwrite=True)
    assert loadmat(str(out))["segs"].shape == (1, 1)


def test_segs_writer_relabels_large_ids_and_rejects_bad_input(tmp_path):
    lab = np.array([[1, 1, 70000], [5, 5, 70000]], np.int32)
    m = loadmat(str(_writer.write_segs_mat(tmp_path / "a.mat", lab)))["segs"][0, 0]
    assert sorted(np.unique(m)) == [1, 2, 3]
    with pytest.raises(ValueError, match="non-negative"):
        _writer.write_segs_mat(tmp_path / "b.mat", -lab)
    with pytest.raises(ValueError, match=".mat"):
        _writer.write_segs_mat(tmp_path / "b.csv", lab)
    with pytest.raises(ValueError, match="integers"):
        _writer.write_segs_mat(tmp_path / "b.mat", lab.astype(float))


def test_segment_table_matches_direct_computation():
    rng = np.random.default_rng(1)
    lab = rng.integers(0, 5, size=(20, 30))
    img = rng.random((20, 30, 2))
    t = segment_table(lab, img)
    assert list(t["label"]) == [1, 2, 3, 4]
    for i, v in enumerate(t["label"]):
        ys, xs = np.nonzero(lab == v)
        assert t["area"][i] == ys.size
        assert t["centroid_y"][i] == pytest.approx(ys.mean())
        assert t["centroid_x"][i] == pytest.approx(xs.mean())
        assert t["mean_intensity_c1"][i] == pytest.approx(img[lab == v, 1].mean())
    from scipy import ndimage as ndi

    lab3 = rng.integers(0, 6, size=(3, 10, 12))
    img3 = rng.random((3, 10, 12))
    t3 = segment_table(lab3, img3)
    com = np.array(ndi.center_of_mass(np.ones(lab3.shape), lab3, t3["label"]))
    np.testing.assert_allclose(np.stack([t3["centroid_z"], t3["centroid_y"], t3["centroid_x"]], 1), com)
    np.testing.assert_allclose(t3["mean_intensity"], ndi.mean(img3, lab3, t3["label"]))
    t3 = segment_table(np.ones((2, 3, 4), int), np.ones((2, 3, 4)))
    assert set(t3) == {"label", "area", "centroid_z", "centroid_y", "centroid_x", "mean_intensity"}
    with pytest.raises(ValueError, match="does not match"):
        segment_table(lab, img[:5])


def test_csv_writer_columns_features_and_overwrite(tmp_path):
    lab = np.array([[1, 1, 2], [3, 3, 2]], np.int32)
    feats = {"index": np.array([2, 1, 3]), "score": np.array([0.2, 0.1, 0.3])}
    path = _writer.write_segments_csv(tmp_path / "t.csv", lab, features=feats, scale=(0.5, 2.0))
    rows = list(csv.DictReader(open(path)))
    assert [r["label"] for r in rows] == ["1", "2", "3"]
    assert [r["area"] for r in rows] == ["2", "2", "2"]
    assert [r["score"] for r in rows] == ["0.1", "0.2", "0.3"]
    assert [r["area_scaled"] for r in rows] == ["2", "2", "2"]
    assert float(rows[0]["centroid_x"]) == 0.5
    with pytest.raises(FileExistsError):
        _writer.write_segments_csv(path, lab)


def test_sample_data_is_offline_and_well_formed():
    for fn in [_sample_data.astronaut, _sample_data.coffee, _sample_data.cell,
               _sample_data.immunohistochemistry, _sample_data.nuclei_stack]:
        [(data, meta, typ)] = fn()
        assert typ == "image" and data.ndim in (2, 3) and meta["name"]
    stack = _sample_data.make_nuclei_stack(seed=3)
    assert stack.dtype == np.uint16 and stack.shape == (8, 128, 128) and stack.max() <= 4095
    np.testing.assert_array_equal(stack, _sample_data.make_nuclei_stack(seed=3))


def test_embedding_pca_to_rgb_orders_components_by_variance():
    from napari_deepsuperpixel._napari._extras import embedding_to_rgb, extras_to_layers

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:30, :40]
    emb = np.stack([10.0 * yy, 3.0 * xx, rng.normal(0, 0.01, yy.shape), np.zeros(yy.shape)], -1)
    rgb = embedding_to_rgb(emb)
    assert rgb.shape == (30, 40, 3) and rgb.dtype == np.float32
    # first component follows y (largest variance), second follows x
    assert abs(np.corrcoef(rgb[..., 0].ravel(), yy.ravel())[0, 1]) > 0.99
    assert abs(np.corrcoef(rgb[..., 1].ravel(), xx.ravel())[0, 1]) > 0.99
    # a stack's extras come from the core in the labels' shape (a ragged per-slice list is skipped)
    layers = extras_to_layers({"embedding": np.stack([emb, emb]), "contours": [yy, yy[:5]], "loss_history": [1.0]})
    assert [m["name"] for _, m, _ in layers] == ["embedding"]
    assert layers[0][0].shape == (2, 30, 40, 3)


def _gt_mat(path, seg, bdry=True, bare=False):
    """A BSDS-like ground-truth file: a 1 x 1 cell of structs (Segmentation, Boundaries)."""
    if bare:
        cell = np.empty((1, 1), dtype=object)
        cell[0, 0] = seg.astype(np.uint16)
        savemat(str(path), {"groundTruth": cell})
        return path
    fields = [("Segmentation", "O")] + ([("Boundaries", "O")] if bdry else [])
    st = np.empty((1, 1), dtype=fields)
    st[0, 0]["Segmentation"] = seg.astype(np.uint16)
    if bdry:
        st[0, 0]["Boundaries"] = np.zeros(seg.shape, np.uint8)
    cell = np.empty((1, 1), dtype=object)
    cell[0, 0] = st
    savemat(str(path), {"groundTruth": cell})
    return path


def test_reader_takes_the_one_path_list_napari_passes(tmp_path):
    seg = np.repeat(np.arange(1, 5), 6).reshape(4, 6)
    path = _gt_mat(tmp_path / "1.mat", seg)
    reader = _reader.get_reader([str(path)])
    layers = reader([str(path)])  # napari calls the reader with the same list
    assert len(layers) == 1 and np.array_equal(layers[0][0], seg)
    assert _reader.get_reader([str(path), str(path)]) is None


@pytest.mark.parametrize("damage", ["truncated", "no_boundaries", "bare_cell"])
def test_a_damaged_bsds_file_is_none_or_a_one_line_error(tmp_path, damage):
    """Contract: None for what the plugin cannot read, a clear error for a damaged file it claims."""
    seg = np.repeat(np.arange(1, 5), 50).reshape(10, 20)
    path = tmp_path / "2.mat"
    if damage == "truncated":
        _gt_mat(path, seg)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        _gt_mat(path, seg, bdry=damage != "no_boundaries", bare=damage == "bare_cell")
    reader = _reader.get_reader(str(path))
    if reader is None:
        return
    with pytest.raises(ValueError, match=r"cannot open .*2\.mat: ") as e:
        reader(str(path))
    assert "\n" not in str(e.value)


def test_a_truncated_bsds_image_is_a_one_line_error(tmp_path, bsds_bench_dir):
    import shutil

    root = tmp_path / "bench"
    (root / "images").mkdir(parents=True)
    (root / "groundTruth").mkdir()
    src = next((bsds_bench_dir / "images").glob("*.jpg"))
    shutil.copy(bsds_bench_dir / "groundTruth" / f"{src.stem}.mat", root / "groundTruth")
    data = src.read_bytes()
    (root / "images" / src.name).write_bytes(data[: len(data) // 3])
    reader = _reader.get_reader(str(root / "images" / src.name))
    assert reader is not None
    with pytest.raises(ValueError, match="cannot open"):
        reader(str(root / "images" / src.name))


@pytest.mark.parametrize("bad", [np.nan, 1e12, 2.5])
def test_segs_holding_nan_huge_or_fractional_labels_are_refused(tmp_path, bad):
    seg = np.ones((6, 7))
    seg[2, 3] = bad
    cell = np.empty((1, 1), dtype=object)
    cell[0, 0] = seg
    path = tmp_path / "3.mat"
    savemat(str(path), {"segs": cell})
    reader = _reader.get_reader(str(path))
    assert reader is not None
    with pytest.raises(ValueError, match="not a label map|outside the int32 range"):
        reader(str(path))


def test_a_bsds_image_whose_ground_truth_has_another_shape_is_refused_in_one_line(tmp_path):
    """A 321 x 481 image beside a 20 x 20 ground truth: one line naming both, not a silent mismatch."""
    from napari_deepsuperpixel.io.files import write_png

    (tmp_path / "images").mkdir()
    (tmp_path / "groundTruth").mkdir()
    img = tmp_path / "images" / "7.png"
    write_png(img, np.zeros((321, 481, 3), np.uint8))
    _gt_mat(tmp_path / "groundTruth" / "7.mat", np.ones((20, 20), int))
    reader = _reader.get_reader(str(img))
    with pytest.raises(ValueError, match=r"7\.mat.*20 x 20 but the image is 321 x 481"):
        reader(str(img))


def test_explained_variation_refuses_a_nan_image_in_one_line():
    from napari_deepsuperpixel.metrics.superpixel import explained_variation

    img = np.ones((8, 8))
    img[2, 3] = np.nan
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        explained_variation(np.ones((8, 8), int), img)
