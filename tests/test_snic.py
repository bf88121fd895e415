"""Tests for the SNIC superpixels (methods/snic.py)."""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from napari_deepsuperpixel import segment, segment_result
from napari_deepsuperpixel.methods.snic import SnicParams, grid_seeds, grid_shape, run_snic, snic


def _n_components(labels: np.ndarray) -> int:
    """Number of 4-connected components over all labels."""
    from skimage.measure import label

    return int(label(labels, background=-1, connectivity=1).max())


def _assert_valid(labels: np.ndarray, shape) -> int:
    """Full coverage, int32, labels 1..N contiguous, each label one 4-connected region."""
    assert labels.shape == tuple(shape)
    assert labels.dtype == np.int32
    n = int(labels.max())
    assert np.array_equal(np.unique(labels), np.arange(1, n + 1))
    assert _n_components(labels) == n
    return n


def _snic_reference(feat, seeds, compactness, cosine=False):
    """A slow, plainly written SNIC (Python heapq) following the documented definition."""
    ny, nx, nc = feat.shape
    f = feat.reshape(-1, nc).astype(np.float64)
    k_n = len(seeds)
    w = compactness**2 * k_n / (ny * nx)
    labels = np.zeros(ny * nx, int)
    members = [[] for _ in range(k_n)]
    heap = [(-1.0, int(p), k) for k, p in enumerate(seeds)]
    heapq.heapify(heap)
    while heap:
        _, p, k = heapq.heappop(heap)
        if labels[p]:
            continue
        labels[p] = k + 1
        members[k].append(p)
        idx = np.array(members[k])
        mean = f[idx].mean(0)
        cy, cx = (idx // nx).mean(), (idx % nx).mean()
        y, x = divmod(p, nx)
        for qy, qx in ((y, x - 1), (y - 1, x), (y, x + 1), (y + 1, x)):
            if 0 <= qy < ny and 0 <= qx < nx and not labels[qy * nx + qx]:
                q = qy * nx + qx
                if cosine:
                    fd = 0.5 - 0.5 * f[q] @ mean / (np.linalg.norm(f[q]) * np.linalg.norm(mean))
                else:
                    fd = float(((f[q] - mean) ** 2).sum())
                heapq.heappush(heap, (fd + w * ((qy - cy) ** 2 + (qx - cx) ** 2), q, k))
    return labels.reshape(ny, nx)


@pytest.mark.parametrize("cosine", [False, True])
def test_matches_plain_python_reference(cosine):
    rng = np.random.default_rng(1)
    feat = rng.normal(size=(18, 23, 4)) * 10
    seeds = grid_seeds(18, 23, 12)
    ref = _snic_reference(feat, seeds, 7.0, cosine=cosine)
    got = snic(feat, 12, 7.0, distance="cosine" if cosine else "sqeuclidean")
    assert np.array_equal(got, ref)


def test_grid_shape_and_seeds():
    assert grid_shape(321, 481, 400) == (16, 25)  # cells 20.1 x 19.2 px, exact count
    assert grid_shape(10, 10, 100) == (10, 10)
    assert grid_shape(10, 10, 1) == (1, 1)
    for h, w, k in [(321, 481, 100), (481, 321, 800), (50, 7, 33), (3, 200, 17)]:
        r, c = grid_shape(h, w, k)
        assert abs(r * c - k) <= max(0.05 * k, 0) + 1e-9
        s = grid_seeds(h, w, k)
        assert s.size == r * c and np.unique(s).size == s.size
        assert s.min() >= 0 and s.max() < h * w


def _bsds_test_image(bsds_root, size, index):
    """The ``index``-th BSDS500 test image of ``size`` (width, height), as uint8 RGB."""
    from PIL import Image

    found = []
    for p in sorted((bsds_root / "data" / "images" / "test").glob("*.jpg")):
        with Image.open(p) as im:
            if im.size == size:
                found.append(p)
        if len(found) > index:
            return np.asarray(Image.open(found[index]).convert("RGB"))
    pytest.skip(f"fewer than {index + 1} BSDS500 test images of size {size}")


@pytest.mark.parametrize("size, index", [((481, 321), 0), ((481, 321), 5), ((321, 481), 0), ((321, 481), 3)])
def test_bsds_counts_connectivity_coverage(bsds_root, size, index):
    from skimage.color import rgb2lab

    img = _bsds_test_image(bsds_root, size, index)
    assert img.shape[:2] == size[::-1]
    lab = rgb2lab(img).astype(np.float32)
    for k in (100, 200, 400, 800, 1600):
        labels = snic(lab, k)
        n = _assert_valid(labels, img.shape[:2])
        assert abs(n - k) <= 0.1 * k, (img.shape, k, n)


@pytest.mark.parametrize("channels", [1, 3, 16])
def test_any_number_of_channels(channels):
    rng = np.random.default_rng(channels)
    feat = rng.random((40, 52, channels)).astype(np.float32) * 100
    labels, centroids = snic(feat, 30, return_centroids=True)
    n = _assert_valid(labels, (40, 52))
    assert abs(n - 30) <= 3
    assert centroids.shape == (n, 2 + channels)
    # centroids are the label means of position and features
    flat = labels.ravel()
    cnt = np.bincount(flat)[1:]
    yy, xx = np.mgrid[:40, :52]
    np.testing.assert_allclose(centroids[:, 0], np.bincount(flat, yy.ravel())[1:] / cnt)
    np.testing.assert_allclose(centroids[:, 1], np.bincount(flat, xx.ravel())[1:] / cnt)
    for c in range(channels):
        means = np.bincount(flat, feat[..., c].ravel().astype(np.float64))[1:] / cnt
        np.testing.assert_allclose(centroids[:, 2 + c], means, rtol=1e-6)


def test_two_dimensional_input_is_one_channel():
    rng = np.random.default_rng(3)
    img = rng.random((30, 30)) * 100
    assert np.array_equal(snic(img, 9), snic(img[..., None], 9))


def test_deterministic(rgb_image):
    from skimage.color import rgb2lab

    lab = rgb2lab(rgb_image)
    a = snic(lab, 150)
    b = snic(lab.copy(), 150)
    assert np.array_equal(a, b)


def test_tiny_images_and_extreme_counts():
    rng = np.random.default_rng(0)
    img = rng.random((2, 3, 3))
    assert np.array_equal(snic(img, 1), np.ones((2, 3), np.int32))
    every = snic(img, 6)
    assert np.array_equal(every, np.arange(1, 7, dtype=np.int32).reshape(2, 3))
    big = rng.random((13, 17, 2))
    assert np.array_equal(snic(big, 13 * 17), np.arange(1, 13 * 17 + 1).reshape(13, 17))
    assert np.array_equal(snic(big, 1), np.ones((13, 17), np.int32))
    assert np.array_equal(snic(np.zeros((1, 5)), 5), np.arange(1, 6).reshape(1, 5))


def test_zero_compactness_and_constant_image_still_cover():
    labels = snic(np.zeros((20, 30, 3)), 24, compactness=0.0)
    n = _assert_valid(labels, (20, 30))
    assert n == 24


def test_compactness_controls_regularity(rgb_image):
    from skimage.color import rgb2lab

    lab = rgb2lab(rgb_image)
    loose = snic(lab, 80, compactness=1.0)
    tight = snic(lab, 80, compactness=200.0)

    def perimeter_ratio(labels):
        # boundary pixel pairs per superpixel area: regular grid cells minimise it
        return float((labels[:, 1:] != labels[:, :-1]).sum() + (labels[1:] != labels[:-1]).sum())

    assert perimeter_ratio(tight) < 0.8 * perimeter_ratio(loose)


def test_cosine_distance_ignores_global_scale():
    rng = np.random.default_rng(5)
    emb = rng.normal(size=(32, 40, 16))
    emb /= np.linalg.norm(emb, axis=-1, keepdims=True)
    a = snic(emb, 20, 0.5, distance="cosine")
    b = snic(emb * 4.0, 20, 0.5, distance="cosine")  # power of two: exact in floating point
    assert np.array_equal(a, b)
    _assert_valid(a, (32, 40))
    # the squared Euclidean distance, by contrast, changes with the scale
    assert not np.array_equal(snic(emb, 20, 0.5), snic(emb * 4.0, 20, 0.5))


def _piecewise_constant(shape=(120, 160), n_regions=25, seed=0):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 1, (n_regions, 2)) * np.array(shape)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    d = (yy[..., None] - pts[:, 0]) ** 2 + (xx[..., None] - pts[:, 1]) ** 2
    gt = d.argmin(-1)
    colours = rng.uniform(0, 100, (n_regions, 3))
    img = colours[gt] + rng.normal(0, 2.0, shape + (3,))
    return img, gt


def _boundary_map(labels):
    b = np.zeros(labels.shape, bool)
    b[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    b[1:] |= labels[1:] != labels[:-1]
    return b


def _boundary_recall(labels, gt, r=2):
    from scipy.ndimage import binary_dilation

    gb, sb = _boundary_map(gt), _boundary_map(labels)
    near = binary_dilation(sb, np.ones((2 * r + 1, 2 * r + 1), bool))
    return float((gb & near).sum() / gb.sum())


def test_boundary_recall_on_piecewise_constant_image():
    img, gt = _piecewise_constant()
    labels = snic(img, 150)
    br = _boundary_recall(labels, gt)
    assert br > 0.95
    # a plain grid of the same count adheres far less to the true boundaries
    r, c = grid_shape(*gt.shape, 150)
    grid = (np.arange(gt.shape[0])[:, None] * r // gt.shape[0]) * c + np.arange(gt.shape[1]) * c // gt.shape[1]
    assert _boundary_recall(grid, gt) < br - 0.2


def test_bad_input_raises_clear_errors():
    img = np.zeros((10, 10, 3))
    with pytest.raises(ValueError, match="n_segments"):
        snic(img, 0)
    with pytest.raises(ValueError, match="number of pixels"):
        snic(img, 101)
    with pytest.raises(ValueError, match="integer"):
        snic(img, 2.5)
    with pytest.raises(ValueError, match="compactness"):
        snic(img, 4, compactness=-1)
    with pytest.raises(ValueError, match="distance"):
        snic(img, 4, distance="manhattan")
    bad = img.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        snic(bad, 4)
    with pytest.raises(ValueError, match=r"\(Y, X, C\)"):
        snic(np.zeros((2, 3, 4, 5)), 4)


def test_runner_sets_connected_and_reports_progress():
    calls = []
    img = np.random.default_rng(0).random((30, 40, 3)).astype(np.float32) * 100
    res = run_snic(img, params=SnicParams(n_segments=12), seed=0, device="cpu",
                   progress=lambda step, total, stage="": calls.append((step, total)))
    assert res.connected is True
    _assert_valid(res.labels, (30, 40))
    assert calls[0] == (0, 1200) and calls[-1] == (1200, 1200)
    assert res.extras["centroids"].shape == (int(res.labels.max()), 5)


def test_via_segment_api(rgb_image, gray16_image):
    labels = segment(rgb_image, "snic", n_segments=60)
    n = _assert_valid(labels, rgb_image.shape[:2])
    assert abs(n - 60) <= 6
    # the API uses CIELAB for colour: same as calling snic on rgb2lab of the [0, 1] image
    from skimage.color import rgb2lab

    direct = snic(rgb2lab(rgb_image / 255.0).astype(np.float32), 60)
    assert np.array_equal(labels, direct)
    g = segment(gray16_image, "snic", n_segments=40, compactness=5)
    _assert_valid(g, gray16_image.shape)
    events = []
    res = segment_result(rgb_image, "snic", n_segments=60, progress=events.append)
    assert events and events[-1].fraction == 1.0
    assert res.extras["method"] == "snic"


def test_segment_stack_and_min_size(gray16_image):
    stack = np.stack([gray16_image, gray16_image[::-1]])
    labels = segment(stack, "snic", n_segments=30)
    assert labels.shape == stack.shape
    assert np.intersect1d(np.unique(labels[0]), np.unique(labels[1])).size == 0
    merged = segment(gray16_image, "snic", n_segments=200, compactness=1, min_size=40)
    n = _assert_valid(merged, gray16_image.shape)
    assert np.bincount(merged.ravel())[1:].min() >= 40
    assert n < 200


def _bench_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_snic.py"
    spec = importlib.util.spec_from_file_location("bench_snic", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_benchmark_script_writes_docs_only_with_overwrite(bsds_root, tmp_path):
    bench = _bench_module()
    docs = tmp_path / "docs"
    (docs / "methods").mkdir(parents=True)
    doc = docs / "methods" / "snic.md"
    doc.write_text(f"# SNIC\n\n{bench.MARK_START}\n{bench.MARK_END}\nafter\n", encoding="utf-8")
    args = ["--bsds-root", str(bsds_root), "--limit", "1", "--repeats", "1", "--counts", "50",
            "--write-docs", "--docs", str(docs)]
    assert bench.main(args) == 0
    text = doc.read_text(encoding="utf-8")
    assert "| 50 | SNIC (ours, numba) |" in text and "| 50 | SLIC (scikit-image) |" in text
    assert text.endswith(f"{bench.MARK_END}\nafter\n")
    assert (docs / "images" / "snic_timing.png").stat().st_size > 0
    assert (docs / "images" / "snic_overlay.png").stat().st_size > 0
    with pytest.raises(SystemExit, match="overwrite"):
        bench.main(args)
    assert doc.read_text(encoding="utf-8") == text


def test_chunked_run_gives_same_labels_and_reports_progress(monkeypatch):
    import napari_deepsuperpixel.methods.snic as snic_mod

    rng = np.random.default_rng(7)
    img = rng.random((37, 41, 3)) * 100
    whole = snic(img, 25)
    monkeypatch.setattr(snic_mod, "_CHUNK", 100)
    steps = []
    chunked = snic(img, 25, progress=lambda step, total, stage: steps.append((step, total)))
    assert np.array_equal(whole, chunked)
    n = 37 * 41
    assert steps[0] == (0, n) and steps[-1] == (n, n)
    assert len(steps) >= n // 100
    assert all(b[0] > a[0] for a, b in zip(steps, steps[1:]))


def test_progress_can_cancel():
    from napari_deepsuperpixel import Cancelled

    def cancel(step, total, stage):
        raise Cancelled("stop")

    with pytest.raises(Cancelled):
        snic(np.zeros((10, 10)), 4, progress=cancel)
