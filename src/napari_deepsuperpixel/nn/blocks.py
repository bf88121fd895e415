"""Shared PyTorch layers: convolution blocks, ASPP, a fixed Laplacian filter.

General building blocks for the per-image methods (Kanezaki's backprop
segmentation, Eliasof et al.'s neural superpixels) and usable by any other
network in the package. Importing this module imports torch; import it only
inside a method's runner.

References
----------
.. [1] A. Kanezaki, "Unsupervised image segmentation by backpropagation",
   ICASSP 2018.
.. [2] M. Eliasof, N. Ben Zikri, E. Treister, "Rethinking unsupervised neural
   superpixel segmentation", ICIP 2022.
.. [3] L.-C. Chen, G. Papandreou, F. Schroff, H. Adam, "Rethinking atrous
   convolution for semantic image segmentation", arXiv:1706.05587, 2017.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ConvReLUBN",
    "ConvINReLU",
    "ASPP",
    "Laplacian",
    "laplacian",
    "count_parameters",
    "l2_normalize",
    "pad_to_multiple",
]


class ConvReLUBN(nn.Sequential):
    """``Conv2d -> ReLU -> BatchNorm2d`` (the order of Kanezaki 2018, Sec. 2.1).

    With one image per batch the batch normalisation statistics are taken over
    the pixels of that image, as the paper specifies.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts.
    kernel_size : int
        Odd kernel size (3 in the paper); zero padding keeps the spatial size.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
            nn.ReLU(inplace=True),
            nn.BatchNorm2d(out_channels),
        )


class InstanceNorm2d(nn.InstanceNorm2d):
    """:class:`torch.nn.InstanceNorm2d` (no running statistics) that keeps channels-last tensors fast.

    For a batch of one image, instance normalisation is batch normalisation
    with the batch's statistics (per channel over H x W, biased variance), so
    this module then calls the batch-norm kernel, which works on channels-last
    tensors in place; PyTorch's instance norm reshapes its input to
    ``(1, B*C, H, W)``, a copy per layer and pass for channels-last tensors.
    Batches of several images use PyTorch's instance norm. The parameters
    (``weight``, ``bias``) are the same as the parent's, so checkpoints load
    either way.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4 and x.shape[0] == 1 and not self.track_running_stats:
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        return super().forward(x)


def _reflect_pad_channels_last(x: torch.Tensor, p: int) -> torch.Tensor:
    """Reflection padding by ``p`` on every side, written into a channels-last tensor of ``x``'s dtype.

    The values are those of ``F.pad(x, (p, p, p, p), mode="reflect")``: the
    centre, then the top and bottom rows mirrored, then the left and right
    columns of the padded rows (reflection is separable, so the corners come
    out right). Every copy moves whole pixels (runs of ``C`` values).
    """
    n, c, h, w = x.shape
    out = torch.empty((n, c, h + 2 * p, w + 2 * p), dtype=x.dtype, device=x.device,
                      memory_format=torch.channels_last)
    out[:, :, p:p + h, p:p + w] = x
    out[:, :, :p, p:p + w] = x[:, :, 1:p + 1].flip(2)
    out[:, :, p + h:, p:p + w] = x[:, :, h - 1 - p:h - 1].flip(2)
    out[:, :, :, :p] = out[:, :, :, p + 1:2 * p + 1].flip(3)
    out[:, :, :, p + w:] = out[:, :, :, w - 1:w - 1 + p].flip(3)
    return out


class _ReflectPadChannelsLast(torch.autograd.Function):
    """Reflection padding of a channels-last CPU tensor without PyTorch's layout round trip.

    PyTorch's CPU ``reflection_pad2d`` copies a channels-last input to NCHW,
    pads it and copies the result back (measured: most of the ASPP's forward
    time at the fast preset), and under CPU autocast it also casts a
    bfloat16 input to float32 first, which the following convolution casts
    back. This forward writes the padded tensor directly, in the input's
    dtype. The backward (:func:`_reflect_pad_backward`) copies the centre of
    the gradient and runs PyTorch's ``reflection_pad2d_backward`` only on the
    border blocks, in float32 under autocast as the autocast path does, so
    values and gradients are bitwise those of ``nn.ReflectionPad2d`` followed
    by a convolution (tested).
    """

    @staticmethod
    def forward(ctx, x, p, acc_dtype):
        ctx.p, ctx.acc_dtype = p, acc_dtype
        ctx.in_shape, ctx.in_stride = x.shape, x.stride()
        return _reflect_pad_channels_last(x, p)

    @staticmethod
    def backward(ctx, grad):
        return _reflect_pad_backward(grad, ctx.in_shape, ctx.in_stride, ctx.p, ctx.acc_dtype), None, None


def _pad_backward_block(grad, rows, cols, out_hw, pad, acc_dtype):
    """PyTorch's reflection-pad backward of one block of the padded gradient (rows, cols: slices)."""
    g = grad[:, :, rows, cols].to(acc_dtype)
    like = torch.empty((grad.shape[0], grad.shape[1]) + out_hw, dtype=acc_dtype, device=grad.device)
    like = like.contiguous(memory_format=torch.channels_last)
    return torch.ops.aten.reflection_pad2d_backward(g, like, list(pad)).to(grad.dtype)


def _reflect_pad_backward(grad, in_shape, in_stride, p: int, acc_dtype):
    """Gradient of reflection padding by ``p``, bitwise equal to ``reflection_pad2d_backward``.

    PyTorch's kernel zero-fills the input gradient and adds every padded
    pixel's gradient to its source in row-major order of the padded image
    (here in ``acc_dtype``, float32 under autocast, then cast back). A pixel
    farther than ``p`` from every border has one source: its gradient is the
    centre of ``grad`` (``+ 0.0`` turns a ``-0.0`` into the kernel's ``+0.0``).
    The ``p + 1`` rows at the top and bottom and the ``p + 1`` columns at the
    left and right of the rows between are computed by PyTorch's own kernel on
    those blocks of ``grad``, which visits their sources in the same order.
    Small inputs (``2 p + 2`` pixels or fewer along a side) use the kernel on
    the whole gradient.
    """
    n, c, h, w = in_shape
    if h < 2 * p + 2 or w < 2 * p + 2:
        like = torch.empty_strided(in_shape, in_stride, dtype=acc_dtype, device=grad.device)
        return torch.ops.aten.reflection_pad2d_backward(grad.to(acc_dtype), like, [p] * 4).to(grad.dtype)
    gi = torch.empty(in_shape, dtype=grad.dtype, device=grad.device, memory_format=torch.channels_last)
    torch.add(grad[:, :, p:p + h, p:p + w], 0.0, out=gi)
    whole = slice(None)
    # top and bottom p + 1 rows (all columns): row and column reflections
    gi[:, :, :p + 1] = _pad_backward_block(grad, slice(0, 2 * p + 1), whole, (p + 1, w), (p, p, p, 0), acc_dtype)
    gi[:, :, h - 1 - p:] = _pad_backward_block(grad, slice(h - 1, h + 2 * p), whole, (p + 1, w), (p, p, 0, p),
                                               acc_dtype)
    # left and right p + 1 columns of the rows between: column reflections only
    mid = slice(2 * p + 1, h - 1)  # padded rows of the input rows p + 1 .. h - 2 - p
    if h - 2 - 2 * p > 0:
        gi[:, :, p + 1:h - 1 - p, :p + 1] = _pad_backward_block(grad, mid, slice(0, 2 * p + 1),
                                                                (h - 2 - 2 * p, p + 1), (p, 0, 0, 0), acc_dtype)
        gi[:, :, p + 1:h - 1 - p, w - 1 - p:] = _pad_backward_block(grad, mid, slice(w - 1, w + 2 * p),
                                                                    (h - 2 - 2 * p, p + 1), (0, p, 0, 0),
                                                                    acc_dtype)
    return gi


class ReflectionPad2d(nn.ReflectionPad2d):
    """:class:`torch.nn.ReflectionPad2d` with a fast path for channels-last CPU tensors.

    Meant to be followed by a convolution (as in :class:`ConvINReLU`): for a
    4-D channels-last CPU tensor of at least 8 channels, equal padding on all
    sides and a pad smaller than both sides, the padding is written directly
    in channels-last layout (:class:`_ReflectPadChannelsLast`); under
    bfloat16 CPU autocast the output stays bfloat16 where PyTorch would
    return float32, which the convolution then casts to the same bfloat16
    values. Anything else uses PyTorch's padding. Layout, values and
    gradients of the convolution that follows are the same either way (tested).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.padding[0]
        if (x.dim() == 4 and x.device.type == "cpu" and x.shape[1] >= 8 and len(set(self.padding)) == 1
                and p < min(x.shape[2], x.shape[3]) and x.dtype in (torch.float32, torch.bfloat16)
                and x.is_contiguous(memory_format=torch.channels_last)
                and not x.is_contiguous()):
            # autocast computes the padding (and so its gradient) in float32
            acc = torch.float32 if torch.is_autocast_enabled("cpu") else x.dtype
            return _ReflectPadChannelsLast.apply(x, p, acc)
        return super().forward(x)


class ConvINReLU(nn.Sequential):
    """``ReflectionPad -> Conv2d (no bias) -> InstanceNorm2d (affine) -> ReLU``.

    The "ConvInReLU" block of Suzuki 2020 and Eliasof et al. 2022. The bias is
    omitted because the instance normalisation removes it anyway.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts.
    kernel_size : int
        Odd kernel size (3).
    dilation : int
        Dilation (atrous rate); the reflection padding is ``dilation * (k // 2)``
        so that the spatial size is kept.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, dilation: int = 1):
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        if dilation < 1:
            raise ValueError(f"dilation must be >= 1, got {dilation}")
        pad = dilation * (kernel_size // 2)
        layers: list = []
        if pad:
            layers.append(ReflectionPad2d(pad))
        layers += [
            nn.Conv2d(in_channels, out_channels, kernel_size, dilation=dilation, bias=False),
            InstanceNorm2d(out_channels, affine=True),
            nn.ReLU(inplace=True),
        ]
        super().__init__(*layers)


class ASPP(nn.Module):
    """Atrous spatial pyramid: parallel dilated :class:`ConvINReLU` branches, concatenated.

    Eliasof et al. (2022, Sec. 2.5, Fig. 6) use four 3x3 atrous branches with
    dilations 1, 2, 4, 8 (instead of DeepLabV3's 1x1 branch, rates 6/12/18 and
    image pooling); the projection that follows is left to the caller.

    Parameters
    ----------
    in_channels : int
        Input channels.
    branch_channels : int
        Output channels of each branch; the output has
        ``branch_channels * len(dilations)`` channels.
    dilations : sequence of int
        One branch per dilation rate.
    """

    def __init__(self, in_channels: int, branch_channels: int, dilations: Sequence[int] = (1, 2, 4, 8)):
        super().__init__()
        if len(dilations) == 0:
            raise ValueError("ASPP needs at least one dilation rate")
        self.dilations = tuple(int(d) for d in dilations)
        self.branches = nn.ModuleList(
            [ConvINReLU(in_channels, branch_channels, 3, dilation=d) for d in self.dilations]
        )
        self.out_channels = branch_channels * len(self.dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], dim=1)


def _laplacian_kernel(dtype=torch.float32, device=None) -> torch.Tensor:
    return torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=dtype, device=device)


def laplacian(x: torch.Tensor) -> torch.Tensor:
    """3x3 (4-neighbour) Laplacian of every channel, replicate-padded.

    Parameters
    ----------
    x : torch.Tensor
        ``(B, C, H, W)``.

    Returns
    -------
    torch.Tensor
        ``(B, C, H, W)``: ``x[y-1,x] + x[y+1,x] + x[y,x-1] + x[y,x+1] - 4 x[y,x]``,
        with edge pixels replicated so that a constant image gives 0 everywhere.

    Notes
    -----
    The papers say "a 3x3 Laplacian kernel" without naming it; the standard
    4-neighbour stencil is used. Replicate padding (not zero padding) avoids
    spurious edges along the image border.
    """
    if x.ndim != 4:
        raise ValueError(f"laplacian expects a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    c = x.shape[1]
    k = _laplacian_kernel(x.dtype, x.device).expand(c, 1, 3, 3)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k, groups=c)


class Laplacian(nn.Module):
    """Module form of :func:`laplacian` (no trainable parameters)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return laplacian(x)


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters of ``module``.

    Parameters
    ----------
    module : torch.nn.Module
    trainable_only : bool
        Count only parameters with ``requires_grad``.

    Returns
    -------
    int
    """
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only))


def l2_normalize(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Divide ``x`` by its L2 norm along ``dim`` (norms below ``eps`` count as ``eps``).

    Parameters
    ----------
    x : torch.Tensor
        Any tensor.
    dim : int
        Axis holding the vector components.
    eps : float
        Floor for the norm, so a zero vector stays finite.

    Returns
    -------
    torch.Tensor
        Same shape as ``x``; unit norm along ``dim``.
    """
    return x / x.norm(dim=dim, keepdim=True).clamp_min(eps)


def pad_to_multiple(x: torch.Tensor, multiple: int, minimum: int = 0):
    """Pad a ``(B, C, H, W)`` tensor at the bottom/right to a multiple of ``multiple``.

    Reflection padding is used where it is defined (pad smaller than the
    size); for tiny inputs replication padding fills the rest.

    Parameters
    ----------
    x : torch.Tensor
        ``(B, C, H, W)`` input.
    multiple : int
        The padded height and width are multiples of this.
    minimum : int
        The padded height and width are at least this.

    Returns
    -------
    padded : torch.Tensor
        ``(B, C, H2, W2)``.
    (h, w) : tuple of int
        The original size, for cropping the output back.
    """
    h, w = x.shape[-2:]
    th = max(minimum, -(-h // multiple) * multiple)
    tw = max(minimum, -(-w // multiple) * multiple)
    if min(h, w) < 2:  # a 1-pixel side cannot be reflected
        return F.pad(x, (0, tw - w, 0, th - h), mode="replicate"), (h, w)
    while x.shape[-2] < th or x.shape[-1] < tw:
        # reflection needs pad < size: grow in steps for small inputs
        ph = min(th - x.shape[-2], x.shape[-2] - 1)
        pw = min(tw - x.shape[-1], x.shape[-1] - 1)
        x = F.pad(x, (0, pw, 0, ph), mode="reflect")
    return x, (h, w)
