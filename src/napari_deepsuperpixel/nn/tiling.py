"""Fully convolutional inference in overlapping tiles, blended without seams.

Peak memory of a U-Net pass grows with the image (every layer's activations
are held at once); in tiles it is bounded by the tile. Tiles overlap by
``overlap`` pixels on each inner side and are blended with weights that ramp
linearly from 0 to 1 across the overlap (1 on the image border), so that no
tile edge is visible in the result: each output pixel is a convex combination
of the outputs of the tiles that cover it, and the tiles' own borders (where a
convolution sees padding instead of image) get weight ~0. Importing this
module does not import torch (the constants are read by parameter declarations).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: the tile side above which the package's U-Nets (SEN, SuperAE) run in tiles, and the overlap of
#: neighbouring tiles (docs/methods/sen.md has the measured tiled-vs-whole difference and memory)
DEFAULT_TILE = 1024
DEFAULT_OVERLAP = 96


def tile_starts(size: int, tile: int, overlap: int) -> list:
    """Start offsets of tiles of length ``tile`` covering ``size`` with at least ``overlap`` in common.

    The last tile ends at ``size``; a single tile when ``size <= tile``.
    """
    if size <= tile:
        return [0]
    stride = max(1, tile - overlap)
    starts = list(range(0, size - tile, stride))
    return starts + [size - tile]


def _ramp(length: int, start: int, stop: int, size: int, overlap: int, device) -> "torch.Tensor":
    """1-D blending weights of one tile ``[start, stop)`` of an axis of ``size``."""
    import torch

    w = torch.ones(length, device=device)
    if overlap <= 0:
        return w
    r = torch.linspace(1.0 / (overlap + 1), overlap / (overlap + 1), overlap, device=device)
    if start > 0:  # an inner edge: fade in
        w[:overlap] = r
    if stop < size:
        w[-overlap:] = torch.minimum(w[-overlap:], r.flip(0))
    return w


def tiled(fn: Callable, x: "torch.Tensor", *, tile: int, overlap: int,
          progress: Optional[Callable] = None, stage: str = "tile") -> "torch.Tensor":
    """``fn(x)`` for a ``(1, C, H, W)`` tensor, computed in overlapping ``tile x tile`` tiles.

    Parameters
    ----------
    fn : callable
        A fully convolutional map ``(1, C, h, w) -> (1, D, h, w)`` (same spatial size).
    x : torch.Tensor
        ``(1, C, H, W)``.
    tile : int
        Tile side in pixels; an image no larger than this is passed whole.
    overlap : int
        Pixels shared by neighbouring tiles (the blending ramp); less than ``tile / 2``.
    progress : callable, optional
        ``progress(done, n_tiles, stage)`` after every tile; its ``check()``
        attribute, when present, is called before every tile (Cancel).

    Returns
    -------
    torch.Tensor
        ``(1, D, H, W)``, the blend of the tiles' outputs (float32).
    """
    import torch

    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"tiled inference expects a (1, C, H, W) tensor, got shape {tuple(x.shape)}")
    if tile < 1 or not 0 <= overlap < max(tile, 2) / 2:
        raise ValueError(f"tile must be >= 1 and 0 <= overlap < tile / 2, got tile={tile}, overlap={overlap}")
    _, _, h, w = x.shape
    ys, xs = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    n = len(ys) * len(xs)
    from .._types import reporter

    progress = reporter(progress)
    if n == 1:
        progress.check()
        out = fn(x)
        progress(1, 1, stage)
        return out
    acc = None
    norm = torch.zeros(1, 1, h, w, device=x.device)
    done = 0
    for y0 in ys:
        y1 = min(y0 + tile, h)
        wy = _ramp(y1 - y0, y0, y1, h, overlap, x.device)
        for x0 in xs:
            progress.check()
            x1 = min(x0 + tile, w)
            out = fn(x[:, :, y0:y1, x0:x1]).float()
            if acc is None:
                acc = torch.zeros(1, out.shape[1], h, w, device=x.device)
            wgt = wy[:, None] * _ramp(x1 - x0, x0, x1, w, overlap, x.device)[None, :]
            acc[:, :, y0:y1, x0:x1] += out * wgt
            norm[:, :, y0:y1, x0:x1] += wgt
            done += 1
            progress(done, n, stage)
    return acc / norm
