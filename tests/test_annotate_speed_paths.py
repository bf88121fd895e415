"""The fast paths of the outline and split steps give the results of the scipy / scikit-image calls they replace."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_deepsuperpixel.annotate import split as S


def _masks(seed, count):
    """Random 2D masks: noise of every density, grown dots (round touching blobs), and the corner cases."""
    rng = np.random.default_rng(seed)
    out = [np.ones((5, 7), bool), np.zeros((4, 4), bool), np.ones((1, 9), bool), np.eye(6, dtype=bool)]
    for t in range(count):
        shape = (int(rng.integers(1, 50)), int(rng.integers(1, 50)))
        if t % 3 == 0:
            out.append(ndi.binary_dilation(rng.random(shape) < 0.04, iterations=int(rng.integers(1, 5))))
        else:
            out.append(rng.random(shape) < rng.uniform(0.05, 0.95))
    return out


def _discs(shape=(120, 160), seed=0, n=14, r=(6, 13)):
    """Touching and overlapping discs of random radii (the split's use), as a mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    m = np.zeros(shape, bool)
    for _ in range(n):
        cy, cx, rad = rng.integers(0, shape[0]), rng.integers(0, shape[1]), rng.integers(*r)
        m |= (yy - cy) ** 2 + (xx - cx) ** 2 <= rad ** 2
    return m


def test_distance_is_scipys_to_the_bit():
    for m in _masks(0, 120):
        assert np.array_equal(S.distance(m), ndi.distance_transform_edt(m))
    m = _discs()
    assert np.array_equal(S.distance(m), ndi.distance_transform_edt(m))


def _nearest_labels(lab):
    """Per pixel: the distance to the nearest labelled pixel and the set of labels that nearest (brute force)."""
    ks = [k for k in np.unique(lab) if k != 0]
    if not ks:
        return np.full(lab.shape, np.inf), np.zeros((0,) + lab.shape, bool), ks
    d = np.stack([ndi.distance_transform_edt(lab != k) if (lab != k).any() else np.zeros(lab.shape) for k in ks])
    best = d.min(0)
    return best, d == best[None], ks


def test_expand_is_skimages_up_to_exact_ties():
    from skimage.segmentation import expand_labels

    rng = np.random.default_rng(1)
    tied = 0
    for t in range(120):
        shape = (int(rng.integers(1, 50)), int(rng.integers(1, 50)))
        if t % 2:
            lab = ndi.label(rng.random(shape) < rng.uniform(0.01, 0.3))[0]
        else:  # few scattered labelled pixels: many pixels equally near two labels
            lab = (rng.random(shape) < 0.05) * rng.integers(1, 4, shape)
        best, nearest, ks = _nearest_labels(lab)
        one = nearest.sum(0) <= 1
        for width in (0.5, 1.0, 1.5, 2.9, 7.24):
            got, want = S.expand(lab, width), expand_labels(lab, width)
            assert np.array_equal(got[one], want[one])
            assert np.array_equal(got > 0, want > 0)  # the same pixels are reached
            for y, x in zip(*np.nonzero(~one & (got > 0))):  # a tie: one of the equally near labels
                assert nearest[ks.index(got[y, x]), y, x]
                tied += 1
    assert tied > 100


@pytest.mark.parametrize("md", [1, 2, 3, 5])
def test_region_peaks_are_peak_local_max(md):
    from skimage.feature import peak_local_max

    rng = np.random.default_rng(2)
    for m in _masks(2, 60) + [_discs(seed=s) for s in range(3)]:
        comp, _ = ndi.label(m)
        d = ndi.distance_transform_edt(m)
        for height in (rng.integers(0, 4, m.shape).astype(float),  # plateaus and ties; constant regions
                       ndi.gaussian_filter(d, 1.5) * m, d):
            got = S.region_peaks(height, comp, md)
            want = peak_local_max(height, min_distance=md, labels=comp, exclude_border=False)
            assert np.array_equal(got.reshape(-1, 2), want.reshape(-1, 2))


def _markers(m, comp, n, rng, surface):
    mk = np.zeros(m.shape, np.int32)
    pts = np.flatnonzero(m & (rng.random(m.shape) < 0.1))
    mk.ravel()[pts] = np.arange(1, pts.size + 1)
    miss = np.setdiff1d(np.arange(1, n + 1), comp[mk > 0])
    for j, p in enumerate(ndi.maximum_position(-surface, comp, miss) if miss.size else []):
        mk[p] = pts.size + 1 + j
    return mk


def test_flood_labels_every_pixel_of_a_region_from_its_own_seeds_as_the_watershed_does():
    from skimage.segmentation import watershed

    rng = np.random.default_rng(3)
    agree = total = 0
    for t, m in enumerate(_masks(3, 150) + [_discs(seed=s) for s in range(4)]):
        d = ndi.distance_transform_edt(m)
        surface = -(rng.integers(0, 3, m.shape).astype(float) if t % 2 else ndi.gaussian_filter(d, 1.0) * m)
        comp, n = ndi.label(m)
        mk = _markers(m, comp, n, rng, surface)
        got = S.flood(surface, mk, comp, n)
        assert np.array_equal(got > 0, m)  # every pixel of the mask, nothing else
        assert np.array_equal(got[mk > 0], mk[mk > 0])  # seeds keep their labels
        for k in np.unique(got[got > 0]):  # each object: connected, inside the region of its seed
            assert ndi.label(got == k)[1] == 1
            assert np.unique(comp[got == k]).size == 1
        if t % 2 == 0:  # a smooth surface: the same basins as scikit-image's watershed but for a few pixels
            want = watershed(surface, mk, mask=m)
            agree += int((got == want)[m].sum())
            total += int(m.sum())
    assert agree >= 0.99 * total, agree / total


def _split_whole(m, h):
    """The shape split with scikit-image's calls on the whole image (the code before its numba paths)."""
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    comp, n = ndi.label(m)
    d = ndi.distance_transform_edt(m)
    r = float(np.median(ndi.maximum(d, comp, np.arange(1, n + 1))))
    dist = ndi.gaussian_filter(d, S.DEFAULT_SMOOTH * r) * m
    pts = peak_local_max(dist, min_distance=max(1, int(round(h * r))), labels=comp, exclude_border=False)
    mk = np.zeros(m.shape, np.int32)
    mk[tuple(pts.T)] = np.arange(1, len(pts) + 1)
    return watershed(-dist, mk, mask=m)


@pytest.mark.parametrize("seed", range(6))
def test_shape_split_of_touching_discs_is_the_whole_image_watershed(seed):
    from napari_deepsuperpixel.metrics.segment_f import match_segments, segment_f_measure

    m = _discs(seed=seed, n=20)
    for h in (0.3, S.DEFAULT_H, 1.0):
        got, want = S.shape_split(m, h=h), _split_whole(m, h)
        assert got.max() == want.max()  # the same seeds, so the same objects
        assert np.mean(got[m] == want[m]) >= 0.99  # with the same pixels but for a few at their borders
        f = segment_f_measure(match_segments(got, [want], thresholds=(0.9,), background=0), threshold=0.9)
        assert f["f"] == 1.0


def test_remove_small_is_the_adjacency_graph_rule():
    from napari_deepsuperpixel.regions import adjacency

    def reference(lab, radius, frac):
        lab = lab.astype(np.int64)
        area = np.bincount(lab.ravel())
        small = (area < frac * np.pi * radius ** 2) & (area > 0)
        small[0] = False
        target = np.arange(area.size)
        if small.any():
            adj = adjacency(lab)
            a, b = np.concatenate([adj.u, adj.v]), np.concatenate([adj.v, adj.u])
            f = np.concatenate([adj.n_faces, adj.n_faces])
            keep = small[a] & ~small[b]
            a, b, f = a[keep], b[keep], f[keep]
            target[small] = 0
            if a.size:
                order = np.lexsort((-f, a))
                first = np.concatenate([[True], a[order][1:] != a[order][:-1]])
                target[a[order][first]] = b[order][first]
        return S._sequential(target[lab])

    rng = np.random.default_rng(4)
    for t in range(150):
        shape = (int(rng.integers(2, 50)), int(rng.integers(2, 50)))
        lab = rng.integers(0, int(rng.integers(2, 30)), shape)  # many equal face counts
        if t % 2:
            lab = ndi.label(rng.random(shape) < 0.6)[0] * int(rng.integers(1, 3))
        for radius in (0.5, 1.0, 2.0, 4.0):
            got = S.remove_small(lab, radius, min_fraction=0.5)
            assert got.dtype == np.int32 and np.array_equal(got, reference(lab, radius, 0.5))


def test_square_dilation_is_the_maximum_filter():
    from napari_deepsuperpixel.annotate.retrain import _dilated

    for m in _masks(5, 60):
        for pad in (1, 2, 7):
            want = ndi.maximum_filter(m.view(np.uint8), size=2 * pad + 1, mode="constant").astype(bool)
            assert np.array_equal(_dilated(m, pad), want)


def test_outline_levels_are_each_regions_percentile_and_its_rings_median():
    """ring_levels' passes against the rule written per region with numpy (skimage's expand_labels for the ring)."""
    from skimage.segmentation import expand_labels

    rng = np.random.default_rng(7)
    for m in _masks(7, 40) + [_discs(seed=s) for s in range(3)]:
        if not m.any():
            continue
        g = ndi.gaussian_filter(rng.random(m.shape), 1.0) + 0.5 * m
        comp, n = ndi.label(m)
        radius = float(rng.uniform(1.0, 8.0))
        grown, refined = S.ring_levels(g, comp, m, radius, lo_default=-1.0)
        want_grown = expand_labels(comp, S.ring_width(radius))
        assert np.array_equal(grown, want_grown)
        thr = np.zeros(n + 1)
        for k in range(1, n + 1):
            inside = np.sort(g[(want_grown == k) & m])
            ring = np.sort(g[(want_grown == k) & ~m])
            hi = inside[int(np.floor((inside.size - 1) * 90.0 / 100.0))]
            lo = 0.5 * (ring[(ring.size - 1) // 2] + ring[ring.size // 2]) if ring.size else -1.0
            thr[k] = lo + S.DEFAULT_LEVEL * (hi - lo)
        assert np.array_equal(refined, (want_grown > 0) & (g > thr[want_grown]))
