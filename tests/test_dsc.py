"""Deep Superpixel Cut pieces (Eq. 4-8), the dsc/superae/baseline methods through segment()."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import napari_deepsuperpixel as nds  # noqa: E402
from napari_deepsuperpixel.methods import dsc, superpixel_clustering  # noqa: E402
from napari_deepsuperpixel.nn.checkpoint import CheckpointError, save_checkpoint  # noqa: E402
from napari_deepsuperpixel.nn.superae import SuperAE, hypercolumn  # noqa: E402


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    """A randomly initialised SuperAE checkpoint (keeps these tests independent of shipped weights)."""
    torch.manual_seed(0)
    m = SuperAE()
    p = tmp_path_factory.mktemp("ck") / "superae_random.pt"
    return str(save_checkpoint(p, method="superae", state_dict=m.state_dict(),
                               hyperparameters={"widths": [64, 128, 256]}))


@pytest.fixture
def small(rgb_image):
    return np.ascontiguousarray(rgb_image[:40, :48])


def test_soft_cut_by_hand_and_eq11_gradient():
    q = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]], requires_grad=True)
    w = torch.tensor([[1.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 1.0]])
    loss = dsc.soft_cut_loss(q, w)
    # k=0: Q0=[1,.5,0], W(1-Q0)=[.25,.7,1.1] -> .6 ; k=1: Q1=[0,.5,1], W(1-Q1)=[1.25,1,.1] -> .6
    assert loss.item() == pytest.approx(1.2)
    explicit = sum(float(q[a, k] * w[a, b] * (1 - q[b, k])) for k in range(2) for a in range(3) for b in range(3))
    assert loss.item() == pytest.approx(explicit)
    loss.backward()
    expect = torch.stack([w @ torch.ones(3) - 2 * w @ q.detach()[:, k] for k in range(2)], 1)  # Eq. 11
    assert torch.allclose(q.grad, expect)
    # a hard partition along a zero-weight cut costs nothing
    hard = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    w2 = torch.tensor([[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert float(dsc.soft_cut_loss(hard, w2)) == pytest.approx(0.0)


def test_pseudo_labels_majority_eq4():
    logits = torch.tensor([[0, 0, 5.0], [0, 1, 3], [0, 4, 1], [9, 0, 0], [0, 2, 1], [1, 3, 0]])
    sp = torch.tensor([0, 0, 0, 1, 1, 1])
    pix, per_sp = dsc.pseudo_labels(logits, sp, 2)
    assert per_sp.tolist() == [2, 1]
    assert pix.tolist() == [2, 2, 2, 1, 1, 1]
    # softmax probabilities give the same labels
    pix2, _ = dsc.pseudo_labels(torch.softmax(logits, 1), sp, 2)
    assert torch.equal(pix, pix2)


def test_pooling_and_similarity_eq5_eq7():
    vals = torch.tensor([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0]])
    g = dsc.superpixel_pool(vals, torch.tensor([0, 0, 1]), 2)
    assert torch.allclose(g, torch.tensor([[2.0, 1.0], [5.0, 5.0]]))
    feats = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    centers = torch.tensor([[0.0, 0.0], [0.0, 1.0], [0.0, 10.0]])
    w = dsc.similarity_matrix(feats, centers, sigma=5.0, d=2.0)
    assert torch.allclose(torch.diag(w), torch.ones(3))
    assert float(w[0, 1]) == pytest.approx(np.exp(-1.0))  # ||g0-g1||^2 = 25 = sigma^2
    assert float(w[0, 2]) == 0.0  # identical features but centroids farther than d
    assert torch.allclose(w, w.T)


def test_head_equals_conv_on_hypercolumn(tiny_ckpt):
    model = dsc.load_superae(tiny_ckpt)
    head = dsc._DscHead(model, 8, seed=1, device="cpu")
    x = torch.rand(1, 3, 22, 30)
    with torch.no_grad():
        fast = head(model, x)
        hc = hypercolumn(model, x)[0]
        naive = torch.einsum("kc,chw->khw", head.weight, hc) + head.bias[:, None, None]
    assert fast.shape == (8, 22, 30)
    assert torch.allclose(fast, naive, atol=1e-4)


def test_dsc_through_segment_is_deterministic(small, tiny_ckpt):
    kw = dict(checkpoint=tiny_ckpt, max_iter=4, superpixel_method="slic", superpixel_params="n_segments=20",
              n_classes=8, device="cpu")
    events = []
    r1 = nds.segment_result(small, "dsc", seed=3, progress=events.append, **kw)
    r2 = nds.segment_result(small, "dsc", seed=3, **kw)
    lab = r1.labels
    assert lab.shape == small.shape[:2] and lab.dtype == np.int32 and lab.min() == 1
    assert np.array_equal(lab, r2.labels)
    assert len(r1.extras["loss_history"]) == 4 and np.isfinite(r1.extras["loss_history"]).all()
    assert [e.step for e in events if e.stage == "iterate"] == [1, 2, 3, 4]
    sp = r1.extras["superpixels"]
    # every superpixel lies inside one segment (DSC labels whole superpixels)
    for s in np.unique(sp):
        assert np.unique(lab[sp == s]).size == 1
    assert r1.n_segments <= np.unique(sp).size


def test_dsc_max_side_labels_every_superpixel(small, tiny_ckpt):
    model = dsc.load_superae(tiny_ckpt)
    img = small.astype(np.float32) / 255
    sp = np.arange(40 * 48).reshape(40, 48) // 48 // 4 * 12 + np.arange(48)[None, :] // 4  # 4x4 blocks
    lab, hist = dsc.deep_superpixel_cut(img, sp, model, n_classes=6, n_iter=3, max_side=16, seed=0)
    assert lab.shape == (40, 48) and lab.min() >= 1 and lab.max() <= 6 and len(hist) == 3
    for s in np.unique(sp):  # also blocks that fall between low-resolution samples get one class
        assert np.unique(lab[sp == s]).size == 1
    with pytest.raises(ValueError, match="does not match"):
        dsc.deep_superpixel_cut(img, sp[:-1], model, n_iter=1)


def test_dsc_cancel(small, tiny_ckpt):
    def stop(ev):
        if ev.stage == "iterate" and ev.step == 2:
            raise nds.Cancelled()

    with pytest.raises(nds.Cancelled):
        nds.segment(small, "dsc", checkpoint=tiny_ckpt, max_iter=50, superpixel_method="slic",
                    superpixel_params="n_segments=10", progress=stop, device="cpu")


def test_superae_and_baselines(small, tiny_ckpt):
    common = dict(checkpoint=tiny_ckpt, superpixel_method="slic", superpixel_params="n_segments=30", device="cpu")
    r = nds.segment_result(small, "superae", **common)
    assert r.extras["reconstruction"].shape == small.shape and r.labels.min() == 1
    n_sp = r.n_segments
    for method, feature in (("kmeans_superpixels", "rgb"), ("ncut_superpixels", "deep")):
        res = nds.segment_result(small, method, n_segments=4, feature=feature, **common)
        assert res.labels.shape == small.shape[:2]
        assert np.array_equal(res.extras["superpixels"], r.labels)  # the same superpixels
        assert 1 <= res.n_segments <= n_sp


def test_cluster_functions_separate_obvious_groups():
    rng = np.random.default_rng(0)
    feats = np.concatenate([rng.normal(0, 0.05, (10, 3)), rng.normal(1, 0.05, (12, 3))])
    truth = np.r_[np.zeros(10), np.ones(12)]
    lab = superpixel_clustering.kmeans(feats, 2, seed=0)
    assert abs(np.corrcoef(lab, truth)[0, 1]) == pytest.approx(1.0)
    centers = rng.uniform(0, 5, (22, 2))
    lab = superpixel_clustering.spectral_ncut(feats, centers, 2, d=100.0, seed=0)
    assert abs(np.corrcoef(lab, truth)[0, 1]) == pytest.approx(1.0)
    assert np.array_equal(superpixel_clustering.kmeans(feats[:3], 5), [0, 1, 2])


def test_bad_inputs_give_clear_errors(small, tiny_ckpt, tmp_path):
    with pytest.raises(ValueError, match="superpixel_params"):
        nds.segment(small, "superae", checkpoint=tiny_ckpt, superpixel_params="n_segments")
    with pytest.raises(ValueError, match="must be one of"):
        nds.segment(small, "dsc", checkpoint=tiny_ckpt, superpixel_method="dsc")
    with pytest.raises(ValueError, match="channels"):
        nds.segment(np.random.rand(20, 24, 2), "superae", channel_axis=-1, checkpoint=tiny_ckpt)
    other = save_checkpoint(tmp_path / "sen.pt", method="sen", state_dict=SuperAE().state_dict())
    with pytest.raises(CheckpointError, match="for method 'sen'"):
        nds.segment(small, "superae", checkpoint=str(other))
    with pytest.raises(FileNotFoundError):
        nds.segment(small, "superae", checkpoint=str(tmp_path / "missing.pt"))


def test_shipped_weights_load_and_smooth(small):
    """The shipped SuperAE: a valid 'superae' checkpoint trained on BSDS500 train+val only."""
    from napari_deepsuperpixel.nn.checkpoint import load_checkpoint, shipped_weights_path

    p = shipped_weights_path(dsc.SHIPPED_WEIGHTS)
    assert p.stat().st_size < 8e6
    ck = load_checkpoint(p, method="superae")
    assert ck.hyperparameters["split"] == ["train", "val"] and ck.epoch >= 1
    assert "optimizer" not in ck.training_state
    r = nds.segment_result(small, "superae", device="cpu")
    rec = r.extras["reconstruction"]
    img = small.astype(np.float32) / 255
    assert np.abs(rec - img).mean() < 0.1  # a reconstruction of the image...
    gy = lambda a: np.abs(np.diff(a, axis=0)).mean()  # noqa: E731
    assert gy(rec) < gy(img)  # ...that is smoother than the image
