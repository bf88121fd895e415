"""The Superpixel Embedding Network's U-Net (Gaur & Manjunath 2020, Sec. V).

An encoder-decoder with skip connections: 5 downsampling levels (strided
convolutions, channels doubling), 5 upsampling levels ('nearest'
upsampling, concatenation with the encoder features of the same
resolution), batch normalisation, reflection padding, and a 1x1 output
convolution to ``D`` channels that are L2-normalised per pixel.

Any input size is accepted: the image is padded (reflection, bottom/right)
to a multiple of 32 that is at least 64 (so the 1/32 level is at least
2 x 2 and reflection padding is defined there), and the output is cropped
back to the input size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import l2_normalize, pad_to_multiple

__all__ = ["SENUNet"]


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, padding_mode="reflect", bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SENUNet(nn.Module):
    """U-Net producing unit-norm per-pixel embeddings.

    Parameters
    ----------
    in_channels : int
        Input channels (3 for RGB in [0, 1]).
    embedding_dim : int
        ``D``, the embedding size (the paper uses 16).
    base_channels : int
        Channels at full resolution; each of the 5 downsampling levels
        doubles them, capped at ``max_channels``.
    max_channels : int
        Cap on the channel count (keeps the shipped weights a few MB; the
        paper does not state its channel counts).
    depth : int
        Number of down/up levels (the paper uses 5, hence inputs padded to
        multiples of 32).

    Notes
    -----
    Encoder level ``l >= 1``: 3x3 conv with stride 2 (halves the size, the
    paper's "downsample by striding"), BN, ReLU, then 3x3 conv, BN, ReLU.
    Decoder level: 3x3 conv to the channel count of the next finer level,
    BN, ReLU, nearest x2 upsampling, concatenation with the skip features,
    3x3 conv, BN, ReLU. All 3x3 convolutions use reflection padding.

    References
    ----------
    .. [1] U. Gaur and B. S. Manjunath, "Superpixel Embedding Network",
       IEEE Trans. Image Processing 29, 2020, Sec. V.
    .. [2] O. Ronneberger, P. Fischer, T. Brox, "U-Net: Convolutional
       Networks for Biomedical Image Segmentation", MICCAI 2015.
    """

    def __init__(self, in_channels: int = 3, embedding_dim: int = 16, base_channels: int = 16,
                 max_channels: int = 256, depth: int = 5):
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self.depth = depth
        self.in_channels = in_channels
        self.embedding_dim = embedding_dim
        ch = [min(base_channels * 2**i, max_channels) for i in range(depth + 1)]
        self.channels = ch
        self._hp = {"in_channels": in_channels, "embedding_dim": embedding_dim,
                    "base_channels": base_channels, "max_channels": max_channels, "depth": depth}
        self.stem = nn.Sequential(_conv(in_channels, ch[0]), _conv(ch[0], ch[0]))
        self.down = nn.ModuleList(
            nn.Sequential(_conv(ch[i], ch[i + 1], stride=2), _conv(ch[i + 1], ch[i + 1]))
            for i in range(depth)
        )
        self.up_conv = nn.ModuleList(_conv(ch[i + 1], ch[i]) for i in range(depth))
        self.merge = nn.ModuleList(_conv(2 * ch[i], ch[i]) for i in range(depth))
        self.head = nn.Conv2d(ch[0], embedding_dim, 1)

    @property
    def multiple(self) -> int:
        """Input sizes are padded to multiples of this (``2 ** depth``)."""
        return 2**self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed a batch of images.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, C, H, W)`` images, any ``H, W >= 1``.

        Returns
        -------
        torch.Tensor
            ``(B, D, H, W)`` embeddings with unit L2 norm per pixel.
        """
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"SENUNet expects a (B, {self.in_channels}, H, W) tensor, got shape {tuple(x.shape)}"
            )
        x, (h, w) = pad_to_multiple(x, self.multiple, 2 * self.multiple)
        skips = [self.stem(x)]
        for blk in self.down:
            skips.append(blk(skips[-1]))
        y = skips[-1]
        for i in reversed(range(self.depth)):
            y = F.interpolate(self.up_conv[i](y), scale_factor=2, mode="nearest")
            y = self.merge[i](torch.cat([y, skips[i]], dim=1))
        return l2_normalize(self.head(y)[..., :h, :w], dim=1)

    def hyperparameters(self) -> dict:
        """The constructor arguments (stored in checkpoints to rebuild the model)."""
        return dict(self._hp)


class SENNet(nn.Module):
    """The whole Superpixel Embedding Network: :class:`SENUNet` followed by the GBMS module.

    Parameters
    ----------
    embedding_dim, base_channels, max_channels, depth : int
        See :class:`SENUNet`.
    gbms_iter : int
        Unrolled mean-shift iterations (0 disables the clustering module).
    kappa : float
        Initial vMF bandwidth of the clustering module (learned).
    n_anchors : int
        Anchor pixels of the sampled GBMS kernel (see :mod:`.gbms`).

    References
    ----------
    .. [1] U. Gaur and B. S. Manjunath, "Superpixel Embedding Network",
       IEEE TIP 29, 2020, Fig. 5.
    """

    def __init__(self, embedding_dim: int = 16, base_channels: int = 16, max_channels: int = 128,
                 depth: int = 5, gbms_iter: int = 3, kappa: float = 10.0, n_anchors: int = 1024):
        super().__init__()
        from .gbms import GBMS

        self.unet = SENUNet(3, embedding_dim, base_channels, max_channels, depth)
        self.gbms = GBMS(gbms_iter, kappa, n_anchors)
        self._hp = {**self.unet.hyperparameters(), "gbms_iter": int(gbms_iter), "kappa": float(kappa),
                    "n_anchors": int(n_anchors)}
        del self._hp["in_channels"]

    def forward(self, x: torch.Tensor, *, generator=None, clustering: bool = True,
                n_anchors: int | None = None) -> list[torch.Tensor]:
        """Embeddings before and after every GBMS iteration.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, 3, H, W)`` RGB in [0, 1].
        generator : torch.Generator, optional
            Random GBMS anchors (training); grid anchors without it.
        clustering : bool
            Run the GBMS iterations (False: only the U-Net output).
        n_anchors : int, optional
            Anchors of the sampled GBMS kernel (default: the module's).

        Returns
        -------
        list of torch.Tensor
            ``[e_0, e_1, ..., e_T]``, each ``(B, D, H, W)`` unit-norm; the
            last one is the network's final embedding.
        """
        e0 = self.unet(x)
        if not clustering or self.gbms.n_iter == 0:
            return [e0]
        return [e0] + self.gbms(e0, generator=generator, n_anchors=n_anchors)

    def hyperparameters(self) -> dict:
        """Constructor arguments (stored in checkpoints)."""
        return dict(self._hp)
