"""The one path from an image to its labels: a plan made and checked once, then one of three branches.

:func:`plan_run` takes what a caller gave (the image, a method name, the
:class:`~napari_deepsuperpixel.RunOptions` and the method's parameters) and
answers every question once, before any work: the method and its built
parameters, the image's axes (:class:`~napari_deepsuperpixel.io.layout.ImageLayout`,
read from the shape alone), the branch (blocks, slices or volumes), the
device, and every check (the segment count, the mode, the spacing, the
output path). :meth:`RunPlan.run` then runs the chosen branch:

``"blocks"``
    a large 2D image block by block (:mod:`napari_deepsuperpixel.tiled`), read
    block by block, never whole;
``"slices"``
    the image prepared whole (:func:`~napari_deepsuperpixel.io.prepare_image`)
    and every 2D slice run by :func:`~napari_deepsuperpixel.methods.compose.run_prepared`;
``"volumes"``
    the image prepared whole and every volume run by the method's volume
    runner (:func:`~napari_deepsuperpixel.volumes.run_volumes`).

docs/architecture.md ("The walk of an image") follows one image through it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ._types import PartProgress, Progress, Result, build_params, collect_extras
from .io.layout import ImageLayout, describe_image
from .options import RunOptions


@dataclass(frozen=True)
class RunPlan:
    """Everything a run needs, resolved and checked (:func:`plan_run`)."""

    info: Any
    params: Any
    options: RunOptions
    layout: ImageLayout
    branch: str
    tile: Optional[int] = None
    device: Any = "cpu"
    spacing: tuple = ()

    def run(self, image, progress: Optional[Progress] = None) -> Result:
        """Run the plan's branch on ``image`` (the image :func:`plan_run` described).

        With ``out`` a ``.zarr`` path the labels are written to a temporary store
        beside it (``.<name>.run<pid>``) that takes its place when the run ends,
        so an interrupted or killed run never leaves a half-written ``out``; the
        temporaries of killed runs are removed when the next run starts there.
        """
        progress = progress or Progress()
        out = self.options.out
        if not (isinstance(out, (str, bytes)) or hasattr(out, "__fspath__")):
            res = self._run(image, progress, out)
        else:
            import os
            import shutil
            from pathlib import Path

            from .io.writes import remove_stale_temps

            final = Path(os.fsdecode(out))
            if not final.name.startswith("."):  # a caller's own temporary (the batch): it cleans its folder once
                remove_stale_temps(final.parent)
            tmp = final.with_name(f".{final.name}.run{os.getpid()}")
            try:
                res = self._run(image, progress, tmp)
                os.replace(tmp, final)  # a folder renamed whole; final does not exist (plan_run checked)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
            import zarr

            res.labels = zarr.open_array(str(final), mode="r+")
        res.extras.update(params=dataclasses.asdict(self.params), method=self.info.name)
        return res

    def _run(self, image, progress: Progress, out) -> Result:
        if self.branch == "blocks":
            from .tiled import segment_tiled

            o = self.options
            return segment_tiled(image, self.layout, self.info, self.params, tile=self.tile, normalize=o.normalize,
                                 progress=progress, out=out, scheduler=o.scheduler)
        from .io.prepare import prepare_image

        prepared = prepare_image(image, normalize=self.options.normalize, axes=self.layout.axes)
        run = _run_volumes if self.branch == "volumes" else _run_slices
        return _written(run(self, prepared, progress), out)


def plan_run(image, method: str, options: RunOptions, params: dict) -> RunPlan:
    """Check a run before any work and choose its branch.

    Raises
    ------
    ValueError
        An unknown method or parameter, an invalid value, a shape the options
        cannot take (axes, mode, spacing, block size), a segment count above
        the number of pixels, an unavailable device.
        A run whose memory estimate (:func:`estimate_memory`) exceeds the memory
        available (a 2D run of a method that runs in blocks turns to blocks instead).
    FileExistsError
        ``options.out`` exists.
    """
    from .io.axes import resolve_spacing
    from .methods import get_method
    from .methods.compose import check_count
    from .volumes import check_mode

    info = get_method(method)
    p = build_params(info.params_cls, method, params)
    o = options
    if o.out is not None:
        from .io.writes import check_writable

        check_writable([o.out], False)  # before any work: nothing a user has is replaced
    layout = describe_image(image, axes=o.axes, channel_axis=o.channel_axis)
    tile = None
    if o.slices and not o.match_time:
        from .tiled import choose_tile

        tile = choose_tile(layout, info, p, o.block_size)
    if tile is None:
        _warn_whole_lazy(image, layout, info)
        if o.scheduler is not None:
            raise ValueError("scheduler= runs the blocks of a run in blocks on a cluster, and this image is "
                             "segmented whole: give block_size= (a method that runs in blocks, on a 2D image), "
                             "or leave scheduler out (deepsuperpixel segment --scheduler sends whole images)")
    check_mode(info, o.mode, layout.label_axes, match_time=o.match_time)
    spacing = resolve_spacing(o.spacing, layout.label_axes)
    check_count(p, _units(layout, o.mode), method, unit="pixels per slice" if o.slices else "voxels per volume")
    device = "cpu"
    if info.uses_torch:
        from .nn.device import resolve_device

        device = resolve_device(o.device)
    branch = "blocks" if tile is not None else ("slices" if o.slices else "volumes")
    branch, tile = _check_memory(image, layout, info, p, o, branch, tile, device)
    return RunPlan(info, p, o, layout, branch, tile, device, spacing)


def available_memory() -> int:
    """Bytes a new allocation can have, about: the smallest of the memory the system has available
    (``MemAvailable``), what the control group's ``memory.max`` leaves and what ``RLIMIT_AS`` leaves;
    0 where none is known (no check is then made)."""
    import os

    known = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    known.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    try:
        limit = open("/sys/fs/cgroup/memory.max").read().strip()
        if limit.isdigit():
            known.append(int(limit) - int(open("/sys/fs/cgroup/memory.current").read().strip()))
    except (OSError, ValueError):
        pass
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            with open(f"/proc/{os.getpid()}/statm") as f:
                known.append(soft - int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE"))
    except (ImportError, OSError, ValueError):
        pass
    return max(0, min(known)) if known else 0


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def estimate_memory(image, layout: ImageLayout, info, params, options: RunOptions, branch: str,
                    tile: Optional[int], device="cpu") -> int:
    """Bytes a run needs beyond its input, about: the method's declared ``MethodInfo.bytes_per_pixel``
    on what it holds at once (a block and its halo per thread, a slice, a volume, or the volume runner's
    own ``memory_estimate``), plus the prepared float32 copy and the labels.
    """
    from .io.lazy import is_lazy

    n_c = max(1, layout.n_channels)
    total = int(np.prod(layout.spatial_shape))
    labels = 0 if options.out is not None else 4 * total
    if branch == "blocks":
        from .tiled.policy import BLOCK_THREADS, halo_for, segment_count

        ny, nx = layout.yx
        side = tile + 2 * halo_for(ny, nx, segment_count(params))
        return int(BLOCK_THREADS * side * side * (info.bytes_per_pixel + 4 * n_c) + labels)
    prepared = 4 * total * n_c + (layout_bytes(layout) if is_lazy(image) else 0)  # a lazy input is read whole
    if branch == "volumes":
        sizes = dict(zip(layout.label_axes, layout.spatial_shape))
        shape = (sizes.get("Z", 1) * (sizes.get("T", 1) if options.mode == "spacetime" else 1), sizes["Y"],
                 sizes["X"])
        est = info.memory_estimate
        work = est(shape, n_c, params, device) if est is not None else int(np.prod(shape) * info.bytes_per_pixel)
    else:
        ny, nx = layout.yx
        work = int(ny * nx * info.bytes_per_pixel)
    return int(prepared + labels + work)


def layout_bytes(layout: ImageLayout) -> int:
    """The bytes of the image's pixels (its shape and dtype)."""
    return int(np.prod(layout.shape)) * layout.dtype.itemsize


def _check_memory(image, layout: ImageLayout, info, params, options: RunOptions, branch: str, tile, device):
    """The branch and block side that fit the memory available: a 2D run of a method with a block runner
    turns to blocks (``block_size="auto"``); any other run that does not fit is refused, with the estimate
    and what to change."""
    avail = available_memory()
    if not avail:
        return branch, tile
    need = estimate_memory(image, layout, info, params, options, branch, tile, device)
    if need <= avail:
        return branch, tile
    from .errors import InputError
    from .tiled import policy

    blocks_ok = (layout.is_2d and info.supports_blocks and options.slices and not options.match_time
                 and policy._have_dask())
    if branch != "blocks" and blocks_ok and isinstance(options.block_size, str):
        ny, nx = layout.yx
        halo = policy.halo_for(ny, nx, policy.segment_count(params))
        labels = 0 if options.out is not None else 4 * ny * nx
        per_px = policy.BLOCK_THREADS * (info.bytes_per_pixel + 4 * max(1, layout.n_channels))
        room = (avail - labels) / per_px
        side = int(room ** 0.5) - 2 * halo if room > 0 else 0
        side = min(policy.DEFAULT_BLOCK, side - side % 64)
        if side >= max(64, 4 * halo) and (ny > side or nx > side):
            import warnings

            warnings.warn(f"{info.name}: the whole {ny} x {nx} image would need about {_gb(need)} of memory and "
                          f"{_gb(avail)} is available: segmenting it in blocks of {side} pixels", UserWarning,
                          stacklevel=4)
            return "blocks", side
    if branch == "blocks" or blocks_ok:
        fix = ("write the labels to a zarr store (out='labels.zarr')" if branch == "blocks"
               and options.out is None else "segment it in blocks (block_size='auto' or a block side)")
    elif layout.is_2d:
        fix = (f"use a method that runs in blocks ({', '.join(policy.blocks_methods())}) or a smaller "
               "(cropped or downscaled) image")
    else:
        fix = "segment fewer slices or volumes at a time, or a smaller (cropped or downscaled) image"
    raise InputError(f"{info.name} on this image (shape {layout.shape}) needs about {_gb(need)} of memory and "
                     f"{_gb(avail)} is available; {fix}")


def _units(layout: ImageLayout, mode: str) -> int:
    """The pixels of one slice, or the voxels of one volume, that a count must not exceed."""
    sizes = dict(zip(layout.label_axes, layout.spatial_shape))
    n = sizes["Y"] * sizes["X"]
    if mode == "3d":
        n *= sizes.get("Z", 1)
    elif mode == "spacetime":
        n *= sizes.get("T", 1)
    return n


def _warn_whole_lazy(image, layout: ImageLayout, info) -> None:
    from .io.lazy import is_lazy
    from .tiled import policy

    if is_lazy(image) and layout.is_2d and layout.yx[0] * layout.yx[1] > policy.AUTO_PIXELS:
        import warnings

        from .tiled.policy import blocks_methods

        warnings.warn(f"{info.name} runs on the whole image in memory; the methods that run in blocks "
                      f"are {', '.join(blocks_methods())}", UserWarning, stacklevel=5)


def _run_slices(plan: RunPlan, prepared, progress: Progress) -> Result:
    """Every 2D slice on its own; labels distinct per slice (matched through time with ``match_time``)."""
    from .methods.compose import run_prepared

    nz = prepared.n_slices
    ny, nx = prepared.data.shape[1:3]
    labels = np.empty((nz, ny, nx), np.int32)
    parts = []
    offset = 0
    for z in range(nz):
        progress.check()
        res = run_prepared(plan.info, plan.params, prepared.slice(z), prepared.rgb, seed=plan.options.seed,
                           device=plan.device, progress=PartProgress(progress, z, nz, "slice"))
        progress.check()  # a method that could not be interrupted: its result is not returned
        labels[z] = res.labels + offset
        offset = int(labels[z].max())
        parts.append(res.extras)
        if nz > 1:
            progress(z + 1, nz, "slice")
    result = labels.reshape(prepared.spatial_shape)
    extras = collect_extras(parts, (ny, nx), prepared.spatial_shape)
    if plan.options.match_time:
        from .volumes import match_labels_through_time

        result = match_labels_through_time(result)
    return Result(result, extras, connected=True)


def _run_volumes(plan: RunPlan, prepared, progress: Progress) -> Result:
    """``mode`` ``"3d"`` / ``"spacetime"``: the volume runner on each volume."""
    from .volumes import match_labels_through_time, run_volumes

    o = plan.options
    labels, extras = run_volumes(plan.info, plan.params, prepared, mode=o.mode, spacing=plan.spacing,
                                 time_spacing=o.time_spacing, seed=o.seed, device=plan.device, progress=progress)
    if o.match_time:
        labels = match_labels_through_time(labels)
    return Result(labels, extras, connected=True)


def _written(res: Result, out) -> Result:
    """``res``, its labels written to the zarr store ``out`` when given (the caller opens the final store)."""
    if out is not None:
        from .io.lazy import write_labels_zarr

        write_labels_zarr(out, res.labels)
    return res
