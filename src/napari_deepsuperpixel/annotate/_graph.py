"""Checks and views shared by the annotation modules: superpixel arrays, images beside them.

The region adjacency graph they use lives in :mod:`napari_deepsuperpixel.regions`.
"""

from __future__ import annotations

import numpy as np


def check_superpixels(superpixels, name: str = "superpixels") -> np.ndarray:
    """A 2D or 3D non-negative integer label array, or a ``ValueError`` saying what to pass."""
    sp = np.asarray(superpixels)
    if sp.ndim not in (2, 3):
        raise ValueError(f"{name} must be a 2D (Y, X) or 3D (Z, Y, X) label image, got shape {sp.shape}")
    if not (np.issubdtype(sp.dtype, np.integer) or sp.dtype == bool):
        raise ValueError(f"{name} must hold integer labels, got dtype {sp.dtype}")
    if sp.size and sp.min() < 0:
        raise ValueError(f"{name} has negative labels; use 1..N (0 = no superpixel)")
    return sp


def spatial_image(image, shape: tuple, name: str = "image") -> np.ndarray:
    """``image`` as ``shape + (C,)`` (a channel axis added when it has none), or a ``ValueError``."""
    img = np.asarray(image)
    if img.shape == tuple(shape):
        img = img[..., np.newaxis]
    if img.ndim != len(shape) + 1 or img.shape[:-1] != tuple(shape):
        raise ValueError(f"{name} has shape {np.shape(image)} but the superpixels have shape {tuple(shape)}; "
                         "pass an image of the same spatial shape (a trailing channel axis is allowed)")
    if not (np.issubdtype(img.dtype, np.number) or img.dtype == bool) or np.iscomplexobj(img):
        raise ValueError(f"{name} must be a real numeric array, got dtype {img.dtype}")
    return img


def normalised(image: np.ndarray) -> np.ndarray:
    """A ``(..., C)`` image mapped per channel to [0, 1] by its 1st-99.8th percentiles.

    The package's one normalisation (:func:`napari_deepsuperpixel.io.prepare.prepare_image`,
    ``normalize="percentile"``), reshaped back to ``image``'s shape.
    """
    from ..io.prepare import prepare_image

    prep = prepare_image(image, channel_axis=-1, normalize="percentile", rgb=False)
    return prep.data.reshape(image.shape)
