"""Tiled U-Net inference (nn/tiling.py): no seams, bounded memory, Cancel between tiles."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from napari_deepsuperpixel import Cancelled, segment_result  # noqa: E402
from napari_deepsuperpixel.nn.tiling import tile_starts, tiled  # noqa: E402


def test_tiles_cover_the_image_with_the_overlap():
    for size, tile, ov in ((100, 32, 8), (33, 32, 8), (32, 32, 8), (10, 32, 4), (257, 64, 16)):
        starts = tile_starts(size, tile, ov)
        assert starts[0] == 0 and min(starts[-1] + tile, size) == size
        for a, b in zip(starts, starts[1:]):
            assert b - a <= tile - ov  # neighbours share at least the overlap


def test_a_pointwise_map_is_reproduced_exactly():
    """The blending weights of every pixel sum to one: tiling a pixel-wise map changes nothing."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 5, 1)
    x = torch.rand(1, 3, 70, 93)
    with torch.no_grad():
        assert torch.allclose(tiled(conv, x, tile=32, overlap=8), conv(x), atol=1e-6)


def test_a_convolution_differs_only_slightly_near_seams():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 4, 3, padding=1))
    x = torch.rand(1, 3, 80, 80)
    with torch.no_grad():
        whole, tiles = net(x), tiled(net, x, tile=40, overlap=12)
    diff = (whole - tiles).abs()
    assert diff.max() < 0.1 * whole.abs().max()  # only the pixels near a seam differ, and little
    assert diff[..., 2:24, 2:24].max() < 1e-6  # far from every tile edge: identical


def test_bad_tiles_are_refused():
    with pytest.raises(ValueError, match="overlap < tile / 2"):
        tiled(lambda t: t, torch.zeros(1, 1, 10, 10), tile=8, overlap=4)
    with pytest.raises(ValueError, match=r"\(1, C, H, W\)"):
        tiled(lambda t: t, torch.zeros(2, 1, 10, 10), tile=8, overlap=2)


@pytest.fixture(scope="module")
def photo():
    from skimage import data

    return data.astronaut()[:300, :300]


def test_tiled_sen_equals_the_whole_image_up_to_the_documented_tolerance(photo):
    """docs/methods/sen.md: tiled and whole-image SEN give the same superpixels up to ~5-10 % of pixels."""
    from napari_deepsuperpixel.methods.sen import embed
    from napari_deepsuperpixel.metrics.superpixel import achievable_segmentation_accuracy

    img = photo.astype(np.float32) / 255
    whole = embed(img, tile_size=0, clustering=False)
    tiles = embed(img, tile_size=224, clustering=False)
    cos = (whole * tiles).sum(-1)
    assert cos.mean() > 0.98 and np.percentile(cos, 5) > 0.8
    a = segment_result(photo, "sen", tile_size=0, n_segments=100).labels
    b = segment_result(photo, "sen", tile_size=224, n_segments=100).labels
    assert achievable_segmentation_accuracy(b, [a]) > 0.85


def test_cancel_between_tiles_stops_the_embedding(photo):
    stages = []

    def progress(ev):
        stages.append(ev.stage)

    with pytest.raises(Cancelled):
        segment_result(photo, "sen", tile_size=224, progress=progress,
                       cancel_check=lambda: stages.count("embed") >= 2)
    assert stages.count("embed") == 2 and "cluster" not in stages  # 2 of the 4 tiles, then stop


def test_superae_reconstruction_in_tiles_matches_the_whole_image(photo, monkeypatch):
    """SuperAE is shallow (receptive field << the 96-px overlap): tiles reproduce the whole-image pass."""
    import napari_deepsuperpixel.nn.tiling as tiling
    from napari_deepsuperpixel.methods.dsc import superae_superpixels

    img = photo.astype(np.float32) / 255
    _, whole = superae_superpixels(img)
    monkeypatch.setattr(tiling, "DEFAULT_TILE", 224)
    stages = []

    def progress(step, total, stage="", **info):
        stages.append(stage)

    progress.check = lambda: None
    _, tiles = superae_superpixels(img, progress=progress)
    assert stages.count("reconstruct") == 4  # 2 x 2 tiles
    assert np.abs(whole - tiles).max() < 0.02 and np.abs(whole - tiles).mean() < 1e-3
