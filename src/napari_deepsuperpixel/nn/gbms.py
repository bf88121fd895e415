"""Recurrent Gaussian-blurring mean shift on the unit sphere (SEN, Sec. IV).

Gaur & Manjunath's clustering module moves every embedding to the
kernel-weighted mean of all embeddings of the image (Eq. 6,
``X <- X K Q^-1``) with a von Mises-Fisher kernel
``K = C_kappa exp(kappa X^T X)`` whose bandwidth ``kappa`` is learned, and
recomputes the kernel after each iteration (GBMS).

Tractability (our choice, the paper does not say how it handles it)
--------------------------------------------------------------------
The ``N x N`` kernel of a full image (``N = 154,401`` for BSDS500) needs
95 GB in float32, so the kernel is evaluated between all ``N`` pixels and
``M`` *anchor* pixels (default 1024) only: at every iteration each pixel
moves to the kernel-weighted mean of the anchors' current embeddings,

``x_j <- normalize( sum_a k(x_j, x_a) x_a / sum_a k(x_j, x_a) )``,

and the anchors, being pixels themselves, move by the same rule. Because
the anchors are a uniform sample of the image's pixels, the anchor sum is a
Monte-Carlo estimate (up to the common factor ``N / M``, which cancels in
the ratio) of the full sum over all pixels, so this is GBMS on the whole
image with a sampled density estimate; with ``M = N`` it is exactly Eq. 6.
The cost is ``O(N M D)`` per iteration. Training samples the anchors at
random; inference uses a regular grid so that results are deterministic.

The normaliser ``C_kappa`` cancels in ``K Q^-1``; we evaluate
``exp(kappa (x^T y - 1))`` (same ratio, no overflow). After each step the
means are projected back onto the sphere (L2-normalised), so the
embeddings stay comparable by cosine distance (Eq. 2) and the loss can be
applied after every iteration (the paper accumulates it over the unrolled
iterations).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .blocks import l2_normalize

__all__ = ["GBMS", "gbms_step", "grid_anchor_index"]


def gbms_step(x: torch.Tensor, anchors: torch.Tensor, kappa, *,
              chunk: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One blurring mean-shift step of ``x`` towards a von Mises-Fisher-weighted anchor mean.

    Parameters
    ----------
    x : torch.Tensor
        ``(B, N, D)`` unit-norm embeddings to move.
    anchors : torch.Tensor
        ``(B, M, D)`` unit-norm embeddings that define the density (a
        subset of ``x``, or ``x`` itself for exact GBMS).
    kappa : float or torch.Tensor
        vMF concentration (inverse bandwidth), > 0.
    chunk : int, optional
        Process this many rows of ``x`` at a time (bounds the memory of the
        ``N x M`` kernel at inference; use without autograd).

    Returns
    -------
    x_new : torch.Tensor
        ``(B, N, D)`` moved, re-normalised embeddings.
    weights_sum : torch.Tensor
        ``(B, N)`` the degrees ``Q`` (sum of kernel values), for diagnostics.
    """
    if chunk is not None and x.shape[1] > chunk:
        # into preallocated outputs, with one kernel buffer: keeping every chunk's result until a final cat
        # interleaved small kept blocks with a new large kernel per chunk, and glibc's heap grew to ~4 GB on a
        # 2048 x 2048 image (a second call in the same process); this way it stays at the first call's peak
        out, q = torch.empty_like(x), x.new_empty(x.shape[:2])
        kbuf = x.new_empty((x.shape[0], chunk, anchors.shape[1]))  # one kernel buffer for every chunk
        for i in range(0, x.shape[1], chunk):
            n = min(chunk, x.shape[1] - i)
            out[:, i:i + n], q[:, i:i + n] = _kernel_mean(x[:, i:i + n], anchors, kappa, kbuf[:, :n])
        return out, q
    if not torch.is_grad_enabled():  # inference: same arithmetic, in place (about 2x faster on CPU)
        return _kernel_mean(x, anchors, kappa, None)
    sim = torch.bmm(x, anchors.transpose(1, 2))  # (B, N, M) cosine similarities
    k = torch.exp(kappa * (sim - 1.0))
    q = k.sum(dim=2)
    mean = torch.bmm(k, anchors) / q.unsqueeze(-1).clamp_min(1e-30)
    return l2_normalize(mean, dim=-1), q


def _kernel_mean(x, anchors, kappa, buf):
    """The inference step of :func:`gbms_step`, its ``N x M`` kernel written into ``buf`` when given."""
    k = torch.bmm(x, anchors.transpose(1, 2), out=buf) if buf is not None else torch.bmm(x, anchors.transpose(1, 2))
    k.sub_(1.0).mul_(kappa).exp_()
    q = k.sum(dim=2)
    mean = torch.bmm(k, anchors).div_(q.unsqueeze(-1).clamp_min(1e-30))
    return l2_normalize(mean, dim=-1), q


def grid_anchor_index(h: int, w: int, n_anchors: int, device=None) -> torch.Tensor:
    """Flat indices of about ``n_anchors`` pixels on a regular grid of an ``h x w`` image.

    Parameters
    ----------
    h, w : int
        Image size.
    n_anchors : int
        Wanted number of anchors (all pixels if the image is smaller).
    device : torch.device, optional
        Device of the returned tensor.

    Returns
    -------
    torch.Tensor
        1-D ``int64`` flat indices into ``h * w``.
    """
    n = h * w
    if n <= n_anchors:
        return torch.arange(n, device=device)
    step = math.sqrt(n / n_anchors)
    ys = torch.arange(step / 2, h, step, device=device).long().clamp_max(h - 1)
    xs = torch.arange(step / 2, w, step, device=device).long().clamp_max(w - 1)
    return (ys[:, None] * w + xs[None, :]).reshape(-1)


class GBMS(nn.Module):
    """Recurrent GBMS clustering module with a learnable vMF bandwidth.

    Parameters
    ----------
    n_iter : int
        Unrolled mean-shift iterations (the paper does not state its number;
        we use 3 by default).
    kappa : float
        Initial vMF concentration ``kappa`` (learned as ``log kappa`` so it
        stays positive).
    n_anchors : int
        Anchor pixels per image for the sampled kernel (see module notes).

    References
    ----------
    .. [1] U. Gaur and B. S. Manjunath, "Superpixel Embedding Network",
       IEEE TIP 29, 2020, Sec. IV, Eq. 5-6.
    .. [2] M. A. Carreira-Perpinan, "Fast nonparametric clustering with
       Gaussian blurring mean-shift", ICML 2006.
    .. [3] S. Kong and C. Fowlkes, "Recurrent Pixel Embedding for Instance
       Grouping", CVPR 2018.
    """

    def __init__(self, n_iter: int = 3, kappa: float = 10.0, n_anchors: int = 1024):
        super().__init__()
        if n_iter < 0:
            raise ValueError(f"n_iter must be >= 0, got {n_iter}")
        if kappa <= 0:
            raise ValueError(f"kappa must be > 0, got {kappa}")
        self.n_iter = int(n_iter)
        self.n_anchors = int(n_anchors)
        self.log_kappa = nn.Parameter(torch.tensor(float(math.log(kappa))))

    @property
    def kappa(self) -> torch.Tensor:
        """The current bandwidth ``kappa = exp(log_kappa)``."""
        return self.log_kappa.exp()

    def forward(self, emb: torch.Tensor, *, generator: torch.Generator | None = None,
                n_iter: int | None = None, n_anchors: int | None = None) -> list[torch.Tensor]:
        """Run the unrolled iterations.

        Parameters
        ----------
        emb : torch.Tensor
            ``(B, D, H, W)`` unit-norm embeddings.
        generator : torch.Generator, optional
            Draws random anchors (training). Without it the anchors lie on a
            regular grid (deterministic inference).
        n_iter : int, optional
            Override the number of iterations.
        n_anchors : int, optional
            Override the number of anchors (training uses fewer per crop).

        Returns
        -------
        list of torch.Tensor
            The ``(B, D, H, W)`` embeddings after each iteration (the input
            is not included).
        """
        b, d, h, w = emb.shape
        x = emb.flatten(2).transpose(1, 2)  # (B, N, D)
        n = h * w
        m = min(self.n_anchors if n_anchors is None else int(n_anchors), n)
        kappa = self.kappa
        outs = []
        for _ in range(self.n_iter if n_iter is None else n_iter):
            if generator is not None:
                idx = torch.randperm(n, generator=generator)[:m].to(emb.device)
            else:
                idx = grid_anchor_index(h, w, m, device=emb.device)
            chunk = None if torch.is_grad_enabled() else 16384
            x, _ = gbms_step(x, x[:, idx], kappa, chunk=chunk)
            outs.append(x.transpose(1, 2).reshape(b, d, h, w))
        return outs
