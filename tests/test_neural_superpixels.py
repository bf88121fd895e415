"""Eliasof et al.'s neural superpixels (methods/neural_superpixels.py)."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from napari_deepsuperpixel import Cancelled, list_methods, segment, segment_result  # noqa: E402
from napari_deepsuperpixel.methods import neural_superpixels as ns  # noqa: E402
from napari_deepsuperpixel.nn import superpixel_losses as spl  # noqa: E402
from napari_deepsuperpixel.nn.blocks import ASPP, count_parameters  # noqa: E402

TINY = dict(n_segments=8, n_filters=4, aspp_channels=6, max_iter=2, precision="fp32")
RIM = dict(use_aspp=False, use_laplacian=False, use_soft_image_loss=False, use_edge_loss=False)


@pytest.fixture
def small_rgb(rgb_image):
    return np.ascontiguousarray(rgb_image[:20, :24])


def _cir(cin, cout):  # ConvInReLU: conv without bias + affine instance norm
    return cin * 9 * cout + 2 * cout


def test_paper_architecture_parameter_count():
    n, f, a = 100, 32, 128
    net = ns.build_network(5, n, 3, n_filters=f, n_blocks=4, aspp_channels=a)
    enc = _cir(5, 32) + _cir(32, 64) + _cir(64, 128) + _cir(128, 256)
    aspp = 4 * _cir(2 * 256, a)  # Laplacian doubles the 256 feature channels
    head = _cir(4 * a, a) + (a * (n + 3) + n + 3)
    assert count_parameters(net) == enc + aspp + head + 2 * n  # + instance norm of the logits
    dil = [m.branches[i][1].dilation[0] for m in net.modules() if isinstance(m, ASPP) for i in range(4)]
    assert dil == [1, 2, 4, 8]
    logits, recon = net(torch.rand(1, 5, 10, 12))
    assert logits.shape == (1, n, 10, 12) and recon.shape == (1, 3, 10, 12)


def test_rim_architecture_is_suzukis():
    net = ns.build_network(5, 100, 3, n_filters=32, aspp_channels=128, use_aspp=False, use_laplacian=False)
    enc = _cir(5, 32) + _cir(32, 64) + _cir(64, 128) + _cir(128, 256)
    assert count_parameters(net) == enc + 256 * 103 + 103 + 200
    assert not any(isinstance(m, ASPP) for m in net.modules())


def test_ablation_switches_change_the_graph():
    kw = dict(n_filters=4, aspp_channels=6)
    full = ns.build_network(4, 10, 2, **kw)
    no_lap = ns.build_network(4, 10, 2, use_laplacian=False, **kw)
    no_aspp = ns.build_network(4, 10, 2, use_aspp=False, **kw)
    counts = {count_parameters(m) for m in (full, no_lap, no_aspp)}
    assert len(counts) == 3
    # the Laplacian doubles the ASPP input channels
    first = [m for m in full.modules() if isinstance(m, ASPP)][0].branches[0][1]
    first_nl = [m for m in no_lap.modules() if isinstance(m, ASPP)][0].branches[0][1]
    assert first.in_channels == 2 * first_nl.in_channels == 2 * 32
    # the loss switches change the optimisation (same initialisation, different losses)
    img = np.random.default_rng(0).random((12, 14, 3)).astype(np.float32)
    base = dict(n_segments=4, n_filters=4, aspp_channels=6, max_iter=1, precision="fp32")
    runs = {}
    for name, extra in {"all": {}, "no_soft": {"use_soft_image_loss": False},
                        "no_edge": {"use_edge_loss": False}}.items():
        runs[name] = segment_result(img, "neural_superpixels", channel_axis=-1, **base, **extra)
    h = {k: r.extras["loss_history"][0] for k, r in runs.items()}
    assert h["all"] > h["no_soft"] and h["all"] > h["no_edge"]


def test_rim_loss_hand_values():
    n, lam = 4, 2.0
    # uniform assignments: pixel entropy log N, marginal entropy log N
    u = torch.zeros(1, n, 3, 3)
    assert spl.rim_loss(u, lam).item() == pytest.approx((1 - lam) * math.log(n), rel=1e-6)
    # confident, all pixels in one superpixel: both entropies 0
    one = torch.full((1, n, 2, 2), -50.0)
    one[:, 0] = 50.0
    assert spl.rim_loss(one, lam).item() == pytest.approx(0.0, abs=1e-6)
    # confident, half the pixels in each of two superpixels: marginal entropy log 2
    two = torch.full((1, n, 2, 2), -50.0)
    two[:, 0, 0] = 50.0
    two[:, 1, 1] = 50.0
    assert spl.rim_loss(two, lam).item() == pytest.approx(-lam * math.log(2), rel=1e-5)


def test_smoothness_loss_hand_value():
    # 1 x 2 image, two superpixels; the assignment changes between the two pixels
    prob = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])  # (1, 2, 1, 2)
    img = torch.tensor([[[[0.0, 2.0]]]])  # one channel, step of 2
    # |dP|_1 = 2, weight exp(-4 / 8); no vertical pairs (mean of an empty set is nan -> use 2 rows)
    prob2 = prob.expand(1, 2, 2, 2).clone()
    img2 = img.expand(1, 1, 2, 2).clone()
    expected = 2 * math.exp(-4 / 8) + 0.0
    assert spl.smoothness_loss(prob2, img2, 8.0).item() == pytest.approx(expected, rel=1e-6)
    assert spl.smoothness_loss(torch.full((1, 3, 4, 4), 1 / 3), torch.rand(1, 3, 4, 4)).item() == 0


@pytest.mark.parametrize("shape", [(2, 5, 6, 7), (1, 3, 1, 4), (1, 40, 9, 8)])
def test_clustering_loss_equals_autograd_composition(shape):
    # the fused loss with its hand-written gradient must match rim_loss + alpha * smoothness_loss
    # under autograd, also when a further loss uses the returned probabilities (soft image)
    g = torch.Generator().manual_seed(1)
    z = (3 * torch.randn(shape, generator=g, dtype=torch.float64)).requires_grad_()
    img = torch.randn(shape[0], 3, *shape[2:], generator=g, dtype=torch.float64)
    lam, alpha, sigma = 2.0, 2.0, 8.0

    def reference(z):
        prob = z.softmax(1)
        loss = spl.rim_loss(z, lam)
        if shape[2] > 1:  # the composition has no vertical pairs in one row (mean of nothing)
            loss = loss + alpha * spl.smoothness_loss(prob, img, sigma)
        else:
            dpx = (prob[..., 1:] - prob[..., :-1]).abs().sum(1)
            wx, _ = spl.edge_weights(img, sigma)
            loss = loss + alpha * (dpx * wx).mean()
        return loss, prob

    for extra in (False, True):
        grads, losses = [], []
        for fn in (reference, lambda z: spl.clustering_loss(z, img, lam, alpha, sigma)):
            z.grad = None
            loss, prob = fn(z)
            total = loss + ((spl.soft_superpixel_image(prob, img) - img) ** 2).mean() if extra else loss
            total.backward()
            losses.append(loss.item())
            grads.append(z.grad.clone())
        assert losses[1] == pytest.approx(losses[0], rel=1e-12, abs=1e-12)
        assert torch.allclose(grads[1], grads[0], rtol=1e-9, atol=1e-12)


def test_soft_superpixel_image():
    img = torch.tensor([[[[1.0, 3.0], [10.0, 20.0]]]])  # (1, 1, 2, 2)
    hard = torch.zeros(1, 2, 2, 2)
    hard[0, 0, 0, :] = 1  # top row -> superpixel 0
    hard[0, 1, 1, :] = 1  # bottom row -> superpixel 1
    soft = spl.soft_superpixel_image(hard, img)
    assert torch.allclose(soft, torch.tensor([[[[2.0, 2.0], [15.0, 15.0]]]]))
    uniform = torch.full((1, 2, 2, 2), 0.5)
    assert torch.allclose(spl.soft_superpixel_image(uniform, img), torch.full((1, 1, 2, 2), 8.5))


def test_reconstruction_loss_hand_value():
    img = torch.zeros(1, 2, 2, 2)
    rec = torch.ones(1, 2, 2, 2)
    soft = torch.full((1, 2, 2, 2), 2.0)
    assert spl.reconstruction_loss(img, rec).item() == pytest.approx(1.0)
    assert spl.reconstruction_loss(img, rec, soft).item() == pytest.approx(1.0 + 4.0)


def test_kl_uses_log_probabilities():
    logp = torch.log(torch.tensor([[0.5, 0.5]]))
    logq = torch.log(torch.tensor([[0.25, 0.75]]))
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert spl.kl_divergence(logp, logq).item() == pytest.approx(expected, rel=1e-6)
    assert spl.kl_divergence(logp, logp).item() == pytest.approx(0.0, abs=1e-7)


def test_edge_distribution_and_loss():
    x = torch.rand(1, 3, 6, 7)
    e = spl.edge_log_distribution(x)
    assert e.shape == (1, 3, 42)
    assert torch.allclose(e.exp().sum(-1), torch.ones(1, 3))
    assert spl.edge_loss(x, x, x).item() == pytest.approx(0.0, abs=1e-6)
    blurred = torch.full_like(x, 0.5)  # no edges at all: uniform distribution
    # KL(E_I || uniform) = log(HW) - H(E_I), per channel; twice with the soft image
    ent = -(e.exp() * e).sum(-1).mean().item()
    kl = math.log(42) - ent
    assert spl.edge_loss(x, blurred).item() == pytest.approx(kl, rel=1e-4)
    assert spl.edge_loss(x, blurred, blurred).item() == pytest.approx(2 * kl, rel=1e-4)


def test_standardized_input():
    img = np.random.default_rng(1).random((10, 12, 2)).astype(np.float32)
    img[..., 1] = 0.3  # constant channel
    x = ns.standardized_input(img)
    assert x.shape == (10, 12, 4)
    assert np.allclose(x.mean((0, 1)), 0, atol=1e-5)
    assert np.allclose(x[..., [0, 2, 3]].std((0, 1), ddof=1), 1, atol=1e-4)
    assert np.all(x[..., 1] == 0)


def test_registry_entry_and_presets():
    info = {m.name: m for m in list_methods()}["neural_superpixels"]
    assert info.kind == "superpixels" and info.uses_torch and info.input_space == "rgb01"
    d = info.defaults()
    assert d["n_filters"] is None and d["max_iter"] is None and d["lr"] == 0.01
    assert (d["lam"], d["alpha"], d["beta"], d["eta"], d["sigma"]) == (2.0, 2.0, 10.0, 1.0, 8.0)
    p = ns.resolve_preset(ns.NeuralSuperpixelsParams(), ns.NEURAL_SP_PRESETS, "neural_superpixels", "cuda")
    assert (p.preset, p.n_filters, p.max_iter, p.max_side) == ("paper", 32, 1000, 0)
    c = ns.resolve_preset(ns.NeuralSuperpixelsParams(), ns.NEURAL_SP_PRESETS, "neural_superpixels", "cpu")
    assert c.preset == "fast" and c.max_iter == ns.NEURAL_SP_PRESETS["fast"]["max_iter"]
    f = ns.resolve_preset(ns.NeuralSuperpixelsParams(preset="fast", max_iter=7), ns.NEURAL_SP_PRESETS, "x")
    assert f.max_iter == 7 and f.n_filters == ns.NEURAL_SP_PRESETS["fast"]["n_filters"]


def test_runs_progress_and_connected_labels(small_rgb):
    events = []
    res = segment_result(small_rgb, "neural_superpixels", progress=events.append, **TINY)
    lab = res.labels
    assert lab.shape == small_rgb.shape[:2] and lab.dtype == np.int32 and lab.min() == 1
    from skimage.measure import label

    assert all(label(lab == v, connectivity=1).max() == 1 for v in np.unique(lab))
    assert len(res.extras["loss_history"]) == 2
    it = [e for e in events if e.step > 0]
    assert [e.step for e in it] == [1, 2] and all({"loss", "n_labels"} <= set(e.info) for e in it)
    assert all(1 <= e.info["n_labels"] <= 8 for e in it)


def test_seed_determinism(small_rgb):
    a = segment(small_rgb, "neural_superpixels", seed=5, **TINY)
    b = segment(small_rgb, "neural_superpixels", seed=5, **TINY)
    c = segment(small_rgb, "neural_superpixels", seed=6, **TINY)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_cancel(small_rgb):
    def cb(ev):
        if ev.step >= 1:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        segment(small_rgb, "neural_superpixels", progress=cb, **{**TINY, "max_iter": 50})


def test_rim_ablation_and_reduced_resolution(small_rgb):
    r = segment_result(small_rgb, "neural_superpixels", **TINY, **RIM)
    assert r.labels.shape == small_rgb.shape[:2]
    f = segment_result(small_rgb, "neural_superpixels", preset="fast", max_side=16,
                       **{k: v for k, v in TINY.items() if k != "precision"})
    assert f.labels.shape == small_rgb.shape[:2]
    assert f.extras["resolved_params"]["precision"] == "auto"


def test_gray_16bit_multichannel(gray16_image):
    g = segment(gray16_image[:16, :20], "neural_superpixels", **TINY)
    assert g.shape == (16, 20)
    multi = np.random.default_rng(2).integers(0, 60000, size=(12, 14, 6)).astype(np.uint16)
    assert segment(multi, "neural_superpixels", channel_axis=-1, **TINY).shape == (12, 14)


def test_errors(small_rgb):
    with pytest.raises(ValueError, match="exceeds"):
        segment(small_rgb[:3, :3], "neural_superpixels", **{**TINY, "n_segments": 12})
    with pytest.raises(ValueError, match="at least 9 pixels"):
        segment(small_rgb[:6, :6], "neural_superpixels", **{**TINY, "n_segments": 4})
    assert segment(small_rgb[:6, :6], "neural_superpixels", use_aspp=False, **{**TINY, "n_segments": 4}).shape == (6, 6)
    import napari_deepsuperpixel.nn.device as d

    missing = "mps" if "mps" not in d.available_devices() else "cuda:7"
    with pytest.raises(ValueError, match="not available"):
        segment(small_rgb, "neural_superpixels", device=missing, **TINY)


def test_clustering_loss_with_precomputed_weights_is_the_same():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(1, 6, 5, 7, generator=g)
    img = torch.randn(1, 3, 5, 7, generator=g)
    a, _ = spl.clustering_loss(z, img, 2.0, 2.0, 8.0)
    b, _ = spl.clustering_loss(z, None, 2.0, 2.0, weights=spl.edge_weights(img, 8.0))
    assert a.item() == pytest.approx(b.item(), rel=1e-6)


@pytest.mark.parametrize("name", ["chelsea", "coffee"])
def test_segment_count_is_about_the_requested_n(name):
    """N is the number of superpixels a user gets (within 25 %), not 2-4x N as argmax fragments."""
    from skimage import data
    from skimage.measure import label
    from skimage.transform import resize

    image = (resize(getattr(data, name)(), (64, 96), anti_aliasing=True) * 255).astype(np.uint8)
    for n in (20, 60):
        labels = segment(image, "neural_superpixels", n_segments=n, max_iter=30)
        assert 0.75 * n <= labels.max() <= 1.25 * n
        assert all(label(labels == v, connectivity=1).max() == 1 for v in range(1, labels.max() + 1))
    # the paper's output (argmax + size merge only) is what the limit corrects
    paper = segment(image, "neural_superpixels", n_segments=60, max_iter=30, limit_count=False)
    assert paper.max() > 1.25 * 60


def _bits(t):
    """The bytes of a tensor in NCHW order (a -0.0 differs from +0.0)."""
    return t.detach().contiguous().view(-1).view(torch.uint8)


@pytest.mark.parametrize("shape", [(107, 160), (18, 19), (10, 12)])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_fast_reflection_pad_is_bitwise_pytorchs(shape, precision):
    """The channels-last padding of ConvINReLU: output, input gradient and weight gradient of pad + conv
    are bitwise those of nn.ReflectionPad2d + conv, under bf16 autocast too (small inputs: whole-kernel
    backward)."""
    from torch import nn

    from napari_deepsuperpixel.nn.blocks import ReflectionPad2d

    g = torch.Generator().manual_seed(3)
    x0 = torch.randn(1, 16, *shape, generator=g).contiguous(memory_format=torch.channels_last)
    if precision == "bf16":
        x0 = x0.to(torch.bfloat16)  # a block's input under autocast is the bf16 output of the one before
    up = torch.randn(1, 8, *shape, generator=g)
    up[up.abs() < 0.2] = 0.0  # zero gradients (their sign must survive too)
    for d in (1, 2, 4, 8):
        if d >= min(shape):
            continue
        conv = nn.Conv2d(16, 8, 3, dilation=d, bias=False).to(memory_format=torch.channels_last)
        out, grads = [], []
        for pad in (nn.ReflectionPad2d(d), ReflectionPad2d(d)):
            x = x0.clone().requires_grad_()
            conv.weight.grad = None
            with torch.autocast("cpu", torch.bfloat16, enabled=precision == "bf16"):
                y = conv(pad(x))
            y.float().backward(up)
            out.append(y)
            grads += [x.grad, conv.weight.grad]
        assert out[0].stride() == out[1].stride()
        assert torch.equal(_bits(out[0]), _bits(out[1]))
        assert grads[0].stride() == grads[2].stride()
        assert torch.equal(_bits(grads[0]), _bits(grads[2]))
        assert torch.equal(_bits(grads[1]), _bits(grads[3]))


def test_network_gradients_are_bitwise_those_of_pytorchs_padding(monkeypatch):
    """The whole fast-preset network (bf16 autocast, channels-last): the same logits and parameter
    gradients with the fast padding as with PyTorch's."""
    from napari_deepsuperpixel.nn import blocks

    g = torch.Generator().manual_seed(4)
    x = torch.randn(1, 5, 30, 41, generator=g).contiguous(memory_format=torch.channels_last)
    up = torch.randn(1, 20, 30, 41, generator=g)
    results = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(blocks.ReflectionPad2d, "forward", torch.nn.ReflectionPad2d.forward)
        torch.manual_seed(0)
        net = ns.build_network(5, 20, 3, n_filters=8, aspp_channels=16).to(memory_format=torch.channels_last)
        with torch.autocast("cpu", torch.bfloat16):
            logits, recon = net(x)
        (logits.float() * up).sum().add(recon.float().square().sum()).backward()
        results.append([logits, recon] + [p.grad for p in net.parameters()])
    for a, b in zip(*results):
        assert torch.equal(_bits(a), _bits(b))


def test_clustering_loss_scaled_and_second_backward():
    """A scaled loss scales the gradient (the path where the incoming gradient is not 1); the gradient
    buffer is reused in place, so a second backward through the same graph raises."""
    g = torch.Generator().manual_seed(5)
    z = torch.randn(1, 6, 5, 7, generator=g, dtype=torch.float64, requires_grad=True)
    img = torch.randn(1, 3, 5, 7, generator=g, dtype=torch.float64)
    loss, _ = spl.clustering_loss(z, img)
    loss.backward()
    g1 = z.grad.clone()
    z.grad = None
    loss, _ = spl.clustering_loss(z, img)
    (3 * loss).backward(retain_graph=True)
    assert torch.allclose(z.grad, 3 * g1, rtol=1e-12, atol=0)
    with pytest.raises(RuntimeError, match="backward ran twice"):
        loss.backward()


def test_heap_context_leaves_results_unchanged(small_rgb, monkeypatch):
    from napari_deepsuperpixel.nn import heap

    params = dict(TINY, max_iter=5, precision="auto")
    a = segment(small_rgb, "neural_superpixels", **params)
    monkeypatch.setattr(heap, "ENABLED", False)
    b = segment(small_rgb, "neural_superpixels", **params)
    assert np.array_equal(a, b)
