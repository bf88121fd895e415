"""SuperAE: the superpixel-wise autoencoder of Deep Superpixel Cut (Lin et al., ICPR 2020).

Architecture (paper, Sec. III-A), with the choices the text leaves open:

* encoder: three modules ``3x3 conv -> BatchNorm -> ReLU`` with 64, 128 and
  256 output channels; modules 2 and 3 use stride 2 (padding 1 everywhere);
* decoder: ``3x3 transpose conv (stride 2) -> BN -> ReLU`` with 128 and 64
  channels (layers 4 and 5; padding 1, output padding 1, so each exactly
  doubles the size), then layer 6, a ``3x3`` convolution to 3 channels
  followed by the sigmoid. Layer 6 has *no* BN/ReLU: a ReLU in front of the
  sigmoid would confine the output to [0.5, 1], which cannot reconstruct an
  image in [0, 1];
* input: RGB in [0, 1]. Sizes that are not multiples of 4 are reflect-padded
  by :func:`reconstruct` / :func:`hypercolumn` and cropped back.

Loss (Eq. 1-2): :func:`superae_loss`.

References
----------
.. [1] Q. Lin, W. Zhong, J. Lu, "Deep Superpixel Cut for Unsupervised Image
   Segmentation", ICPR 2020, Sec. III-A, Eq. 1-2, Alg. 1.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import pad_to_multiple

__all__ = ["SuperAE", "superae_loss", "template_means", "hypercolumn", "reconstruct"]


def _block(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _up(cin, cout):
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SuperAE(nn.Module):
    """The SuperAE autoencoder.

    Parameters
    ----------
    in_channels : int
        Input channels (3 for RGB).
    widths : tuple of int
        Encoder widths (paper: 64, 128, 256); the decoder mirrors them.

    Notes
    -----
    ``forward(x)`` takes ``(B, C, H, W)`` with ``H, W`` multiples of 4 and
    returns the reconstruction in [0, 1]; :meth:`encode` returns the three
    encoder feature maps (full, 1/2 and 1/4 resolution).
    """

    def __init__(self, in_channels: int = 3, widths=(64, 128, 256)):
        super().__init__()
        w1, w2, w3 = (int(w) for w in widths)
        self.in_channels = int(in_channels)
        self.widths = (w1, w2, w3)
        self.enc1 = _block(in_channels, w1)
        self.enc2 = _block(w1, w2, stride=2)
        self.enc3 = _block(w2, w3, stride=2)
        self.dec4 = _up(w3, w2)
        self.dec5 = _up(w2, w1)
        self.dec6 = nn.Conv2d(w1, in_channels, 3, padding=1)

    def encode(self, x):
        """Return the encoder outputs ``(e1, e2, e3)`` of layers 1-3."""
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        return e1, e2, e3

    def decode(self, e3):
        """Decoder (layers 4-6 and the sigmoid)."""
        return torch.sigmoid(self.dec6(self.dec5(self.dec4(e3))))

    def forward(self, x):
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"SuperAE needs H and W divisible by 4, got {tuple(x.shape[-2:])}; "
                             "use nn.superae.reconstruct() for arbitrary sizes")
        return self.decode(self.encode(x)[2])

    @property
    def hypercolumn_channels(self) -> int:
        """Channels of :func:`hypercolumn` output (image + the three encoder layers)."""
        return self.in_channels + sum(self.widths)


def reconstruct(model: SuperAE, x):
    """Reconstruct ``(B, C, H, W)`` images in [0, 1] of any size (padded to multiples of 4, then cropped).

    Returns the ``(B, C, H, W)`` reconstruction in [0, 1].
    """
    xp, (h, w) = pad_to_multiple(x, 4)
    return model(xp)[..., :h, :w]


def hypercolumn(model: SuperAE, x):
    """DSC's deep embedding input: image and encoder layers 1-3, upsampled and concatenated.

    Layers 2 and 3 are bilinearly upsampled to the image size (the paper only
    says "upsample").

    Parameters
    ----------
    model : SuperAE
    x : torch.Tensor
        ``(B, C, H, W)`` in [0, 1].

    Returns
    -------
    torch.Tensor
        ``(B, C + 64 + 128 + 256, H, W)``.
    """
    xp, (h, w) = pad_to_multiple(x, 4)
    e1, e2, e3 = model.encode(xp)
    size = xp.shape[-2:]
    e2 = F.interpolate(e2, size=size, mode="bilinear", align_corners=False)
    e3 = F.interpolate(e3, size=size, mode="bilinear", align_corners=False)
    return torch.cat([xp, e1, e2, e3], dim=1)[..., :h, :w]


def template_means(x, template):
    """Per-pixel template mean ``v_{j(i)}`` of Eq. 2.

    Parameters
    ----------
    x : torch.Tensor
        ``(B, C, H, W)`` image.
    template : torch.Tensor
        ``(B, H, W)`` integer labels (any non-negative ids; each image's ids
        are independent).

    Returns
    -------
    torch.Tensor
        ``(B, C, H, W)``: every pixel replaced by the mean of ``x`` over its
        template segment.
    """
    b, c, h, w = x.shape
    if template.shape != (b, h, w):
        raise ValueError(f"template shape {tuple(template.shape)} does not match image {(b, h, w)}")
    t = template.reshape(b, -1).long()
    n = int(t.max()) + 1 if t.numel() else 1
    idx = t + (torch.arange(b, device=t.device) * n)[:, None]  # unique ids per image
    idx = idx.reshape(-1)
    flat = x.permute(0, 2, 3, 1).reshape(-1, c)
    sums = torch.zeros(b * n, c, dtype=x.dtype, device=x.device).index_add_(0, idx, flat)
    cnt = torch.zeros(b * n, dtype=x.dtype, device=x.device).index_add_(0, idx, torch.ones_like(idx, dtype=x.dtype))
    means = sums / cnt.clamp_min(1)[:, None]
    return means[idx].reshape(b, h, w, c).permute(0, 3, 1, 2)


def superae_loss(x, recon, template, lam: float = 1.0):
    """Eq. 1: reconstruction MSE plus the superpixel-template regulariser.

    ``L_r = mean_i ||x_i - x^R_i||^2 + lam * mean_i ||x^R_i - v_{j(i)}||^2``,
    with ``v_j`` the mean of the *input* ``x`` over template segment ``j``
    (Eq. 2 as written). Both terms are averaged over pixels and channels
    instead of summed (the paper's sums), so that ``lam = 1`` weighs them
    equally whatever the crop size and the learning rate 1e-3 of the paper
    is usable.

    Parameters
    ----------
    x : torch.Tensor
        ``(B, C, H, W)`` input in [0, 1].
    recon : torch.Tensor
        ``(B, C, H, W)`` reconstruction.
    template : torch.Tensor
        ``(B, H, W)`` integer over-segmentation labels.
    lam : float
        lambda of Eq. 1 (paper: 1).

    Returns
    -------
    torch.Tensor
        Scalar loss.

    References
    ----------
    .. [1] Lin et al., ICPR 2020, Eq. 1-2.
    """
    mse = F.mse_loss(recon, x)
    if lam == 0:
        return mse
    v = template_means(x, template).detach()
    return mse + lam * F.mse_loss(recon, v)
