"""Superpixels as an annotation tool: features, scribble classification, objects, merge trees."""

import numpy as np
import pytest

from napari_deepsuperpixel.annotate import (
    SuperpixelIndex,
    classify_superpixels,
    merge_hierarchy,
    superpixel_features,
    to_instances,
)


def _blocks(ny, nx, side):
    """Square superpixels of ``side`` pixels, labelled 1.. in raster order."""
    yy, xx = np.mgrid[:ny, :nx]
    return ((yy // side) * -(-nx // side) + xx // side + 1).astype(np.int32)


def test_feature_table_has_one_row_per_superpixel_with_the_right_values():
    sp = np.zeros((6, 8), np.int32)
    sp[:, :4], sp[:, 4:] = 1, 2
    sp[:3, 4:] = 3                      # 1 | 3 over 2 on the right
    img = np.zeros((6, 8, 2), np.uint16)
    img[..., 0] = np.arange(8)[None, :]  # channel 0: the column index
    img[..., 1][sp == 3] = 100
    emb = np.zeros((6, 8, 3), np.float32)
    emb[..., 2] = (sp == 2)
    t = superpixel_features(img, sp, embedding=emb)
    assert t["label"].tolist() == [1, 2, 3]
    assert {len(v) for v in t.values()} == {3}
    assert t["area"].tolist() == [24, 12, 12]
    np.testing.assert_allclose(t["intensity_mean_c0"], [1.5, 5.5, 5.5])
    np.testing.assert_allclose(t["intensity_std_c0"], [np.std([0, 1, 2, 3])] + [np.std([4, 5, 6, 7])] * 2)
    np.testing.assert_allclose(t["intensity_p50_c0"], [2, 6, 6])  # nearest rank
    np.testing.assert_allclose(t["intensity_p10_c0"], [0, 4, 4])
    np.testing.assert_allclose(t["intensity_mean_c1"], [0, 0, 100])
    assert t["n_neighbors"].tolist() == [2, 2, 2]
    assert t["boundary_length"].tolist() == [6, 7, 7]     # 3 + 3 faces with 1, 4 faces between 2 and 3
    assert t["extent_y"].tolist() == [6, 3, 3] and t["extent_x"].tolist() == [4, 4, 4]
    # superpixel 3 is 100 brighter than its neighbours (1 and 2, weighted by shared boundary)
    assert t["intensity_contrast_c1"][2] == pytest.approx(100)
    np.testing.assert_allclose(t["embedding_2"], [0, 1, 0])
    assert t["eccentricity"][0] > t["eccentricity"][1] >= 0  # a 6x4 box is more elongated than 3x4


def test_features_refuse_a_mismatching_image():
    with pytest.raises(ValueError, match="same spatial shape"):
        superpixel_features(np.zeros((5, 5)), np.ones((6, 5), int))


def test_two_scribbles_recover_a_two_class_image():
    rng = np.random.default_rng(0)
    truth = np.ones((60, 60), np.int32)
    truth[15:45, 10:50] = 2
    img = np.where(truth == 2, 0.8, 0.2) + rng.normal(0, 0.05, truth.shape)
    sp = _blocks(60, 60, 5)            # every block lies inside one class
    strokes = np.zeros_like(truth)
    strokes[3, 3:8] = 1                 # one short stroke in the background
    strokes[30, 20:25] = 2              # one in the object
    res = classify_superpixels(img, sp, strokes, seed=0)
    assert res.labels.shape == truth.shape and res.labels.dtype == np.int32
    np.testing.assert_array_equal(res.labels, truth)
    assert set(res.trained_on.tolist()) == {sp[3, 3], sp[3, 7], sp[30, 20], sp[30, 24]}
    assert res.confidence.shape == (sp.max(),) and np.all((res.confidence >= 0.5) & (res.confidence <= 1))
    least = res.least_confident(3)
    assert len(least) == 3 and not set(least.tolist()) & set(res.trained_on.tolist())


def test_classification_needs_two_classes():
    sp = _blocks(10, 10, 5)
    strokes = np.zeros((10, 10), int)
    strokes[1, 1] = 1
    with pytest.raises(ValueError, match="at least two classes"):
        classify_superpixels(np.zeros((10, 10)), sp, strokes)


def test_instances_split_touching_objects_along_a_dark_line():
    img = np.zeros((20, 30))
    img[5:15, 3:27] = 1.0
    img[5:15, 15:17] = 0.2              # a dark line where two bright nuclei touch
    sp = np.ones((20, 30), np.int32)    # background
    sp[5:15, 3:16] = 2                  # the superpixels meet in the middle of the line
    sp[5:15, 16:27] = 3
    classes = np.where(sp > 1, 2, 1)    # both classified "object"
    merged = to_instances(classes, sp, 2)
    assert merged.max() == 1            # without the image: one connected object
    split = to_instances(classes, sp, 2, image=img, split=0.1)
    assert split.max() == 2
    assert split[10, 5] != split[10, 20] and split[0, 0] == 0
    assert to_instances(classes, sp, 2, image=img, split=np.inf).max() == 1


def test_cut_is_monotone_and_a_cached_tree_cuts_without_rebuilding(monkeypatch):
    rng = np.random.default_rng(1)
    img = rng.random((40, 40)) * 0.2
    img[10:30, 10:30] += 0.7
    sp = _blocks(40, 40, 4)
    for weight in ("boundary", "color"):
        tree = merge_hierarchy(img, sp, weight=weight)
        ts = np.linspace(-0.01, tree.max_height, 25)
        counts = [int(np.unique(tree.cut(t)).size) for t in ts]
        assert counts[0] == sp.max() and counts[-1] == 1
        assert all(a >= b for a, b in zip(counts, counts[1:])), counts
        assert [tree.n_segments(t) for t in ts] == counts
        # a cut is a lookup on the cached tree: no graph or merge work happens again
        import napari_deepsuperpixel.annotate.hierarchy as h

        monkeypatch.setattr(h, "_agglomerate", lambda *a, **k: pytest.fail("rebuilt"))
        monkeypatch.setattr(h, "adjacency", lambda *a, **k: pytest.fail("rebuilt"))
        tree.cut(tree.max_height / 2)
        monkeypatch.undo()


def test_color_tree_merges_the_square_first():
    img = np.zeros((40, 40))
    img[10:30, 10:30] = 1.0
    sp = _blocks(40, 40, 10)            # 16 blocks: 4 in the square, 12 around it
    tree = merge_hierarchy(img, sp, weight="color")
    two = tree.cut(0.5)
    assert np.unique(two).size == 2
    assert np.unique(two[10:30, 10:30]).size == 1 and two[0, 0] != two[15, 15]


def test_stack_superpixels_work_in_3d():
    sp = np.stack([_blocks(12, 12, 4), _blocks(12, 12, 4) + 9])
    img = np.zeros((2, 12, 12))
    img[:, :, 6:] = 1
    t = superpixel_features(img, sp)
    assert t["label"].tolist() == list(range(1, 19)) and "centroid_z" in t
    strokes = np.zeros(sp.shape, int)
    strokes[0, 1, 1], strokes[1, 1, 10] = 1, 2
    res = classify_superpixels(img, sp, strokes)
    assert res.labels.shape == sp.shape
    assert np.all(res.labels[..., :4] == 1) and np.all(res.labels[..., 8:] == 2)
    assert merge_hierarchy(img, sp).cut(1e9).max() == 1


def test_superpixel_index_finds_pixels_and_strokes():
    sp = _blocks(10, 10, 5)
    idx = SuperpixelIndex(sp)
    pix = idx.pixels([1, 4])
    mask = np.zeros(sp.shape, bool)
    mask[pix] = True
    np.testing.assert_array_equal(mask, np.isin(sp, [1, 4]))
    assert idx.label_at((-1, 3)) == 0 and idx.label_at((7.4, 2.6)) == 3
    assert idx.labels_along((2, 2), (2, 8)) == [1, 2]
