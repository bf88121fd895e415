"""Superpixel Embedding Network: U-Net, GBMS, variable-margin loss, `sen` / `sen_contours` methods."""

import numpy as np
import pytest
import torch

from napari_deepsuperpixel import segment, segment_result
from napari_deepsuperpixel.nn.blocks import pad_to_multiple
from napari_deepsuperpixel.nn.gbms import GBMS, gbms_step, grid_anchor_index
from napari_deepsuperpixel.nn.sen_loss import (
    cosine_distance,
    pair_offsets,
    superpixel_mean_colors,
    variable_margin_loss,
)
from napari_deepsuperpixel.nn.unet import SENNet, SENUNet

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ----------------------------------------------------------------------------- U-Net
@pytest.mark.parametrize("hw", [(1, 1), (5, 3), (37, 70), (64, 96)])
def test_unet_any_size_unit_norm(hw):
    torch.manual_seed(0)
    net = SENUNet(base_channels=4, max_channels=16).eval()
    x = torch.rand(2, 3, *hw)
    with torch.no_grad():
        e = net(x)
    assert e.shape == (2, 16, *hw)
    assert torch.allclose(e.norm(dim=1), torch.ones(2, *hw), atol=1e-5)


def test_unet_has_five_levels_down_to_one_32nd():
    net = SENUNet(base_channels=4, max_channels=32).eval()
    assert len(net.down) == 5 and len(net.up_conv) == 5 and net.multiple == 32
    assert net.channels == [4, 8, 16, 32, 32, 32]  # doubling, capped
    seen = []
    net.down[-1].register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape[-2:])))
    with torch.no_grad():
        net(torch.rand(1, 3, 70, 100))  # padded to 96 x 128
    assert seen == [(3, 4)]
    # reflection padding in every 3x3 convolution, 'nearest' upsampling, batch norm
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    assert convs and all(c.padding_mode == "reflect" for c in convs)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())


def test_pad_to_multiple_reflects_and_crops_back():
    x = torch.arange(2 * 40, dtype=torch.float32).reshape(1, 1, 2, 40)
    p, (h, w) = pad_to_multiple(x, 32, 64)
    assert p.shape[-2:] == (64, 64) and (h, w) == (2, 40)
    assert torch.equal(p[..., :2, :40], x)
    assert torch.equal(p[0, 0, 0, 40:44], x[0, 0, 0, [38, 37, 36, 35]])  # reflection, edge not repeated
    q, _ = pad_to_multiple(torch.rand(1, 3, 65, 64), 32, 64)
    assert q.shape[-2:] == (96, 64)


def test_unet_rejects_wrong_channels():
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        SENUNet()(torch.rand(1, 4, 8, 8))


# ----------------------------------------------------------------------------- loss
def test_cosine_distance_eq2():
    a = torch.tensor([[1.0, 0.0], [2.0, 0.0], [1.0, 0.0]]).T[None]  # (1, 2, 3): vectors along dim 1
    b = torch.tensor([[1.0, 0.0], [0.0, 3.0], [-1.0, 0.0]]).T[None]
    assert torch.allclose(cosine_distance(a, b), torch.tensor([[0.0, 0.5, 1.0]]))


def _two_pixels(e1, e2, l1, l2, c1=(0, 0, 0), c2=(0, 0, 0)):
    emb = torch.tensor([e1, e2], dtype=torch.float32).T.reshape(1, -1, 1, 2)
    lab = torch.tensor([[[l1, l2]]])
    col = torch.tensor([c1, c2], dtype=torch.float32).T.reshape(1, 3, 1, 2)
    return emb, lab, col


def test_loss_matching_margin_by_hand():
    emb, lab, col = _two_pixels([1, 0], [0, 1], 7, 7)  # orthogonal: Psi = 0.5
    loss, (m, n) = variable_margin_loss(emb, lab, col, alpha=0.1, return_parts=True)
    assert m.item() == pytest.approx(0.4) and n.item() == 0 and loss.item() == pytest.approx(0.4)
    emb, lab, col = _two_pixels([1, 0], [1, 0.2], 7, 7)  # Psi = (1 - 1/sqrt(1.04)) / 2 < alpha
    assert variable_margin_loss(emb, lab, col, alpha=0.1).item() == 0


@pytest.mark.parametrize("lab_dist, expected", [(20.0, 0.0), (30.0, 0.25), (100.0, 0.5)])
def test_loss_variable_beta_by_hand(lab_dist, expected):
    # Psi = 0.5; beta = min(1, ||C_i - C_j|| / 40) = 0.5, 0.75, 1.0 (capped)
    emb, lab, col = _two_pixels([1, 0], [0, 1], 1, 2, (50, 0, 0), (50, lab_dist * 0.6, lab_dist * 0.8))
    loss, (m, n) = variable_margin_loss(emb, lab, col, beta=1.0, beta_scale=40.0, return_parts=True)
    assert m.item() == 0 and n.item() == pytest.approx(expected, abs=1e-6)


def test_loss_fixed_beta_and_neighbourhoods_by_hand():
    # 1 x 3 image, labels [0, 0, 1], embeddings e0 = e1 = x, e2 = y (Psi(e0, e2) = Psi(e1, e2) = 0.5)
    emb = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]).reshape(1, 2, 1, 3)
    lab = torch.tensor([[[0, 0, 1]]])
    # d=1 pairs: (0,1) match Psi 0, (1,2) non-match Psi .5; d=2: (0,2) non-match Psi .5; d=3: none
    loss, (m, n) = variable_margin_loss(emb, lab, None, alpha=0.0, beta=0.8, beta_scale=None,
                                        return_parts=True)
    assert m.item() == 0 and n.item() == pytest.approx(0.3)
    # only dilation 1: one non-matching pair
    _, (m, n) = variable_margin_loss(emb, lab, None, beta=0.9, beta_scale=None, dilations=(1,),
                                     return_parts=True)
    assert n.item() == pytest.approx(0.4)
    assert len(pair_offsets((1, 2, 3))) == 12


def test_loss_needs_colours_for_variable_margin():
    emb, lab, _ = _two_pixels([1, 0], [0, 1], 1, 2)
    with pytest.raises(ValueError, match="sp_colors"):
        variable_margin_loss(emb, lab, None)


def test_superpixel_mean_colors():
    lab = torch.tensor([[[5, 5, 9], [9, 9, 5]]])
    col = torch.arange(6, dtype=torch.float32).reshape(1, 1, 2, 3)  # values 0..5
    out = superpixel_mean_colors(lab, col)
    # label 5: pixels 0, 1, 5 -> mean 2; label 9: pixels 2, 3, 4 -> mean 3
    assert torch.equal(out, torch.tensor([[[[2.0, 2.0, 3.0], [3.0, 3.0, 2.0]]]]))


# ----------------------------------------------------------------------------- GBMS
def test_gbms_step_matches_dense_formula_and_keeps_unit_norm():
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(1, 30, 5, generator=g), dim=-1)
    kappa = 3.0
    new, q = gbms_step(x, x, kappa)
    xn = x[0].numpy().astype(np.float64)
    k = np.exp(kappa * xn @ xn.T)  # C_kappa cancels
    mean = k @ xn / k.sum(1, keepdims=True)  # X K Q^-1 (Eq. 6) for symmetric K
    ref = mean / np.linalg.norm(mean, axis=1, keepdims=True)
    assert np.allclose(new[0].numpy(), ref, atol=1e-5)
    assert torch.allclose(new.norm(dim=-1), torch.ones(1, 30), atol=1e-6)
    chunked, _ = gbms_step(x, x, kappa, chunk=7)
    assert torch.allclose(chunked, new, atol=1e-6)
    with torch.no_grad():  # the in-place inference path gives the same result
        assert torch.allclose(gbms_step(x, x, kappa, chunk=7)[0], new, atol=1e-6)


def test_gbms_clusters_and_kappa_gets_gradient():
    torch.manual_seed(0)
    # two noisy groups of directions on the 16-D sphere
    centers = torch.nn.functional.normalize(torch.randn(2, 16), dim=-1)
    pts = centers.repeat_interleave(32, 0) + 0.15 * torch.randn(64, 16)
    emb = torch.nn.functional.normalize(pts, dim=-1).T.reshape(1, 16, 8, 8)
    mod = GBMS(n_iter=3, kappa=20.0, n_anchors=64)
    outs = mod(emb)
    assert len(outs) == 3
    for o in outs:
        assert torch.allclose(o.norm(dim=1), torch.ones(1, 8, 8), atol=1e-5)

    def spread(e):
        f = e[0].reshape(16, 64).T
        return sum(float((1 - f[i * 32:(i + 1) * 32] @ f[i * 32:(i + 1) * 32].T).mean()) for i in range(2))

    assert spread(outs[-1]) < 0.5 * spread(emb)  # points collapse towards their modes
    sum(o.sum() for o in outs).backward()
    assert mod.log_kappa.grad is not None and mod.log_kappa.grad.abs().item() > 0


def test_grid_anchors_and_random_anchors():
    idx = grid_anchor_index(100, 60, 150)
    assert 120 <= idx.numel() <= 180 and idx.unique().numel() == idx.numel() and int(idx.max()) < 6000
    assert grid_anchor_index(4, 5, 1000).tolist() == list(range(20))
    net = SENNet(base_channels=4, max_channels=8, gbms_iter=2, n_anchors=16).eval()
    x = torch.rand(1, 3, 20, 24)
    with torch.no_grad():
        a = net(x)[-1]
        b = net(x)[-1]
        c = net(x, generator=torch.Generator().manual_seed(1))[-1]
    assert torch.equal(a, b) and not torch.equal(a, c)


# ----------------------------------------------------------------------------- methods
@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A randomly initialised small SEN saved as a `sen` checkpoint (no training needed)."""
    from napari_deepsuperpixel.nn.checkpoint import save_checkpoint

    torch.manual_seed(0)
    net = SENNet(base_channels=4, max_channels=16, gbms_iter=2, n_anchors=64)
    path = tmp_path_factory.mktemp("sen") / "tiny_sen.pt"
    save_checkpoint(path, method="sen", state_dict=net.state_dict(),
                    hyperparameters={"model": net.hyperparameters()})
    return str(path)


def test_sen_segment_small_crop(rgb_image, tiny_checkpoint):
    crop = rgb_image[:64, :80]
    res = segment_result(crop, "sen", n_segments=30, checkpoint=tiny_checkpoint, device="cpu")
    lab = res.labels
    assert lab.shape == (64, 80) and lab.dtype == np.int32 and lab.min() == 1
    assert 20 <= res.n_segments <= 40
    emb = res.extras["embedding"]
    assert emb.shape == (64, 80, 16) and np.allclose(np.linalg.norm(emb, axis=2), 1, atol=1e-4)
    # deterministic, whatever the seed
    again = segment(crop, "sen", n_segments=30, checkpoint=tiny_checkpoint, device="cpu", seed=5)
    assert np.array_equal(lab, again)
    # each label one 4-connected region
    from scipy import ndimage as ndi

    for v in np.unique(lab)[:10]:
        assert ndi.label(lab == v)[1] == 1


def test_sen_contours_small_crop(rgb_image, tiny_checkpoint):
    crop = rgb_image[:48, :64]
    res = segment_result(crop, "sen_contours", n_segments=50, checkpoint=tiny_checkpoint, device="cpu")
    c = res.extras["contours"]
    assert c.shape == crop.shape[:2] and c.dtype == np.float32
    assert c.min() >= 0 and c.max() <= 1 and c.max() > 0.5
    assert len(np.unique(c)) > 3  # a graded strength, not a single boundary map
    assert res.labels.shape == crop.shape[:2]
    plain = segment(crop, "sen", n_segments=50, checkpoint=tiny_checkpoint, device="cpu")
    assert np.array_equal(res.labels, plain)  # labels are the `sen` superpixels at that size


def test_sen_gray_ok_and_bad_channels(tiny_checkpoint):
    rng = np.random.default_rng(0)
    lab = segment(rng.random((40, 40)), "sen", n_segments=10, checkpoint=tiny_checkpoint, device="cpu")
    assert lab.shape == (40, 40)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        segment(rng.random((40, 40, 2)), "sen", checkpoint=tiny_checkpoint, channel_axis=-1, device="cpu")


def test_sen_rejects_missing_or_foreign_checkpoint(tmp_path, rgb_image):
    from napari_deepsuperpixel.nn.checkpoint import CheckpointError, save_checkpoint

    with pytest.raises(FileNotFoundError):
        segment(rgb_image, "sen", checkpoint=str(tmp_path / "nope.pt"), device="cpu")
    other = save_checkpoint(tmp_path / "other.pt", method="superae",
                            state_dict={"w": torch.zeros(2)}, hyperparameters={})
    with pytest.raises(CheckpointError, match="not 'sen'"):
        segment(rgb_image, "sen", checkpoint=str(other), device="cpu")


def test_sen_shipped_weights(rgb_image):
    from napari_deepsuperpixel.nn.checkpoint import load_checkpoint, shipped_weights_path

    path = shipped_weights_path("sen_bsds.pt")
    assert path.stat().st_size < 5e6  # a few MB (float16)
    ck = load_checkpoint(path, method="sen")
    assert ck.hyperparameters["split"] == "train,val" and ck.epoch >= 1
    crop = rgb_image[:64, :64]
    lab = segment(crop, "sen", n_segments=20, device="cpu")
    assert lab.shape == (64, 64) and 10 <= len(np.unique(lab)) <= 30


def test_shipped_embeddings_separate_colour_regions():
    from napari_deepsuperpixel.methods.sen import embed

    img = np.zeros((64, 64, 3), np.float32)
    img[:, :32] = [0.8, 0.2, 0.2]
    img[:, 32:] = [0.2, 0.3, 0.8]
    img = np.clip(img + np.random.default_rng(0).normal(0, 0.02, img.shape), 0, 1).astype(np.float32)
    e = embed(img)
    psi = (1 - (e[:, 1:] * e[:, :-1]).sum(-1)) / 2  # Eq. 2 between horizontal neighbours
    assert psi[:, 31].mean() > 0.5  # across the colour edge: far apart
    assert np.delete(psi, 31, axis=1).mean() < 0.05  # inside a region: together


def test_edge_refinement_moves_superpixels_onto_colour_edges_and_keeps_their_count():
    from napari_deepsuperpixel.methods.sen import snap_superpixels

    rng = np.random.default_rng(0)
    img = np.zeros((40, 60, 3), np.float32)
    img[:, :30] = (0.8, 0.2, 0.2)  # red | blue, the edge between columns 29 and 30
    img[:, 30:] = (0.2, 0.2, 0.8)
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)
    labels = np.ones((40, 60), np.int32)
    labels[:, 32:] = 2  # the superpixels' edge 2 pixels off the colour edge
    labels[:20] += 2  # and a horizontal cut inside each colour (4 superpixels)
    out = snap_superpixels(labels, np.clip(img, 0, 1), 8)
    assert out.max() == 4  # as many superpixels as before
    left, right = np.unique(out[:, :30]), np.unique(out[:, 30:])
    assert set(left).isdisjoint(right)  # no superpixel crosses the colour edge any more
    assert not set(np.unique(labels[:, :32])).isdisjoint(np.unique(labels[:, 30:]))  # one did before


def test_sen_icm_passes_zero_is_the_papers_superpixels(rgb_image, tiny_checkpoint):
    crop = rgb_image[:48, :64]
    raw = segment_result(crop, "sen", n_segments=30, checkpoint=tiny_checkpoint, device="cpu", icm_passes=0)
    emb = raw.extras["embedding"]
    from napari_deepsuperpixel.methods.snic import snic

    want = snic(emb, 30, 0.5, distance="cosine")
    assert np.array_equal(raw.labels, want)
