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
    "fast": {"n_filters": 8, "aspp_channels": 16, "max_iter": 200, "max_side": 160,
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


# --------------------------------------------------------------------------- losses


def rim_loss(logits, lam: float = 2.0):
    """RIM clustering loss (Eq. 4): mean pixel entropy minus ``lam`` x entropy of the mean assignment.

    Parameters
    ----------
    logits : torch.Tensor
        ``(B, N, H, W)`` assignment logits (softmax over N gives ``P``).
    lam : float
        ``lambda``.

    Returns
    -------
    torch.Tensor
        Scalar ``mean_ij H(P_ij) - lam * H(mean_ij P_ij)`` (natural logarithms),
        in ``[-lam log N, log N]``.

    References
    ----------
    .. [1] Eliasof et al., ICIP 2022, Eq. 4; Suzuki, ICASSP 2020, Eq. 2.
    """
    import torch

    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    logp = logits.log_softmax(1)
    p = logp.exp()
    pixel_entropy = -(p * logp).sum(1).mean()
    marginal = p.mean((2, 3))
    marginal_entropy = -(marginal * torch.log(marginal.clamp_min(1e-16))).sum(1).mean()
    return pixel_entropy - lam * marginal_entropy


def smoothness_loss(prob, image, sigma: float = 8.0):
    """Edge-aware smoothness (Eq. 5): L1 of assignment differences weighted by ``exp(-|dI|^2 / sigma)``.

    Parameters
    ----------
    prob : torch.Tensor
        ``(B, N, H, W)`` assignment probabilities.
    image : torch.Tensor
        ``(B, C, H, W)`` image (standardised channels).
    sigma : float

    Returns
    -------
    torch.Tensor
        Scalar: mean over the horizontal neighbour pairs plus mean over the
        vertical ones.
    """
    dpx = (prob[..., :, 1:] - prob[..., :, :-1]).abs().sum(1)
    dpy = (prob[..., 1:, :] - prob[..., :-1, :]).abs().sum(1)
    wx, wy = edge_weights(image, sigma)
    return (dpx * wx).mean() + (dpy * wy).mean()


def edge_weights(image, sigma: float = 8.0):
    """The smoothness weights ``exp(-|dI|^2 / sigma)`` of horizontal and vertical neighbour pairs.

    Parameters
    ----------
    image : torch.Tensor
        ``(B, C, H, W)``.
    sigma : float

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        ``(B, H, W-1)`` and ``(B, H-1, W)``.
    """
    wx = (-(image[..., :, 1:] - image[..., :, :-1]).pow(2).sum(1) / sigma).exp()
    wy = (-(image[..., 1:, :] - image[..., :-1, :]).pow(2).sum(1) / sigma).exp()
    return wx, wy


def _clustering_function():
    """Build (once) the autograd Function behind :func:`clustering_loss`."""
    import torch

    class ClusteringLoss(torch.autograd.Function):
        """RIM loss + ``alpha`` x smoothness of ``softmax(logits)``, with a hand-written gradient.

        Forward returns ``(loss, prob)``; ``prob`` may be used further (the soft
        superpixelated image) and its incoming gradient is added to the
        loss's gradient with respect to ``prob`` before the single softmax
        Jacobian product ``dz = p * (g - sum_n p g)``.
        """

        @staticmethod
        def forward(ctx, logits, wx, wy, lam, alpha):
            ctx.set_materialize_grads(False)
            b, _, h, w = logits.shape
            hw = h * w
            logp = logits.log_softmax(1)
            p = logp.exp()
            neg_entropy = (p * logp).sum()  # sum_ij sum_n p log p = -sum_ij H(P_ij)
            m = p.mean((2, 3))  # (B, N) mean assignment
            logm = m.clamp_min(1e-16).log()
            loss = -neg_entropy / (b * hw) + lam * (m * logm).sum() / b
            # dL/dp of the marginal-entropy term, then of the pixel-entropy term (the "+1"
            # of d(p log p)/dp is constant over n and cancels in the softmax Jacobian)
            g = torch.empty_like(p)  # the layout of p (channels-last or not)
            g.copy_(((lam / (b * hw)) * (logm + 1.0))[..., None, None].expand_as(p))
            g.add_(logp, alpha=-1.0 / (b * hw))
            del logp
            for dim, wgt in ((3, wx), (2, wy)):
                n_pairs = wgt.numel()
                if n_pairs == 0:
                    continue  # a single row/column has no pairs along this axis
                lo = p.narrow(dim, 0, p.shape[dim] - 1)
                hi = p.narrow(dim, 1, p.shape[dim] - 1)
                d = hi - lo
                loss = loss + alpha * (d.abs().sum(1) * wgt).sum() / n_pairs
                d.sign_().mul_(wgt[:, None] * (alpha / n_pairs))  # d|hi - lo| / d hi, weighted
                g.narrow(dim, 1, p.shape[dim] - 1).add_(d)
                g.narrow(dim, 0, p.shape[dim] - 1).sub_(d)
                del d
            ctx.save_for_backward(p, g)
            return loss, p

        @staticmethod
        def backward(ctx, grad_loss, grad_prob):
            p, g = ctx.saved_tensors
            if grad_loss is None and grad_prob is None:
                return None, None, None, None, None
            if grad_loss is None:
                total = grad_prob
            else:
                total = g * grad_loss
                if grad_prob is not None:
                    total = total + grad_prob
            dz = p * (total - (p * total).sum(1, keepdim=True))
            return dz, None, None, None, None

    return ClusteringLoss


_CLUSTERING = None


def clustering_loss(logits, image, lam: float = 2.0, alpha: float = 2.0, sigma: float = 8.0, *,
                    weights=None):
    """``rim_loss(logits, lam) + alpha * smoothness_loss(softmax(logits), image, sigma)``, fused.

    The same values and gradients as composing :func:`rim_loss` and
    :func:`smoothness_loss` under autograd (tested), computed from a single
    softmax with a hand-written gradient: about half the time and memory of
    the composition, whose cost is O(H W N) and dominates an iteration when
    ``N`` is large (measured 0.90 -> 0.49 s for N = 800 at 160 x 107 px on one
    CPU thread; see docs/methods/neural_superpixels.md).

    Parameters
    ----------
    logits : torch.Tensor
        ``(B, N, H, W)`` assignment logits (float32 or float64).
    image : torch.Tensor
        ``(B, C, H, W)`` image for the smoothness weights (no gradient flows to it).
    lam, alpha, sigma : float
    weights : (torch.Tensor, torch.Tensor), optional
        ``edge_weights(image, sigma)`` computed beforehand (the image does not
        change during an optimisation); ``image`` and ``sigma`` are then unused.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        The scalar loss and the assignment probabilities ``P = softmax(logits)``
        (differentiable: a loss on ``P`` adds to the gradient of ``logits``).
    """
    global _CLUSTERING
    if _CLUSTERING is None:
        _CLUSTERING = _clustering_function()
    wx, wy = weights if weights is not None else edge_weights(image.detach(), sigma)
    wx, wy = wx.detach().to(logits.dtype), wy.detach().to(logits.dtype)
    return _CLUSTERING.apply(logits, wx, wy, float(lam), float(alpha))


def soft_superpixel_image(prob, image):
    """The soft superpixelated image ``I^P`` (Eq. 2, read as intended).

    ``mu_s = sum_hw P_hws I_hw / sum_hw P_hws`` and ``I^P_ij = sum_s P_ijs mu_s``.

    Parameters
    ----------
    prob : torch.Tensor
        ``(B, N, H, W)`` assignment probabilities.
    image : torch.Tensor
        ``(B, C, H, W)``.

    Returns
    -------
    torch.Tensor
        ``(B, C, H, W)``, differentiable with respect to ``prob``.
    """
    b, n, h, w = prob.shape
    pf = prob.reshape(b, n, h * w)
    imf = image.reshape(b, image.shape[1], h * w)
    mass = pf.sum(2).clamp_min(1e-8)  # (B, N)
    mu = (pf @ imf.transpose(1, 2)) / mass[..., None]  # (B, N, C)
    return (mu.transpose(1, 2) @ pf).reshape(b, image.shape[1], h, w)


def reconstruction_loss(image, recon, soft=None):
    """Eq. 7 (Eq. 6 when ``soft`` is None): mean squared errors of ``recon`` and ``soft`` to ``image``.

    Parameters
    ----------
    image, recon : torch.Tensor
        ``(B, C, H, W)``.
    soft : torch.Tensor, optional
        The soft superpixelated image ``I^P``.

    Returns
    -------
    torch.Tensor
        ``(sum |I - I~|^2 + sum |I - I^P|^2) / (C H W)`` (per batch element, averaged).
    """
    loss = (image - recon).pow(2).mean()
    if soft is not None:
        loss = loss + (image - soft).pow(2).mean()
    return loss


def edge_log_distribution(x):
    """Log of the Laplacian edge distribution: log-softmax of the 3x3 Laplacian over all pixels of a channel.

    Parameters
    ----------
    x : torch.Tensor
        ``(B, C, H, W)``.

    Returns
    -------
    torch.Tensor
        ``(B, C, H*W)`` log-probabilities; ``exp`` of each row sums to 1.
    """
    from ..nn.blocks import laplacian

    lap = laplacian(x.float())
    return lap.flatten(2).log_softmax(-1)


def kl_divergence(logp, logq):
    """``KL(p || q) = sum p (log p - log q)`` over the last axis, averaged over the others.

    Parameters
    ----------
    logp, logq : torch.Tensor
        Log-probabilities of the same shape (each row a distribution).

    Returns
    -------
    torch.Tensor
        Scalar >= 0 (0 iff the distributions are equal).
    """
    return (logp.exp() * (logp - logq)).sum(-1).mean()


def edge_loss(image, recon, soft=None):
    """Eq. 8: ``KL(E_I, E_I~) + KL(E_I, E_I^P)`` (the second term only when ``soft`` is given).

    Parameters
    ----------
    image, recon : torch.Tensor
        ``(B, C, H, W)``.
    soft : torch.Tensor, optional
        The soft superpixelated image.

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    e_img = edge_log_distribution(image)
    loss = kl_divergence(e_img, edge_log_distribution(recon))
    if soft is not None:
        loss = loss + kl_divergence(e_img, edge_log_distribution(soft))
    return loss


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

    Parameters
    ----------
    image : (Y, X, C) float32 array
        Prepared channels in [0, 1] (any number of channels).
    params : NeuralSuperpixelsParams
        ``None`` fields take the preset's values.
    seed : int
        Seeds the initialisation; the same seed gives the same labels on CPU.
    device : str or torch.device
    progress : callable, optional
        ``progress(it, total, stage="iterate", loss=..., n_labels=...)`` each
        iteration; raising :class:`~napari_deepsuperpixel.Cancelled` stops the run.

    Returns
    -------
    Result
        ``labels`` int32 ``1..M``, each 4-connected (a disconnected superpixel becomes several segments, so ``M`` can exceed ``N`` when few iterations ran)
        (``result.connected`` is True). ``extras``: ``loss_history``,
        ``n_iter``, ``seconds_per_iter``, ``resolved_params``.

    References
    ----------
    .. [1] M. Eliasof, N. Ben Zikri, E. Treister, "Rethinking unsupervised
       neural superpixel segmentation", ICIP 2022.
    .. [2] T. Suzuki, ICASSP 2020 (RIM superpixels).
    """
    import torch

    from ..nn.optim import (StepOutcome, autocast, deterministic, image_to_tensor, processing_shape,
                            resize_tensor, resolve_precision, run_device, run_loop, seed_everything,
                            single_image)
    from ..postprocess import enforce_connectivity

    p = resolve_preset(params, NEURAL_SP_PRESETS, "neural_superpixels")
    img = single_image(image, "neural_superpixels")
    ny, nx, nc = img.shape
    n_sp = int(p.n_segments)
    if n_sp > ny * nx:
        raise ValueError(f"n_superpixels={n_sp} exceeds the number of pixels ({ny * nx}); ask for fewer")
    dev = run_device(device)
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
            n_labels = (torch.bincount(logits.argmax(1).flatten(), minlength=n_sp) > 0).sum()
        vals = torch.stack([loss.detach(), n_labels.float()]).tolist()  # one host sync per iteration
        return StepOutcome(vals[0], int(vals[1]), False)

    with deterministic(dev):
        loop = run_loop(step, int(p.max_iter), progress)
        with torch.no_grad(), autocast(dev, amp):
            logits, _ = net(x)
        logits = resize_tensor(logits.float(), (ny, nx), "bilinear")
        hard = logits.argmax(1)[0].cpu().numpy()

    min_size = p.min_size if p.min_size is not None else int(0.06 * ny * nx / n_sp)
    labels = enforce_connectivity(hard, min_size=min_size, features=img)
    return Result(labels, {
        "loss_history": loop.loss_history,
        "n_iter": loop.n_iter,
        "seconds_per_iter": loop.seconds_per_iter,
        "resolved_params": dataclasses.asdict(p),
    }, connected=True)
