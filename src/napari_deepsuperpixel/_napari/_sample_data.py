"""Offline sample data: images shipped with scikit-image plus a synthetic stack.

Nothing is downloaded: ``astronaut``, ``coffee``, ``cell`` and
``immunohistochemistry`` are bundled with scikit-image, and the nuclei stack
is generated.
"""

from __future__ import annotations

import numpy as np


def _rgb(name: str, title: str):
    from skimage import data

    return [(getattr(data, name)(), {"name": title, "rgb": True}, "image")]


def astronaut():
    """Astronaut Eileen Collins (RGB, 512x512), a natural image.

    Returns
    -------
    list of tuple
        One napari Image layer data tuple.
    """
    return _rgb("astronaut", "astronaut")


def coffee():
    """A cup of coffee (RGB, 400x600), a natural image.

    Returns
    -------
    list of tuple
        One napari Image layer data tuple.
    """
    return _rgb("coffee", "coffee")


def immunohistochemistry():
    """Immunohistochemistry (IHC) stained tissue (RGB, 512x512).

    Returns
    -------
    list of tuple
        One napari Image layer data tuple.
    """
    return _rgb("immunohistochemistry", "immunohistochemistry")


def cell():
    """A cell imaged by phase-contrast-like microscopy (grayscale, 660x550).

    Returns
    -------
    list of tuple
        One napari Image layer data tuple.
    """
    from skimage import data

    return [(data.cell(), {"name": "cell", "colormap": "gray"}, "image")]


def make_nuclei_stack(shape=(8, 128, 128), n_nuclei: int = 25, seed: int = 0) -> np.ndarray:
    """A synthetic 16-bit fluorescence stack of touching, blurred nuclei with shot noise.

    The image of :func:`napari_deepsuperpixel.datasets.synthetic.nuclei_volume`
    (voxel size 2 x 0.5 x 0.5 µm), which also gives its ground truth.

    Parameters
    ----------
    shape : tuple of int
        ``(Z, Y, X)``.
    n_nuclei : int
        Number of nuclei placed (fewer if they do not fit).
    seed : int
        Random seed (the same seed gives the same stack).

    Returns
    -------
    numpy.ndarray of uint16
        Values in the 12-bit range (0..4095), as many microscopy cameras give.
    """
    from ..datasets.synthetic import nuclei_volume

    return nuclei_volume(shape, n_nuclei=n_nuclei, spacing=(2.0, 0.5, 0.5), seed=seed)[0]


def nuclei_stack():
    """A synthetic ZYX stack of nuclei (uint16, 8x128x128, anisotropic scale).

    Returns
    -------
    list of tuple
        One napari Image layer data tuple with ``scale`` (2, 0.5, 0.5).
    """
    return [(make_nuclei_stack(), {"name": "nuclei stack", "colormap": "green",
                                   "scale": (2.0, 0.5, 0.5)}, "image")]
