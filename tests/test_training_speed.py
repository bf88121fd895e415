"""Training speed changes: the one-pass SEN loss, bf16 autocast, prefetching, and what they must not change."""

import numpy as np
import pytest
import torch

from napari_deepsuperpixel.nn.sen_loss import cosine_distance, pair_offsets, variable_margin_loss

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _reference_loss(emb, labels, sp, alpha=0.05, beta=1.0, beta_scale=40.0):
    """Eq. 4 written out pair by pair with the cosine distance of Eq. 2 (the loss before it was fused)."""
    h, w = emb.shape[-2:]
    ms, mc, ns, nc = 0.0, 0.0, 0.0, 0.0
    out = []
    for i in range(emb.shape[0]):
        ms = mc = ns = nc = 0.0
        for dy, dx in pair_offsets((1, 2, 3)):
            x0, x1 = (0, w - dx) if dx >= 0 else (-dx, w)
            a, b = emb[i, :, 0:h - dy, x0:x1], emb[i, :, dy:h, x0 + dx:x1 + dx]
            la, lb = labels[i, 0:h - dy, x0:x1], labels[i, dy:h, x0 + dx:x1 + dx]
            ca, cb = sp[i, :, 0:h - dy, x0:x1], sp[i, :, dy:h, x0 + dx:x1 + dx]
            psi = cosine_distance(a, b, dim=0)
            same = la == lb
            bij = ((ca - cb).norm(dim=0) / beta_scale).clamp_max(beta)
            ms += float((psi - alpha).clamp_min(0)[same].sum())
            mc += float(same.sum())
            ns += float((bij - psi).clamp_min(0)[~same].sum())
            nc += float((~same).sum())
        out.append(ms / max(mc, 1) + ns / max(nc, 1))
    return float(np.mean(out))


def test_fused_loss_equals_eq4_pair_by_pair_for_each_embedding():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 4, (2, 12, 14), generator=g)
    sp = torch.rand(2, 3, 12, 14, generator=g) * 80
    embs = [torch.randn(2, 5, 12, 14, generator=g) for _ in range(3)]
    fused = variable_margin_loss(embs, labels, sp)
    assert fused.shape == (3,)
    for e, v in zip(embs, fused):
        assert float(variable_margin_loss(e, labels, sp)) == pytest.approx(float(v), abs=1e-6)
        assert float(v) == pytest.approx(_reference_loss(e, labels, sp), abs=1e-5)


def test_fused_loss_gradient_matches_separate_terms():
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 3, (1, 10, 10), generator=g)
    sp = torch.rand(1, 3, 10, 10, generator=g) * 60
    e1 = torch.randn(1, 4, 10, 10, generator=g, requires_grad=True)
    e2 = torch.randn(1, 4, 10, 10, generator=g, requires_grad=True)
    variable_margin_loss([e1, e2], labels, sp).sum().backward()
    g1, g2 = e1.grad.clone(), e2.grad.clone()
    e1.grad = e2.grad = None
    (variable_margin_loss(e1, labels, sp) + variable_margin_loss(e2, labels, sp)).backward()
    assert torch.allclose(g1, e1.grad, atol=1e-6) and torch.allclose(g2, e2.grad, atol=1e-6)


def test_fused_loss_rejects_mixed_shapes():
    with pytest.raises(ValueError, match="one shape"):
        variable_margin_loss([torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 5, 4)], torch.zeros(1, 4, 4), None,
                             beta_scale=None)


@pytest.fixture
def image_dir(tmp_path, rgb_image):
    from napari_deepsuperpixel.io.files import write_png

    d = tmp_path / "imgs"
    d.mkdir()
    for i, (y, x) in enumerate(((0, 0), (40, 60), (100, 20), (60, 120))):
        write_png(d / f"im{i}.png", rgb_image[y:y + 64, x:x + 64])
    return d


# pseudo_counts: SNIC pseudo labels at the scale of these 64 x 64 images (the default counts, 50-800, are per
# 481 x 321 photograph; at 800 superpixels of 5 pixels the loss falls to ~0.04 in 6 steps and bf16's relative
# error on it is no longer a test of the arithmetic)
SEN_TINY = dict(epochs=2, steps_per_epoch=2, batch_size=2, crop=32, base_channels=4, max_channels=8,
                gbms_iter=1, train_anchors=16, device="cpu", precision="fp32", pseudo_counts="4,8,16")


def test_prefetching_gives_the_same_sen_run(image_dir, tmp_path):
    from napari_deepsuperpixel.nn.checkpoint import load_checkpoint
    from napari_deepsuperpixel.training.sen import train_sen

    a = load_checkpoint(train_sen(image_dir, out=tmp_path / "a.pt", prefetch=False, **SEN_TINY))
    b = load_checkpoint(train_sen(image_dir, out=tmp_path / "b.pt", prefetch=True, **SEN_TINY))
    for k in a.state_dict:
        assert torch.equal(a.state_dict[k], b.state_dict[k]), k
    assert a.training_state["loss_history"] == b.training_state["loss_history"]


#: documented in docs/training.md ("Training speed"): mean loss of a short bf16 run within this relative
#: distance of the fp32 run's, epoch by epoch
BF16_LOSS_TOLERANCE = 0.05


def test_bf16_superae_run_keeps_the_fp32_loss_curve(image_dir, tmp_path):
    from napari_deepsuperpixel.nn.checkpoint import load_checkpoint
    from napari_deepsuperpixel.training.superae import train_superae

    kw = dict(epochs=4, batch_size=2, crop=32, template="felzenszwalb", device="cpu", seed=0)
    f = train_superae(image_dir, out=tmp_path / "f.pt", precision="fp32", **kw)
    b = train_superae(image_dir, out=tmp_path / "b.pt", precision="bf16", **kw)
    lf, lb = np.array(f.loss_history), np.array(b.loss_history)
    assert lf[-1] < lf[0]  # it trains
    assert np.all(np.abs(lb - lf) <= BF16_LOSS_TOLERANCE * lf), (lf, lb)
    assert load_checkpoint(b.path).hyperparameters["precision"] == "bf16"
    assert load_checkpoint(f.path).hyperparameters["precision"] == "fp32"
    # the weights stay fp32 (bf16 is only the arithmetic of the forward pass)
    assert all(v.dtype == torch.float32 for v in load_checkpoint(b.path).state_dict.values() if v.is_floating_point())


def test_bf16_sen_run_keeps_the_fp32_loss_curve(image_dir, tmp_path):
    from napari_deepsuperpixel.nn.checkpoint import load_checkpoint
    from napari_deepsuperpixel.training.sen import train_sen

    kw = {**SEN_TINY, "epochs": 3}
    lf = np.array(load_checkpoint(train_sen(image_dir, out=tmp_path / "f.pt", **kw)).training_state["loss_history"])
    kw["precision"] = "bf16"
    lb = np.array(load_checkpoint(train_sen(image_dir, out=tmp_path / "b.pt", **kw)).training_state["loss_history"])
    assert np.all(np.abs(lb - lf) <= BF16_LOSS_TOLERANCE * lf), (lf, lb)


def test_resume_may_switch_precision_and_bad_precision_is_refused_first(image_dir, tmp_path):
    from napari_deepsuperpixel.training.superae import train_superae

    kw = dict(batch_size=2, crop=32, template="felzenszwalb", device="cpu", seed=0)
    out = tmp_path / "r.pt"
    train_superae(image_dir, out=out, epochs=1, precision="bf16", **kw)
    res = train_superae(image_dir, out=out, epochs=2, precision="fp32", resume=True, **kw)
    assert res.epochs_done == 2
    with pytest.raises(ValueError, match="precision.* must be one of"):
        train_superae(image_dir, out=tmp_path / "x.pt", epochs=1, precision="half", **kw)
    assert not (tmp_path / "x.pt").exists()
