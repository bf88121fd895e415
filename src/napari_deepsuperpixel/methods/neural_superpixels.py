"""Unsupervised neural superpixels (Eliasof, Ben Zikri & Treister, ICIP 2022).

A CNN is optimised on the one image being segmented. Input: the image
channels plus the pixel coordinates (Y, X), each channel standardised to mean
0 and variance 1. Network (Sec. 2.5): four ConvInReLU blocks (32, 64, 128, 256
channels), the Laplacian of the features concatenated to them, an ASPP module
with dilations 1, 2, 4, 8, a projection ConvInReLU and a 1x1 convolution to
``N + C`` channels: ``N`` superpixel assignment logits (softmax -> ``P``) and a
reconstruction ``I~`` of the ``C`` image channels. Losses (Eq. 3-8):
RIM clustering (pixel entropy minus ``lambda`` times the entropy of the mean
assignment), edge-weighted smoothness (``sigma = 8``), reconstruction of the
image by ``I~`` and by the soft superpixelated image ``I^P`` (Eq. 7), and the
KL divergence between Laplacian edge distributions (Eq. 8). Adam, lr 0.01,
1000 iterations. The hard labels are the argmax of ``P``, made connected by
:func:`napari_deepsuperpixel.postprocess.enforce_connectivity`.

Ablation switches (all on = the paper's method):

- all four off (``use_aspp``, ``use_laplacian``, ``use_soft_image_loss``,
  ``use_edge_loss``) = Suzuki's RIM superpixels (ICASSP 2020): four
  ConvInReLU blocks, a 1x1 convolution, instance-normalised logits,
  clustering + smoothness + reconstruction losses;
- only ``use_edge_loss`` on = an edge-aware RIM in the spirit of Yu et al.
  (ICIP 2021): the RIM network with the Laplacian-edge KL between the image
  and its reconstruction (our Eq. 8 loss, not Yu et al.'s exact loss).

Choices where the paper is ambiguous (also in docs/methods/neural_superpixels.md):

- Eq. 2 as printed does not depend on ``(i, j)`` (it is the global image mean).
  We use the evident intent, also what the authors' code computes: the
  superpixel means ``mu_s = sum_hw P_hws I_hw / sum_hw P_hws`` spread back by
  the soft assignment, ``I^P_ij = sum_s P_ijs mu_s``.
- Coefficients: the paper lists "(lambda, alpha, beta) = (2, 2, 10, 1)"; we
  read lambda = 2, alpha = 2, beta = 10, eta = 1.
- Eq. 8: edge maps are the 4-neighbour Laplacian of each (standardised)
  channel followed by a softmax over all pixel positions of that channel (one
  distribution per channel); ``KL(E_I, E)`` = sum_n E_I,n (log E_I,n - log E_n),
  computed with log-softmax (the authors' code passes probabilities where
  PyTorch's ``kl_div`` expects log-probabilities), averaged over channels.
- The reconstruction targets and the smoothness weights use the standardised
  image channels (as Suzuki's and the authors' code), any number of channels.
- ASPP branch and projection widths are not given in the paper; the authors'
  code uses the encoder width. ``aspp_channels`` sets them (paper preset 128).
- The assignment logits are instance-normalised before the softmax (Suzuki's
  ``use_last_inorm``, kept by the authors' code).
- Connectivity: segments smaller than ``0.06 * H * W / N`` pixels are merged
  into their most similar neighbour (Suzuki's minimum size, our own code).
- Count (ours, ``limit_count=True``): the paper's ``N`` is the number of
  assignment channels, the most superpixels the argmax can name, but one
  channel can cover several separate regions, so the connected segments were
  2-3x ``N`` at the CPU preset. After the size merge the smallest segments keep
  merging into their most similar neighbour (mean colour) until at most ``N``
  remain. ``limit_count=False`` is the paper's output.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .._types import Result, param
from ._presets import preset_helper, preset_param, resolve_preset

#: values of the preset-controlled parameters; docs/methods/neural_superpixels.md has
#: their measured speed and quality
NEURAL_SP_PRESETS = {
    "paper": {"n_filters": 32, "aspp_channels": 128, "max_iter": 1000, "max_side": 0,
              "precision": "fp32"},
    "fast": {"n_filters": 8, "aspp_channels": 16, "max_iter": 170, "max_side": 160,
             "precision": "auto"},
}


_ph = preset_helper(NEURAL_SP_PRESETS)


@dataclass
class NeuralSuperpixelsParams:
    """Parameters of Eliasof et al.'s neural superpixels (ICIP 2022).

    ``None`` fields take the value of ``preset`` (see :mod:`._presets`).
    """

    preset: str = preset_param(NEURAL_SP_PRESETS, "Eliasof et al. 2022")
    n_segments: int = param(100, "Maximum number N of superpixels (assignment channels)", min=1,
                            role="count", aliases=("n_superpixels",))
    n_filters: Optional[int] = param(None, _ph("Channels of the first ConvInReLU block (doubled per block)",
                                               "n_filters"), min=1, max=256)
    n_blocks: int = param(4, "Number of ConvInReLU feature blocks", min=1, max=6, advanced=True)
    aspp_channels: Optional[int] = param(None, _ph("Channels of each ASPP branch and of the projection",
                                                   "aspp_channels"), min=1, max=1024, advanced=True)
    max_iter: Optional[int] = param(None, _ph("Number of Adam iterations", "max_iter"), min=1)
    lr: float = param(0.01, "Adam learning rate", min=0.0)
    lam: float = param(2.0, "lambda: weight of the mean-assignment entropy in the RIM loss (Eq. 4)", min=0.0)
    alpha: float = param(2.0, "alpha: weight of the smoothness loss (Eq. 5)", min=0.0)
    beta: float = param(10.0, "beta: weight of the reconstruction loss (Eq. 7)", min=0.0)
    eta: float = param(1.0, "eta: weight of the edge KL loss (Eq. 8)", min=0.0)
    sigma: float = param(8.0, "sigma of the smoothness weights exp(-|dI|^2 / sigma) (Eq. 5)", min=1e-6,
                         advanced=True)
    use_aspp: bool = param(True, "ASPP (dilations 1, 2, 4, 8) + projection head; off = Suzuki's 1x1 head")
    use_laplacian: bool = param(True, "Concatenate the Laplacian of the features")
    use_soft_image_loss: bool = param(True, "Use the soft superpixelated image in the losses (Eq. 7, 8)")
    use_edge_loss: bool = param(True, "Laplacian-edge KL loss (Eq. 8)")
    max_side: Optional[int] = param(None, _ph("Process at a resolution whose longer side is at most this "
                                              "many pixels (0 = full resolution)", "max_side"), min=0,
                                    advanced=True)
    precision: Optional[str] = param(None, _ph("Arithmetic: 'fp32', 'bf16' autocast, or 'auto' (bf16 where "
                                               "the hardware has it)", "precision"),
                                     choices=("auto", "fp32", "bf16"), advanced=True)
    min_size: Optional[int] = param(None, "Merge superpixels smaller than this (pixels) into their most "
                                    "similar neighbour (None: 6% of H*W/N)", min=0,
                                    role="min_size")
    limit_count: bool = param(True, "Then merge the smallest segments into their most similar neighbour "
                              "until at most N remain (ours; off = the paper's argmax and size merge only, "
                              "which can give 2-3x N connected segments)", advanced=True)


# --------------------------------------------------------------------------- network


def build_network(in_channels: int, n_superpixels: int, n_out_image: int, *, n_filters: int = 32,
                  n_blocks: int = 4, aspp_channels: int = 128, use_aspp: bool = True,
                  use_laplacian: bool = True):
    """The network of Eliasof et al. (2022, Sec. 2.5), or Suzuki's RIM network with the switches off.

    Parameters
    ----------
    in_channels : int
        Input channels (image channels + 2 coordinates).
    n_superpixels : int
        Number ``N`` of assignment channels.
    n_out_image : int
        Channels of the reconstruction ``I~`` (the image channels).
    n_filters : int
        Channels of the first block; block ``i`` has ``n_filters * 2**i``.
    n_blocks : int
        Number of ConvInReLU blocks (4).
    aspp_channels : int
        Width of each ASPP branch and of the projection ConvInReLU.
    use_aspp : bool
        ASPP (dilations 1, 2, 4, 8) -> ConvInReLU -> 1x1 conv; off: a 1x1 conv only.
    use_laplacian : bool
        Concatenate the Laplacian of the block features to them.

    Returns
    -------
    torch.nn.Module
        ``forward(x) -> (logits (B, N, H, W), reconstruction (B, n_out_image, H, W))``.

    References
    ----------
    .. [1] M. Eliasof, N. Ben Zikri, E. Treister, ICIP 2022, Sec. 2.5 and Fig. 6.
    .. [2] T. Suzuki, "Superpixel segmentation via convolutional neural networks
       with regularized information maximization", ICASSP 2020.
    """
    import torch
    from torch import nn

    from ..nn.blocks import ASPP, ConvINReLU, InstanceNorm2d, laplacian

    class NeuralSuperpixelNet(nn.Module):
        def __init__(self):
            super().__init__()
            blocks, c = [], in_channels
            for i in range(n_blocks):
                blocks.append(ConvINReLU(c, n_filters << i, 3))
                c = n_filters << i
            self.encoder = nn.Sequential(*blocks)
            self.use_laplacian = use_laplacian
            if use_laplacian:
                c *= 2
            self.n_superpixels = n_superpixels
            n_out = n_superpixels + n_out_image
            if use_aspp:
                aspp = ASPP(c, aspp_channels, (1, 2, 4, 8))
                self.head = nn.Sequential(aspp, ConvINReLU(aspp.out_channels, aspp_channels, 3),
                                          nn.Conv2d(aspp_channels, n_out, 1))
            else:
                self.head = nn.Conv2d(c, n_out, 1)
            self.norm = InstanceNorm2d(n_superpixels, affine=True)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.xavier_normal_(m.weight)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)

        def forward(self, x):
            f = self.encoder(x)
            if self.use_laplacian:
                f = torch.cat([f, laplacian(f)], 1)
            # the N + C output channels go back to NCHW: with N in the hundreds, the normalisation
            # and the per-pixel losses run faster on it than on channels-last (measured)
            out = self.head(f).contiguous()
            logits = self.norm(out[:, : self.n_superpixels])
            return logits, out[:, self.n_superpixels:]

    return NeuralSuperpixelNet()


def standardized_input(image: np.ndarray):
    """Image channels + (Y, X) coordinates, each standardised to mean 0, variance 1.

    Parameters
    ----------
    image : (Y, X, C) array

    Returns
    -------
    (Y, X, C + 2) float32 array
        Constant channels become 0.
    """
    img = np.asarray(image, np.float32)
    ny, nx = img.shape[:2]
    yy, xx = np.mgrid[:ny, :nx].astype(np.float32)
    x = np.concatenate([img, yy[..., None], xx[..., None]], axis=-1).astype(np.float64)
    mean = x.mean((0, 1), keepdims=True)
    std = x.std((0, 1), ddof=1, keepdims=True)
    std = np.where(std > 1e-6 * (1.0 + np.abs(mean)), std, np.inf)  # constant channel -> 0
    return ((x - mean) / std).astype(np.float32)


# --------------------------------------------------------------------------- runner

def run_neural_superpixels(image, *, params: NeuralSuperpixelsParams, seed: int = 0, device="cpu",
                           progress=None) -> Result:
    """Neural superpixels of one ``(Y, X, C)`` [0, 1] image (Eliasof et al. 2022).

    The registry runner (signature: see :mod:`napari_deepsuperpixel.methods`)
    on prepared channels in [0, 1]; ``None`` fields of ``params`` take the
    preset's values and ``seed`` seeds the initialisation. ``progress`` is
    called each iteration with ``loss`` and ``n_labels``.

    Returns
    -------
    Result
        ``labels`` int32 ``1..M``, each 4-connected (a disconnected superpixel
        becomes several segments, so ``M`` can exceed ``N`` when few iterations
        ran), ``connected=True``; ``extras``: ``loss_history``, ``n_iter``,
        ``seconds_per_iter``, ``resolved_params``.

    References
    ----------
    .. [1] M. Eliasof, N. Ben Zikri, E. Treister, "Rethinking unsupervised
       neural superpixel segmentation", ICIP 2022.
    .. [2] T. Suzuki, ICASSP 2020 (RIM superpixels).
    """
    import torch

    from ..nn.heap import reuse_heap
    from ..nn.optim import (
        StepOutcome,
        autocast,
        deterministic,
        image_to_tensor,
        processing_shape,
        resize_tensor,
        resolve_precision,
        run_device,
        run_loop,
        seed_everything,
        single_image,
    )
    from ..nn.superpixel_losses import (
        clustering_loss,
        edge_loss,
        edge_weights,
        reconstruction_loss,
        soft_superpixel_image,
    )
    from ..postprocess import enforce_connectivity

    img = single_image(image, "neural_superpixels")
    ny, nx, nc = img.shape
    dev = run_device(device)
    p = resolve_preset(params, NEURAL_SP_PRESETS, "neural_superpixels", dev)
    n_sp = int(p.n_segments)
    if n_sp > ny * nx:
        raise ValueError(f"n_segments={n_sp} exceeds the number of pixels ({ny * nx}); ask for fewer")
    amp = resolve_precision(p.precision, dev)
    py, px = processing_shape((ny, nx), p.max_side)
    if p.use_aspp and min(py, px) <= 8:
        raise ValueError(
            f"neural_superpixels with use_aspp=True needs at least 9 pixels along Y and X (dilation 8), "
            f"got {py}x{px} (at the processing resolution); use a larger image or max_side, "
            "or use_aspp=False")
    seed_everything(seed)

    small = img
    if (py, px) != (ny, nx):
        t = resize_tensor(torch.from_numpy(img).permute(2, 0, 1)[None], (py, px), "area")
        small = t[0].permute(1, 2, 0).contiguous().numpy()
    # channels-last: oneDNN's convolution backward is several times faster than for NCHW on a CPU
    # (dilated and narrow-input convolutions most), and nn.blocks.InstanceNorm2d keeps the layout
    x = image_to_tensor(standardized_input(small), dev, channels_last=True)
    target = x[:, :nc]  # standardised image channels
    net = build_network(nc + 2, n_sp, nc, n_filters=int(p.n_filters), n_blocks=int(p.n_blocks),
                        aspp_channels=int(p.aspp_channels), use_aspp=p.use_aspp,
                        use_laplacian=p.use_laplacian).to(dev).to(memory_format=torch.channels_last)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=p.lr)

    weights = edge_weights(target, p.sigma)  # constant: computed once, not every iteration

    def step(it):
        opt.zero_grad(set_to_none=True)
        with autocast(dev, amp):
            logits, recon = net(x)
        logits, recon = logits.float(), recon.float()  # run_loop polls cancel inside both passes
        loss, prob = clustering_loss(logits, target, p.lam, p.alpha, p.sigma, weights=weights)  # Eq. 4 + 5
        soft = soft_superpixel_image(prob, target) if p.use_soft_image_loss else None
        if p.beta:
            loss = loss + p.beta * reconstruction_loss(target, recon, soft)
        if p.use_edge_loss and p.eta:
            loss = loss + p.eta * edge_loss(target, recon, soft)
        loss.backward()
        opt.step()
        with torch.no_grad():
            # max(1).indices: the argmax, about 2.5x faster than argmax(1) over NCHW channels here
            n_labels = (torch.bincount(logits.max(1).indices.flatten(), minlength=n_sp) > 0).sum()
        vals = torch.stack([loss.detach(), n_labels.float()]).tolist()  # one host sync per iteration
        return StepOutcome(vals[0], int(vals[1]), False)

    with deterministic(dev):
        with reuse_heap():  # the iterations only: the full-size output below is one block
            loop = run_loop(step, int(p.max_iter), progress, method="neural_superpixels")
        with torch.no_grad(), autocast(dev, amp):
            logits, _ = net(x)
        logits = resize_tensor(logits.float(), (ny, nx), "bilinear")
        hard = logits.max(1).indices[0].cpu().numpy()

    min_size = p.min_size if p.min_size is not None else int(0.06 * ny * nx / n_sp)
    labels = enforce_connectivity(hard, min_size=min_size, features=img,
                                  max_segments=n_sp if p.limit_count else None)
    return Result(labels, {
        "loss_history": loop.loss_history,
        "n_iter": loop.n_iter,
        "seconds_per_iter": loop.seconds_per_iter,
        "resolved_params": dataclasses.asdict(p),
        "preset": p.preset,
    }, connected=True)
