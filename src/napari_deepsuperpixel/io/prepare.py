"""The one image-preparation path used by every method.

Every method, the CLI, the benchmark and the napari widgets go through
:func:`prepare_image`, so that dtype handling, channel handling and
normalisation are identical everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np

from .axes import MAX_AUTO_CHANNELS, canonical_order, guess_axes, parse_axes  # noqa: F401

#: percentiles used by the robust ("percentile") normalisation
DEFAULT_PERCENTILES = (1.0, 99.8)

NORMALIZE_CHOICES = ("auto", "percentile", "minmax", "dtype", "none")


@dataclass
class PreparedImage:
    """An image ready for a method.

    Attributes
    ----------
    data : numpy.ndarray
        ``float32`` array shaped ``(N, Y, X, C)``: the ``N`` 2D slices of the
        image (every combination of its T and Z indices, T slowest; ``N == 1``
        for a 2D image). Values are normalised to about ``[0, 1]`` (see ``normalize``).
    is_stack : bool
        Whether the input had a Z or T axis.
    rgb : bool
        Whether the channels are RGB colour (3 channels, alpha dropped).
    spatial_shape : tuple
        The shape of the labels returned, e.g. ``(Y, X)``, ``(Z, Y, X)`` or ``(T, Z, Y, X)``.
    axes : str
        The axes of ``spatial_shape``: the input's axes in ``T Z Y X`` order, without ``C``.
    """

    data: np.ndarray
    is_stack: bool
    rgb: bool
    spatial_shape: tuple
    axes: str = ""

    def __post_init__(self):
        if not self.axes:
            self.axes = "ZYX"[3 - len(self.spatial_shape):]

    def volume_data(self, with_t: bool = False) -> np.ndarray:
        """The data with its T and Z axes apart: ``(T, Z, Y, X, C)`` (length 1 where the image has none).

        ``with_t=True`` and no Z axis: T takes Z's place (T as a spatial axis), ``(1, T, Y, X, C)``.
        """
        t = self.spatial_shape[0] if "T" in self.axes else 1
        z = self.spatial_shape[self.axes.index("Z")] if "Z" in self.axes else 1
        if with_t and "Z" not in self.axes:
            t, z = 1, t
        return self.data.reshape((t, z) + self.data.shape[1:])

    @property
    def n_channels(self) -> int:
        return int(self.data.shape[-1])

    @property
    def n_slices(self) -> int:
        return int(self.data.shape[0])

    def slice(self, z: int) -> np.ndarray:
        """The ``(Y, X, C)`` float32 array of slice ``z``."""
        return self.data[z]


def prepare_image(
    image,
    *,
    channel_axis: Union[int, str, None] = "auto",
    normalize: str = "auto",
    percentiles: tuple = DEFAULT_PERCENTILES,
    keep_alpha: bool = False,
    rgb: Optional[bool] = None,
    axes: Optional[str] = None,
) -> PreparedImage:
    """Validate and normalise an image for any method.

    Parameters
    ----------
    image : array_like
        2D grayscale ``(Y, X)``; colour or multichannel ``(Y, X, C)``;
        a stack ``(Z, Y, X)``; a multichannel stack ``(Z, Y, X, C)``; with
        ``axes``, any order of up to five axes T, Z, Y, X, C.
        Any real dtype (bool, uint8, uint16/12-bit, int, float).
    axes : str, optional
        One letter per axis of ``image``: ``T`` (time), ``Z``, ``Y``, ``X``,
        ``C`` (channels), e.g. ``"ZYX"``, ``"TYX"``, ``"YXC"``, ``"CZYX"``
        (see :func:`napari_deepsuperpixel.io.axes.parse_axes`). Given, it
        decides and ``channel_axis`` must stay ``"auto"``; not given, the axes
        are guessed from the shape and ``channel_axis`` (the fallback below,
        :func:`napari_deepsuperpixel.io.axes.guess_axes`).
    channel_axis : int, None or "auto"
        Without ``axes``: the axis holding channels. ``"auto"`` (default): a 3D array whose last
        axis has at most ``MAX_AUTO_CHANNELS`` (16) entries and is shorter
        than both others is ``(Y, X, C)`` (3 or 4 entries: colour, RGB/RGBA;
        others: that many channels); any other 3D array is a ZYX stack; a 4D
        array is ZYXC. A ``UserWarning`` says how an ambiguous shape was taken:
        ``(Y, X, C)`` with C other than 3 or 4 (e.g. ``(100, 100, 5)``, which
        could be a stack too), a stack whose last axis is short enough for
        channels but not shorter than Y and X (e.g. ``(3, 3, 3)``), a stack of
        2 to 4 slices (``(2, 512, 512)`` could be channels first) or a 4D array
        whose last axis is long (taken as TZYX); pass ``axes`` (or
        ``channel_axis``) to choose and silence it. ``None``: no channel axis
        (a 3D array is then always a stack).
    normalize : {"auto", "percentile", "minmax", "dtype", "none"}
        ``"dtype"`` divides by the dtype's maximum (uint8 -> /255);
        ``"percentile"`` maps the ``percentiles`` of each channel to [0, 1] and
        clips (robust to hot pixels; the usual choice for microscopy);
        ``"minmax"`` maps each channel's min/max to [0, 1]; ``"none"`` keeps the
        values as float32. ``"auto"``: ``"dtype"`` for uint8 colour (RGB/RGBA)
        images, so natural images keep their colours, and for bool;
        ``"percentile"`` for everything else (8-bit grayscale or multichannel
        microscopy, which often uses a small part of the range, uint16, 12-bit
        in uint16, int, float).
    percentiles : (float, float)
        Low and high percentiles for ``"percentile"``.
    keep_alpha : bool
        Keep the fourth channel of a 4-channel ``uint8`` image. By default such
        an image is taken as RGBA and its alpha is dropped; 4-channel images of
        other dtypes (e.g. 16-bit fluorescence) keep all four channels.
    rgb : bool, optional
        Whether 3 channels are RGB colour (methods working in CIELAB convert
        them). Default: True for 3-channel uint8 or float images, False for
        other dtypes (e.g. 3 fluorescence channels in uint16).

    Returns
    -------
    PreparedImage

    Raises
    ------
    ValueError
        For empty or 1-pixel images, non-finite values, more than 4 dimensions,
        complex or non-numeric data, an invalid ``channel_axis``, or float
        values beyond float32's range with ``normalize="none"``/``"dtype"``.

    Warns
    -----
    UserWarning
        An ambiguous 3D shape with ``channel_axis="auto"`` (see above).
    """
    arr = np.asarray(image)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"image must be a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise ValueError("complex images are not supported; pass np.abs(image) or the real part")
    if arr.ndim < 2:
        raise ValueError(
            f"image must have at least 2 dimensions (Y, X), got shape {arr.shape}"
        )
    if arr.ndim > (5 if axes is not None else 4):
        raise ValueError(
            f"image has {arr.ndim} dimensions (shape {arr.shape}); at most 4 are supported without axes= "
            "((Y, X), (Y, X, C), (Z, Y, X) or (Z, Y, X, C)) and 5 with it (e.g. axes='TZYXC')"
        )
    if arr.size == 0:
        raise ValueError(f"image is empty (shape {arr.shape})")
    if normalize not in NORMALIZE_CHOICES:
        raise ValueError(f"normalize must be one of {NORMALIZE_CHOICES}, got {normalize!r}")
    if axes is not None:
        if not (isinstance(channel_axis, str) and channel_axis == "auto"):
            raise ValueError(f"give axes ({axes!r}) or channel_axis ({channel_axis!r}), not both; "
                             "axes names the channel axis with 'C'")
        ax = parse_axes(axes, arr.ndim)
    else:
        ax = guess_axes(arr.shape, channel_axis)
    order = canonical_order(ax)
    arr = np.transpose(arr, order)
    ax = "".join(ax[i] for i in order)  # T Z Y X C order
    cax = ax.index("C") if "C" in ax else None
    if cax is None:
        arr = arr[..., np.newaxis]
    label_axes = ax.replace("C", "")
    lead_shape = arr.shape[:-3]
    is_stack = len(label_axes) > 2
    arr = arr.reshape((-1,) + arr.shape[-3:])  # (N, Y, X, C)
    if arr.shape[1] < 2 or arr.shape[2] < 2:
        raise ValueError(
            f"image is too small: spatial shape {arr.shape[1:3]}; each of Y and X needs at least 2 pixels"
        )
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        n_bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(
            f"image contains {n_bad} NaN or infinite value(s); replace them first "
            "(e.g. np.nan_to_num(image))"
        )

    n_ch = arr.shape[-1]
    if drops_alpha(n_ch, cax is not None, arr.dtype, keep_alpha):
        arr = arr[..., :3]  # RGBA: alpha dropped
        n_ch = 3
    if rgb is None:
        rgb = auto_rgb(n_ch, cax is not None, arr.dtype)
    elif rgb and n_ch != 3:
        raise ValueError(f"rgb=True needs 3 colour channels (or RGBA), the image has {n_ch}")

    mode = normalisation_mode(normalize, arr.dtype, n_ch, cax is not None)
    data = _normalise(arr, mode, percentiles)
    spatial = tuple(lead_shape) + tuple(data.shape[1:3])
    return PreparedImage(data=np.ascontiguousarray(data), is_stack=is_stack, rgb=rgb,
                         spatial_shape=spatial, axes=label_axes)


# The rules below are the one home of how an image's channels are read and scaled: prepare_image
# applies them to an image in memory, the run in blocks (napari_deepsuperpixel.tiled) to a large
# image block by block, with ranges computed once for the whole image.

def drops_alpha(n_channels: int, has_channel_axis: bool, dtype, keep_alpha: bool = False) -> bool:
    """Whether the fourth channel is an alpha channel to drop: 4 channels of ``uint8`` (RGBA)."""
    return n_channels == 4 and has_channel_axis and np.dtype(dtype) == np.uint8 and not keep_alpha


def auto_rgb(n_channels: int, has_channel_axis: bool, dtype) -> bool:
    """Whether channels are RGB colour: 3 channels of ``uint8`` or float.

    3 channels of 16-bit data are more likely fluorescence channels and are not
    converted to CIELAB.
    """
    dtype = np.dtype(dtype)
    return n_channels == 3 and has_channel_axis and (dtype == np.uint8 or dtype.kind == "f")


def normalisation_mode(normalize: str, dtype, n_channels: int, has_channel_axis: bool) -> str:
    """The normalisation ``normalize="auto"`` stands for (other values are returned as they are).

    ``"dtype"`` for ``uint8`` colour (so photographs keep their colours) and for
    bool; ``"percentile"`` for everything else (dim 8-bit fluorescence often
    uses a tenth of the range).
    """
    if normalize not in NORMALIZE_CHOICES:
        raise ValueError(f"normalize must be one of {NORMALIZE_CHOICES}, got {normalize!r}")
    if normalize != "auto":
        return normalize
    dtype = np.dtype(dtype)
    colour = n_channels == 3 and has_channel_axis
    return "dtype" if dtype == np.bool_ or (dtype == np.uint8 and colour) else "percentile"


@dataclass(frozen=True)
class ChannelRange:
    """How one channel is scaled: ``(value * scale - lo) / (hi - lo)``, clipped to [0, 1] if ``clip``.

    ``wide``: computed in float64 (float64 values beyond float32's range, which a
    cast to float32 first would turn into inf); ``scale`` is 0.5 where even
    float64's ``max - min`` would overflow.
    """

    lo: float
    hi: float
    clip: bool = True
    scale: float = 1.0
    wide: bool = False


def _beyond_float32(values) -> bool:
    dtype = np.asarray(values).dtype
    return dtype.kind == "f" and dtype.itemsize > 4 and np.size(values) > 0 and \
        float(np.max(np.abs(values))) > float(np.finfo(np.float32).max)


def channel_range(values, mode: str, percentiles=DEFAULT_PERCENTILES) -> Optional[ChannelRange]:
    """The scaling of one channel under ``mode`` (``None``: its values are used as they are).

    ``values`` holds the channel's values, or a regular subsample of them (the
    run in blocks passes a subsample for the percentiles and the exact
    ``[min, max]`` for ``"minmax"``).
    """
    values = np.asarray(values)
    if values.dtype == np.bool_ or mode == "none" or (mode == "dtype" and values.dtype.kind == "f"):
        return None
    if mode == "dtype":
        info = np.iinfo(values.dtype)
        lo = float(min(info.min, 0))
        return ChannelRange(lo, float(info.max), clip=False)
    wide = _beyond_float32(values)
    ch = values.astype(np.float64 if wide else np.float32)
    scale = 1.0
    if wide and not np.isfinite(float(ch.max()) - float(ch.min())):
        scale = 0.5  # max - min overflows float64 (values near 1.8e308): halve first
        ch = ch * scale
    if mode == "percentile":
        lo, hi = np.percentile(ch, percentiles)
    elif mode == "minmax":
        lo, hi = float(ch.min()), float(ch.max())
    else:
        raise ValueError(f"unknown normalisation {mode!r}")
    return ChannelRange(float(lo), float(hi), True, scale, wide)


def apply_range(values, rng: Optional[ChannelRange]) -> np.ndarray:
    """One channel scaled by :func:`channel_range`'s answer, as float32."""
    if rng is None:
        return np.asarray(values).astype(np.float32)
    if rng.hi - rng.lo <= 0:
        return np.zeros(np.shape(values), np.float32)  # a constant channel carries no information
    if not rng.clip:  # the dtype's range
        return ((np.asarray(values).astype(np.float32) - rng.lo) / float(rng.hi - rng.lo)).astype(np.float32)
    ch = np.asarray(values).astype(np.float64 if rng.wide else np.float32)
    if rng.scale != 1.0:
        ch = ch * rng.scale
    return np.clip((ch - rng.lo) / (rng.hi - rng.lo), 0.0, 1.0).astype(np.float32, copy=False)


def _normalise(arr: np.ndarray, mode: str, percentiles) -> np.ndarray:
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if mode in ("none", "dtype") and _beyond_float32(arr):
        raise ValueError(
            f"image values reach {float(np.max(np.abs(arr))):.3g}, beyond float32's range; use "
            "normalize='percentile' or 'minmax' (or scale the image first)")
    out = np.empty(arr.shape, np.float32)
    # per channel, over all slices so that a stack is normalised consistently
    for c in range(arr.shape[-1]):
        out[..., c] = apply_range(arr[..., c], channel_range(arr[..., c], mode, percentiles))
    return out


def to_feature_space(image: np.ndarray, rgb: bool, space: str) -> np.ndarray:
    """Convert a prepared ``(Y, X, C)`` slice to the space a method expects.

    ``"rgb01"`` returns it unchanged. ``"lab"`` converts RGB to CIELAB and
    scales other channels to ``[0, 100]`` (the range of L), so that the same
    compactness values behave alike for colour, grayscale and multichannel data.
    """
    if space == "rgb01":
        return image
    if space == "lab":
        if rgb:
            from skimage.color import rgb2lab

            return rgb2lab(np.clip(image, 0, 1)).astype(np.float32)
        return (image * 100.0).astype(np.float32)
    raise ValueError(f"unknown feature space {space!r}")
