"""The public Python API: :func:`segment` and :func:`list_methods`."""

from __future__ import annotations

import dataclasses
from typing import Optional, Union

import numpy as np

from ._types import Progress, ProgressCallback, Result, build_params, check_seed, part_progress
from .methods import MethodInfo, get_method, list_methods  # noqa: F401  (the public API)


def segment_result(
    image,
    method: str = "slic",
    *,
    seed: int = 0,
    device: str = "auto",
    progress: Optional[ProgressCallback] = None,
    cancel_check=None,
    channel_axis: Union[int, str, None] = "auto",
    normalize: str = "auto",
    axes: Optional[str] = None,
    mode: str = "slices",
    spacing=None,
    time_spacing: float = 1.0,
    match_time: bool = False,
    block_size: Union[int, str, None] = "auto",
    out=None,
    scheduler=None,
    **params,
) -> Result:
    """Like :func:`segment` but return a :class:`~napari_deepsuperpixel.Result` with extras.

    ``cancel_check`` is an optional zero-argument callable; when it returns
    True the run stops with :class:`~napari_deepsuperpixel.Cancelled`.
    For a stack, the extras of each slice (or volume) are collected in lists
    under the same keys. ``block_size``, ``out`` and ``scheduler``: see :func:`segment`.
    """
    from .io.prepare import prepare_image
    from .methods._compose import check_count, run_prepared

    info = get_method(method)
    seed = check_seed(seed)
    p = build_params(info.params_cls, method, params)
    if out is not None:
        from ._util import check_writable

        check_writable([out], False)  # before any work: nothing a user has is replaced
    if mode == "slices" and not match_time and axes in (None, "YX", "YXC"):
        tiled = _tiled_result(image, info, p, block_size, out, device=device,
                              channel_axis=-1 if axes == "YXC" else (None if axes == "YX" else channel_axis),
                              normalize=normalize, progress=progress, cancel_check=cancel_check,
                              scheduler=scheduler)
        if tiled is not None:
            return tiled
    if scheduler is not None:
        raise ValueError("scheduler= runs the blocks of a run in blocks on a cluster, and this image is "
                         "segmented whole: give block_size= (snic or watershed on a 2D image), or leave "
                         "scheduler out (deepsuperpixel segment --scheduler sends whole images)")
    prepared = prepare_image(image, channel_axis=channel_axis, normalize=normalize, axes=axes)
    spacing = _check_volume_options(info, p, prepared, mode, spacing, time_spacing, match_time)
    ny, nx = prepared.data.shape[1:3]
    if mode == "slices":
        check_count(p, ny * nx, method)
    dev = device
    if info.uses_torch:
        from .nn.device import resolve_device

        dev = resolve_device(device)
    else:
        from .nn.device import DEVICE_CHOICES

        if not isinstance(device, str) or device.split(":")[0] not in DEVICE_CHOICES:
            raise ValueError(f"unknown device {device!r}; use one of {DEVICE_CHOICES}")

    outer = Progress(progress, cancel_check=cancel_check)
    if mode != "slices":
        return _written(_segment_volumes(info, p, prepared, mode, spacing, time_spacing, match_time, seed,
                                         dev, outer), out)
    nz = prepared.n_slices
    labels = np.empty((nz, ny, nx), np.int32)
    extras: dict = {}
    offset = 0
    for z in range(nz):
        outer.check()
        res = run_prepared(info, p, prepared.slice(z), prepared.rgb, seed=seed, device=dev,
                           progress=part_progress(outer, z, nz, "slice"))
        outer.check()  # a method that could not be interrupted: its result is not returned
        labels[z] = res.labels + offset
        offset = int(labels[z].max())
        for k, v in res.extras.items():
            if nz > 1:
                extras.setdefault(k, []).append(v)
            else:
                extras[k] = v
        if nz > 1:
            outer(z + 1, nz, "slice")
    extras["params"] = dataclasses.asdict(p)
    extras["method"] = method
    result = labels.reshape(prepared.spatial_shape)
    if match_time:
        from .volumes import match_labels_through_time

        result = match_labels_through_time(result)
    return _written(Result(result, extras, connected=True), out)


def _written(res: Result, out) -> Result:
    """``res``, its labels written to the zarr store ``out`` (and opened from it) when given."""
    if out is not None:
        from .io.lazy import write_labels_zarr

        res.labels = _open_zarr(write_labels_zarr(out, res.labels))
    return res


def _open_zarr(path):
    import zarr

    return zarr.open_array(str(path), mode="r+")


def _tiled_result(image, info, p, block_size, out, *, device, channel_axis, normalize, progress,
                  cancel_check, scheduler=None) -> Optional[Result]:
    """The result of a run in blocks (napari_deepsuperpixel.tiled), or ``None`` when the image is run whole."""
    from .io.lazy import is_lazy
    from .tiled import AUTO_PIXELS, choose_tile, segment_tiled, spatial_shape

    tile = choose_tile(image, info.name, p, block_size, channel_axis)
    if tile is None:
        if is_lazy(image) and int(np.prod(spatial_shape(image, channel_axis)[0])) > AUTO_PIXELS:
            import warnings

            warnings.warn(f"{info.name} runs on the whole image in memory; the methods that run in blocks "
                          "are snic and watershed", UserWarning, stacklevel=3)
        return None
    from .methods._compose import check_count
    from .nn.device import DEVICE_CHOICES

    if not isinstance(device, str) or device.split(":")[0] not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {device!r}; use one of {DEVICE_CHOICES}")
    (ny, nx), _ = spatial_shape(image, channel_axis)
    check_count(p, ny * nx, info.name)
    res = segment_tiled(image, info, p, tile=tile, channel_axis=channel_axis, normalize=normalize,
                        progress=Progress(progress, cancel_check=cancel_check), out=out, scheduler=scheduler)
    res.extras.update(params=dataclasses.asdict(p), method=info.name)
    return res


def _check_volume_options(info, params, prepared, mode, spacing, time_spacing, match_time) -> tuple:
    """Refuse a mode, spacing or count the image cannot take; return the checked spacing."""
    import math

    from .io.axes import resolve_spacing
    from .methods._compose import check_count
    from .volumes import check_mode

    check_mode(info, mode, prepared.axes, match_time=match_time)
    spacing = resolve_spacing(spacing, prepared.axes)
    if not (isinstance(time_spacing, (int, float)) and math.isfinite(time_spacing) and time_spacing > 0):
        raise ValueError(f"time_spacing must be a finite number > 0, got {time_spacing!r}")
    if mode != "slices":
        n_vox = int(np.prod(prepared.volume_data(with_t=mode == "spacetime").shape[1:4]))
        check_count(params, n_vox, info.name, unit="voxels per volume")
    return spacing


def _segment_volumes(info, params, prepared, mode, spacing, time_spacing, match_time, seed, device,
                     progress) -> Result:
    """``segment_result`` for ``mode`` ``"3d"`` / ``"spacetime"``: the volume runner on each volume."""
    from .volumes import match_labels_through_time, run_volumes

    labels, extras = run_volumes(info, params, prepared, mode=mode, spacing=spacing, time_spacing=time_spacing,
                                 seed=seed, device=device, progress=progress)
    if match_time:
        labels = match_labels_through_time(labels)
    extras["params"] = dataclasses.asdict(params)
    extras["method"] = info.name
    return Result(labels, extras, connected=True)


def segment(
    image,
    method: str = "slic",
    *,
    seed: int = 0,
    device: str = "auto",
    progress: Optional[ProgressCallback] = None,
    channel_axis: Union[int, str, None] = "auto",
    normalize: str = "auto",
    axes: Optional[str] = None,
    mode: str = "slices",
    spacing=None,
    time_spacing: float = 1.0,
    match_time: bool = False,
    block_size: Union[int, str, None] = "auto",
    out=None,
    scheduler=None,
    **params,
) -> np.ndarray:
    """Segment an image with a registered method.

    Parameters
    ----------
    image : array_like
        ``(Y, X)`` grayscale, ``(Y, X, C)`` colour/multichannel, ``(Z, Y, X)``
        or ``(Z, Y, X, C)`` stack; with ``axes`` any order of T, Z, Y, X, C
        (up to 5 axes). Any real dtype; see
        :func:`napari_deepsuperpixel.io.prepare_image` for the normalisation.
    method : str
        A name from :func:`list_methods` (default ``"slic"``).
    seed : int
        Random seed, an integer in ``[0, 2**32)``. Classical methods give the
        same labels for the same seed everywhere. Deep methods give the same
        labels for the same seed on the same machine, device and number of
        torch threads (``torch.get_num_threads()``): another thread count sums
        the convolutions in another order, and the optimisation can end in
        different labels (docs/usage.md, "Reproducibility").
    device : {"auto", "cpu", "cuda", "mps"}
        Where torch methods run (``"auto"``: cuda, then mps, then cpu).
        Classical methods always run on the CPU.
    progress : callable, optional
        Called with :class:`~napari_deepsuperpixel.ProgressEvent`; may raise
        :class:`~napari_deepsuperpixel.Cancelled` to stop the run.
    channel_axis : int, None or "auto"
        See :func:`~napari_deepsuperpixel.io.prepare_image`; only without ``axes``.
    normalize : str
        See :func:`~napari_deepsuperpixel.io.prepare_image`.
    axes : str, optional
        One letter per axis of ``image`` from ``T``, ``Z``, ``Y``, ``X``, ``C``
        (stardist's letters), e.g. ``"ZYX"``, ``"TYX"``, ``"YXC"``, ``"TZYXC"``.
        Without it the axes are guessed from the shape (``channel_axis``), with a
        ``UserWarning`` when the shape is ambiguous.
    mode : {"slices", "3d", "spacetime"}
        ``"slices"`` (default): each 2D slice on its own, labels distinct per
        slice. ``"3d"``: supervoxels of each ``(Z, Y, X)`` volume, 6-connected,
        for the methods with a volume runner (``slic``, ``snic``, ``watershed``,
        ``backprop``; others are refused with a message naming these). ``"spacetime"``: a
        ``TYX`` time-lapse as one volume, T a spatial axis of voxel size
        ``time_spacing``. See :mod:`napari_deepsuperpixel.volumes`.
    spacing : sequence of float, optional
        The physical voxel size along the Z/Y/X axes of ``axes``, in their
        order (e.g. ``(dz, dy, dx)``); default 1 each. Used by the 3D modes.
    time_spacing : float
        ``mode="spacetime"``: how far apart two frames are, in ``spacing``'s units.
    match_time : bool
        For a time-lapse (a T axis) in mode ``"slices"`` or ``"3d"``: renumber
        the frames' labels by overlap so that an object keeps its label through
        time (:func:`~napari_deepsuperpixel.volumes.match_labels_through_time`).
    block_size : int, "auto" or None
        Segment a large 2D image block by block with a halo, reading it block
        by block (``snic`` and ``watershed``; see :mod:`napari_deepsuperpixel.tiled`):
        the block side in pixels; ``"auto"`` (default) uses blocks of 4096
        for images of more than 8192 x 8192 pixels; ``None`` never.
        ``image`` may then be a dask or zarr array (never loaded whole).
    out : str or Path, optional
        A ``.zarr`` path (it must not exist) to write the labels to, block by
        block in a tiled run; the zarr array is returned instead of numpy.
    scheduler : str or distributed.Client, optional
        For a run in blocks: the address of a Dask distributed scheduler
        (``tcp://host:8786``) or a client, whose workers then segment, stitch
        and relabel the blocks, reading the image and writing ``out`` (a
        ``.zarr`` path on storage they share) themselves. Refused for an
        image that is segmented whole.
    **params
        Method parameters (see ``list_methods()``), e.g. ``n_segments=400``.

    Returns
    -------
    labels : numpy.ndarray of int32 (a zarr array with ``out``)
        Labels ``1..N`` with the image's shape without channels, axes in
        ``T Z Y X`` order (YX, ZYX, TYX, TZYX); every label is one 4-connected
        region of one slice (``"slices"``; labels of different slices are
        distinct unless ``match_time``) or one 6-connected region of one
        volume (``"3d"``, ``"spacetime"``).

    Raises
    ------
    ValueError
        Unknown method or parameter (the message lists valid ones), invalid
        image (empty, 1 pixel wide, NaN/inf, >4 dims), a seed outside
        ``[0, 2**32)``, a NaN/infinite parameter, ``n_segments`` < 1 or
        larger than the number of pixels, unavailable device, a bad ``axes``
        string, ``spacing`` or ``mode`` (e.g. ``"3d"`` for a 2D-only method).

    Examples
    --------
    >>> from skimage import data
    >>> from napari_deepsuperpixel import segment
    >>> labels = segment(data.astronaut(), "slic", n_segments=200)
    >>> labels.shape, labels.dtype.name, int(labels.min())
    ((512, 512), 'int32', 1)
    """
    return segment_result(
        image, method, seed=seed, device=device, progress=progress,
        channel_axis=channel_axis, normalize=normalize, axes=axes, mode=mode, spacing=spacing,
        time_spacing=time_spacing, match_time=match_time, block_size=block_size, out=out, scheduler=scheduler,
        **params,
    ).labels
