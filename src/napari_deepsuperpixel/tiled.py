"""Superpixels of large 2D images, block by block with a halo, without seams.

:func:`napari_deepsuperpixel.segment_result` hands a 2D image to
:func:`segment_tiled` when it has more than :data:`AUTO_PIXELS` pixels (or
when ``block_size`` asks for blocks). Peak memory is then bounded by the
block (plus its halo) times the number of threads, not by the image, and
the input is read block by block: a dask array, a zarr/OME-Zarr array or a
TIFF opened through tifffile's zarr store is never loaded whole. The blocks
run on dask's threads in this process, or, with ``scheduler=`` (an address or
a :class:`distributed.Client`), on a cluster's workers, which read the image
and write a zarr store themselves (:class:`_Runner`).

How the labels stay consistent across block borders
---------------------------------------------------
* **Global normalisation.** The intensity range of each channel is computed
  once for the whole image (the percentiles from a regular subsample of at
  least 4 million pixels when the image has more than 16 million; exact
  otherwise), so every block is scaled alike.
* **Global seeds.** The seeds are the centres of the whole image's grid
  (:func:`~napari_deepsuperpixel.methods.snic.grid_seeds`), numbered
  row-major: seed ``i`` is label ``i + 1`` wherever it grows. A block runs
  the method on its core plus a halo of about three superpixel widths with
  the seeds that fall into that region and the whole image's spatial
  weight, and keeps its core. A superpixel crossing a border is grown from
  the same seed with the same neighbours on both sides, so it carries the
  same label and its two halves meet: no grid of seams, and the number and
  size of the superpixels do not change at block borders.
* **Stitching.** Where the two sides of a border still disagree (a few
  pixels of a superpixel claimed differently by the two blocks), a label can
  come out in pieces. The connected components of every block are joined
  across the borders (a union of the components holding the same label on
  the two sides); for each label the largest component keeps it, and every
  other piece joins the neighbour it shares the longest border with. Labels
  are then ``1..N``, unique over the image, each one 4-connected region.

Which methods
-------------
Only methods whose result is grown from seeds that can be placed globally:
``snic`` (seeds passed to this package's implementation) and ``watershed``
(the grid as markers; note that the untiled run places scikit-image's own
regular grid, so the two runs' seeds differ slightly). SLIC (scikit-image
places its own grid and iterates k-means over the whole image),
Felzenszwalb and quickshift (graph merges and mode seeking without seeds:
their segments depend on the whole image) and the deep methods are run
whole.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ._types import Cancelled, Progress, Result

#: images with more pixels than this are segmented in blocks by ``block_size="auto"``
AUTO_PIXELS = 8192 * 8192

#: the block side of ``block_size="auto"``
DEFAULT_BLOCK = 4096

#: methods that can run block by block
TILED_METHODS = ("snic", "watershed")

#: threads segmenting blocks at the same time (each holds one block and its halo)
BLOCK_THREADS = 2

#: results with more pixels than this are written to a zarr store by the napari widgets and the batch
ZARR_PIXELS = 8192 * 8192

_EXACT_PIXELS = 16 * 2**20  # exact percentiles up to this many pixels, a subsample above
_SAMPLE_PIXELS = 4 * 2**20


def spatial_shape(image, channel_axis="auto", *, quiet: bool = True) -> tuple:
    """``(Y, X)`` (or ``(Z, Y, X)``) and the channel axis of ``image``, read from its shape only.

    ``quiet``: no warning for an ambiguous shape (the run that follows gives it).
    """
    import warnings

    from .io.axes import guess_axes

    shape = tuple(int(s) for s in np.shape(image))
    if len(shape) < 2 or len(shape) > 4:
        return shape, None
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", UserWarning)
        axes = guess_axes(shape, channel_axis)
    cax = axes.index("C") if "C" in axes else None
    return tuple(s for i, s in enumerate(shape) if i != cax), cax


def halo_for(ny: int, nx: int, n_segments: int) -> int:
    """The halo of a block: three superpixel widths ``3 sqrt(Y X / K)`` plus 4 pixels."""
    return int(math.ceil(3.0 * math.sqrt(ny * nx / max(int(n_segments), 1)))) + 4


def choose_tile(image, method: str, params, block_size, channel_axis="auto") -> Optional[int]:
    """The block side for this run, or ``None`` to segment the image whole.

    Parameters
    ----------
    image : array_like
        Only its shape is read.
    method : str
    params : dataclass
        The method's built parameters (``n_segments`` sets the halo).
    block_size : int, "auto" or None
        ``"auto"``: blocks of :data:`DEFAULT_BLOCK` for a 2D image of more than
        :data:`AUTO_PIXELS` pixels and a method of :data:`TILED_METHODS` (the
        block grows to four halos when the superpixels are very large);
        ``None`` (or 0): never; an int: blocks of that side when the image is
        larger than one block.

    Raises
    ------
    ValueError
        An explicit ``block_size`` for a method that cannot run in blocks, for a
        stack, below 64, or smaller than four halos (too few superpixels for
        the block size).
    """
    if block_size is None or (not isinstance(block_size, str) and block_size == 0):
        return None
    shape, _ = spatial_shape(image, channel_axis)
    auto = isinstance(block_size, str)
    if auto and block_size != "auto":
        raise ValueError(f"block_size must be 'auto', None or a number of pixels, got {block_size!r}")
    if len(shape) != 2:
        if auto:
            return None
        raise ValueError(f"block_size works on 2D images; this one has the spatial shape {shape} (a stack is "
                         "segmented slice by slice, whole): pass block_size=None")
    if method not in TILED_METHODS:
        if auto:
            return None
        raise ValueError(f"method {method!r} cannot run in blocks (its segments depend on the whole image); "
                         f"use one of {', '.join(TILED_METHODS)} or block_size=None")
    ny, nx = shape
    halo = halo_for(ny, nx, params.n_segments)
    if auto:
        if ny * nx <= AUTO_PIXELS or not _have_dask():
            return None  # without the dask extra a large image is run whole, as before
        return max(DEFAULT_BLOCK, 4 * halo)
    if isinstance(block_size, bool) or int(block_size) != block_size or block_size < 64:
        raise ValueError(f"block_size must be an integer of at least 64 pixels, got {block_size!r}")
    tile = int(block_size)
    if ny <= tile and nx <= tile:
        return None
    if tile < 4 * halo:
        need = int(math.ceil(ny * nx * 144 / (tile - 16) ** 2)) if tile > 16 else ny * nx
        raise ValueError(f"block_size={tile} is too small for superpixels of about {halo // 3} pixels "
                         f"(n_segments={params.n_segments} on {ny} x {nx}): give block_size of at least "
                         f"{4 * halo} or n_segments of at least {need}")
    return tile


def _have_dask() -> bool:
    import importlib.util

    return importlib.util.find_spec("dask") is not None


def _block_chunks(size: int, tile: int, halo: int) -> tuple:
    """Blocks of ``tile`` along an axis; a last block shorter than the halo joins the one before."""
    n, r = divmod(size, tile)
    chunks = [tile] * n + ([r] if r else [])
    if len(chunks) > 1 and chunks[-1] < max(halo, 1):
        chunks[-2:] = [chunks[-2] + chunks[-1]]
    return tuple(chunks)


def _channels(image, cax):
    """The channels of ``image`` as 2D dask arrays (RGBA uint8: alpha dropped), and the dtype."""
    from .io.lazy import as_dask

    arr = as_dask(image)
    if cax is None:
        return [arr], arr.dtype
    if cax != arr.ndim - 1:
        import dask.array as da

        arr = da.moveaxis(arr, cax, -1)
    n = arr.shape[-1]
    if n == 4 and arr.dtype == np.uint8:
        n = 3
    return [arr[..., c] for c in range(n)], arr.dtype


def _ranges(chans, dtype, mode: str, percentiles, scheduler="threads") -> list:
    """Per channel ``(lo, hi, clip)`` of the global normalisation (``None``: values used as they are)."""
    import dask

    if dtype == np.bool_ or mode == "none" or (mode == "dtype" and dtype.kind == "f"):
        return [None] * len(chans)
    if mode == "dtype":
        info = np.iinfo(dtype)
        lo = float(min(info.min, 0))
        return [(lo, float(info.max), False)] * len(chans)
    if mode == "minmax":
        stats = dask.compute(*[(c.min(), c.max()) for c in chans], scheduler=scheduler)
        return [(float(a), float(b), True) for a, b in stats]
    out = []
    for c in chans:
        n = c.shape[0] * c.shape[1]
        step = 1 if n <= _EXACT_PIXELS else int(math.floor(math.sqrt(n / _SAMPLE_PIXELS)))
        sample = np.asarray(c[::step, ::step].compute(scheduler=scheduler), np.float32)
        lo, hi = np.percentile(sample, percentiles)
        out.append((float(lo), float(hi), True))
    return out


def _check_finite(chans, dtype, scheduler="threads") -> None:
    import dask
    import dask.array as da

    if dtype.kind != "f":
        return
    bad = sum(int(b) for b in dask.compute(*[(~da.isfinite(c)).sum() for c in chans], scheduler=scheduler))
    if bad:
        raise ValueError(f"image contains {bad} NaN or infinite value(s); replace them first "
                         "(e.g. np.nan_to_num(image))")


def _normalised(blocks, ranges) -> np.ndarray:
    """The ``(Y, X, C)`` float32 block, scaled with the global ranges (as ``prepare_image`` scales)."""
    out = np.empty(blocks[0].shape + (len(blocks),), np.float32)
    for c, (b, r) in enumerate(zip(blocks, ranges)):
        b = np.asarray(b).astype(np.float32)
        if r is None:
            out[..., c] = b
        elif r[1] - r[0] <= 0:
            out[..., c] = 0.0  # a constant channel carries no information
        elif r[2]:
            out[..., c] = np.clip((b - r[0]) / (r[1] - r[0]), 0.0, 1.0)
        else:
            out[..., c] = (b - r[0]) / float(r[1] - r[0])
    return out


def _grid(ny: int, nx: int, n_segments: int):
    from .methods.snic import grid_shape

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


def _segment_block(feats, method: str, params, local, glob, cell_area: float) -> np.ndarray:
    """Labels (global seed numbers) of one block with its halo."""
    if local.size == 0:  # cannot happen: a block holds at least four halos, each three grid steps
        raise RuntimeError("a block without seeds; choose a larger block_size")
    if method == "snic":
        from .methods.snic import snic

        lab = snic(feats, n_segments=1, compactness=params.compactness, seeds=local, cell_area=cell_area)
    else:  # watershed, as methods.classical.run_watershed with the global markers
        from skimage.filters import sobel
        from skimage.segmentation import watershed

        grad = np.sqrt(sum(sobel(feats[..., c]) ** 2 for c in range(feats.shape[-1])))
        markers = np.zeros(feats.shape[:2], np.int32)
        markers.flat[local] = np.arange(1, local.size + 1)
        lab = watershed(grad, markers=markers, compactness=params.compactness)
    return glob.astype(np.int32)[lab - 1]


class _Counter:
    """Progress per block from dask's threads, and Cancel checked before each block starts."""

    def __init__(self, progress: Progress, total: int, stage: str):
        self.progress, self.total, self.stage = progress, total, stage
        self.done = 0
        self.lock = threading.Lock()

    def start(self):
        self.progress.check()

    def finish(self):
        with self.lock:
            self.done += 1
            self.progress(self.done, self.total, self.stage)


@dataclass(frozen=True)
class _BlockSpec:
    """What every block needs to know of the whole image (small, so it travels to a cluster's workers)."""

    ranges: list
    ys: np.ndarray
    xs: np.ndarray
    halo: int
    y_edges: np.ndarray
    x_edges: np.ndarray
    method: str
    input_space: str
    params: object
    cell_area: float
    rgb: bool


def _block_labels(*blocks, block_id=None, spec: _BlockSpec, counter: Optional[_Counter] = None) -> np.ndarray:
    """The labels of one block with its halo (the ``map_overlap`` function)."""
    from .io.prepare import to_feature_space

    if counter is not None:
        counter.start()
    by, bx = block_id
    y0, x0 = max(0, spec.y_edges[by] - spec.halo), max(0, spec.x_edges[bx] - spec.halo)
    y1, x1 = y0 + blocks[0].shape[0], x0 + blocks[0].shape[1]
    feats = to_feature_space(_normalised(blocks, spec.ranges), spec.rgb, spec.input_space)
    local, glob = _block_seeds(spec.ys, spec.xs, y0, y1, x0, x1)
    lab = _segment_block(feats, spec.method, spec.params, local, glob, spec.cell_area)
    if counter is not None:
        counter.finish()
    return lab


class _Runner:
    """Runs the block tasks of one phase and reports them.

    Without a client: dask's threaded scheduler in this process, ``threads``
    blocks at a time, progress and Cancel from inside the tasks
    (:class:`_Counter`). With a :class:`distributed.Client`: the tasks go to
    its workers; progress is reported as blocks finish and Cancel, checked
    between them, cancels the remaining ones.
    """

    def __init__(self, progress: Progress, threads: int, client=None):
        self.progress, self.threads, self.client = progress, threads, client

    def counter(self, total: int, stage: str) -> Optional[_Counter]:
        """The in-task counter of a phase (``None`` on a cluster: its tasks report nothing)."""
        return _Counter(self.progress, total, stage) if self.client is None else None

    def run(self, tasks: list, stage: str) -> list:
        import dask

        if self.client is None:
            return list(dask.compute(*tasks, scheduler="threads", num_workers=self.threads))
        from distributed import as_completed

        futures = self.client.compute(tasks)
        try:
            for done, fut in enumerate(as_completed(futures), 1):
                fut.result()  # a failed block raises here
                self.progress(done, len(tasks), stage)
                self.progress.check()
            return self.client.gather(futures)
        except BaseException:
            self.client.cancel(futures)
            raise


def _shared(obj, what: str):
    """``obj`` as one node of a task graph, named without hashing its data (an image-sized array)."""
    import uuid

    import dask

    return dask.delayed(obj, name=f"{what}-{uuid.uuid4().hex}", traverse=False)


def _still_wanted(zarr_path) -> bool:
    """False once a cancelled run has removed its zarr store: a block still running then writes
    nothing (writing would recreate the store's folders)."""
    import os

    return zarr_path is None or os.path.isdir(zarr_path)


def _write_block(labels: np.ndarray, target, y0: int, y1: int, x0: int, x1: int, zarr_path=None) -> None:
    if _still_wanted(zarr_path):
        target[y0:y1, x0:x1] = labels


def _stats(block: np.ndarray):
    """Connected components of a block and what stitching needs of them.

    Returns the components, their number, the label and size of each, the
    adjacent component pairs of the block with their border lengths
    (``(k, 3)``: a, b, pixels), and the components and labels of its four edges.
    """
    from skimage.measure import label as cc_label

    cc = cc_label(block, background=-1, connectivity=1).astype(np.int64, copy=False)
    n = int(cc.max())
    seed_of = np.zeros(n + 1, np.int64)
    seed_of[cc.ravel()] = block.ravel()
    sizes = np.bincount(cc.ravel(), minlength=n + 1)
    keys = []
    for a, b in ((cc[:, :-1], cc[:, 1:]), (cc[:-1, :], cc[1:, :])):
        m = a != b
        lo, hi = np.minimum(a[m], b[m]), np.maximum(a[m], b[m])
        keys.append(lo * (n + 1) + hi)
    key, count = np.unique(np.concatenate(keys), return_counts=True)
    edges = np.stack([key // (n + 1), key % (n + 1), count], 1)
    # copies: a view would keep the block's component image and labels (12 bytes a pixel) alive
    # until the stitching ends, which for all blocks together is of the image's size
    borders = {"top": (cc[0].copy(), block[0].copy()), "bottom": (cc[-1].copy(), block[-1].copy()),
               "left": (cc[:, 0].copy(), block[:, 0].copy()), "right": (cc[:, -1].copy(), block[:, -1].copy())}
    return cc, n, seed_of, sizes, edges, borders


def _block_stats(labels_store, y0, y1, x0, x1, counter: Optional[_Counter] = None):
    """What the stitching needs of one block of the labels (:func:`_stats` without the components)."""
    if counter is not None:
        counter.start()
    _, n, seed_of, sizes, edges, borders = _stats(np.asarray(labels_store[y0:y1, x0:x1]))
    if counter is not None:
        counter.finish()
    return n, seed_of, sizes, edges, borders


def _regions(ychunks, xchunks):
    """``(by, bx)`` and ``(y0, y1, x0, x1)`` of every block, row by row."""
    y_edges, x_edges = np.cumsum((0,) + tuple(ychunks)), np.cumsum((0,) + tuple(xchunks))
    return [((by, bx), (int(y_edges[by]), int(y_edges[by + 1]), int(x_edges[bx]), int(x_edges[bx + 1])))
            for by in range(len(ychunks)) for bx in range(len(xchunks))]


def _stitch_table(labels_store, ychunks, xchunks, runner: _Runner):
    """The lookup table ``component -> final label`` of every block (or ``None``: nothing to change)."""
    import dask
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    regions = _regions(ychunks, xchunks)
    keys = [k for k, _ in regions]
    counter = runner.counter(len(regions), "stitch")
    store = _shared(labels_store, "labels")
    tasks = [dask.delayed(_block_stats, pure=False)(store, *r, counter=counter) for _, r in regions]
    stats = dict(zip(keys, runner.run(tasks, "stitch")))
    offsets, total = {}, 0
    for k in keys:
        offsets[k] = total
        total += stats[k][0]
    seed_of = np.zeros(total + 1, np.int64)
    sizes = np.zeros(total + 1, np.int64)
    edges, joins = [], []
    for k in keys:
        n, s, z, e, _ = stats[k]
        o = offsets[k]
        seed_of[o + 1:o + n + 1], sizes[o + 1:o + n + 1] = s[1:], z[1:]
        edges.append(e + np.array([o, o, 0]))
    for (by, bx) in keys:
        for (nb, mine, theirs) in (((by + 1, bx), "bottom", "top"), ((by, bx + 1), "right", "left")):
            if nb not in stats:
                continue
            ca, la = stats[(by, bx)][4][mine]
            cb, lb = stats[nb][4][theirs]
            ga, gb = ca + offsets[(by, bx)], cb + offsets[nb]
            same = la == lb
            joins.append(np.stack([ga[same], gb[same]], 1))
            edges.append(np.stack([ga[~same], gb[~same], np.ones(int((~same).sum()), np.int64)], 1))
    joins = np.concatenate(joins) if joins else np.zeros((0, 2), np.int64)
    graph = coo_matrix((np.ones(len(joins)), (joins[:, 0], joins[:, 1])), shape=(total + 1, total + 1))
    _, root = connected_components(graph, directed=False)  # pieces of one label joined across borders
    n_roots = int(root.max()) + 1
    rsize = np.bincount(root, weights=sizes, minlength=n_roots)
    rseed = np.zeros(n_roots, np.int64)
    rseed[root[1:]] = seed_of[1:]
    # per label, the largest piece keeps it; the others are fragments
    order = np.lexsort((-rsize[1:], rseed[1:])) + 1 if n_roots > 1 else np.zeros(0, np.int64)
    main = np.zeros(n_roots, bool)
    first = np.ones(order.size, bool)
    first[1:] = rseed[order[1:]] != rseed[order[:-1]]
    main[order[first]] = True
    main[0] = False
    frag = np.flatnonzero(~main)
    frag = frag[frag > 0]
    if frag.size == 0:
        return None, 0
    # every fragment joins the neighbouring piece it shares the longest border with
    e = np.concatenate(edges)
    w = e[:, 2]
    e = root[e[:, :2]].astype(np.int64)  # (int64: the pair keys below exceed int32 for 46,341 pieces)
    keep = e[:, 0] != e[:, 1]
    e, w = e[keep], w[keep]
    e, w = np.concatenate([e, e[:, ::-1]]), np.concatenate([w, w])
    is_frag = np.zeros(n_roots, bool)
    is_frag[frag] = True
    sel = is_frag[e[:, 0]]
    e, w = e[sel], w[sel]
    key, inv = np.unique(e[:, 0] * n_roots + e[:, 1], return_inverse=True)
    border = np.bincount(inv.ravel(), weights=w)
    src, dst = key // n_roots, key % n_roots
    best = np.lexsort((dst, -border, src))
    src, dst = src[best], dst[best]
    keep = np.ones(src.size, bool)
    keep[1:] = src[1:] != src[:-1]
    graph = coo_matrix((np.ones(int(keep.sum())), (src[keep], dst[keep])), shape=(n_roots, n_roots))
    _, group = connected_components(graph, directed=False)
    final = np.zeros(int(group.max()) + 1, np.int64)
    final[group[main]] = rseed[main]
    n_seeds = int(rseed.max())
    orphan = np.flatnonzero(final == 0)
    orphan = orphan[orphan != group[0]]
    final[orphan] = n_seeds + 1 + np.arange(orphan.size)  # fragments only among themselves: own labels
    lut = final[group[root]].astype(np.int32)
    return (lut, offsets), int(frag.size)


def segment_tiled(image, info, params, *, tile: int, channel_axis="auto", normalize: str = "auto",
                  progress: Optional[Progress] = None, out=None, threads: int = BLOCK_THREADS,
                  scheduler=None) -> Result:
    """Segment a large 2D image block by block (see the module notes); called by ``segment_result``.

    Parameters
    ----------
    image : array_like
        A 2D image ``(Y, X)`` or ``(Y, X, C)``: numpy, dask, zarr or any
        array-like with ``shape``, ``dtype`` and slicing; read block by block.
    info : MethodInfo
        ``snic`` or ``watershed``.
    params : dataclass
        The method's built parameters.
    tile : int
        The block side (:func:`choose_tile`).
    channel_axis, normalize
        As :func:`napari_deepsuperpixel.io.prepare_image`.
    progress : Progress, optional
        Reports ``(block, n_blocks, stage)`` for the blocks and the stitching;
        Cancel is honoured before every block.
    out : str, Path or array, optional
        Where the labels go: a ``.zarr`` path (created; it must not exist) or
        an array with the image's YX shape; default a new numpy array.
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
    from .io.prepare import NORMALIZE_CHOICES

    progress = progress or Progress()
    if normalize not in NORMALIZE_CHOICES:
        raise ValueError(f"normalize must be one of {NORMALIZE_CHOICES}, got {normalize!r}")
    if getattr(params, "min_size", 0) and params.min_size > 1:
        raise ValueError(f"min_size={params.min_size} is not available in blocks; pass min_size=0 or "
                         "block_size=None")
    to_path = isinstance(out, (str, bytes)) or hasattr(out, "__fspath__")
    if scheduler is not None and not to_path:
        raise ValueError("blocks on a cluster are written by its workers: give out='labels.zarr' (a path on "
                         "storage the workers share)")
    (ny, nx), cax = spatial_shape(image, channel_axis, quiet=False)
    chans, dtype = _channels(image, cax)
    if not (np.issubdtype(dtype, np.number) or dtype == bool) or np.iscomplexobj(np.zeros(0, dtype)):
        raise ValueError(f"image must be a real numeric array, got dtype {dtype}")
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
        from ._util import connect_dask

        client, close = connect_dask(scheduler)
    try:
        return _segment_blocks(chans, dtype, cax, (ny, nx), info, params, tile, normalize, progress, out,
                               zarr_path, _Runner(progress, threads, client))
    finally:
        close()


def _segment_blocks(chans, dtype, cax, shape, info, params, tile, normalize, progress, out, zarr_path,
                    runner: _Runner) -> Result:
    """:func:`segment_tiled` after its checks: the pre-pass, the blocks, the stitching."""
    import dask
    import dask.array as da

    from .io.prepare import DEFAULT_PERCENTILES

    ny, nx = shape
    rgb = len(chans) == 3 and cax is not None and (dtype == np.uint8 or dtype.kind == "f")
    mode = normalize
    if mode == "auto":
        mode = "dtype" if dtype == np.bool_ or (dtype == np.uint8 and len(chans) == 3 and cax is not None) \
            else "percentile"
    pre = runner.client or "threads"
    _check_finite(chans, dtype, pre)
    ranges = _ranges(chans, dtype, mode, DEFAULT_PERCENTILES, pre)
    ys, xs = _grid(ny, nx, params.n_segments)
    n_seeds = ys.size * xs.size
    halo = halo_for(ny, nx, params.n_segments)
    ych, xch = _block_chunks(ny, tile, halo), _block_chunks(nx, tile, halo)
    spec = _BlockSpec(ranges, ys, xs, halo, np.cumsum((0,) + ych), np.cumsum((0,) + xch), info.name,
                      info.input_space, params, ny * nx / n_seeds, rgb)
    chans = [c.rechunk((ych, xch)) for c in chans]
    regions = _regions(ych, xch)
    counter = runner.counter(len(regions), "blocks")
    labels = da.map_overlap(functools.partial(_block_labels, spec=spec, counter=counter), *chans, depth=halo,
                            boundary="none", trim=True, dtype=np.int32, meta=np.empty((0, 0), np.int32))
    if zarr_path is not None:
        from .io.lazy import create_labels_zarr

        target = create_labels_zarr(zarr_path, (ny, nx), chunks=_zarr_chunk(tile))
    else:
        target = np.empty((ny, nx), np.int32) if out is None else out
    try:
        store = _shared(target, "labels")
        blocks = labels.to_delayed()
        alive = None if zarr_path is None else str(zarr_path)
        runner.run([dask.delayed(_write_block, pure=False)(blocks[k], store, *r, zarr_path=alive)
                    for k, r in regions], "blocks")
        progress.check()
        table, n_frag = _stitch_table(target, ych, xch, runner)
        n_final = n_seeds
        if table is not None:
            (lut, offsets) = table
            n_final = int(lut.max())
            _relabel(target, lut, offsets, ych, xch, runner, alive)
    except (Cancelled, KeyboardInterrupt):
        if zarr_path is not None:
            import shutil

            shutil.rmtree(zarr_path, ignore_errors=True)
        raise
    extras = {"blocks": (len(ych), len(xch)), "block_size": tile, "halo": halo, "n_segments": n_final,
              "fragments": n_frag}
    return Result(target, extras, connected=True)


def _zarr_chunk(tile: int) -> int:
    from .io.lazy import ZARR_CHUNK

    return ZARR_CHUNK if tile % ZARR_CHUNK == 0 else tile


def _relabel_block(target, lut, offset: int, y0, y1, x0, x1, counter: Optional[_Counter] = None,
                   zarr_path=None) -> None:
    """Rewrite one block through the stitching table (its components recomputed, as in the stitching)."""
    from skimage.measure import label as cc_label

    if counter is not None:
        counter.start()
    cc = cc_label(np.asarray(target[y0:y1, x0:x1]), background=-1, connectivity=1)
    if _still_wanted(zarr_path):
        target[y0:y1, x0:x1] = lut[cc + offset]
    if counter is not None:
        counter.finish()


def _relabel(target, lut, offsets, ych, xch, runner: _Runner, zarr_path=None) -> None:
    """Rewrite every block through the stitching table."""
    import dask

    regions = _regions(ych, xch)
    counter = runner.counter(len(regions), "relabel")
    store, table = _shared(target, "labels"), _shared(lut, "stitch-table")
    runner.run([dask.delayed(_relabel_block, pure=False)(store, table, offsets[k], *r, counter=counter,
                                                         zarr_path=zarr_path)
                for k, r in regions], "relabel")
