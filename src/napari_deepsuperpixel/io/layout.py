"""What an image is, from its shape alone: :class:`ImageLayout`, resolved once per run.

:func:`describe_image` reads the shape and dtype of an image (numpy, dask,
zarr or a lazily opened TIFF: nothing is loaded) and resolves its axes, from
``axes`` when given, else by :func:`~napari_deepsuperpixel.io.axes.guess_axes`
(which warns once for an ambiguous shape). Every branch of a run (blocks,
slices, volumes) and every check before it takes this one answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .axes import AXES_ORDER, canonical_order, guess_axes, parse_axes


@dataclass(frozen=True)
class ImageLayout:
    """The resolved axes of an image.

    Attributes
    ----------
    shape : tuple of int
        The image's shape, axes in the input's order.
    axes : str
        One letter per input axis (``T``, ``Z``, ``Y``, ``X``, ``C``), in the input's order.
    dtype : numpy.dtype
    """

    shape: tuple
    axes: str
    dtype: np.dtype

    @property
    def channel_axis(self) -> Optional[int]:
        """The index of the channel axis in the input, or ``None``."""
        return self.axes.index("C") if "C" in self.axes else None

    @property
    def n_channels(self) -> int:
        cax = self.channel_axis
        return 1 if cax is None else int(self.shape[cax])

    @property
    def label_axes(self) -> str:
        """The axes of the labels: the input's in ``T Z Y X`` order, without ``C``."""
        return "".join(a for a in AXES_ORDER if a in self.axes and a != "C")

    @property
    def spatial_shape(self) -> tuple:
        """The shape of the labels (``label_axes``)."""
        return tuple(int(self.shape[self.axes.index(a)]) for a in self.label_axes)

    @property
    def yx(self) -> tuple:
        return int(self.shape[self.axes.index("Y")]), int(self.shape[self.axes.index("X")])

    @property
    def is_2d(self) -> bool:
        """One 2D image (``YX`` or ``YXC`` in any order), no stack."""
        return self.label_axes == "YX"

    @property
    def order(self) -> list:
        """The permutation into ``T Z Y X C`` order."""
        return canonical_order(self.axes)


def describe_image(image, *, axes: Optional[str] = None, channel_axis="auto") -> ImageLayout:
    """The :class:`ImageLayout` of ``image`` (its shape and dtype are read, never its pixels).

    Raises
    ------
    ValueError
        Fewer than 2 or more than 4 dimensions without ``axes`` (5 with it), an
        ``axes`` string that does not fit, both ``axes`` and ``channel_axis``,
        or an invalid ``channel_axis``.
    """
    if not hasattr(image, "shape") or not hasattr(image, "dtype"):
        image = np.asarray(image)
    shape = tuple(int(s) for s in image.shape)
    dtype = np.dtype(image.dtype)
    ndim = len(shape)
    if ndim < 2:
        raise ValueError(f"image must have at least 2 dimensions (Y, X), got shape {shape}")
    if ndim > (5 if axes is not None else 4):
        raise ValueError(
            f"image has {ndim} dimensions (shape {shape}); at most 4 are supported without axes= "
            "((Y, X), (Y, X, C), (Z, Y, X) or (Z, Y, X, C)) and 5 with it (e.g. axes='TZYXC')")
    if axes is not None:
        if not (isinstance(channel_axis, str) and channel_axis == "auto"):
            raise ValueError(f"give axes ({axes!r}) or channel_axis ({channel_axis!r}), not both; "
                             "axes names the channel axis with 'C'")
        ax = parse_axes(axes, ndim)
    else:
        ax = guess_axes(shape, channel_axis)
    return ImageLayout(shape, ax, dtype)
