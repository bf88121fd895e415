"""SuperAE architecture and its Eq. 1 loss (nn/superae.py)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from napari_deepsuperpixel.nn.blocks import pad_to_multiple  # noqa: E402
from napari_deepsuperpixel.nn.superae import (  # noqa: E402
    SuperAE,
    hypercolumn,
    reconstruct,
    superae_loss,
    template_means,
)


def test_architecture_shapes_and_layers():
    torch.manual_seed(0)
    m = SuperAE().eval()
    x = torch.rand(2, 3, 32, 48)
    e1, e2, e3 = m.encode(x)
    assert e1.shape == (2, 64, 32, 48)
    assert e2.shape == (2, 128, 16, 24)  # stride 2 at layer 2
    assert e3.shape == (2, 256, 8, 12)  # and at layer 3
    with torch.no_grad():
        y = m(x)
    assert y.shape == x.shape
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0  # sigmoid output
    convs = [mod for mod in m.modules() if isinstance(mod, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert [c.out_channels for c in convs] == [64, 128, 256, 128, 64, 3]
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert [type(c).__name__ for c in convs[3:5]] == ["ConvTranspose2d"] * 2
    with pytest.raises(ValueError, match="divisible by 4"):
        m(torch.rand(1, 3, 30, 48))


def test_reconstruct_and_hypercolumn_any_size():
    torch.manual_seed(0)
    m = SuperAE().eval()
    x = torch.rand(1, 3, 37, 50)
    with torch.no_grad():
        assert reconstruct(m, x).shape == (1, 3, 37, 50)
        hc = hypercolumn(m, x)
    assert hc.shape == (1, 3 + 64 + 128 + 256, 37, 50)
    assert torch.equal(hc[:, :3], x)  # the image itself is part of the hypercolumn
    xp, size = pad_to_multiple(x, 4)
    assert xp.shape[-2:] == (40, 52) and size == (37, 50)


def test_template_means_eq2():
    x = torch.tensor([[[[0.0, 1.0, 0.5], [0.2, 0.4, 0.9]]]])  # (1, 1, 2, 3)
    t = torch.tensor([[[0, 0, 1], [2, 2, 1]]])
    v = template_means(x, t)
    expect = torch.tensor([[[[0.5, 0.5, 0.7], [0.3, 0.3, 0.7]]]])
    assert torch.allclose(v, expect)
    # ids of different images in a batch are independent
    x2 = torch.cat([x, 1 - x])
    v2 = template_means(x2, torch.cat([t, t]))
    assert torch.allclose(v2[1], 1 - expect[0])


def test_superae_loss_eq1_by_hand():
    x = torch.tensor([[[[0.0, 1.0], [1.0, 1.0]]]])  # one channel, 2x2
    r = torch.tensor([[[[0.5, 0.5], [1.0, 0.0]]]])
    t = torch.tensor([[[0, 0], [1, 1]]])
    # v = [0.5, 0.5 | 1, 1]; mse(x, r) = (0.25 + 0.25 + 0 + 1) / 4; mse(r, v) = (0 + 0 + 0 + 1) / 4
    assert float(superae_loss(x, r, t, lam=0.0)) == pytest.approx(0.375)
    assert float(superae_loss(x, r, t, lam=1.0)) == pytest.approx(0.375 + 0.25)
    assert float(superae_loss(x, r, t, lam=2.0)) == pytest.approx(0.375 + 0.5)
    # perfect piecewise-constant image reconstructed exactly -> zero loss
    xc = template_means(x, t)
    assert float(superae_loss(xc, xc.clone(), t)) == pytest.approx(0.0)


def test_one_training_step_reduces_loss():
    torch.manual_seed(0)
    m = SuperAE()
    x = torch.rand(2, 3, 16, 16)
    t = torch.arange(256).reshape(1, 16, 16).repeat(2, 1, 1) // 64
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = superae_loss(x, m(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    assert np.isfinite(losses).all()
