"""Kanezaki's backprop segmentation (methods/backprop.py)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from napari_deepsuperpixel import Cancelled, list_methods, segment, segment_result  # noqa: E402
from napari_deepsuperpixel.methods import backprop as bp  # noqa: E402
from napari_deepsuperpixel.nn.blocks import count_parameters  # noqa: E402

# tiny, quick settings used by the end-to-end tests
TINY = dict(n_channels=8, max_iter=4, min_labels=0, superpixel_count=20, precision="fp32")


@pytest.fixture
def small_rgb(rgb_image):
    return np.ascontiguousarray(rgb_image[:24, :32])


def _is_connected(labels):
    from skimage.measure import label

    return all(label(labels == v, connectivity=1).max() == 1 for v in np.unique(labels))


def test_network_architecture_matches_paper():
    net = bp.build_network(3, 100, 2)
    # conv1 3->100 (3x3) + BN, conv2 100->100 (3x3) + BN, 1x1 classifier 100->100 + BN
    expected = (3 * 9 * 100 + 100 + 200) + (100 * 9 * 100 + 100 + 200) + (100 * 100 + 100 + 200)
    assert count_parameters(net) == expected == 103600
    kinds = [type(m).__name__ for m in net.modules() if not isinstance(m, torch.nn.Sequential)]
    assert kinds == ["Conv2d", "ReLU", "BatchNorm2d"] * 2 + ["Conv2d", "BatchNorm2d"]
    y = net(torch.rand(1, 3, 10, 12))
    assert y.shape == (1, 100, 10, 12)
    # response normalisation: every channel has zero mean and unit variance over the pixels
    assert torch.allclose(y.mean((0, 2, 3)), torch.zeros(100), atol=1e-5)
    assert torch.allclose(y.var((0, 2, 3), unbiased=False), torch.ones(100), atol=1e-2)
    # M blocks and any channel count
    assert count_parameters(bp.build_network(5, 10, 3)) == (5 * 90 + 30) + 2 * (10 * 90 + 30) + (100 + 30)


def test_flat_head_equals_the_modules_and_their_gradients():
    # the response layer run as a matrix product on the pixels-by-channels view (faster on
    # channels-last tensors) is the same function as the 1x1 conv + BatchNorm2d modules
    torch.manual_seed(0)
    net = bp.build_network(4, 12, 2).to(memory_format=torch.channels_last)
    feats = torch.randn(1, 12, 9, 11).contiguous(memory_format=torch.channels_last)
    ref = net[-2:](feats).permute(0, 2, 3, 1).reshape(-1, 12)
    ref.square().sum().backward()
    grads = [p.grad.clone() for p in net[-2:].parameters()]
    net.zero_grad()
    ours = bp.flat_head(net, feats)
    assert ours.shape == (99, 12)
    assert torch.allclose(ours, ref, atol=1e-5)
    ours.square().sum().backward()
    assert all(torch.allclose(p.grad, g, atol=1e-4) for p, g in zip(net[-2:].parameters(), grads))


def test_heap_reuse_changes_nothing_but_time(small_rgb, monkeypatch):
    from napari_deepsuperpixel.nn import heap

    a = segment_result(small_rgb, "backprop", seed=3, **TINY)
    monkeypatch.setattr(heap, "ENABLED", False)
    b = segment_result(small_rgb, "backprop", seed=3, **TINY)
    assert np.array_equal(a.labels, b.labels) and a.extras["loss_history"] == b.extras["loss_history"]


def test_refine_labels_majority_vote_and_ties():
    labels = torch.tensor([2, 2, 1, 0, 1, 3, 3, 1])
    sp = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2])
    out = bp.refine_labels(labels, sp, 3, 4)
    # sp0: {2,2,1} -> 2; sp1: {0,1} tie -> smallest (0); sp2: {3,3,1} -> 3
    assert out.tolist() == [2, 2, 2, 0, 0, 3, 3, 3]


def test_refine_labels_equals_the_official_loop_on_a_random_case():
    # the official demo: for each superpixel, np.argmax of the histogram of its pixels' labels
    rng = np.random.default_rng(3)
    n, k, q = 5000, 97, 11
    labels = rng.integers(0, q, n)
    sp = rng.integers(0, k, n)
    ref = labels.copy()
    for s in range(k):
        inside = sp == s
        if inside.any():
            ref[inside] = np.argmax(np.bincount(labels[inside], minlength=q))
    out = bp.refine_labels(torch.from_numpy(labels), torch.from_numpy(sp), k, q)
    assert np.array_equal(out.numpy(), ref)


def test_continuity_loss_hand_value():
    r = torch.zeros(1, 2, 2, 3)
    r[0, 0, :, 2] = 3.0  # one column step of 3 in channel 0
    # horizontal: |diff| has 2 channels x 2 rows x 2 columns = 8 entries, two of them 3 -> mean 0.75
    assert bp.continuity_loss(r).item() == pytest.approx(0.75)
    r2 = torch.zeros(1, 1, 2, 2)
    r2[0, 0, 1, :] = 1.0  # a vertical step
    assert bp.continuity_loss(r2).item() == pytest.approx(1.0)


def test_presets_and_explicit_overrides():
    p = bp.BackpropParams()
    assert p.n_channels is None  # "the preset's value", shown in list_methods
    assert p.preset == "auto"  # the paper's settings on a GPU, the CPU setting otherwise
    r = bp.resolve_preset(p, bp.BACKPROP_PRESETS, "backprop", "cuda")
    assert (r.preset, r.n_channels, r.n_conv, r.max_iter, r.precision) == ("paper", 100, 2, 500, "fp32")
    c = bp.resolve_preset(p, bp.BACKPROP_PRESETS, "backprop", "cpu")
    assert c.preset == "fast" and c.n_channels == bp.BACKPROP_PRESETS["fast"]["n_channels"]
    assert bp.resolve_preset(bp.BackpropParams(preset="paper"), bp.BACKPROP_PRESETS, "backprop", "cpu").max_iter == 500
    f = bp.resolve_preset(bp.BackpropParams(preset="fast", n_channels=20), bp.BACKPROP_PRESETS, "backprop")
    assert f.n_channels == 20 and f.max_iter == bp.BACKPROP_PRESETS["fast"]["max_iter"]
    info = {m.name: m for m in list_methods()}["backprop"]
    assert info.kind == "segmentation" and info.uses_torch and info.input_space == "rgb01"
    helps = {q.name: q.help for q in info.parameters}
    assert "paper 100" in helps["n_channels"] and "fast" in helps["n_channels"]
    with pytest.raises(ValueError, match="preset"):
        segment(np.zeros((8, 8, 3)), "backprop", preset="slow")


def test_runs_and_returns_connected_segments_with_history(small_rgb):
    events = []
    res = segment_result(small_rgb, "backprop", progress=events.append, **TINY)
    lab = res.labels
    assert lab.shape == small_rgb.shape[:2] and lab.dtype == np.int32 and lab.min() == 1
    assert _is_connected(lab)
    assert len(res.extras["loss_history"]) == 4 and all(np.isfinite(res.extras["loss_history"]))
    it_events = [e for e in events if e.stage == "iterate" and e.step > 0]
    assert [e.step for e in it_events] == [1, 2, 3, 4]
    assert all({"loss", "n_labels"} <= set(e.info) for e in it_events)
    assert all(1 <= e.info["n_labels"] <= 8 for e in it_events)


def test_seed_gives_identical_labels(small_rgb):
    a = segment(small_rgb, "backprop", seed=1, **TINY)
    b = segment(small_rgb, "backprop", seed=1, **TINY)
    c = segment(small_rgb, "backprop", seed=2, **TINY)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_stop_rule(small_rgb):
    # more allowed labels than channels: the rule fires after the first iteration
    res = segment_result(small_rgb, "backprop", **{**TINY, "max_iter": 50, "min_labels": 9})
    assert res.extras["n_iter"] == 1 and res.extras["stopped_early"]
    # 0 disables it
    res = segment_result(small_rgb, "backprop", **{**TINY, "max_iter": 3, "min_labels": 0})
    assert res.extras["n_iter"] == 3 and not res.extras["stopped_early"]
    # the rule stops exactly when the label count first reaches min_labels
    res = segment_result(small_rgb, "backprop", **{**TINY, "max_iter": 25, "min_labels": 3, "n_channels": 6})
    hist = res.extras["n_labels_history"]
    assert len(hist) == res.extras["n_iter"]
    assert all(n > 3 for n in hist[:-1])
    assert hist[-1] <= 3 or res.extras["n_iter"] == 25


def test_cancel_from_progress(small_rgb):
    seen = []

    def cb(ev):
        seen.append(ev.step)
        if ev.stage == "iterate" and ev.step >= 2:
            raise Cancelled("user pressed cancel")

    with pytest.raises(Cancelled):
        segment(small_rgb, "backprop", progress=cb, **{**TINY, "max_iter": 100})
    assert max(seen) == 2


def test_continuity_loss_with_and_without_refinement(small_rgb):
    a = segment_result(small_rgb, "backprop", continuity_weight=1.0, superpixel_method="none", **{
        k: v for k, v in TINY.items() if k != "superpixel_count"})
    b = segment_result(small_rgb, "backprop", continuity_weight=1.0, **TINY)
    c = segment_result(small_rgb, "backprop", **TINY)
    assert a.extras["loss_history"] != c.extras["loss_history"]
    assert b.extras["loss_history"] != c.extras["loss_history"]
    # the continuity term adds a positive amount to the loss in the first iteration
    assert b.extras["loss_history"][0] > c.extras["loss_history"][0]


def test_any_registry_method_for_refinement(small_rgb):
    lab = segment(small_rgb, "backprop", superpixel_method="watershed", **TINY)
    assert lab.shape == small_rgb.shape[:2]
    with pytest.raises(ValueError, match="unknown method"):
        segment(small_rgb, "backprop", superpixel_method="nope", **TINY)
    with pytest.raises(ValueError, match="recurse"):
        segment(small_rgb, "backprop", superpixel_method="backprop", **TINY)


def test_fine_superpixels_read_channels_in_rgb_order(rgb_image):
    from skimage.metrics import adapted_rand_error

    from napari_deepsuperpixel.io.prepare import to_feature_space
    from napari_deepsuperpixel.methods.classical import SlicParams, run_slic

    img = rgb_image.astype(np.float32) / 255
    sp = SlicParams(n_segments=40, compactness=1)
    ours = bp.fine_superpixels(img, "slic", 40, compactness=1)
    ref = run_slic(to_feature_space(img, True, "lab"), params=sp).labels
    bgr = run_slic(to_feature_space(img[..., ::-1].copy(), True, "lab"), params=sp).labels
    assert ours.min() == 0
    assert adapted_rand_error(ref, ours + 1)[0] == pytest.approx(0.0)
    assert adapted_rand_error(bgr, ours + 1)[0] > 0.01  # the official demo's BGR mistake differs


def test_gray_16bit_and_multichannel_inputs(gray16_image):
    g = segment(gray16_image[:32, :40], "backprop", **TINY)
    assert g.shape == (32, 40) and _is_connected(g)
    rng = np.random.default_rng(0)
    multi = rng.integers(0, 4096, size=(24, 30, 5)).astype(np.uint16)
    m = segment(multi, "backprop", channel_axis=-1, **TINY)
    assert m.shape == (24, 30)
    stack = rng.random((2, 20, 22)).astype(np.float32)
    s = segment(stack, "backprop", **TINY)
    assert s.shape == (2, 20, 22)


def test_reduced_resolution_and_bf16(small_rgb):
    res = segment_result(small_rgb, "backprop", max_side=16, **{**TINY, "precision": "bf16"})
    assert res.labels.shape == small_rgb.shape[:2]
    assert res.extras["resolved_params"]["max_side"] == 16


def test_invalid_device_error(small_rgb):
    import napari_deepsuperpixel.nn.device as d

    missing = "mps" if "mps" not in d.available_devices() else "cuda:7"
    with pytest.raises(ValueError, match="not available"):
        segment(small_rgb, "backprop", device=missing, **TINY)
    with pytest.raises(ValueError, match="unknown device"):
        segment(small_rgb, "backprop", device="tpu", **TINY)


def test_cancel_check_stops_the_run(small_rgb):
    calls = []

    def cancel_check():
        calls.append(1)
        return len(calls) >= 4

    with pytest.raises(Cancelled):
        segment_result(small_rgb, "backprop", cancel_check=cancel_check, **{**TINY, "max_iter": 100})
    assert len(calls) == 4  # polled before the loop, after each forward and after each iteration


def _dim_blobs_16bit(seed=0, shape=(260, 348), n=40, bright=3):
    """A 16-bit fluorescence-like image: ``n`` nuclei on a camera background, ``bright`` of them saturating.

    The saturated nuclei set the top of the normalisation, so that the others are
    dim (a few per cent of the range above the background); returns ``(image, instance mask)``.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    gt = np.zeros(shape, int)
    img = rng.normal(100, 10, shape)
    for k in range(1, n + 1):
        cy, cx = rng.uniform(10, shape[0] - 10), rng.uniform(10, shape[1] - 10)
        r = rng.uniform(5, 9)
        m = ((yy - cy) ** 2 + (xx - cx) ** 2 < r * r) & (gt == 0)
        gt[m] = k
        img[m] += rng.uniform(40, 120) if k > bright else 3000
    img = np.minimum(img, np.percentile(img, 99))  # the camera saturates
    return np.clip(img, 0, 65535).astype(np.uint16), gt


def test_defaults_return_dim_16bit_blobs_as_segments():
    # with the paper's [0, 1] input such images collapsed to one segment (docs/methods/backprop.md)
    from napari_deepsuperpixel.metrics.segment_f import match_segments, segment_f_measure

    img, gt = _dim_blobs_16bit()
    res = segment_result(img, "backprop", seed=0)
    m = match_segments(res.labels, [gt], thresholds=(0.5,), background=0, drop_background_segments=True)
    f = segment_f_measure(m, threshold=0.5)
    assert f["recall"] >= 0.5, f  # at least half of the nuclei are segments of their own (IoU > 0.5)


def test_boundary_refinement_makes_more_nuclei_their_own_segments():
    # the CNN's labels put the nuclei's edges 1-3 pixels out in the background; the refinement moves
    # them onto the edges and merges specks (docs/methods/backprop.md, "Segments of dim nuclei")
    from napari_deepsuperpixel.metrics.segment_f import match_segments, segment_f_measure

    img, gt = _dim_blobs_16bit()
    f = {}
    for name, kw in (("off", {"icm_passes": 0, "min_size": 0}), ("on", {})):
        res = segment_result(img, "backprop", seed=0, **kw)
        m = match_segments(res.labels, [gt], thresholds=(0.5,), background=0, drop_background_segments=True)
        f[name] = segment_f_measure(m, threshold=0.5)["f"]
    assert f["on"] >= f["off"] + 0.1, f


def test_paper_preset_keeps_the_papers_segments():
    p = bp.resolve_preset(bp.BackpropParams(preset="paper"), bp.BACKPROP_PRESETS, "backprop")
    assert p.icm_passes == 0 and p.min_size == 0
    p = bp.resolve_preset(bp.BackpropParams(preset="fast"), bp.BACKPROP_PRESETS, "backprop")
    assert p.icm_passes == 8 and p.min_size == 32


def test_input_norm_auto_keeps_the_papers_input_for_rgb():
    assert bp.resolve_input_norm("auto", 3) == "unit"
    assert bp.resolve_input_norm("auto", 1) == "standardize"
    assert bp.resolve_input_norm("unit", 1) == "unit"
    import torch

    z = bp.standardize_channels(torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]], [[[5.0, 5.0], [5.0, 5.0]]]]))
    assert torch.allclose(z[0].mean(), torch.tensor(0.0)) and torch.allclose(z[0].std(), torch.tensor(1.0))
    assert torch.equal(z[1], torch.zeros_like(z[1]))  # a constant channel carries nothing
