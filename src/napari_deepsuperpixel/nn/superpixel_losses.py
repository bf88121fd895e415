"""The losses of neural superpixels (Eliasof, Ben Zikri & Treister, ICIP 2022, Eq. 4-8).

RIM clustering (Eq. 4), smoothness (Eq. 5), their fused form with a
hand-written gradient (:func:`clustering_loss`), the soft superpixelated image
(Eq. 6), reconstruction (Eq. 7) and the Laplacian-edge KL loss (Eq. 8). Used by
:func:`napari_deepsuperpixel.methods.neural_superpixels.run_neural_superpixels`;
importing this module imports torch.
"""

from __future__ import annotations

import torch


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
        # one pass: the per-channel constant plus the scaled log-probabilities (the layout of logp)
        g = torch.add(((lam / (b * hw)) * (logm + 1.0))[..., None, None].expand_as(p), logp,
                      alpha=-1.0 / (b * hw))
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
        if getattr(ctx, "used", False):
            raise RuntimeError("ClusteringLoss: backward ran twice through the same graph (its gradient "
                               "buffer is reused in place); recompute the loss instead of retain_graph=True")
        ctx.used = True
        if grad_loss is None and grad_prob is None:
            return None, None, None, None, None
        # in place where the values are bitwise those of the out-of-place expression
        # p * (total - sum_n p total): g is not used again (a second backward through
        # this graph needs retain_graph, which the runner never asks for)
        if grad_loss is None:
            total = grad_prob.clone()
        else:
            # the loss is a term of a sum: its gradient is exactly 1 and g * 1 == g
            total = g if bool(grad_loss == 1) else g * grad_loss
            if grad_prob is not None:
                total = total.add_(grad_prob)
        total.sub_((p * total).sum(1, keepdim=True))
        return total.mul_(p), None, None, None, None




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
    wx, wy = weights if weights is not None else edge_weights(image.detach(), sigma)
    wx, wy = wx.detach().to(logits.dtype), wy.detach().to(logits.dtype)
    return ClusteringLoss.apply(logits, wx, wy, float(lam), float(alpha))


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
    """Log of the Laplacian edge distribution of a ``(B, C, H, W)`` tensor.

    The log-softmax of the 3x3 Laplacian over all pixels of a channel:
    ``(B, C, H*W)`` log-probabilities, ``exp`` of each row sums to 1.
    """
    from .blocks import laplacian

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
    """Eq. 8: ``KL(E_I, E_I~) + KL(E_I, E_I^P)``, a scalar (the second term only when ``soft`` is given).

    The arguments are those of :func:`reconstruction_loss`.
    """
    e_img = edge_log_distribution(image)
    loss = kl_divergence(e_img, edge_log_distribution(recon))
    if soft is not None:
        loss = loss + kl_divergence(e_img, edge_log_distribution(soft))
    return loss
