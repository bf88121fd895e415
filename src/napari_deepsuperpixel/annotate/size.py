"""How large the objects are, measured from the image (and the strokes), and the superpixel size that follows.

Superpixels must be smaller than the objects (docs/annotate.md: on DSB2018
nuclei a perfect annotator of superpixels reaches object F1 0.96 at 64 pixels
per superpixel and 0.31 at 1,024), and DSB2018's nuclei alone are 9 to 95
pixels across, so no single "pixels per superpixel" fits. The object size is
measured instead:

1. a rough object mask: the image (normalised; several channels weighted by
   the strokes' contrast, else averaged; smoothed
   with a Gaussian of 1 pixel) above a threshold. With strokes of the object
   class and of another class, the threshold lies 30 % of the way from the
   median intensity under the object strokes to the median under the others
   (:data:`ROUGH_LEVEL`; the mask is *below* it when the objects are the
   darker ones); without, Otsu's threshold, objects bright. Not half way: in
   brightfield the cells round dark nuclei are darker than half way to the
   empty background, and a mask half way measured cells (median ratio to the
   true diameter 2.6 on the 16 grayscale brightfield images of DSB2018, 1.45
   at 30 %; 1.20 and 1.05 on the 40 stained-tissue images, 1.08 and 0.97 on
   the 44 fluorescence images; 20 % and 40 % were measured too,
   docs/annotate.md "The object size");
2. the distance of every mask pixel to the background
   (``scipy.ndimage.distance_transform_edt``); the pixels
   that are the largest distance within a window about their own distance
   wide (in octaves: 2-4, 4-8, .. pixels), and at least 2 pixels deep, are
   object centres (specks of noise, ridges and bumps of an outline are not),
   and their value is the object's radius; a clump of touching objects has one
   centre per object, so dense images are measured as well as sparse ones;
3. the object diameter: twice the median of these radii, each weighted by
   its radius squared (cubed in 3D), the pixels of its object: many
   fragments of a dim, textured nucleus weigh less than the nucleus.

The superpixels are then squares of ``fraction`` times that diameter on a
side (:func:`superpixel_count`), 0.5 by default: chosen by measurement on
DSB2018 (docs/annotate.md, "Superpixel size from the data").
"""

from __future__ import annotations

import numpy as np

#: superpixel side as a fraction of the object diameter (module docstring)
DEFAULT_FRACTION = 0.5
#: smallest superpixel side in pixels (smaller ones carry no statistics)
MIN_SIDE = 3.0
#: the rough mask's level from the objects' strokes (0) to the others' (1); chosen on DSB2018 (module docstring)
ROUGH_LEVEL = 0.3
#: a distance maximum less deep than this (pixels) is noise, not an object centre
MIN_RADIUS = 2.0


def _gray(image, spatial_ndim, scribbles=None, object_class: int = 1, *, norm=None) -> np.ndarray:
    """One channel of the image, normalised per channel to [0, 1].

    Several channels: with strokes of the object class and another one, the
    channels weighted by how much brighter the objects' strokes are than the
    others' (a projection on the difference of the two classes' means, so that
    the objects come out bright); without, their mean. ``norm``: the image as
    :func:`normalised_channels` returns it, when already computed.
    """
    img = normalised_channels(image, spatial_ndim) if norm is None else norm
    if img.shape[-1] > 1 and scribbles is not None:
        sc = np.asarray(scribbles)
        obj, other = sc == object_class, (sc > 0) & (sc != object_class)
        if obj.any() and other.any():
            w = img[obj].mean(axis=0) - img[other].mean(axis=0)
            if np.abs(w).sum() > 0:
                g = img @ (w / np.abs(w).sum())
                return (g - g.min()) / max(float(g.max() - g.min()), 1e-12)
    return img.mean(axis=-1)


def normalised_channels(image, spatial_ndim) -> np.ndarray:
    """The image as ``(..., C)`` float64, each channel mapped to [0, 1] by its 1st-99.8th percentiles."""
    from ._graph import normalised

    img = np.asarray(image)
    if img.ndim == spatial_ndim:
        img = img[..., np.newaxis]
    return normalised(img.astype(np.float64))


def rough_mask(image, scribbles=None, *, object_class: int = 1, spatial_ndim: int = None) -> np.ndarray:
    """The rough object mask of step 1 of the module docstring (bool, the spatial shape)."""
    from scipy import ndimage as ndi
    from skimage.filters import threshold_otsu

    nd = spatial_ndim or (np.ndim(scribbles) if scribbles is not None else np.ndim(image))
    g = ndi.gaussian_filter(_gray(image, nd, scribbles, object_class), 1.0)
    if scribbles is not None:
        sc = np.asarray(scribbles)
        obj, other = sc == object_class, (sc > 0) & (sc != object_class)
        if obj.any() and other.any():
            fo, fb = float(np.median(g[obj])), float(np.median(g[other]))
            thr = fo + ROUGH_LEVEL * (fb - fo)
            return g > thr if fo >= fb else g < thr
    if g.max() <= g.min():
        return np.zeros(g.shape, bool)
    return g > threshold_otsu(g)


def estimate_object_size(image, scribbles=None, *, object_class: int = 1, spacing=None,
                         spatial_ndim: int = None) -> float:
    """The typical object diameter in pixels (module docstring).

    Parameters
    ----------
    image : array_like
        ``(Y, X)`` or ``(Z, Y, X)``, optionally with a trailing channel axis.
    scribbles : array_like of int, optional
        The strokes (0 = none); with strokes of ``object_class`` and of another
        class they set the threshold and the polarity.
    object_class : int
    spacing : sequence of float, optional
        Voxel size per axis (the diameter is then in those units).
    spatial_ndim : int, optional
        2 or 3 when ``image`` has a channel axis and no ``scribbles`` are given.

    Returns
    -------
    float
        The diameter; 0.0 when no object region is found.
    """
    from scipy import ndimage as ndi

    m = rough_mask(image, scribbles, object_class=object_class, spatial_ndim=spatial_ndim)
    if not m.any() or m.all():
        return 0.0
    d = ndi.distance_transform_edt(m, sampling=spacing)
    # a centre: a maximum of the distance over a window of its own radius (a ridge or a bump is not)
    peak = np.zeros(m.shape, bool)
    lo = MIN_RADIUS
    while lo <= d.max():
        band = (d >= lo) & (d < 2 * lo)
        if band.any():
            peak |= band & (d >= ndi.maximum_filter(d, size=2 * int(lo) + 1))
        lo *= 2
    if not peak.any():
        return float(2 * d.max())
    r = np.sort(d[peak])
    cum = np.cumsum(r ** m.ndim)  # each centre weighs as the pixels of its object
    return float(2 * r[np.searchsorted(cum, 0.5 * cum[-1])])


def superpixel_count(shape, object_size: float, *, fraction: float = DEFAULT_FRACTION, spacing=None) -> int:
    """How many superpixels of side ``fraction * object_size`` tile an image of ``shape`` (2D or 3D).

    With ``spacing`` (voxel size per axis) the size and the side are in its units.
    """
    if not object_size > 0:
        raise ValueError(f"object_size must be > 0 (a diameter in pixels), got {object_size}")
    if not fraction > 0:
        raise ValueError(f"fraction must be > 0 (superpixel side / object diameter), got {fraction}")
    vox = 1.0 if spacing is None else float(np.prod(spacing)) ** (1.0 / len(shape))
    side = max(MIN_SIDE, fraction * float(object_size) / vox)  # in voxels of the mean size
    n = int(round(float(np.prod(shape)) / side ** len(shape)))
    return int(np.clip(n, 2, max(2, int(np.prod(shape)) // int(MIN_SIDE ** len(shape)))))
