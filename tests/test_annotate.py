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


# --- objects from scribbles: size from the data, touching objects split, segment_objects ---------------------

def _discs(shape, centres, radius):
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    lab = np.zeros(shape, np.int32)
    for k, (cy, cx) in enumerate(centres, start=1):
        lab[((yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2) & (lab == 0)] = k
    return lab


def test_shape_split_separates_two_touching_discs_and_keeps_a_textured_disc_whole():
    from napari_deepsuperpixel.annotate.split import object_radius, shape_split

    two = _discs((60, 80), [(30, 27), (30, 51)], 12)      # centres 24 apart: they overlap by a waist
    assert np.unique(two).size == 3 and two[30, 39] > 0             # one connected mask
    out = shape_split(two > 0)
    assert out.max() == 2
    assert out[30, 27] != out[30, 51] and out[30, 27] > 0 and out[30, 51] > 0
    # every pixel of each disc's core lies in one object
    assert np.unique(out[two == 1][np.hypot(*np.nonzero(two == 1) - np.array([[30], [27]])) < 8]).size == 1
    # a single disc with a ragged outline (texture cut into its mask) stays one object
    rng = np.random.default_rng(0)
    one = _discs((60, 60), [(30, 30)], 15) > 0
    ragged = one & ~((rng.random(one.shape) < 0.15) & ~_discs((60, 60), [(30, 30)], 12).astype(bool))
    out = shape_split(ragged)
    core = _discs((60, 60), [(30, 30)], 11) > 0
    assert np.unique(out[core]).size == 1 and out[30, 30] > 0      # the disc is one object
    others = np.bincount(out[(out > 0) & (out != out[30, 30])])
    assert others.max(initial=0) < 5                                # pixels cut off the outline, no more
    assert 10 <= object_radius(one) <= 16


def test_segment_objects_two_touching_discs_become_two_and_a_textured_disc_one():
    from napari_deepsuperpixel.annotate import segment_objects

    rng = np.random.default_rng(1)
    lab = _discs((80, 120), [(40, 30), (40, 53), (40, 95)], 12)   # two touching, one alone
    img = np.where(lab > 0, 0.8, 0.1) + rng.normal(0, 0.03, lab.shape)
    img[lab == 3] += 0.15 * np.sin(np.arange(120) / 1.5)[None, :].repeat(80, 0)[lab == 3]  # texture
    strokes = np.zeros(lab.shape, np.int32)
    strokes[40, 26:34], strokes[8, 10:40] = 1, 2
    res = segment_objects(img, strokes, object_class=1)
    assert res.objects.dtype == np.int32 and res.objects.shape == lab.shape
    assert res.n_objects == 3
    assert len({res.objects[40, 30], res.objects[40, 53], res.objects[40, 95]}) == 3
    assert 18 <= res.object_size <= 30                              # measured diameter of discs of 24
    assert res.classes.shape == lab.shape and res.confidence.dtype == np.float32
    assert res.superpixels.max() > 20                               # superpixels smaller than the discs
    # a retraining reuses the superpixels and the table
    again = segment_objects(img, strokes, superpixels=res.superpixels, features=res.features)
    np.testing.assert_array_equal(again.objects, res.objects)


def test_object_size_is_measured_from_the_image_and_the_strokes():
    from napari_deepsuperpixel.annotate.size import estimate_object_size, superpixel_count

    for radius in (5, 15):
        cs = [(y, x) for y in range(3 * radius, 200 - 2 * radius, 4 * radius)
              for x in range(3 * radius, 200 - 2 * radius, 4 * radius)]
        lab = _discs((200, 200), cs, radius)
        img = np.where(lab > 0, 200, 20).astype(np.uint8)
        assert estimate_object_size(img) == pytest.approx(2 * radius, rel=0.25)
        # dark objects on a bright background: the strokes give the polarity
        strokes = np.zeros(lab.shape, np.int32)
        strokes[cs[0]], strokes[1, 1] = 1, 2
        assert estimate_object_size(255 - img, strokes) == pytest.approx(2 * radius, rel=0.25)
    assert superpixel_count((100, 100), 20, fraction=0.5) == 100
    with pytest.raises(ValueError, match="object_size"):
        superpixel_count((10, 10), 0)


def test_more_strokes_never_lower_f1_on_a_seeded_synthetic_image():
    from napari_deepsuperpixel.annotate import segment_objects
    from napari_deepsuperpixel.bench.annotate import instance_scores, stroke_sequence

    rng = np.random.default_rng(3)
    cs = [(y, x) for y in range(14, 150, 26) for x in range(14, 150, 26)]
    cs = [(y + int(rng.integers(-3, 4)), x + int(rng.integers(-3, 4))) for y, x in cs]
    gt = _discs((160, 160), cs, 9)
    bright = rng.uniform(0.4, 1.0, gt.max() + 1)
    img = np.where(gt > 0, bright[gt], 0.08) + rng.normal(0, 0.04, gt.shape)
    img = np.clip(img, 0, None)
    classes, order = stroke_sequence(gt, 20, seed=0)
    sp = None
    f1 = []
    for n in (1, 2, 5, 10, 20):
        st = np.where((order > 0) & (order <= n), classes, 0)
        res = segment_objects(img, st, superpixels=sp, object_size=18)
        sp = res.superpixels
        f1.append(instance_scores(res.objects, gt)["f1"])
    assert f1[0] > 0.5
    assert all(b >= a - 0.02 for a, b in zip(f1, f1[1:])), f1


def test_segment_objects_on_a_stack_and_a_volume():
    from napari_deepsuperpixel.annotate import segment_objects

    lab2 = _discs((48, 64), [(24, 18), (24, 46)], 9)
    stack = np.stack([lab2, np.roll(lab2, 3, axis=1)]).astype(float) * 0.8 + 0.1
    strokes = np.zeros(stack.shape, np.int32)
    strokes[0, 24, 15:21], strokes[0, 3, 3:30] = 1, 2
    res = segment_objects(stack, strokes, object_size=18)         # slice by slice
    assert res.objects.shape == stack.shape and res.n_objects == 4
    assert res.objects[0, 24, 18] != res.objects[1, 24, 21]        # labels distinct across slices
    assert not set(np.unique(res.superpixels[0])) & set(np.unique(res.superpixels[1]))
    # a volume: two touching balls make two 3D objects
    zz, yy, xx = np.mgrid[:24, :32, :48]
    vol = (((zz - 12) ** 2 + (yy - 16) ** 2 + (xx - 14) ** 2 <= 64)
           | ((zz - 12) ** 2 + (yy - 16) ** 2 + (xx - 29) ** 2 <= 64)).astype(float)
    st3 = np.zeros(vol.shape, np.int32)
    st3[12, 16, 11:17], st3[2, 2, 2:40] = 1, 2
    r3 = segment_objects(vol, st3, mode="3d", object_size=16)
    assert r3.objects.shape == vol.shape and r3.n_objects == 2
    assert r3.objects[12, 16, 14] != r3.objects[12, 16, 29]


def test_segment_objects_refuses_bad_input_with_a_clear_message():
    from napari_deepsuperpixel.annotate import segment_objects

    img = np.zeros((20, 20))
    st = np.zeros((20, 20), int)
    st[1, 1] = 2
    with pytest.raises(ValueError, match="object_class=1 has no strokes"):
        segment_objects(img, st)
    st[5, 5] = 1
    with pytest.raises(ValueError, match="split must be one of"):
        segment_objects(img, st, split="magic")
    with pytest.raises(ValueError, match="scribbles have shape|image has shape"):
        segment_objects(np.zeros((10, 10)), st)


def test_instance_scores_count_touching_objects_and_average_precision():
    from napari_deepsuperpixel.bench.annotate import instance_scores, touching_objects

    gt = _discs((40, 70), [(20, 14), (20, 31), (20, 58)], 8)      # 1 and 2 touch, 3 alone
    assert touching_objects(gt).tolist() == [1, 2]
    perfect = instance_scores(gt, gt)
    assert perfect["f1"] == 1 and perfect["ap"] == 1 and perfect["f1_touching"] == 1
    merged = np.where(gt == 2, 1, gt)                               # the touching pair as one object
    m = instance_scores(merged, gt)
    assert m["f1_touching"] == 0 and m["f1"] == pytest.approx(2 * 1 / (2 + 3))


def test_learned_boundary_separates_objects_touching_along_a_dark_line():
    from napari_deepsuperpixel.annotate import segment_objects

    rng = np.random.default_rng(0)
    img = np.full((60, 120), 0.1)
    img[20:40, 10:50] = 0.8
    img[20:40, 29:31] = 0.35            # two rectangles touching along a dark line: no waist to find
    img[20:40, 70:110] = 0.8            # one rectangle of the same shape, no line
    img += rng.normal(0, 0.02, img.shape)
    strokes = np.zeros(img.shape, np.int32)
    strokes[30, 75:105], strokes[30, 14:26] = 1, 1
    strokes[5, 5:100], strokes[52, 5:100] = 2, 2
    shape = segment_objects(img, strokes, split="shape", object_size=20)
    assert shape.objects[30, 20] == shape.objects[30, 40]           # the shape alone cannot tell
    for split in ("learned", "shape+learned"):
        res = segment_objects(img, strokes, split=split, object_size=20)
        o = res.objects
        assert res.n_objects == 3, split
        assert o[30, 20] > 0 and o[30, 40] > 0 and o[30, 20] != o[30, 40]
        assert o[30, 75] == o[30, 105] > 0                          # the plain rectangle stays one
        assert np.unique(o[o > 0]).tolist() == [1, 2, 3]


def test_segment_objects_weighs_channels_and_polarity_by_the_strokes():
    from napari_deepsuperpixel.annotate import segment_objects

    m = _discs((64, 64), [(32, 20), (32, 38)], 10) > 0
    # channel 1 is channel 0 inverted: their plain mean shows nothing
    rgb = np.stack([m * 0.8 + 0.1, 1 - m * 0.5, np.full(m.shape, 0.3)], -1)
    strokes = np.zeros(m.shape, np.int32)
    strokes[32, 16:24], strokes[5, 5:20] = 1, 2
    assert segment_objects(rgb, strokes).n_objects == 2
    assert segment_objects(1.0 - m, strokes).n_objects == 2        # dark objects on a bright background


def _same_objects(a, b):
    """The same objects (pixels), whatever their label numbers."""
    if not np.array_equal(a > 0, b > 0):
        return False
    m = a > 0
    pairs = np.unique(a[m].astype(np.int64) * (int(b.max()) + 1) + b[m])
    return pairs.size == np.unique(a[m]).size == np.unique(b[m]).size


def test_a_retraining_redoes_only_what_changed_and_makes_the_same_objects(monkeypatch):
    from napari_deepsuperpixel.annotate import segment_objects
    from napari_deepsuperpixel.annotate import split as split_mod
    from napari_deepsuperpixel.bench.annotate import stroke_sequence

    rng = np.random.default_rng(5)
    cs = [(y + int(rng.integers(-3, 4)), x + int(rng.integers(-3, 4)))
          for y in range(14, 250, 22) for x in range(14, 250, 22)]
    gt = _discs((260, 260), cs, 9)
    bright = rng.uniform(0.15, 1.0, gt.max() + 1)                   # dim discs: more strokes change classes
    img = np.clip(np.where(gt > 0, bright[gt], 0.08) + rng.normal(0, 0.05, gt.shape), 0, None)
    classes, order = stroke_sequence(gt, 20, seed=1)
    first = segment_objects(img, np.where((order > 0) & (order <= 1), classes, 0), object_size=18)
    feats = first.features
    assert feats.cache  # the pixel work is kept on the table
    calls = []
    full_split = split_mod.split_regions  # what a whole split goes through (shape_split too)
    monkeypatch.setattr(split_mod, "split_regions", lambda *a, **k: calls.append(1) or full_split(*a, **k))
    changed_somewhere = False
    for n in (2, 5, 10, 20):
        st = np.where((order > 0) & (order <= n), classes, 0)
        kept = segment_objects(img, st, superpixels=first.superpixels, features=feats, object_size=18)
        fresh = segment_objects(img, st, superpixels=first.superpixels, features=dict(feats), object_size=18,
                                incremental=False)
        assert _same_objects(kept.objects, fresh.objects), n
        assert np.unique(kept.objects[kept.objects > 0]).tolist() == list(range(1, kept.n_objects + 1))
        changed_somewhere |= feats.cache["split"]["redone"] < 1.0 and not np.array_equal(kept.classes,
                                                                                           first.classes)
    assert changed_somewhere  # some retraining changed classes and redid only part of the image
    # the same strokes again: nothing to redo, not even the split
    calls.clear()
    again = segment_objects(img, st, superpixels=first.superpixels, features=feats, object_size=18)
    assert calls == [] and _same_objects(again.objects, kept.objects)
    # another image with the same table: the kept work is not reused
    other = segment_objects(img[::-1].copy(), st[::-1].copy(), superpixels=first.superpixels[::-1].copy(),
                            features=feats, object_size=18)
    fresh = segment_objects(img[::-1].copy(), st[::-1].copy(), superpixels=first.superpixels[::-1].copy(),
                            features=dict(feats), object_size=18, incremental=False)
    assert _same_objects(other.objects, fresh.objects)


def test_object_size_of_dark_nuclei_inside_grey_cells_is_the_nuclei():
    from napari_deepsuperpixel.annotate.size import estimate_object_size

    # brightfield: dark nuclei (diameter 14) inside grey cells (diameter 50) on a white background
    cells = _discs((200, 200), [(50, 50), (50, 150), (150, 50), (150, 150)], 25)
    nuclei = _discs((200, 200), [(50, 50), (50, 150), (150, 50), (150, 150)], 7)
    img = np.where(nuclei > 0, 0.1, np.where(cells > 0, 0.45, 0.9))
    img = img + np.random.default_rng(0).normal(0, 0.02, img.shape)
    strokes = np.zeros(img.shape, np.int32)
    strokes[50, 47:53], strokes[100, 5:60] = 1, 2                     # a nucleus; the empty background
    size = estimate_object_size(img, strokes)
    assert 10 < size < 20, size


def test_otsu_baseline_takes_the_nuclei_side_of_the_threshold():
    from napari_deepsuperpixel.bench.annotate import otsu_baseline, otsu_foreground

    gt = _discs((60, 60), [(20, 20), (40, 42)], 8)
    dark = np.where(gt > 0, 0.2, 0.8)
    assert otsu_foreground(dark, gt, polarity="truth").sum() == (gt > 0).sum()
    assert otsu_baseline(dark, gt, polarity="truth")["f1"] == 1.0
    assert otsu_baseline(dark, gt)["f1"] == 0.0                      # bright nuclei assumed: the background
    with pytest.raises(ValueError, match="polarity"):
        otsu_foreground(dark, gt, polarity="up")


def test_an_image_edited_in_one_pixel_does_not_reuse_the_old_pixel_work():
    from napari_deepsuperpixel.annotate.retrain import image_key

    rng = np.random.default_rng(0)
    img = rng.integers(0, 4000, (300, 300)).astype(np.uint16)
    edited = img.copy()
    edited[151, 17] += 1  # a pixel no sampled fingerprint would look at
    assert image_key(edited) != image_key(img)
    assert image_key(img.copy()) == image_key(img)
    assert image_key(img[:, ::2]) == image_key(np.ascontiguousarray(img[:, ::2]))
