"""Kanezaki's backprop segmentation of a volume: 3D convolutions, refinement inside 3D supervoxels.

The method of :mod:`.backprop` with every 2D part replaced by its 3D
counterpart, for ``segment(volume, "backprop", mode="3d")``:

- the network is ``n_conv`` x (conv 3x3x3 -> ReLU -> BatchNorm3d), a 1x1x1
  classifier and a BatchNorm3d of the responses (same ``p = q`` channels);
- the refinement votes inside fine **3D supervoxels** of the volume (the
  ``superpixel_method`` must have a volume runner: ``slic`` by default, with
  the physical ``spacing``);
- the continuity loss (``continuity_weight``) adds the mean absolute
  difference along Z to those along Y and X;
- ``max_side`` bounds the number of voxels processed at ``max_side**2`` (the
  pixels of a ``max_side`` x ``max_side`` image): Y and X are scaled down
  together, Z is kept; the responses are upsampled (trilinear) to the full
  volume before the argmax. ``0`` (the paper preset) processes every voxel.

The labels are split into 6-connected components. :func:`estimate_memory`
gives the memory the run needs; a run that would need more than the free
memory is refused before it starts.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._types import Result
from .backprop import (
    BACKPROP_PRESETS,
    BackpropParams,
    final_segments,
    resolve_input_norm,
    standardize_channels,
    superpixel_overrides,
    train_step,
)

#: where Linux reports the memory available to a new allocation
_MEMINFO = "/proc/meminfo"

#: float32 response values upsampled at a time for the final labels (64 MB)
_SLAB_VALUES = 1 << 24

#: activations kept per voxel and channel for the backward pass, per conv block, plus the head
_ACTS_PER_BLOCK, _ACTS_HEAD = 3, 4


def processing_shape_3d(shape: tuple, max_side) -> tuple:
    """The ``(Z, Y, X)`` a volume is processed at: at most ``max_side**2`` voxels, Y and X scaled, Z kept."""
    nz, ny, nx = (int(v) for v in shape)
    if not max_side or nz * ny * nx <= max_side * max_side:
        return nz, ny, nx
    f = float(np.sqrt(max_side * max_side / (nz * ny * nx)))
    return nz, max(2, int(round(ny * f))), max(2, int(round(nx * f)))


def estimate_memory(shape: tuple, n_channels_in: int, params: BackpropParams, device="cpu") -> int:
    """Bytes a 3D backprop run on a ``(Z, Y, X)`` volume needs, about (float32 activations, gradients, inputs).

    Parameters
    ----------
    shape : (int, int, int)
        The volume's ``(Z, Y, X)``.
    n_channels_in : int
        Its channels.
    params : BackpropParams
        ``None`` fields take the preset's values for ``device``.
    device : str

    Returns
    -------
    int
    """
    from ._presets import resolve_preset

    p = resolve_preset(params, BACKPROP_PRESETS, "backprop", device)
    n = int(np.prod(processing_shape_3d(shape, p.max_side)))
    q = int(p.n_channels)
    acts = n * q * (_ACTS_PER_BLOCK * int(p.n_conv) + _ACTS_HEAD) * 4
    full = int(np.prod(shape))
    # + gradients; the input; the labels (int64 argmax, int32 components, the split's work arrays)
    return int(2 * acts + full * (4 * n_channels_in + 24))


def _free_memory() -> int:
    """Bytes available for a new allocation: ``MemAvailable`` (free memory plus the page cache
    the kernel can reclaim), or the free pages where there is no ``/proc/meminfo``; 0 if unknown."""
    import os

    try:
        with open(_MEMINFO) as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # no such query here: no check
        return 0


def build_network_3d(in_channels: int, n_channels: int = 100, n_conv: int = 2):
    """Kanezaki's network in 3D: ``n_conv`` x (conv3x3x3 -> ReLU -> BN3d), 1x1x1 conv, BN3d; Xavier init."""
    import torch
    from torch import nn

    layers = []
    for i in range(n_conv):
        layers += [nn.Conv3d(in_channels if i == 0 else n_channels, n_channels, 3, padding=1),
                   nn.ReLU(inplace=True), nn.BatchNorm3d(n_channels)]
    layers += [nn.Conv3d(n_channels, n_channels, 1), nn.BatchNorm3d(n_channels)]
    net = nn.Sequential(*layers)
    for m in net.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.xavier_uniform_(m.weight)
            with torch.no_grad():
                m.bias.zero_()
    return net


def _full_resolution_argmax(resp, shape) -> np.ndarray:
    """The argmax labels of the ``(1, q, Z, y, x)`` responses at the full ``(Z, Y, X)``, a few slices at a time.

    Z is kept by :func:`processing_shape_3d`, so upsampling slab by slab (bilinear in Y and X)
    is the same as upsampling the whole volume, without its ``q`` full-size float channels.
    """
    import torch.nn.functional as F

    nz, ny, nx = shape
    if tuple(resp.shape[2:]) == (nz, ny, nx):
        return resp.argmax(1)[0].cpu().numpy()
    assert resp.shape[2] == nz
    out = np.empty((nz, ny, nx), np.int64)
    step = max(1, _SLAB_VALUES // (resp.shape[1] * ny * nx))
    for z in range(0, nz, step):
        slab = resp[:, :, z:z + step].transpose(1, 2)[0]  # (slices, q, y, x)
        up = F.interpolate(slab, size=(ny, nx), mode="bilinear", align_corners=False)
        out[z:z + step] = up.argmax(1).cpu().numpy()
    return out


def run_backprop_volume(volume, *, params: BackpropParams, spacing=(1.0, 1.0, 1.0), seed: int = 0, device="cpu",
                        progress=None) -> Result:
    """Volume runner of ``backprop``: a prepared ``(Z, Y, X, C)`` [0, 1] volume.

    Returns
    -------
    Result
        ``labels``: int32 ``(Z, Y, X)`` ``1..N``, one 6-connected segment each,
        ``connected=True``; ``extras``: ``loss_history``, ``n_labels_history``,
        ``n_iter``, ``stopped_early``, ``seconds_per_iter``, ``resolved_params``,
        ``memory_estimate`` (bytes).

    Raises
    ------
    ValueError
        A ``superpixel_method`` without a volume runner, or a run needing more
        memory than is free (the message gives both and what to lower).
    """
    import torch
    import torch.nn.functional as F

    from ..nn.optim import deterministic, run_device, run_loop, seed_everything
    from . import check_supports_3d, get_method
    from ._presets import resolve_preset
    from .compose import NestedProgress, run_prepared_volume

    vol = np.asarray(volume, np.float32)
    dev = run_device(device)
    p = resolve_preset(params, BACKPROP_PRESETS, "backprop", dev)
    nz, ny, nx, nc = vol.shape
    need = estimate_memory((nz, ny, nx), nc, params, dev)
    free = _free_memory()
    if dev.type == "cpu" and free and need > 0.8 * free:
        raise ValueError(f"backprop 3D needs about {need / 2**30:.1f} GB here, {free / 2**30:.1f} GB are free; "
                         "lower max_side or n_channels (or segment fewer slices)")
    pz, py, px = processing_shape_3d((nz, ny, nx), p.max_side)
    q = int(p.n_channels)
    seed_everything(seed)
    x_full = torch.from_numpy(np.ascontiguousarray(vol)).permute(3, 0, 1, 2).unsqueeze(0).to(dev)
    x = x_full if (pz, py, px) == (nz, ny, nx) else F.interpolate(x_full, size=(pz, py, px), mode="area")
    n_vox = pz * py * px

    sp, n_sp = None, 0
    if p.superpixel_method and p.superpixel_method.lower() != "none":
        info = get_method(p.superpixel_method)
        check_supports_3d(info)
        k = p.superpixel_count if p.superpixel_count is not None else min(10000, max(1, (nz * ny * nx) // 4))
        k = max(1, int(round(k * n_vox / (nz * ny * nx))))
        kw = superpixel_overrides(p.superpixel_method, k, p.superpixel_compactness)
        from .._types import build_params

        small = x[0].permute(1, 2, 3, 0).cpu().numpy()
        sp_spacing = (spacing[0] * nz / pz, spacing[1] * ny / py, spacing[2] * nx / px)
        res = run_prepared_volume(info, build_params(info.params_cls, info.name, kw), np.clip(small, 0, 1),
                                  small.shape[-1] == 3, spacing=sp_spacing, seed=seed, device=dev,
                                  progress=NestedProgress(progress, info.name))
        n_sp = int(res.labels.max())
        sp = torch.from_numpy(res.labels.reshape(-1).astype(np.int64) - 1).to(dev)

    if resolve_input_norm(p.input_norm, nc) == "standardize":  # as the 2D runner (see backprop.py)
        x = standardize_channels(x)
    net = build_network_3d(nc, q, int(p.n_conv)).to(dev)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=p.lr, momentum=p.momentum)
    state = {"target": None, "calm": 0}
    n_labels_hist: list = []

    def step(it):
        opt.zero_grad(set_to_none=True)
        resp = net(x)
        flat = resp.permute(0, 2, 3, 4, 1).reshape(n_vox, q)
        return train_step(opt, flat, resp, sp=sp, n_sp=n_sp, state=state, params=p, history=n_labels_hist,
                          continuity=lambda r: sum(r.diff(dim=d).abs().mean() for d in (2, 3, 4)))

    with deterministic(dev):
        loop = run_loop(step, int(p.max_iter), progress, method="backprop", fix="lower lr or momentum",
                        may_stop_early=p.min_labels > 0 or bool(p.patience))
        with torch.no_grad():
            labels = _full_resolution_argmax(net(x), (nz, ny, nx))

    return Result(final_segments(labels, vol, p), {
        "loss_history": loop.loss_history, "n_labels_history": n_labels_hist, "n_iter": loop.n_iter,
        "stopped_early": loop.stopped_early, "seconds_per_iter": loop.seconds_per_iter,
        "resolved_params": dataclasses.asdict(p), "preset": p.preset, "memory_estimate": need,
    }, connected=True)
