"""The public Python API: :func:`segment` and :func:`list_methods`."""

from __future__ import annotations

import dataclasses
from typing import Optional, Union

import numpy as np

from ._types import Progress, ProgressCallback, Result, build_params, check_seed
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
    block_size: Union[int, str, None] = "auto",
    out=None,
    **params,
) -> Result:
    """Like :func:`segment` but return a :class:`~napari_deepsuperpixel.Result` with extras.

    ``cancel_check`` is an optional zero-argument callable; when it returns
    True the run stops with :class:`~napari_deepsuperpixel.Cancelled`.
    For a stack, the extras of each slice are collected in lists under the
    same keys. ``block_size`` and ``out``: see :func:`segment`.
    """
    from .io.prepare import prepare_image
    from .methods._compose import check_count, run_prepared

    info = get_method(method)
    seed = check_seed(seed)
    p = build_params(info.params_cls, method, params)
    tiled = _tiled_result(image, info, p, block_size, out, device=device, channel_axis=channel_axis,
                          normalize=normalize, progress=progress, cancel_check=cancel_check)
    if tiled is not None:
        return tiled
    prepared = prepare_image(image, channel_axis=channel_axis, normalize=normalize)
    ny, nx = prepared.data.shape[1:3]
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
    nz = prepared.n_slices
    labels = np.empty((nz, ny, nx), np.int32)
    extras: dict = {}
    offset = 0
    for z in range(nz):
        outer.check()

        def slice_progress(step, total, stage="", _z=z, **kw):
            if nz > 1:
                kw = {**kw, "slice": _z, "n_slices": nz}
                outer(_z * max(total, 1) + step, nz * max(total, 1), stage or "slice", **kw)
            else:
                outer(step, total, stage, **kw)

        slice_progress.check = outer.check  # type: ignore[attr-defined]
        res = run_prepared(info, p, prepared.slice(z), prepared.rgb, seed=seed, device=dev,
                           progress=slice_progress)
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
    labels = labels if prepared.is_stack else labels[0]
    if out is not None:
        from .io.lazy import write_labels_zarr

        labels = _open_zarr(write_labels_zarr(out, labels))
    return Result(labels, extras, connected=True)


def _open_zarr(path):
    import zarr

    return zarr.open_array(str(path), mode="r+")


def _tiled_result(image, info, p, block_size, out, *, device, channel_axis, normalize, progress,
                  cancel_check) -> Optional[Result]:
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
                        progress=Progress(progress, cancel_check=cancel_check), out=out)
    res.extras.update(params=dataclasses.asdict(p), method=info.name)
    return res


def segment(
    image,
    method: str = "slic",
    *,
    seed: int = 0,
    device: str = "auto",
    progress: Optional[ProgressCallback] = None,
    channel_axis: Union[int, str, None] = "auto",
    normalize: str = "auto",
    block_size: Union[int, str, None] = "auto",
    out=None,
    **params,
) -> np.ndarray:
    """Segment an image with a registered method.

    Parameters
    ----------
    image : array_like
        ``(Y, X)`` grayscale, ``(Y, X, C)`` colour/multichannel, ``(Z, Y, X)``
        or ``(Z, Y, X, C)`` stack (run slice by slice). Any real dtype; see
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
        See :func:`~napari_deepsuperpixel.io.prepare_image`.
    normalize : str
        See :func:`~napari_deepsuperpixel.io.prepare_image`.
    block_size : int, "auto" or None
        Segment a large 2D image block by block with a halo, reading it block
        by block (``snic`` and ``watershed``; see :mod:`napari_deepsuperpixel.tiled`):
        the block side in pixels; ``"auto"`` (default) uses blocks of 4096
        for images of more than 8192 x 8192 pixels; ``None`` never.
        ``image`` may then be a dask or zarr array (never loaded whole).
    out : str or Path, optional
        A ``.zarr`` path (it must not exist) to write the labels to, block by
        block in a tiled run; the zarr array is returned instead of numpy.
    **params
        Method parameters (see ``list_methods()``), e.g. ``n_segments=400``.

    Returns
    -------
    labels : numpy.ndarray of int32 (a zarr array with ``out``)
        Labels ``1..N`` with the image's spatial shape (YX or ZYX); every
        label is one 4-connected region (per slice for stacks; labels of
        different slices are distinct).

    Raises
    ------
    ValueError
        Unknown method or parameter (the message lists valid ones), invalid
        image (empty, 1 pixel wide, NaN/inf, >4 dims), a seed outside
        ``[0, 2**32)``, a NaN/infinite parameter, ``n_segments`` < 1 or
        larger than the number of pixels, unavailable device.

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
        channel_axis=channel_axis, normalize=normalize, block_size=block_size, out=out, **params,
    ).labels
