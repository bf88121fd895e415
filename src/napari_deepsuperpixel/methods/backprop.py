"""Unsupervised image segmentation by backpropagation (Kanezaki, ICASSP 2018).

A small CNN is trained on the one image being segmented: ``M`` blocks of
``conv 3x3 -> ReLU -> BatchNorm`` with ``p`` channels, a ``1x1`` linear
classifier to ``q`` responses and a batch normalisation of the responses;
the argmax of the normalised responses gives the pixel labels, which are made
uniform inside each fine superpixel by majority vote, and the softmax
(cross-entropy) loss between the responses and these refined labels is
minimised by SGD (Alg. 1). Kim & Kanezaki (2020) replace/complement the
superpixel refinement by a spatial continuity loss (``continuity_weight``).

Choices where the paper is silent or ambiguous (also in docs/methods/backprop.md):

- ``preset="paper"``: ``p = q = 100``, ``M = 2`` (the official demo's default;
  the paper evaluates M = 1..5), ``T = 500`` iterations (paper Sec. 3; the
  official demo uses 1000), SLIC with K = 10000 and compactness 100
  (official demo), SGD lr 0.1 momentum 0.9, fp32.
- Stop rule: stop as soon as the argmax labels (before refinement) take at
  most ``min_labels`` distinct values (the official demo's ``minLabels = 3``;
  the paper has no such rule; 0 disables it).
- Weights use Xavier-uniform initialisation (paper Sec. 2.4; the official
  code keeps PyTorch's default) and zero biases.
- The final labels are the argmax of the responses of one more forward pass
  after the last update (not refined, like the official demo); with
  ``max_side`` the responses are bilinearly upsampled to the full resolution
  before the argmax. They are split into 4-connected
  components ("we extracted connected components as segments", Sec. 3).
- Superpixels are computed from the channels in their true order (RGB); the
  official demo passes OpenCV's BGR array to SLIC, which we do not copy.
- Network input (``input_norm``, ours): the paper's code feeds the channels in
  [0, 1]. On a dark image (fluorescence: most pixels near 0, objects bright)
  every input is positive, the Xavier-initialised first layer's ReLUs are
  mostly off in the background, and the self-training often collapses to
  one label: measured, a synthetic 16-bit image of dim and saturated nuclei
  gave object F1 0.0 / 0.75 / 0.20 (three images) with [0, 1] inputs and
  0.58 / 0.58 / 0.71 with each channel standardised (mean 0, variance 1);
  on 12 DSB2018 fluorescence images mean object F1 0.43 -> 0.50. On 12 BSDS500
  val photographs standardising gave twice the segments (+0.06 PRI and
  boundary F, -0.02 segment AP, +0.28 VI), so ``"auto"`` (default) keeps the
  paper's [0, 1] input for 3 channels (RGB) and standardises any other number
  of channels. The fine superpixels always see the [0, 1] image.
- ``precision="bf16"`` runs the 3x3 trunk under bfloat16 autocast and
  the response layer (1x1 conv + BN) in fp32, so that the argmax does not see
  bf16 rounding ties: 2.7x the official code's speed at the paper settings on a
  CPU with AVX-512 BF16, at a small measured quality cost there (50 BSDS images:
  segment AP 0.092 vs 0.104, PRI -0.03), hence fp32 in the paper preset. The
  fast preset uses ``"auto"`` (bf16 where the CPU or GPU has it natively, fp32
  otherwise): at p = 32 and 320 px, on 20 BSDS500 val images paired against fp32,
  every metric moved inside its 95 % interval (PRI +0.03 +- 0.05, covering
  +0.02 +- 0.03, segment AP 0.113 vs 0.092) and a run took 0.63x the time.
- ``max_iter`` of the fast preset is 150 (was 200): with the bf16 trunk one
  iteration took about 0.66x the fp32 time, not enough for 10 s at 200
  iterations on a 2-core CPU; on 20 BSDS500 val images, 150 against the old fp32
  preset at 200: every metric inside its 95 % interval (PRI +0.04 +- 0.07,
  covering +0.01 +- 0.03, VI +0.06 +- 0.12, segment AP 0.109 vs 0.092).
- The response layer runs as a matrix product on the pixels-by-channels view
  (:func:`flat_head`): the same function as the modules, faster on channels-last
  tensors.
- Final segments (ours, the fast preset; off in the paper preset): the CNN's
  argmax puts object edges where its receptive field still sees the object,
  1-3 pixels out into a dark background, and leaves specks of a few pixels.
  ``icm_passes`` sweeps of iterated conditional modes with a Potts prior
  (:func:`napari_deepsuperpixel.postprocess.icm_refine`: each pixel takes its
  own or a neighbour's segment, whichever mean is nearer, ``icm_beta`` per
  agreeing neighbour) move the edges to the level half-way between the two
  segments, then segments under ``min_size`` pixels join their most similar
  neighbour. Chosen on the 44 DSB2018 fluorescence images (object F1 at IoU
  0.5: 0.504 -> 0.655, Otsu + connected components 0.636) and checked on 20
  BSDS500 val photographs (docs/methods/backprop.md, "Segments of dim nuclei").
- On a CPU with glibc, freed memory stays on the heap during a run
  (:func:`napari_deepsuperpixel.nn.heap.reuse_heap`, switch ``nn.heap.ENABLED``):
  identical results, 0.75x the time per iteration at the fast preset (page faults of fresh allocations).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .._types import Result, param
from ._presets import preset_helper, preset_param, resolve_preset  # noqa: F401  (resolve_preset: used below)

#: values of the preset-controlled parameters; see docs/methods/backprop.md for the
#: measured speed and quality of each
BACKPROP_PRESETS = {
    "paper": {"n_channels": 100, "n_conv": 2, "max_iter": 500, "max_side": 0,
              "precision": "fp32", "patience": 0, "icm_passes": 0, "min_size": 0},
    "fast": {"n_channels": 32, "n_conv": 2, "max_iter": 150, "max_side": 320,
             "precision": "auto", "patience": 20, "icm_passes": 8, "min_size": 32},
}


_ph = preset_helper(BACKPROP_PRESETS)


@dataclass
class BackpropParams:
    """Parameters of Kanezaki's backprop segmentation (ICASSP 2018).

    ``None`` fields take the value of ``preset`` (see :mod:`._presets`).
    """

    preset: str = preset_param(BACKPROP_PRESETS, "Kanezaki 2018")
    n_channels: Optional[int] = param(None, _ph("Feature channels p = q (the maximum number of labels)",
                                                "n_channels"), min=2, max=1024)
    n_conv: Optional[int] = param(None, _ph("Number M of conv3x3-ReLU-BN blocks", "n_conv"), min=1, max=10)
    max_iter: Optional[int] = param(None, _ph("Maximum number of iterations T", "max_iter"), min=1)
    min_labels: int = param(3, "Stop when the number of labels is <= this (0 disables the stop rule)", min=0)
    lr: float = param(0.1, "SGD learning rate", min=0.0)
    momentum: float = param(0.9, "SGD momentum", min=0.0, max=1.0)
    superpixel_method: str = param("slic", "Registry method for the fine superpixels of the refinement "
                                   "step, or 'none' to skip the refinement",
                                   options=("slic", "snic", "felzenszwalb", "quickshift", "watershed", "none"))
    superpixel_count: Optional[int] = param(None, "Number K of fine superpixels (None: 10000, at most "
                                            "a quarter of the pixels)", min=1, aliases=("n_superpixels",))
    superpixel_compactness: float = param(100.0, "Compactness passed to the superpixel method if it has "
                                          "one (CIELAB units for SLIC)", min=0.0, advanced=True)
    input_norm: str = param("auto", "Network input: 'unit' (the channels in [0, 1], as the paper's code), "
                            "'standardize' (each channel to mean 0, variance 1; dark fluorescence images "
                            "no longer collapse to one segment), or 'auto' (unit for 3 channels (RGB), "
                            "standardize otherwise)", options=("auto", "unit", "standardize"), advanced=True)
    continuity_weight: float = param(0.0, "Weight mu of the spatial-continuity loss of Kim & Kanezaki "
                                     "2020 (0 = off)", min=0.0)
    max_side: Optional[int] = param(None, _ph("Process at a resolution whose longer side is at most this "
                                              "many pixels (0 = full resolution)", "max_side"), min=0,
                                    advanced=True)
    precision: Optional[str] = param(None, _ph("Arithmetic: 'fp32', 'bf16' (autocast of the 3x3 trunk; the "
                                               "response layer stays fp32), or 'auto' (bf16 where the "
                                               "hardware has it)", "precision"),
                                     choices=("auto", "fp32", "bf16"), advanced=True)
    patience: Optional[int] = param(None, _ph("Early stop after this many iterations in a row in which "
                                              "fewer than 0.1% of the pixels changed label (0 = off)",
                                              "patience"), min=0, advanced=True)
    icm_passes: Optional[int] = param(None, _ph("Sweeps of a final boundary refinement: each pixel takes its own "
                                                "or a neighbour's segment, whichever mean is nearer its value, "
                                                "with a smoothness prior (0 = off, as the paper)", "icm_passes"),
                                      min=0, max=100)
    icm_beta: float = param(1.0, "Smoothness weight of that refinement (per agreeing neighbour, in units of "
                            "the image's noise)", min=0.0, max=100.0, advanced=True)
    min_size: Optional[int] = param(None, _ph("Merge final segments smaller than this (pixels) into their most "
                                              "similar neighbour (0 = keep every segment, as the paper)",
                                              "min_size"), min=0)


# --------------------------------------------------------------------------- network


def build_network(in_channels: int, n_channels: int = 100, n_conv: int = 2):
    """Kanezaki's network: ``n_conv`` x (conv3x3 -> ReLU -> BN), 1x1 conv, BN.

    Parameters
    ----------
    in_channels : int
        Image channels (3 for RGB; any number for microscopy).
    n_channels : int
        ``p = q``: feature channels and number of responses (maximum labels).
    n_conv : int
        Number ``M`` of convolutional components.

    Returns
    -------
    torch.nn.Sequential
        Maps ``(1, C, H, W)`` to normalised responses ``(1, q, H, W)``.
        Conv weights are Xavier-uniform initialised, biases zero.

    References
    ----------
    .. [1] A. Kanezaki, "Unsupervised image segmentation by backpropagation",
       ICASSP 2018, Sec. 2.1 and 2.3.
    """
    import torch
    from torch import nn

    from ..nn.blocks import ConvReLUBN

    layers = [ConvReLUBN(in_channels, n_channels, 3)]
    layers += [ConvReLUBN(n_channels, n_channels, 3) for _ in range(n_conv - 1)]
    layers += [nn.Conv2d(n_channels, n_channels, 1), nn.BatchNorm2d(n_channels)]
    net = nn.Sequential(*layers)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
            with torch.no_grad():
                m.bias.zero_()
    return net



def flat_head(net, feats):
    """The response layer (1x1 conv + batch norm) of ``net`` on trunk features, as ``(pixels, q)``.

    ``feats`` is the ``(1, p, H, W)`` output of ``net[:-2]``. The 1x1 convolution
    is applied as a matrix product on the pixels-by-channels view of the features
    and the batch normalisation (training mode: statistics over the pixels, as
    ``BatchNorm2d`` on one image) on the ``(pixels, q)`` result, the same function
    as ``net[-2:]`` followed by a permute to pixels-by-channels. Measured (one
    thread, 320 x 214, p = q = 32): PyTorch runs a 1x1 convolution on
    channels-last tensors through its slow reference kernel, and this head made
    an iteration 12 % faster.
    """
    import torch.nn.functional as F

    conv, bn = net[-2], net[-1]
    p = feats.shape[1]
    flat = feats.permute(0, 2, 3, 1).reshape(-1, p)  # a view when feats are channels-last
    z = F.linear(flat, conv.weight.view(conv.out_channels, p), conv.bias)
    return F.batch_norm(z, bn.running_mean, bn.running_var, bn.weight, bn.bias, bn.training, bn.momentum, bn.eps)


def train_step(opt, flat, resp, *, sp, n_sp, state, params, history, continuity):
    """One iteration of Alg. 1 after the forward pass (the 2D and the 3D runner share it).

    The argmax labels of ``flat`` (``(n, q)`` responses, pixels or voxels), refined
    inside the superpixels ``sp`` when given, are the cross-entropy target
    (plus ``continuity_weight * continuity(resp)``); one optimiser step. ``state``
    keeps the previous target and the count of calm iterations for the
    ``patience`` rule, ``history`` the number of labels per iteration.
    """
    import torch
    import torch.nn.functional as F

    from ..nn.optim import StepOutcome

    n, q = flat.shape
    with torch.no_grad():
        lab = flat.max(1).indices  # the argmax (first maximum), faster than argmax(1) here
        target = refine_labels(lab, sp, n_sp, q) if sp is not None else lab
        n_labels = (torch.bincount(lab, minlength=q) > 0).sum()
        changed = (target != state["target"]).sum() if state["target"] is not None else None
    loss = F.cross_entropy(flat, target)
    if params.continuity_weight > 0:
        loss = loss + params.continuity_weight * continuity(resp)
    loss.backward()
    opt.step()
    vals = torch.stack([loss.detach(), n_labels.float()] +
                       ([changed.float()] if changed is not None else [])).tolist()  # one host sync
    nl = int(vals[1])
    state["target"] = target
    if len(vals) > 2 and params.patience:
        state["calm"] = state["calm"] + 1 if vals[2] < 1e-3 * n else 0
    history.append(nl)
    stop = ((params.min_labels > 0 and nl <= params.min_labels)
            or (params.patience > 0 and state["calm"] >= params.patience))
    # no forecast of the stop for the time left: measured on 18 images, the stop came after 22 to
    # 200 iterations, and extrapolating the label count did not predict it (docs/methods/backprop.md)
    return StepOutcome(vals[0], nl, stop)

def resolve_input_norm(input_norm: str, n_channels: int) -> str:
    """``"auto"`` -> ``"unit"`` for 3 channels (RGB photographs: the paper's input), else ``"standardize"``."""
    if input_norm == "auto":
        return "unit" if n_channels == 3 else "standardize"
    return input_norm


def standardize_channels(x):
    """Each channel of a ``(B, C, ...)`` tensor to mean 0 and variance 1 (a constant channel to 0)."""
    import torch

    dims = tuple(range(2, x.ndim))
    centred = x - x.mean(dims, keepdim=True)
    std = x.std(dims, keepdim=True)
    return torch.where(std > 1e-6, centred / std.clamp_min(1e-6), torch.zeros_like(centred))


def continuity_loss(resp):
    """Spatial-continuity loss of Kim & Kanezaki (2020), Eq. 3.

    Mean absolute difference between vertically and between horizontally
    neighbouring response vectors (the two means are added).

    Parameters
    ----------
    resp : torch.Tensor
        ``(B, q, H, W)`` responses.

    Returns
    -------
    torch.Tensor
        Scalar.

    References
    ----------
    .. [1] W. Kim, A. Kanezaki, M. Tanaka, "Unsupervised learning of image
       segmentation based on differentiable feature clustering", IEEE TIP 2020.
    """
    dy = (resp[:, :, 1:, :] - resp[:, :, :-1, :]).abs().mean()
    dx = (resp[:, :, :, 1:] - resp[:, :, :, :-1]).abs().mean()
    return dy + dx


def refine_labels(labels, superpixels, n_superpixels: int, n_classes: int):
    """Majority vote of ``labels`` inside each superpixel (Kanezaki 2018, Sec. 2.2), vectorised.

    Parameters
    ----------
    labels : torch.Tensor of int64
        Flat pixel labels in ``[0, n_classes)``.
    superpixels : torch.Tensor of int64
        Flat superpixel ids in ``[0, n_superpixels)``, same length.
    n_superpixels, n_classes : int

    Returns
    -------
    torch.Tensor of int64
        Every pixel gets the most frequent label of its superpixel; ties go to
        the smallest label (as ``np.argmax`` over the histogram in the official code).
    """
    import torch

    hist = torch.bincount(superpixels * n_classes + labels, minlength=n_superpixels * n_classes)
    winner = hist.view(n_superpixels, n_classes).argmax(1)
    return winner[superpixels]


def superpixel_overrides(method: str, n_superpixels: int, compactness=None) -> dict:
    """The parameters backprop gives its fine superpixel method: the count (role ``"count"``) and ``compactness``.

    Raises
    ------
    ValueError
        ``method`` is ``"backprop"`` or unknown, or refuses the values (naming backprop's parameters).
    """
    from .._types import build_params, params_with_role
    from . import get_method

    if method == "backprop":
        raise ValueError("superpixel_method='backprop' would recurse; choose e.g. 'slic' or 'none'")
    try:
        info = get_method(method)
    except ValueError as e:
        raise ValueError(f"superpixel_method: {e} (or 'none': no refinement)") from None
    kw = {key: int(n_superpixels) for key in params_with_role(info.params_cls, "count")}
    if compactness is not None and "compactness" in {p.name for p in info.parameters}:
        kw["compactness"] = float(compactness)
    try:
        build_params(info.params_cls, method, kw)
    except ValueError as e:  # say which of backprop's parameters carries the refused value
        raise ValueError(f"superpixel_compactness / superpixel_count: {e}") from None
    return kw


def fine_superpixels(image: np.ndarray, method: str, n_superpixels: int, *, compactness=None,
                     seed: int = 0, device="cpu", progress=None) -> np.ndarray:
    """Fine superpixels of a prepared ``(Y, X, C)`` [0, 1] image with any registry method.

    Parameters
    ----------
    image : (Y, X, C) float32 array
        Values in [0, 1]; three channels are treated as RGB.
    method : str
        A registered method name (``"slic"``, ``"snic"``, ``"watershed"``...).
    n_superpixels : int
        Passed as the method's segment-count parameter (role ``"count"``) when
        it has one (otherwise the method's own defaults apply).
    compactness : float, optional
        Passed as ``compactness`` when the method has that parameter.
    seed : int
    device : str or torch.device
        For torch-based superpixel methods.
    progress : callable, optional
        Backprop's progress callback (reports and Cancel are forwarded).

    Returns
    -------
    (Y, X) int64 array
        Superpixel ids ``0..K-1``, each one 4-connected region.
    """
    from .compose import run_method

    kw = superpixel_overrides(method, n_superpixels, compactness)
    res = run_method(image, method, kw, seed=seed, device=device, progress=progress)
    return res.labels.astype(np.int64) - 1


# --------------------------------------------------------------------------- runner


def final_segments(labels, image, params) -> np.ndarray:
    """The segments of the final argmax labels: connected components, then the boundary refinement and merge.

    ``labels``: ``(Y, X)`` or ``(Z, Y, X)`` class labels; ``image``: the prepared
    channels (``(..., C)``, [0, 1]) at the same resolution; ``params``: resolved
    parameters. With ``icm_passes`` the components' boundaries move to the
    image's edges (:func:`napari_deepsuperpixel.postprocess.icm_refine`, with
    ``icm_beta``) and are split into components again; with ``min_size``
    segments smaller than that join their most similar neighbour
    (:func:`napari_deepsuperpixel.postprocess.merge_small_segments`). Both are
    off in the paper preset (docs/methods/backprop.md, "Segments of dim
    nuclei").

    Returns int32 labels ``1..N``, each one connected segment (4- / 6-connected).
    """
    from ..postprocess import snap_to_edges

    return snap_to_edges(labels, image, int(params.icm_passes or 0), float(params.icm_beta),
                         min_size=int(params.min_size or 0))


def run_backprop(image, *, params: BackpropParams, seed: int = 0, device="cpu", progress=None) -> Result:
    """Segment one ``(Y, X, C)`` [0, 1] image with Kanezaki's backprop method.

    The registry runner (signature: see :mod:`napari_deepsuperpixel.methods`)
    on prepared channels in [0, 1] (any number); ``None`` fields of ``params``
    take the preset's values, ``seed`` seeds the network initialisation and the
    fine superpixels. ``progress`` is called each iteration with ``loss`` and
    ``n_labels`` (and forwarded to the fine superpixel method).

    Returns
    -------
    Result
        ``labels``: int32 ``1..N``, one 4-connected segment each,
        ``connected=True``; ``extras``: ``loss_history``, ``n_labels_history``,
        ``n_iter``, ``stopped_early``, ``seconds_per_iter``, ``resolved_params``.

    References
    ----------
    .. [1] A. Kanezaki, "Unsupervised image segmentation by backpropagation",
       ICASSP 2018 (Alg. 1).
    .. [2] W. Kim, A. Kanezaki, M. Tanaka, "Unsupervised learning of image
       segmentation based on differentiable feature clustering", IEEE TIP 2020.
    """
    import torch

    from ..nn.heap import reuse_heap
    from ..nn.optim import (
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
    img = single_image(image, "backprop")
    dev = run_device(device)
    p = resolve_preset(params, BACKPROP_PRESETS, "backprop", dev)
    amp = resolve_precision(p.precision, dev)
    ny, nx = img.shape[:2]
    py, px = processing_shape((ny, nx), p.max_side)
    q = int(p.n_channels)
    seed_everything(seed)

    x_full = image_to_tensor(img, dev)
    x = resize_tensor(x_full, (py, px), "area").contiguous(memory_format=torch.channels_last)
    n_pix = py * px

    sp = None
    n_sp = 0
    if p.superpixel_method and p.superpixel_method.lower() != "none":
        k = p.superpixel_count
        if k is None:
            k = min(10000, max(1, (ny * nx) // 4))
        k = max(1, int(round(k * n_pix / (ny * nx))))  # same superpixel size in original pixels
        small = x[0].permute(1, 2, 0).float().cpu().numpy() if (py, px) != (ny, nx) else img
        sp_np = fine_superpixels(np.clip(small, 0, 1), p.superpixel_method, k,
                                 compactness=p.superpixel_compactness, seed=seed, device=dev,
                                 progress=progress)
        n_sp = int(sp_np.max()) + 1
        sp = torch.from_numpy(sp_np.reshape(-1)).to(dev)

    if resolve_input_norm(p.input_norm, img.shape[-1]) == "standardize":
        x = standardize_channels(x)
    net = build_network(img.shape[-1], q, int(p.n_conv)).to(dev).to(memory_format=torch.channels_last)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=p.lr, momentum=p.momentum)
    state = {"target": None, "calm": 0}
    n_labels_hist: list = []

    trunk = net[:-2]

    def respond(inp):
        # precision "bf16" autocasts the 3x3 trunk only: the response layer (1x1 conv + BN), whose
        # argmax makes the labels, stays fp32 so that bf16 rounding does not create argmax ties
        with autocast(dev, amp):
            feats = trunk(inp)
        return flat_head(net, feats.float())

    def step(it):
        opt.zero_grad(set_to_none=True)
        flat = respond(x)  # run_loop polls a cancel request inside forward and backward
        resp = flat.view(1, py, px, q).permute(0, 3, 1, 2)  # (1, q, H, W), channels-last strides
        return train_step(opt, flat, resp, sp=sp, n_sp=n_sp, state=state, params=p, history=n_labels_hist,
                          continuity=continuity_loss)

    with deterministic(dev), reuse_heap(dev.type == "cpu"):
        loop = run_loop(step, int(p.max_iter), progress, method="backprop", fix="lower lr or momentum",
                        may_stop_early=p.min_labels > 0 or bool(p.patience))
        with torch.no_grad():
            resp = respond(x).view(1, py, px, q).permute(0, 3, 1, 2)
        resp = resize_tensor(resp, (ny, nx), "bilinear")  # no-op at full resolution
        labels = resp.argmax(1)[0].cpu().numpy()

    return Result(final_segments(labels, img, p), {
        "loss_history": loop.loss_history,
        "n_labels_history": n_labels_hist,
        "n_iter": loop.n_iter,
        "stopped_early": loop.stopped_early,
        "seconds_per_iter": loop.seconds_per_iter,
        "resolved_params": dataclasses.asdict(p),
        "preset": p.preset,
    }, connected=True)
