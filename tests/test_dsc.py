"""Deep Superpixel Cut pieces (Eq. 4-8), the dsc/superae/baseline methods through segment()."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import napari_deepsuperpixel as nds  # noqa: E402
from napari_deepsuperpixel.methods import dsc, superpixel_clustering  # noqa: E402
from napari_deepsuperpixel.nn import superpixel_cut as cut  # noqa: E402
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
    loss = cut.soft_cut_loss(q, w)
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
    assert float(cut.soft_cut_loss(hard, w2)) == pytest.approx(0.0)


def test_pseudo_labels_majority_eq4():
    logits = torch.tensor([[0, 0, 5.0], [0, 1, 3], [0, 4, 1], [9, 0, 0], [0, 2, 1], [1, 3, 0]])
    sp = torch.tensor([0, 0, 0, 1, 1, 1])
    pix, per_sp = cut.pseudo_labels(logits, sp, 2)
    assert per_sp.tolist() == [2, 1]
    assert pix.tolist() == [2, 2, 2, 1, 1, 1]
    # softmax probabilities give the same labels
    pix2, _ = cut.pseudo_labels(torch.softmax(logits, 1), sp, 2)
    assert torch.equal(pix, pix2)


def test_pooling_and_similarity_eq5_eq7():
    vals = torch.tensor([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0]])
    g = cut.superpixel_pool(vals, torch.tensor([0, 0, 1]), 2)
    assert torch.allclose(g, torch.tensor([[2.0, 1.0], [5.0, 5.0]]))
    feats = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    centers = torch.tensor([[0.0, 0.0], [0.0, 1.0], [0.0, 10.0]])
    w = cut.similarity_matrix(feats, centers, sigma=5.0, d=2.0)
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
    d = nds.segment_result(small, "dsc", max_iter=1, **common)
    for method, feature in (("kmeans_superpixels", "rgb"), ("ncut_superpixels", "deep")):
        res = nds.segment_result(small, method, n_segments=4, feature=feature, **common)
        assert res.labels.shape == small.shape[:2]
        assert np.array_equal(res.extras["superpixels"], d.extras["superpixels"])  # dsc's superpixels (image)
        assert 1 <= res.n_segments <= res.extras["superpixels"].max()
        rec = nds.segment_result(small, method, n_segments=4, feature=feature, superpixels_on="reconstruction",
                                 **common)
        assert np.array_equal(rec.extras["superpixels"], r.labels)  # superae's: the paper's pipeline
        assert 1 <= rec.n_segments <= n_sp


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


# ----------------------------------------------------------------------------- collapse, normalised cut, stop rule
def _regions_image(seed=0):
    """48 x 48: 3 x 3 regions of 16 px in 6 colours (+ noise), and 8 x 8 block superpixels."""
    rng = np.random.default_rng(seed)
    cols = np.array([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.1, 0.2, 0.9], [0.9, 0.9, 0.2], [0.5, 0.5, 0.5],
                     [0.9, 0.4, 0.9]])
    reg = (np.arange(48)[:, None] // 16) * 3 + np.arange(48)[None, :] // 16
    img = np.clip(cols[reg % 6] + rng.normal(0, 0.03, (48, 48, 3)), 0, 1).astype(np.float32)
    sp = (np.arange(48)[:, None] // 8) * 6 + np.arange(48)[None, :] // 8
    return img, sp, reg % 6


def _defaults():
    p = dsc.DscParams()
    return dict(logit_bn=p.logit_bn, cut=p.cut, min_labels=p.min_labels)


@pytest.fixture(scope="module")
def random_superae():
    torch.manual_seed(0)
    return SuperAE().eval()


@pytest.mark.parametrize("seed", [0, 1])
def test_dsc_does_not_collapse_at_the_defaults(random_superae, seed):
    """Six colours in nine regions: the paper's settings collapse to <= 3 classes, the defaults keep the colours."""
    from sklearn.metrics import adjusted_rand_score

    img, sp, truth = _regions_image()
    old, _ = dsc.deep_superpixel_cut(img, sp, random_superae, n_classes=8, n_iter=50, seed=seed,
                                     logit_bn=False, cut="cut", min_labels=0)
    new, _ = dsc.deep_superpixel_cut(img, sp, random_superae, n_classes=8, n_iter=50, seed=seed, **_defaults())
    assert np.unique(old).size <= 3 and adjusted_rand_score(truth.ravel(), old.ravel()) < 0.5
    assert np.unique(new).size >= 5 and adjusted_rand_score(truth.ravel(), new.ravel()) > 0.75


def test_normalised_cut_prefers_the_right_two_regions():
    """Two-region image: the soft normalised cut is lower for the true partition than for one region.

    The paper's unnormalised cut (Eq. 8) is 0 for both: one region is a trivial minimum.
    """
    rng = np.random.default_rng(0)
    img = np.zeros((32, 32, 3), np.float32)
    img[:, 16:] = 1.0
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)
    sp = (np.arange(32)[:, None] // 8) * 4 + np.arange(32)[None, :] // 8  # 16 blocks, 8 per side
    idx = torch.from_numpy(sp.ravel().astype(np.int64))
    g = cut.superpixel_pool(torch.from_numpy(img.reshape(-1, 3)), idx, 16)
    cent = torch.from_numpy(cut.centroids(sp, 16)).float()
    w = cut.similarity_matrix(g, cent, sigma=0.5, d=2 * np.sqrt(32 * 32 / 16))
    right = (g[:, 0] > 0.5).long()
    two = torch.nn.functional.one_hot(right, 2).float()
    one = torch.nn.functional.one_hot(torch.zeros(16, dtype=torch.long), 2).float()
    n_two, n_one = float(cut.soft_ncut_loss(two, w)), float(cut.soft_ncut_loss(one, w))
    assert n_two < 0.01 and n_one == pytest.approx(1.0)  # K - 1 = 1: the worst value
    wrong = torch.nn.functional.one_hot(torch.from_numpy((np.arange(16) // 4 % 2).astype(np.int64)), 2).float()
    assert n_two < float(cut.soft_ncut_loss(wrong, w))  # a top/bottom split cuts through both regions
    assert float(cut.soft_cut_loss(one, w)) == pytest.approx(0.0, abs=1e-6)  # Eq. 8: one region is optimal
    # soft: a uniform association lies between; the formula K - sum assoc(A,A)/assoc(A,V) by hand
    q = torch.full((16, 2), 0.5)
    by_hand = 2 - sum(float(q[:, k] @ w @ q[:, k] / (q[:, k] @ w @ torch.ones(16))) for k in range(2))
    assert float(cut.soft_ncut_loss(q, w)) == pytest.approx(by_hand, rel=1e-5)


def test_min_labels_stop(random_superae):
    """Kanezaki's rule: stop at the first iteration whose pseudo labels have <= min_labels classes."""
    img, sp, _ = _regions_image()
    kw = dict(n_classes=8, n_iter=50, seed=0, logit_bn=False, cut="cut")
    _, full = dsc.deep_superpixel_cut(img, sp, random_superae, min_labels=0, **kw)
    events = []
    lab, hist = dsc.deep_superpixel_cut(img, sp, random_superae, min_labels=3, **kw,
                                        progress=lambda step, total, stage, **info: events.append(info["n_labels"]))
    assert len(full) == 50 and 0 < len(hist) < 50  # collapses to <= 3 classes, then stops
    assert np.unique(lab).size <= 3
    assert all(n > 3 for n in events) and len(events) == len(hist)
    # with min_labels >= K it stops before the first update
    lab, hist = dsc.deep_superpixel_cut(img, sp, random_superae, min_labels=8, **kw)
    assert hist == [] and lab.shape == (48, 48)


def test_dsc_options_reach_the_runner(small, tiny_ckpt):
    kw = dict(checkpoint=tiny_ckpt, max_iter=3, superpixel_method="slic", superpixel_params="n_segments=20",
              n_classes=6, device="cpu")
    r = nds.segment_result(small, "dsc", logit_bn=False, cut="cut", min_labels=6, **kw)
    assert r.extras["loss_history"] == []  # stopped at once: <= 6 classes of 6
    assert r.extras["resolved_params"]["cut"] == "cut"
    with pytest.raises(ValueError, match="cut"):
        nds.segment(small, "dsc", cut="normalized", **kw)


def test_superpixels_on_the_image_are_the_methods_own(small, tiny_ckpt):
    """Default ``superpixels_on="image"``: DSC partitions the superpixel method's superpixels of the image itself;
    ``"reconstruction"`` gives the paper's superpixels of the SuperAE reconstruction."""
    kw = dict(checkpoint=tiny_ckpt, max_iter=2, superpixel_method="slic", superpixel_params="n_segments=20",
              device="cpu")
    on_image = nds.segment_result(small, "dsc", **kw)  # the default
    assert on_image.extras["resolved_params"]["superpixels_on"] == "image"
    direct = nds.segment_result(small, "slic", n_segments=20, device="cpu")
    assert np.array_equal(on_image.extras["superpixels"], direct.labels)
    on_rec = nds.segment_result(small, "dsc", superpixels_on="reconstruction", **kw)  # the (random) reconstruction
    assert not np.array_equal(on_rec.extras["superpixels"], direct.labels)
    with pytest.raises(ValueError, match="superpixels_on"):
        nds.segment(small, "dsc", superpixels_on="input", **kw)


def test_empty_superpixel_params_are_each_sources_egb_default(small, tiny_ckpt):
    """Left empty, the superpixel settings are EGB at the paper's ~100 superpixels for the chosen source (and are
    recorded); another method gets its own defaults instead of EGB's keywords."""
    kw = dict(checkpoint=tiny_ckpt, max_iter=1, device="cpu")
    for on, scale in (("image", 500), ("reconstruction", 350)):
        r = nds.segment_result(small, "dsc", superpixels_on=on, **kw)
        assert r.extras["resolved_params"]["superpixel_params"] == f"scale={scale},sigma=0.5,min_size=50"
    direct = nds.segment_result(small, "felzenszwalb", scale=500, device="cpu")
    assert np.array_equal(nds.segment_result(small, "dsc", **kw).extras["superpixels"], direct.labels)
    r = nds.segment_result(small, "dsc", superpixel_method="slic", **kw)  # no "unknown parameter 'scale'"
    assert np.array_equal(r.extras["superpixels"], nds.segment_result(small, "slic", device="cpu").labels)
