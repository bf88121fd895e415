"""The blocks of a large 2D image: global normalisation and seeds, one method run per block.

See :mod:`napari_deepsuperpixel.tiled`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .._types import Progress, Result
from .policy import BLOCK_THREADS, block_chunks, halo_for, segment_count
from .runner import _Counter, _Runner, _shared, _Writes
from .stitch import _regions, _relabel, _stitch_table, _write_block

_EXACT_PIXELS = 16 * 2**20  # exact percentiles up to this many pixels, a subsample above
_SAMPLE_PIXELS = 4 * 2**20


def _channels(image, layout, chunks: Optional[tuple] = None):
    """The channels of ``image`` as 2D dask arrays in blocks of ``chunks`` (``(Y chunks, X chunks)``; default
    :func:`~napari_deepsuperpixel.io.lazy.as_dask`'s), an RGBA alpha dropped as :func:`prepare_image` drops it.

    An image that is not a dask array yet (numpy, a memory map, zarr, a lazily read TIFF) is wrapped in
    these blocks directly, without a copy: every block task reads its region of the image itself (a view
    of an array in memory) rather than the blocks being assembled from smaller chunks by a rechunk, whose
    pieces dask would hold until every block and halo needing them has run.
    """
    import dask.array as da

    from ..io.lazy import as_dask
    from ..io.prepare import drops_alpha

    if isinstance(image, da.Array) or chunks is None:
        arr = as_dask(image)
    else:
        per_axis = {"Y": chunks[0], "X": chunks[1]}
        arr = as_dask(image, chunks=tuple(per_axis.get(a, -1) for a in layout.axes))
    cax = layout.channel_axis
    if cax is None:
        return [arr]
    if cax != arr.ndim - 1:
        arr = da.moveaxis(arr, cax, -1)
    n = 3 if drops_alpha(arr.shape[-1], True, arr.dtype) else arr.shape[-1]
    return [arr[..., c] for c in range(n)]


def _ranges(chans, mode: str, scheduler="threads") -> list:
    """Per channel the :class:`~napari_deepsuperpixel.io.prepare.ChannelRange` of the whole image.

    The rule is :func:`~napari_deepsuperpixel.io.prepare.channel_range`'s; only
    its input differs: the exact ``[min, max]`` for ``"minmax"``, and for the
    percentiles all pixels up to 16 million, a regular subsample of at least 4
    million above.
    """
    import dask

    from ..io.prepare import DEFAULT_PERCENTILES, channel_range

    if mode == "minmax":
        stats = dask.compute(*[(c.min(), c.max()) for c in chans], scheduler=scheduler)
        samples = [np.array([a, b], dtype=c.dtype) for (a, b), c in zip(stats, chans)]
    elif mode == "percentile":
        samples = []
        for c in chans:
            n = c.shape[0] * c.shape[1]
            step = 1 if n <= _EXACT_PIXELS else int(math.floor(math.sqrt(n / _SAMPLE_PIXELS)))
            samples.append(np.asarray(c[::step, ::step].compute(scheduler=scheduler)))
    else:  # "dtype", "none": no statistics needed
        samples = [np.zeros(1, c.dtype) for c in chans]
    return [channel_range(x, mode, DEFAULT_PERCENTILES) for x in samples]


def _check_finite(chans, scheduler="threads") -> None:
    import dask
    import dask.array as da

    if chans[0].dtype.kind != "f":
        return
    bad = sum(int(b) for b in dask.compute(*[(~da.isfinite(c)).sum() for c in chans], scheduler=scheduler))
    if bad:
        raise ValueError(f"image contains {bad} NaN or infinite value(s); replace them first "
                         "(e.g. np.nan_to_num(image))")


def _normalised(blocks, ranges) -> np.ndarray:
    """The ``(Y, X, C)`` float32 block, scaled with the global ranges (:func:`~napari_deepsuperpixel.io.prepare.apply_range`)."""
    from ..io.prepare import apply_range

    out = np.empty(blocks[0].shape + (len(blocks),), np.float32)
    for c, (b, r) in enumerate(zip(blocks, ranges)):
        out[..., c] = apply_range(b, r)
    return out


def _grid(ny: int, nx: int, n_segments: int):
    from ..methods.snic import grid_shape

    rows, cols = grid_shape(ny, nx, n_segments)
    ys = np.floor((np.arange(rows) + 0.5) * ny / rows).astype(np.int64)
    xs = np.floor((np.arange(cols) + 0.5) * nx / cols).astype(np.int64)
    return ys, xs


def _block_seeds(ys, xs, y0, y1, x0, x1):
    """Local flat seed indices in the region ``[y0, y1) x [x0, x1)`` and their global labels (1-based)."""
    iy = np.flatnonzero((ys >= y0) & (ys < y1))
    ix = np.flatnonzero((xs >= x0) & (xs < x1))
    local = ((ys[iy] - y0)[:, None] * (x1 - x0) + (xs[ix] - x0)[None, :]).ravel()
    glob = (iy[:, None] * xs.size + ix[None, :]).ravel() + 1
    return local, glob


def _segment_block(feats, info, params, local, glob, cell_area: float) -> np.ndarray:
    """Labels (global seed numbers) of one block with its halo: the method's block runner."""
    if local.size == 0:  # cannot happen: a block holds at least four halos, each three grid steps
        raise RuntimeError("a block without seeds; choose a larger block_size")
    lab = info.block_runner(feats, params=params, seeds=local, cell_area=cell_area)
    return glob.astype(np.int32)[lab - 1]


@dataclass(frozen=True)
class _BlockSpec:
    """What every block needs to know of the whole image (small, so it travels to a cluster's workers)."""

    ranges: list
    ys: np.ndarray
    xs: np.ndarray
    halo: int
    y_edges: np.ndarray
    x_edges: np.ndarray
    info: object
    params: object
    cell_area: float
    rgb: bool


def _block_labels(*blocks, block_id=None, spec: _BlockSpec, counter: Optional[_Counter] = None) -> np.ndarray:
    """The labels of one block with its halo (the ``map_overlap`` function)."""
    from ..io.prepare import to_feature_space

    if counter is not None:
        counter.start()
    by, bx = block_id
    y0, x0 = max(0, spec.y_edges[by] - spec.halo), max(0, spec.x_edges[bx] - spec.halo)
    y1, x1 = y0 + blocks[0].shape[0], x0 + blocks[0].shape[1]
    feats = to_feature_space(_normalised(blocks, spec.ranges), spec.rgb, spec.info.input_space)
    local, glob = _block_seeds(spec.ys, spec.xs, y0, y1, x0, x1)
    lab = _segment_block(feats, spec.info, spec.params, local, glob, spec.cell_area)
    if counter is not None:
        counter.finish()
    return lab


def segment_tiled(image, layout, info, params, *, tile: int, normalize: str = "auto",
                  progress: Optional[Progress] = None, out=None, threads: int = BLOCK_THREADS,
                  scheduler=None) -> Result:
    """Segment a large 2D image block by block (see the module notes); called by ``segment_result``.

    Parameters
    ----------
    image : array_like
        A 2D image ``(Y, X)`` or ``(Y, X, C)``: numpy, dask, zarr or any
        array-like with ``shape``, ``dtype`` and slicing; read block by block.
    layout : ImageLayout
        Its resolved axes (:func:`~napari_deepsuperpixel.io.layout.describe_image`).
    info : MethodInfo
        A method with a block runner (``MethodInfo.supports_blocks``).
    params : dataclass
        The method's built parameters.
    tile : int
        The block side (:func:`~napari_deepsuperpixel.tiled.policy.choose_tile`).
    normalize : str
        As :func:`napari_deepsuperpixel.io.prepare_image`, with its rules
        (:func:`~napari_deepsuperpixel.io.prepare.channel_range`) applied to the whole image.
    progress : Progress, optional
        Reports ``(block, n_blocks, stage)`` for the blocks and the stitching;
        Cancel is honoured before every block. When Cancel or an error ends
        the run, the blocks still running write nothing more (the writes under
        way end first: :class:`~napari_deepsuperpixel.tiled.runner._Writes`).
    out : str, Path or array, optional
        Where the labels go: a ``.zarr`` path (created; it must not exist; removed
        again when the run is cancelled or fails) or an array with the image's
        YX shape; default a new numpy array.
    threads : int
        Blocks segmented at the same time (in this process).
    scheduler : str or distributed.Client, optional
        A Dask distributed scheduler's address (``tcp://host:8786``) or a
        client: the blocks, the stitching and the relabelling then run on its
        workers, which read the image and write ``out`` themselves, so ``out``
        must be a ``.zarr`` path on storage they share (and the image numpy,
        zarr, a TIFF opened by :func:`~napari_deepsuperpixel.io.lazy.open_image`
        or a dask array built from such). Only the per-block tables come back
        to this process.

    Returns
    -------
    Result
        ``labels`` (the numpy array, ``out``'s zarr array, or ``out``) and
        extras ``blocks`` (blocks along Y and X), ``block_size``, ``halo``,
        ``n_segments`` and ``fragments`` (pieces joined to a neighbour).
    """
    from .._types import params_with_role
    from ..io.prepare import normalisation_mode

    progress = progress or Progress()
    for name in params_with_role(params, "min_size"):
        if (getattr(params, name) or 0) > 1:
            raise ValueError(f"{name}={getattr(params, name)} is not available in blocks; pass {name}=0 or "
                             "block_size=None")
    dtype = layout.dtype
    if not (np.issubdtype(dtype, np.number) or dtype == np.bool_) or np.iscomplexobj(np.zeros(0, dtype)):
        raise ValueError(f"image must be a real numeric array, got dtype {dtype}")
    mode = normalisation_mode(normalize, dtype, layout.n_channels, layout.channel_axis is not None)
    to_path = isinstance(out, (str, bytes)) or hasattr(out, "__fspath__")
    if scheduler is not None and not to_path:
        raise ValueError("blocks on a cluster are written by its workers: give out='labels.zarr' (a path on "
                         "storage the workers share)")
    ny, nx = layout.yx
    zarr_path = None
    if to_path:
        from pathlib import Path

        zarr_path = Path(out)
        if zarr_path.exists():
            raise FileExistsError(f"refusing to overwrite {zarr_path}; remove it or choose another path")
    elif out is not None and tuple(out.shape) != (ny, nx):
        raise ValueError(f"out has shape {tuple(out.shape)}, the labels need {(ny, nx)}")
    client, close = (None, lambda: None)
    if scheduler is not None:
        from ..parallel import connect_dask

        client, close = connect_dask(scheduler)
    try:
        return _segment_blocks(image, layout, mode, info, params, tile, progress, out, zarr_path,
                               _Runner(progress, threads, client))
    finally:
        close()


def _segment_blocks(image, layout, mode, info, params, tile, progress, out, zarr_path, runner: _Runner) -> Result:
    """:func:`segment_tiled` after its checks: the pre-pass, the blocks, the stitching."""
    import dask
    import dask.array as da

    from ..io.prepare import auto_rgb

    ny, nx = layout.yx
    n_segments = segment_count(params)
    halo = halo_for(ny, nx, n_segments)
    ych, xch = block_chunks(ny, tile, halo), block_chunks(nx, tile, halo)
    chans = [c.rechunk((ych, xch)) for c in _channels(image, layout, (ych, xch))]  # (a dask input's own chunks)
    rgb = auto_rgb(len(chans), layout.channel_axis is not None, layout.dtype)
    pre = runner.client or "threads"
    _check_finite(chans, pre)
    ranges = _ranges(chans, mode, pre)
    ys, xs = _grid(ny, nx, n_segments)
    n_seeds = ys.size * xs.size
    spec = _BlockSpec(ranges, ys, xs, halo, np.cumsum((0,) + ych), np.cumsum((0,) + xch), info, params,
                      ny * nx / n_seeds, rgb)
    regions = _regions(ych, xch)
    counter = runner.counter(len(regions), "blocks")
    labels = da.map_overlap(functools.partial(_block_labels, spec=spec, counter=counter), *chans, depth=halo,
                            boundary="none", trim=True, dtype=np.int32, meta=np.empty((0, 0), np.int32))
    if zarr_path is not None:
        from ..io.lazy import create_labels_zarr

        target = create_labels_zarr(zarr_path, (ny, nx), chunks=_zarr_chunk(tile))
    else:
        target = np.empty((ny, nx), np.int32) if out is None else out
    writes = _Writes(zarr_path)
    try:
        store = _shared(target, "labels")
        blocks = labels.to_delayed()
        runner.run([dask.delayed(_write_block, pure=False)(blocks[k], store, *r, writes) for k, r in regions],
                   "blocks")
        progress.check()
        table, n_frag = _stitch_table(target, ych, xch, runner)
        n_final = n_seeds
        if table is not None:
            (lut, offsets) = table
            n_final = int(lut.max())
            _relabel(target, lut, offsets, ych, xch, runner, writes)
    except BaseException:  # Cancel, Ctrl-C or an error: blocks still running write nothing, no half-written store
        writes.close()
        if zarr_path is not None:
            import shutil

            shutil.rmtree(zarr_path, ignore_errors=True)
        raise
    extras = {"blocks": (len(ych), len(xch)), "block_size": tile, "halo": halo, "n_segments": n_final,
              "fragments": n_frag}
    return Result(target, extras, connected=True)


def _zarr_chunk(tile: int) -> int:
    from ..io.lazy import ZARR_CHUNK

    return ZARR_CHUNK if tile % ZARR_CHUNK == 0 else tile


