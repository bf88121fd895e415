"""Touching objects apart: a shape split of a class mask, sized by the objects themselves.

Two nuclei that touch are one connected region of "nucleus" pixels. Most of
them touch without a darker line between them (docs/annotate.md), so the cue
that is left is their shape: the region has a waist where they meet. The
**shape split** finds it with the distance transform of the mask (the
distance of every object pixel to the background):

1. ``d`` = Euclidean distance transform of the mask (``spacing`` for
   anisotropic voxels), smoothed with a Gaussian of ``smooth * r`` where ``r``
   is the typical object radius;
2. seeds = the local maxima of ``d`` at least ``h * r`` apart
   (``skimage.feature.peak_local_max``): the centres of two round objects of
   radius ``r`` are about ``2 r`` apart, the bumps of one object's outline
   make no maximum that far from its centre;
3. a seeded watershed of ``-d`` inside the mask
   (``skimage.segmentation.watershed``); a connected region without a seed
   gets one at its highest point.

``r`` comes from the data: the median over the mask's connected regions of
their largest distance value (single objects dominate the median; a clump of
several objects has about the largest distance of one of them), unless the
caller passes ``object_size`` (a diameter in pixels). The seed rule and the
two fractions (``smooth=0.25``, ``h=0.6``) were chosen by measurement on the
ground-truth foreground of the 44 DSB2018 fluorescence images (docs/annotate.md,
"The shape split's rule": object F1 0.954, mean AP 0.862): a fixed
``min_distance`` in pixels, as the usual recipe, is right for one object size
only, and DSB2018's nuclei are 9 to 95 pixels across. ``seeds="h_maxima"``
(maxima standing ``h * r`` above the saddle to a higher one,
``skimage.morphology.h_maxima``) is the alternative measured there.

:func:`refine_mask` redraws the mask's outlines per object (before the split)
and :func:`remove_small` removes specks and slivers (after it), in
:func:`napari_deepsuperpixel.annotate.segment_objects`.

Speed (2D; :mod:`napari_deepsuperpixel.annotate._rank_kernels`, tested against
the calls they replace in ``tests/test_annotate_speed_paths.py``): the
distance transform (:func:`distance`) and the seeds (:func:`region_peaks`) are
numba passes that give scipy's and scikit-image's results to the bit; the
ring's growth (:func:`expand`) gives ``expand_labels``' labels but where two
labels are exactly equally near; the watershed (:func:`flood`) floods only
the regions with two or more seeds, each alone (a region with one seed is that
object), by a priority flood that may order pixels of exactly equal level
otherwise than scikit-image's and so move a few border pixels between two
objects. Before, these steps took about 4 s of a 4.5 s retraining at 2048 x 2048 with 20,000 superpixels
whose classes changed all over the image.
"""

from __future__ import annotations

import numpy as np

#: the default fractions of the object radius, chosen on DSB2018 (module docstring)
DEFAULT_SMOOTH = 0.25
DEFAULT_H = 0.6
SEEDS = ("peaks", "h_maxima")


def object_radius(mask, *, spacing=None, dist=None) -> float:
    """The typical radius of the objects of a mask: the median of its regions' largest distance value.

    Parameters
    ----------
    mask : array_like of bool
        ``(Y, X)`` or ``(Z, Y, X)``.
    spacing : sequence of float, optional
        Voxel size per axis (the radius is in those units).
    dist : numpy.ndarray, optional
        The mask's distance transform, when already computed.

    Returns
    -------
    float
        0.0 for an empty mask.
    """
    from scipy import ndimage as ndi

    m = np.asarray(mask, bool)
    if not m.any():
        return 0.0
    d = distance(m, spacing) if dist is None else dist
    comp, n = ndi.label(m)
    return float(np.median(region_maxima(d, comp, n)[1:]))


def region_maxima(values, labels, n) -> np.ndarray:
    """The largest of ``values`` in each label ``0..n`` (0 where a label has no pixel)."""
    from ._rank_kernels import group_max

    return group_max(np.ascontiguousarray(labels).ravel(), np.ascontiguousarray(values, np.float64).ravel(),
                     int(n) + 1)


def shape_split(mask, *, object_size=None, smooth: float = DEFAULT_SMOOTH, h: float = DEFAULT_H,
                seeds: str = "peaks", spacing=None, elevation=None, elevation_weight: float = 0.0,
                dist=None) -> np.ndarray:
    """Instance labels of a mask, touching objects split at their waists (module docstring).

    Parameters
    ----------
    mask : array_like of bool
        ``(Y, X)`` or ``(Z, Y, X)``; ``True`` = object class.
    object_size : float, optional
        Typical object diameter (pixels, or ``spacing`` units); default:
        measured from the mask (:func:`object_radius`).
    smooth : float
        Gaussian smoothing of the distance transform, as a fraction of the radius.
    h : float
        The seeds' least spacing (``seeds="peaks"``), or how far a maximum of
        the smoothed distance must rise above the saddle to a higher one to
        seed its own object (``"h_maxima"``); a fraction of the radius.
        ``inf`` never splits.
    seeds : {"peaks", "h_maxima"}
    spacing : sequence of float, optional
        Voxel size per axis.
    elevation : array_like, optional
        A per-pixel boundary map in [0, 1] (1 = boundary, e.g. a learned
        boundary probability) added to the flooded surface with
        ``elevation_weight`` (in units of the radius): the watershed lines then
        follow it where the shape leaves them free.
    elevation_weight : float
    dist : numpy.ndarray, optional
        The mask's distance transform (``spacing`` units), when already computed.

    Returns
    -------
    numpy.ndarray of int32
        0 = background, 1..N = objects (each a connected region of the mask).

    Raises
    ------
    ValueError
        For a mask that is not 2D/3D, or negative fractions.
    """
    from scipy import ndimage as ndi

    m = np.asarray(mask, bool)
    if m.ndim not in (2, 3):
        raise ValueError(f"mask must be 2D (Y, X) or 3D (Z, Y, X), got shape {m.shape}")
    if not (smooth >= 0 and h >= 0 and elevation_weight >= 0):
        raise ValueError(f"smooth, h and elevation_weight must be >= 0, got {smooth}, {h}, {elevation_weight}")
    if seeds not in SEEDS:
        raise ValueError(f"seeds must be one of {SEEDS}, got {seeds!r}")
    comp, n = ndi.label(m)
    if n == 0:
        return np.zeros(m.shape, np.int32)
    dist = distance(m, spacing) if dist is None else np.asarray(dist, np.float64)
    # the radius: as object_radius, on the regions at hand
    r = 0.5 * float(object_size) if object_size is not None else float(np.median(region_maxima(dist, comp, n)[1:]))
    if object_size is not None and not r > 0:
        raise ValueError(f"object_size must be > 0 (a diameter in pixels), got {object_size}")
    return split_regions(m, comp, n, dist, r, smooth=smooth, h=h, seeds=seeds, spacing=spacing,
                         elevation=elevation, elevation_weight=elevation_weight)


def split_regions(m, comp, n, dist, r, *, smooth=DEFAULT_SMOOTH, h=DEFAULT_H, seeds="peaks", spacing=None,
                  elevation=None, elevation_weight=0.0) -> np.ndarray:
    """:func:`shape_split` of a mask whose regions ``(comp, n)``, distance transform and radius ``r`` are made."""
    if not np.isfinite(h) or r <= 0:
        return comp.astype(np.int32)
    sp = np.ones(m.ndim) if spacing is None else np.asarray(spacing, float)
    if smooth > 0:
        dist = smoothed(dist, smooth * r / sp, m)
    surface = -dist
    if elevation is not None and elevation_weight > 0:
        el = np.asarray(elevation, np.float64)
        if el.shape != m.shape:
            raise ValueError(f"elevation has shape {el.shape} but the mask has shape {m.shape}")
        surface = surface + elevation_weight * r * el
    markers = _seeds(-surface if elevation is not None and elevation_weight > 0 else dist, m, comp, n,
                     h * r, seeds, sp)
    return flood(surface, markers, comp, n)


def smoothed(dist, sigma, mask) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter(dist, sigma) * mask``: the smoothed distance, zero outside the mask."""
    from scipy import ndimage as ndi

    out = ndi.gaussian_filter(dist, sigma)
    out *= mask
    return out


def distance(mask, spacing=None) -> np.ndarray:
    """``scipy.ndimage.distance_transform_edt(mask, sampling=spacing)``, the same values.

    A 2D mask without ``spacing`` and with some background goes through an
    exact transform in numba
    (:func:`~napari_deepsuperpixel.annotate._rank_kernels.distance_2d`, the
    same values to the bit, several times faster at 2048 x 2048); the rest
    through scipy.
    """
    m = np.asarray(mask, bool)
    if m.ndim == 2 and spacing is None and m.size and not m.all():
        from ._rank_kernels import distance_2d

        return distance_2d(np.ascontiguousarray(m))
    from scipy import ndimage as ndi

    return ndi.distance_transform_edt(m, sampling=spacing)


def expand(labels, width, spacing=None) -> np.ndarray:
    """``skimage.segmentation.expand_labels(labels, width, spacing)``, the same labels up to exact ties.

    2D without ``spacing`` (or a spacing of 1): an exact separable transform
    in numba (:func:`~napari_deepsuperpixel.annotate._rank_kernels.expand_labels_2d`;
    where two labels are exactly equally near, either may win); the rest
    through scikit-image.
    """
    lab = np.asarray(labels)
    if lab.ndim == 2 and lab.size and (spacing is None or np.all(np.asarray(spacing, float) == 1.0)):
        from ._rank_kernels import expand_labels_2d

        return expand_labels_2d(np.ascontiguousarray(lab), float(width))
    from skimage.segmentation import expand_labels

    return expand_labels(lab, distance=width, spacing=1.0 if spacing is None else spacing)


def flood(surface, markers, comp, n) -> np.ndarray:
    """``skimage.segmentation.watershed(surface, markers, mask=comp > 0)``, flooded only where it splits.

    ``comp``: the connected regions (face connectivity, as ``scipy.ndimage.label``)
    of the mask, labels ``1..n``, each holding at least one marker. A region
    with one marker is that marker's whole (the flood fills its connected
    region and nothing else); a region with two or more is flooded on its own
    (2D: :func:`~napari_deepsuperpixel.annotate._rank_kernels.flood_2d`, a
    priority flood; 3D: scikit-image on the crop of the region). The flood of
    one region never meets another's, so the labels are those of one
    watershed of the whole image, up to the order in which pixels of exactly
    equal value leave the queue (which decides a few pixels between two
    markers; the shape split of :mod:`~napari_deepsuperpixel.annotate.retrain`
    floods crops too).
    """
    from scipy import ndimage as ndi

    comp = np.asarray(comp)
    at = np.flatnonzero(markers)
    mk = markers.ravel()[at]
    owner = comp.ravel()[at]
    count = np.bincount(owner, minlength=n + 1)
    lut = np.zeros(n + 1, np.int32)
    one = count[owner] == 1
    lut[owner[one]] = mk[one]
    out = lut[comp]
    many = np.flatnonzero(count >= 2)
    if not many.size:
        return out
    if comp.ndim == 2 and comp.size < 2 ** 32:
        from ._rank_kernels import flood_2d

        sel = ~one
        at, owner = at[sel], owner[sel]
        out.ravel()[at] = mk[sel]
        order = np.argsort(owner, kind="stable")  # by region, each in raster order
        starts = np.searchsorted(owner[order], many)
        starts = np.append(starts, order.size)
        return flood_2d(np.ascontiguousarray(surface, np.float64), out, np.ascontiguousarray(comp),
                        at[order], starts.astype(np.int64))
    from skimage.segmentation import watershed

    boxes = ndi.find_objects(np.where(count[comp] >= 2, comp, 0))
    for k in many:
        box = boxes[k - 1]
        sub = comp[box] == k
        ws = watershed(surface[box], np.where(sub, markers[box], 0), mask=sub)
        out[box][sub] = ws[sub]
    return out


def _seeds(height, mask, comp, n, h, how, spacing) -> np.ndarray:
    """Seed labels 1..K of the watershed; every connected region gets at least one."""
    from scipy import ndimage as ndi

    if how == "h_maxima":
        from skimage.morphology import h_maxima

        if h > 0:
            peaks = h_maxima(np.where(mask, height, height[mask].min() - h - 1), h).astype(bool) & mask
        else:
            from skimage.morphology import local_maxima

            peaks = local_maxima(np.where(mask, height, -np.inf)) & mask
        markers, k = ndi.label(peaks, structure=np.ones((3,) * mask.ndim))
    else:
        md = max(1, int(round(h / float(np.min(spacing)))))
        pts = region_peaks(height, comp, md)
        markers = np.zeros(mask.shape, np.int32)
        markers[tuple(pts.T)] = np.arange(1, len(pts) + 1)
        k = len(pts)
    # a region without a seed: its highest point (the regions present: comp may hold some labels of 1..n only)
    from ._rank_kernels import seeded_regions

    present, seeded = seeded_regions(np.ascontiguousarray(comp).ravel(), np.ascontiguousarray(markers).ravel(),
                                     int(n))
    missing = np.flatnonzero(present[1:] & ~seeded[1:]) + 1
    if missing.size:
        pos = ndi.maximum_position(height, comp, missing)
        for j, p in enumerate(pos):
            markers[p] = k + 1 + j
    return markers


def region_peaks(height, labels, md) -> np.ndarray:
    """``skimage.feature.peak_local_max(height, min_distance=md, labels=labels, exclude_border=False)``.

    The same points in the same order (by label, then highest first, ties in
    raster order), in one pass over the image for every label instead of a
    loop over the labels (about 5,000 calls at 2048 x 2048): a 2D image goes
    through :func:`~napari_deepsuperpixel.annotate._rank_kernels.peak_candidates_2d`
    (each label's pixels that no pixel of the label within ``md`` exceeds)
    and :func:`~napari_deepsuperpixel.annotate._rank_kernels.spaced` (the
    greedy spacing of ``skimage``'s ``ensure_spacing``); a label whose every
    pixel is such a maximum takes scikit-image's own rule for it (its pixels
    that a binary opening removes,
    :func:`~napari_deepsuperpixel.annotate._rank_kernels.isolated_pixels_2d`);
    3D images go to scikit-image.
    """
    h = np.asarray(height)
    lab = np.asarray(labels)
    if h.ndim != 2 or not h.size or not np.issubdtype(h.dtype, np.floating):
        from skimage.feature import peak_local_max

        return peak_local_max(h, min_distance=md, labels=lab, exclude_border=False)
    from ._rank_kernels import isolated_pixels_2d, peak_candidates_2d, spaced

    h = np.ascontiguousarray(h, np.float64)
    lab = np.ascontiguousarray(lab if np.issubdtype(lab.dtype, np.integer) else lab.astype(np.int64))
    n = int(lab.max(initial=0))
    threshold = float(h.min())
    idx, trivial = peak_candidates_2d(h, lab, int(md), threshold, n)
    cand = lab.ravel()[idx]
    if trivial[1:].any():
        idx = np.sort(np.concatenate([idx[~trivial[cand]], isolated_pixels_2d(h, lab, trivial, threshold)]))
        cand = lab.ravel()[idx]
    order = np.lexsort((idx, -h.ravel()[idx], cand))
    idx, cand = idx[order], cand[order]
    ys, xs = idx // h.shape[1], idx % h.shape[1]
    if md > 1:
        keep = spaced(ys, xs, cand, int(md))
        ys, xs = ys[keep], xs[keep]
    return np.stack([ys, xs], axis=1)


#: the refined outline's level between the local background (0) and the object's bright end (1); chosen on DSB2018
DEFAULT_LEVEL = 0.3


def refine_mask(gray, mask, radius: float, *, level: float = DEFAULT_LEVEL, bright: bool = True,
                quantile: float = 90.0, spacing=None) -> np.ndarray:
    """Each object's outline redrawn at a level between its own brightness and its surroundings'.

    The superpixel classes draw outlines along superpixel edges, and where the
    classifier's threshold lies between the painted (bright object cores, far
    background) examples is arbitrary: mixed superpixels on a halo go either
    way. Per connected region of ``mask``: ``hi`` = the ``quantile`` of its
    values, ``lo`` = the median of the ring around it (``radius / 2`` wide,
    ``skimage.segmentation.expand_labels``); its pixels become those of the
    region grown by the ring whose value exceeds ``lo + level * (hi - lo)``.
    A local, per-object threshold (as "full width at a fraction of the
    maximum"); ``level`` was chosen on DSB2018 (docs/annotate.md).

    Parameters
    ----------
    gray : array_like of float
        One value per pixel (e.g. the normalised, lightly smoothed image).
    mask : array_like of bool
    radius : float
        Typical object radius (pixels).
    level : float in (0, 1)
    bright : bool
        Objects brighter than their surroundings (else ``gray`` is negated).
    quantile : float
        Percentile of a region's values taken as its bright end.
    spacing : sequence of float, optional
        Voxel size per axis.

    Returns
    -------
    numpy.ndarray of bool
    """
    from scipy import ndimage as ndi

    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    g = np.asarray(gray, np.float64)
    g = g if bright else -g
    m = np.asarray(mask, bool)
    comp, n = ndi.label(m)
    if n == 0:
        return m
    return ring_levels(g, comp, m, radius, level=level, quantile=quantile, spacing=spacing,
                       lo_default=background_floor(g, m))[1]


def background_floor(gray, mask) -> float:
    """The level of a region without a ring in :func:`refine_mask`: the lowest value outside the mask."""
    return float(gray[~mask].min()) if (~mask).any() else float(gray.min())


def ring_levels(g, comp, m, radius, *, level=DEFAULT_LEVEL, quantile=90.0, spacing=None, lo_default=0.0,
                order=None) -> tuple:
    """:func:`refine_mask` on labelled regions: ``(grown, refined)``.

    ``comp``: the regions of ``m`` (any positive labels, e.g. those of a whole
    image on a crop of it); ``grown``: each region grown by its ring (its label);
    ``refined``: the pixels of ``grown`` above their region's level. A region's
    result depends only on the pixels within twice the ring's width of it, so
    that a crop with that margin gives it exactly
    (:mod:`napari_deepsuperpixel.annotate.retrain`). ``order``: the pixels of
    ``g`` in ascending order of value (``numpy.argsort`` of its ravel), when
    kept from an earlier call on the same ``g``.
    """
    from ._rank_kernels import above_level, ring_counts, ring_values

    n = int(comp.max(initial=0))
    grown = expand(comp, ring_width(radius), spacing)
    # each grown pixel's group: 2k - 1 inside region k, 2k in its ring (0: none)
    gl = np.ascontiguousarray(grown).ravel()
    ml = np.ascontiguousarray(m, bool).ravel()
    count, key = ring_counts(gl, ml, n)
    c_in, c_r = count[1::2], count[2::2]
    rank_a = np.full(2 * n + 1, -1, np.int64)
    rank_b = np.full(2 * n + 1, -1, np.int64)
    rank_a[1::2] = np.floor((np.maximum(c_in, 1) - 1) * quantile / 100.0).astype(np.int64)
    rank_a[2::2] = (np.maximum(c_r, 1) - 1) // 2  # the median, as ndimage.median: the mean of the middle two
    rank_b[2::2] = np.maximum(c_r, 1) // 2
    gf = np.ascontiguousarray(g).ravel()
    if order is None:
        order = np.argsort(gf)
    va, vb = ring_values(order, key, gf, rank_a, rank_b)
    hi = va[1::2]
    lo = np.full(n, float(lo_default))
    has_ring = c_r > 0
    lo[has_ring] = 0.5 * (va[2::2] + vb[2::2])[has_ring]
    thr = np.zeros(n + 1)
    thr[1:] = lo + level * (hi - lo)
    return grown, above_level(gl, gf, thr).reshape(grown.shape)


def ring_width(radius) -> float:
    """The width of the ring round each region in :func:`refine_mask`: half the radius, at least 1 pixel."""
    return max(1.0, 0.5 * float(radius))


#: objects smaller than this fraction of a typical object's area are specks or slivers (chosen on DSB2018)
DEFAULT_MIN_FRACTION = 0.15


def remove_small(objects, radius: float, *, min_fraction: float = DEFAULT_MIN_FRACTION) -> np.ndarray:
    """Objects smaller than ``min_fraction`` of a disc (ball) of ``radius`` join their neighbour or go.

    A small object that touches others joins the one it shares most boundary
    with (a sliver cut off an object); an isolated one becomes background (a
    speck of noise the classifier called object). Labels are renumbered 1..N.

    Parameters
    ----------
    objects : array_like of int
        Instance labels (0 = background).
    radius : float
        Typical object radius (pixels).
    min_fraction : float
        0 keeps every object.

    Returns
    -------
    numpy.ndarray of int32
    """
    from ._rank_kernels import small_faces

    lab = np.asarray(objects)
    if lab.dtype.kind not in "iu" or lab.dtype == np.uint64:  # numpy.bincount takes the rest as they are
        lab = lab.astype(np.int64)
    if not min_fraction > 0 or lab.max(initial=0) == 0:
        return _sequential(lab)
    full = np.pi * radius ** 2 if lab.ndim == 2 else 4.0 / 3.0 * np.pi * radius ** 3
    area = np.bincount(lab.ravel())
    small = (area < min_fraction * full) & (area > 0)
    small[0] = False
    target = np.arange(area.size)
    if small.any():
        # each small object's faces with the objects that are not small (numba; the region adjacency graph of
        # the whole image took 0.15 s at 2048 x 2048), counted per pair
        a, b = small_faces(np.ascontiguousarray(lab).reshape((-1,) + lab.shape[-2:]), small)
        key, f = np.unique(a * area.size + b, return_counts=True)
        a, b = key // area.size, key % area.size
        target[small] = 0
        if a.size:
            # the neighbour with most faces; of equal ones the smallest label above the small one's, else the
            # smallest below (the order of the adjacency graph's pairs this replaced)
            order = np.lexsort((b, b < a, -f, a))
            first = np.concatenate([[True], a[order][1:] != a[order][:-1]])
            target[a[order][first]] = b[order][first]
    # the labels renumbered 1..K in their order, one look-up (as _sequential(target[lab]))
    present = np.zeros(area.size, bool)
    present[target[area > 0]] = True
    present[0] = False
    lut = np.cumsum(present).astype(np.int32)
    lut[~present] = 0
    return lut[target][lab]


def _sequential(lab) -> np.ndarray:
    """Labels renumbered 1..K in their order (as ``skimage.segmentation.relabel_sequential``), int32."""
    present = np.bincount(lab.ravel(), minlength=1) > 0
    present[0] = False
    lut = np.cumsum(present).astype(np.int32)
    lut[~present] = 0
    return lut[lab]
