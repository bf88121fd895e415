"""Shared torch layers (nn/blocks.py) and per-image loop helpers (nn/optim.py)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from napari_deepsuperpixel import Cancelled  # noqa: E402
from napari_deepsuperpixel._types import Progress  # noqa: E402
from napari_deepsuperpixel.nn import blocks, optim  # noqa: E402


def test_conv_relu_bn_order_shape_and_parameters():
    m = blocks.ConvReLUBN(3, 8)
    kinds = [type(layer).__name__ for layer in m]
    assert kinds == ["Conv2d", "ReLU", "BatchNorm2d"]  # Kanezaki: conv -> ReLU -> BN
    y = m(torch.rand(1, 3, 9, 7))
    assert y.shape == (1, 8, 9, 7)
    assert blocks.count_parameters(m) == 3 * 9 * 8 + 8 + 2 * 8
    with pytest.raises(ValueError, match="odd"):
        blocks.ConvReLUBN(3, 8, kernel_size=2)


@pytest.mark.parametrize("dilation", [1, 2, 4, 8])
def test_conv_in_relu_keeps_size_with_dilation(dilation):
    m = blocks.ConvINReLU(5, 6, 3, dilation=dilation)
    y = m(torch.rand(1, 5, 20, 17))
    assert y.shape == (1, 6, 20, 17)
    assert (y >= 0).all()  # ends with ReLU
    # conv without bias + affine instance norm
    assert blocks.count_parameters(m) == 5 * 9 * 6 + 2 * 6


def test_aspp_branches_and_output_channels():
    a = blocks.ASPP(10, 4, (1, 2, 4, 8))
    assert a.out_channels == 16
    assert [b[1].dilation for b in a.branches] == [(1, 1), (2, 2), (4, 4), (8, 8)]
    assert a(torch.rand(1, 10, 19, 21)).shape == (1, 16, 19, 21)
    assert blocks.count_parameters(a) == 4 * (10 * 9 * 4 + 2 * 4)
    with pytest.raises(ValueError):
        blocks.ASPP(10, 4, ())


def test_laplacian_hand_values():
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 1.0
    lap = blocks.laplacian(x)[0, 0]
    assert lap[2, 2] == -4
    assert lap[1, 2] == lap[3, 2] == lap[2, 1] == lap[2, 3] == 1
    assert lap[0, 0] == 0 and lap.sum() == 0
    # constant image: no edges, also at the border (replicate padding)
    assert torch.all(blocks.laplacian(torch.full((2, 3, 4, 6), 7.0)) == 0)
    # x^2 along columns has second difference 2 in the interior
    ramp = torch.arange(6.0).pow(2).expand(1, 1, 4, 6)
    assert torch.allclose(blocks.laplacian(ramp)[0, 0, :, 1:-1], torch.full((4, 4), 2.0))
    assert blocks.Laplacian()(x).shape == x.shape
    with pytest.raises(ValueError, match="B, C, H, W"):
        blocks.laplacian(torch.zeros(5, 5))


def test_processing_shape():
    assert optim.processing_shape((321, 481), 0) == (321, 481)
    assert optim.processing_shape((321, 481), None) == (321, 481)
    assert optim.processing_shape((100, 50), 320) == (100, 50)  # never enlarged
    assert optim.processing_shape((321, 481), 240) == (160, 240)


def test_resolve_precision():
    assert optim.resolve_precision("fp32", "cpu") is None
    assert optim.resolve_precision("bf16", "cpu") is torch.bfloat16
    auto = optim.resolve_precision("auto", "cpu")
    assert auto is (torch.bfloat16 if optim.cpu_supports_bf16() else None)
    with pytest.raises(ValueError, match="precision must be one of"):
        optim.resolve_precision("fp16", "cpu")


def test_image_to_tensor_layout():
    img = np.random.default_rng(0).random((6, 7, 3)).astype(np.float32)
    t = optim.image_to_tensor(img, "cpu")
    assert t.shape == (1, 3, 6, 7) and t.is_contiguous(memory_format=torch.channels_last)
    assert np.array_equal(t[0].permute(1, 2, 0).numpy(), img)
    with pytest.raises(ValueError):
        optim.image_to_tensor(img[..., 0], "cpu")


def test_seed_everything_repeats_initialisation():
    optim.seed_everything(3)
    a = torch.nn.Conv2d(2, 2, 3).weight.detach().clone()
    optim.seed_everything(3)
    b = torch.nn.Conv2d(2, 2, 3).weight.detach().clone()
    optim.seed_everything(4)
    c = torch.nn.Conv2d(2, 2, 3).weight.detach().clone()
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_run_loop_progress_stop_and_history():
    events = []
    calls = []

    def step(it):
        calls.append(it)
        return optim.StepOutcome(loss=10.0 - it, n_labels=5 - it, stop=it == 2)

    res = optim.run_loop(step, 10, Progress(events.append))
    assert calls == [0, 1, 2]
    assert res.loss_history == [10.0, 9.0, 8.0] and res.n_iter == 3 and res.stopped_early
    assert events[0].step == 0 and events[0].total == 10
    assert [e.step for e in events[1:]] == [1, 2, 3]
    assert events[-1].stage == "iterate" and events[-1].info == {"loss": 8.0, "n_labels": 3}


def test_run_loop_cancel():
    def cb(ev):
        if ev.step >= 2:
            raise Cancelled("stop")

    ran = []

    def step(it):
        ran.append(it)
        return optim.StepOutcome(1.0)

    with pytest.raises(Cancelled):
        optim.run_loop(step, 100, Progress(cb))
    assert ran == [0, 1]


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("channels_last", [False, True])
def test_instance_norm_equals_torch_and_keeps_layout(batch, channels_last):
    from napari_deepsuperpixel.nn.blocks import InstanceNorm2d

    torch.manual_seed(0)
    ours, ref = InstanceNorm2d(6, affine=True), torch.nn.InstanceNorm2d(6, affine=True)
    with torch.no_grad():
        for m in (ours, ref):
            m.weight.copy_(torch.linspace(0.5, 2, 6))
            m.bias.copy_(torch.linspace(-1, 1, 6))
    x = 3 * torch.randn(batch, 6, 9, 7) + 2
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    outs, grads = [], []
    for m in (ours, ref):
        xi = x.clone().requires_grad_()
        y = m(xi)
        (y * torch.arange(y.numel()).reshape(y.shape).sin()).sum().backward()
        outs.append(y)
        grads.append((xi.grad, m.weight.grad))
    assert torch.allclose(outs[0], outs[1], atol=1e-5)
    assert torch.allclose(grads[0][0], grads[1][0], atol=1e-5)
    assert torch.allclose(grads[0][1], grads[1][1], atol=1e-4)
    if channels_last and batch == 1:
        assert outs[0].is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("cancel_at", ["forward", "backward"])
def test_cancel_points_stop_inside_forward_or_backward(cancel_at):
    # a Cancel pressed during an iteration must act inside it (the paper networks take seconds
    # to a minute per iteration on a CPU)
    torch.manual_seed(0)
    net = torch.nn.Sequential(*[torch.nn.Linear(8, 8) for _ in range(8)])
    x = torch.randn(4, 8)
    state = {"phase": "forward", "forward_done": False, "backward_done": False}

    def check():
        if state["phase"] == cancel_at:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        with optim.cancel_points(check, interval=0.0):
            loss = net(x).square().mean()
            state["forward_done"] = True
            state["phase"] = "backward"
            loss.backward()
            state["backward_done"] = True
    assert not state["backward_done"]
    assert state["forward_done"] == (cancel_at == "backward")
    assert optim.cancel_points(None) is not None  # no check: a no-op context


def test_run_loop_polls_cancel_inside_the_step():
    torch.manual_seed(0)
    net = torch.nn.Sequential(*[torch.nn.Linear(8, 8) for _ in range(4)])
    x = torch.randn(4, 8)
    cancel = {"now": False}
    ran = []

    def step(it):
        ran.append(it)
        cancel["now"] = True  # pressed while the forward pass starts
        net(x).square().mean().backward()
        ran.append("backward done")
        return optim.StepOutcome(1.0)

    with pytest.raises(Cancelled):
        optim.run_loop(step, 5, Progress(cancel_check=lambda: cancel["now"]))
    assert ran == [0]


def test_cancel_points_polls_at_most_once_per_interval():
    calls = []
    x = torch.randn(3, requires_grad=True)
    with optim.cancel_points(lambda: calls.append(1), interval=3600):
        y = (x * x).exp().sum()
    y.backward()
    assert calls == [1]
