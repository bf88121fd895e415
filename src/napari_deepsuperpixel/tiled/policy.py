"""When an image is segmented in blocks, and how large the blocks and their halos are."""

from __future__ import annotations

import math
from typing import Optional

#: images with more pixels than this are segmented in blocks by ``block_size="auto"``
AUTO_PIXELS = 8192 * 8192

#: the block side of ``block_size="auto"``
DEFAULT_BLOCK = 4096

#: threads segmenting blocks at the same time (each holds one block and its halo)
BLOCK_THREADS = 2

#: what the blocks being segmented at one time may hold together, beyond the image and the labels:
#: ``block_size="auto"`` takes blocks no larger than fit (the method's ``MethodInfo.bytes_per_pixel``)
BLOCK_MEMORY = 512 * 2**20


def memory_tile(info, n_channels: int, halo: int) -> int:
    """The largest block side (a multiple of 256) whose :data:`BLOCK_THREADS` blocks with their halos
    hold at most :data:`BLOCK_MEMORY`: the method's memory per pixel plus the float32 block."""
    per_px = float(info.bytes_per_pixel) + 4 * max(1, int(n_channels))
    side = int(math.sqrt(BLOCK_MEMORY / (BLOCK_THREADS * per_px))) - 2 * halo
    return max(256, side - side % 256)

#: results with more pixels than this are written to a zarr store by the napari widgets and the batch
ZARR_PIXELS = 8192 * 8192


def blocks_methods() -> list:
    """The names of the registered methods that can run in blocks (those with a block runner)."""
    from ..methods import REGISTRY

    return [m.name for m in REGISTRY.values() if m.supports_blocks]


def halo_for(ny: int, nx: int, n_segments: int) -> int:
    """The halo of a block: three superpixel widths ``3 sqrt(Y X / K)`` plus 4 pixels."""
    return int(math.ceil(3.0 * math.sqrt(ny * nx / max(int(n_segments), 1)))) + 4


def count_parameter(params) -> str:
    """The name of the parameter with the role ``"count"`` (the number of superpixels)."""
    from .._types import params_with_role

    names = params_with_role(params, "count")
    if not names:
        raise ValueError("a method that runs in blocks needs a parameter with the role 'count'")
    return names[0]


def segment_count(params) -> int:
    """The number of superpixels asked for: the value of the ``"count"`` role."""
    return int(getattr(params, count_parameter(params)))


def choose_tile(layout, info, params, block_size) -> Optional[int]:
    """The block side for this run, or ``None`` to segment the image whole.

    Parameters
    ----------
    layout : ImageLayout
        The image's resolved axes (:func:`~napari_deepsuperpixel.io.layout.describe_image`).
    info : MethodInfo
    params : dataclass
        The method's built parameters (the ``count`` role sets the halo).
    block_size : int, "auto" or None
        Checked by :class:`~napari_deepsuperpixel.RunOptions`. ``"auto"``: blocks
        of :data:`DEFAULT_BLOCK`, or smaller to hold :data:`BLOCK_MEMORY`
        (:func:`memory_tile`), for a 2D image of more than
        :data:`AUTO_PIXELS` pixels and a method with a block runner (the block
        grows to four halos when the superpixels are very large); ``None`` (or
        0): never; an int: blocks of that side when the image is larger than
        one block.

    Raises
    ------
    ValueError
        An explicit ``block_size`` for a method that cannot run in blocks, for a
        stack, or smaller than four halos (too few superpixels for the block size).
    """
    if block_size is None or (not isinstance(block_size, str) and block_size == 0):
        return None
    auto = isinstance(block_size, str)
    if not layout.is_2d:
        if auto:
            return None
        raise ValueError(f"block_size works on 2D images; this one has the spatial shape {layout.spatial_shape} "
                         "(a stack is segmented slice by slice, whole): pass block_size=None")
    if not info.supports_blocks:
        if auto:
            return None
        raise ValueError(f"method {info.name!r} cannot run in blocks (its segments depend on the whole image); "
                         f"use one of {', '.join(blocks_methods())} or block_size=None")
    ny, nx = layout.yx
    n_segments = segment_count(params)
    halo = halo_for(ny, nx, n_segments)
    if auto:
        if ny * nx <= AUTO_PIXELS or not _have_dask():
            return None  # without the dask extra a large image is run whole, as before
        return max(min(DEFAULT_BLOCK, memory_tile(info, layout.n_channels, halo)), 4 * halo)
    tile = int(block_size)
    if ny <= tile and nx <= tile:
        return None
    if tile < 4 * halo:
        need = int(math.ceil(ny * nx * 144 / (tile - 16) ** 2)) if tile > 16 else ny * nx
        raise ValueError(f"block_size={tile} is too small for superpixels of about {halo // 3} pixels "
                         f"({count_parameter(params)}={n_segments} on {ny} x {nx}): give block_size of at "
                         f"least {4 * halo} or {count_parameter(params)} of at least {need}")
    return tile


def _have_dask() -> bool:
    import importlib.util

    return importlib.util.find_spec("dask") is not None


def block_chunks(size: int, tile: int, halo: int) -> tuple:
    """Blocks of ``tile`` along an axis; a last block shorter than the halo joins the one before."""
    n, r = divmod(size, tile)
    chunks = [tile] * n + ([r] if r else [])
    if len(chunks) > 1 and chunks[-1] < max(halo, 1):
        chunks[-2:] = [chunks[-2] + chunks[-1]]
    return tuple(chunks)
