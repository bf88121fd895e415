"""Axes strings (``"YX"``, ``"ZYX"``, ``"TYX"``, ``"YXC"``, ``"TZYXC"`` ...) and voxel spacing.

An axes string names every axis of an image, in order, with one letter each:
``T`` (time), ``Z``, ``Y``, ``X`` and ``C`` (channels), the letters
stardist-napari uses. :func:`parse_axes` validates one; :func:`guess_axes` is
the documented fallback when none is given; :func:`resolve_spacing` checks a
physical voxel size.
"""

from __future__ import annotations

import warnings
from typing import Optional

#: the axis letters, in the order a prepared image holds them
AXES_ORDER = "TZYXC"

#: the longest last axis that the guess takes for channels
MAX_AUTO_CHANNELS = 16

#: the longest first axis of a 3D array that is ambiguous: a short stack or channels first
MAX_AMBIGUOUS_LEADING = 4


def parse_axes(axes, ndim: Optional[int] = None) -> str:
    """Validate an axes string and return it in upper case.

    Parameters
    ----------
    axes : str
        One letter per image axis from ``T``, ``Z``, ``Y``, ``X``, ``C``
        (case-insensitive), each at most once, ``Y`` and ``X`` always.
    ndim : int, optional
        The image's number of dimensions: the string must have that many letters.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        Naming what is wrong: an unknown or repeated letter, a missing Y or X,
        Y after X, or a length other than ``ndim``.

    Examples
    --------
    >>> parse_axes("zyx", 3)
    'ZYX'
    """
    if not isinstance(axes, str) or not axes:
        raise ValueError(f"axes must be a string of the letters {', '.join(AXES_ORDER)} (e.g. 'ZYX'), got {axes!r}")
    a = axes.upper()
    bad = sorted(set(a) - set(AXES_ORDER))
    if bad:
        raise ValueError(f"axes {axes!r} has unknown letter(s) {', '.join(bad)}; use T, Z, Y, X and C (e.g. 'TZYX')")
    rep = sorted({c for c in a if a.count(c) > 1})
    if rep:
        raise ValueError(f"axes {axes!r} repeats {', '.join(rep)}; each letter may appear once")
    if "Y" not in a or "X" not in a:
        raise ValueError(f"axes {axes!r} must contain both Y and X")
    if a.index("Y") > a.index("X"):
        raise ValueError(f"axes {axes!r} has X before Y; transpose the image or name the axes in order")
    if ndim is not None and len(a) != ndim:
        raise ValueError(f"axes {axes!r} names {len(a)} axes but the image has {ndim} dimensions; "
                         "give one letter per axis")
    return a


def canonical_order(axes: str) -> list:
    """The permutation that puts the axes of ``axes`` into ``T Z Y X C`` order."""
    return sorted(range(len(axes)), key=lambda i: AXES_ORDER.index(axes[i]))


def to_canonical(image, axes: str):
    """Transpose ``image`` from ``axes`` into ``T Z Y X C`` order.

    Returns
    -------
    (numpy.ndarray, str)
        The transposed array (a view) and its axes, e.g. ``"CZYX"`` -> ``"ZYXC"``.
    """
    import numpy as np

    arr = np.asarray(image)
    ax = parse_axes(axes, arr.ndim)
    order = canonical_order(ax)
    return np.transpose(arr, order), "".join(ax[i] for i in order)


def _warn(shape, taken: str, hint: str) -> None:
    warnings.warn(f"image shape {tuple(shape)} is ambiguous: taken as {taken}; {hint}", UserWarning, stacklevel=5)


def guess_axes(shape: tuple, channel_axis="auto") -> str:
    """The fallback when no axes are given: today's guess from the shape.

    Parameters
    ----------
    shape : tuple of int
    channel_axis : int, None or "auto"
        ``None``: no channels; an int: that axis holds channels; ``"auto"``: a
        3D shape whose last axis has at most 16 entries and is shorter than
        both others is ``YXC``, any other 3D shape ``ZYX``; a 4D shape is
        ``ZYXC`` when its last axis has at most 16 entries, else ``TZYX``.

    Returns
    -------
    str
        The axes, e.g. ``"ZYX"``.

    Warns
    -----
    UserWarning
        When the shape is ambiguous (``"auto"`` only): ``YXC`` with other than
        3 or 4 channels (e.g. ``(100, 100, 5)`` or ``(520, 696, 2)``), a ``ZYX``
        stack whose last axis is short enough for channels (``(3, 3, 3)``) or
        whose first axis is 2 to 4 long (``(2, 512, 512)``: could be channels
        first), or a 4D ``TZYX``. The message says which ``axes`` to pass.
    """
    ndim = len(shape)
    if ndim < 2:
        raise ValueError(f"image must have at least 2 dimensions (Y, X), got shape {tuple(shape)}")
    if channel_axis is None:
        if ndim > 4:
            raise ValueError(f"image has {ndim} dimensions (shape {tuple(shape)}); name them with axes= (e.g. 'TZYXC')")
        return "TZYX"[4 - ndim:]
    if isinstance(channel_axis, str):
        if channel_axis != "auto":
            raise ValueError(f"channel_axis must be 'auto', None or an int, got {channel_axis!r}")
        if ndim == 2:
            return "YX"
        c = shape[-1]
        if ndim == 3:
            channels = c <= MAX_AUTO_CHANNELS and c < min(shape[:2])
            if channels and c not in (3, 4):
                _warn(shape, f"(Y, X, C) with {c} channels",
                      "pass axes='ZYX' (or channel_axis=None) if it is a stack, or axes='YXC' (or channel_axis=-1) "
                      "to say it is channels")
            elif not channels and c <= MAX_AUTO_CHANNELS:
                _warn(shape, f"a (Z, Y, X) stack of {shape[0]} slices (its last axis, {c}, is not shorter than Y "
                      "and X)", "pass axes='YXC' (or channel_axis=-1) if the last axis holds channels, or "
                      "axes='ZYX' (or channel_axis=None) to say it is a stack")
            elif not channels and 2 <= shape[0] <= MAX_AMBIGUOUS_LEADING:
                _warn(shape, f"a (Z, Y, X) stack of {shape[0]} slices",
                      "pass axes='CYX' if the first axis holds channels, or axes='ZYX' (or 'TYX') to say it is a stack")
            return "YXC" if channels else "ZYX"
        if ndim == 4:
            if c <= MAX_AUTO_CHANNELS:
                return "ZYXC"
            _warn(shape, "(T, Z, Y, X)", "pass axes= to name the axes (e.g. 'TZYX', 'CZYX' or 'ZCYX')")
            return "TZYX"
        raise ValueError(f"image has {ndim} dimensions (shape {tuple(shape)}); name them with axes= (e.g. 'TZYXC')")
    ax = int(channel_axis)
    if not -ndim <= ax < ndim:
        raise ValueError(f"channel_axis={channel_axis} is out of range for an image with {ndim} dimensions "
                         f"(shape {tuple(shape)})")
    ax %= ndim
    rest = ndim - 1
    if not 2 <= rest <= 4:
        raise ValueError(f"with channel_axis={channel_axis!r} the image shape {tuple(shape)} leaves {rest} "
                         "spatial dimensions; 2 (YX) or 3 (ZYX) are supported, or name them with axes=")
    letters = list("TZYX"[4 - rest:])
    letters.insert(ax, "C")
    return "".join(letters)


def resolve_spacing(spacing, axes: str) -> tuple:
    """The physical voxel size along the spatial axes (``Z``, ``Y``, ``X``) of ``axes``.

    Parameters
    ----------
    spacing : sequence of float or None
        One positive value per ``Z``/``Y``/``X`` axis of ``axes``, in their
        order (e.g. ``(dz, dy, dx)`` for ``"TZYX"``), or ``None`` for 1 each.
    axes : str
        A parsed axes string.

    Returns
    -------
    tuple of float

    Raises
    ------
    ValueError
        A wrong number of values, or a value that is not a finite positive number.
    """
    import math

    spatial = [a for a in axes if a in "ZYX"]
    if spacing is None:
        return (1.0,) * len(spatial)
    try:
        vals = tuple(float(v) for v in spacing)
    except (TypeError, ValueError):
        raise ValueError(f"spacing must be a sequence of {len(spatial)} numbers ({', '.join(spatial)}), "
                         f"got {spacing!r}") from None
    if len(vals) != len(spatial):
        raise ValueError(f"spacing {spacing!r} has {len(vals)} value(s); the axes {axes!r} have {len(spatial)} "
                         f"spatial axes ({', '.join(spatial)}): give one value each")
    if not all(math.isfinite(v) and v > 0 for v in vals):
        raise ValueError(f"spacing values must be finite and > 0, got {spacing!r}")
    return vals
