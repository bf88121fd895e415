"""A retraining redoes the pixel work only where the classes changed.

:func:`~napari_deepsuperpixel.annotate.segment_objects` keeps, on the feature
table it returns (:class:`FeatureTable`, ``.cache``), what its pixel steps
made: the image as one normalised, smoothed channel, the class mask and its
regions, each region's refined outline (:func:`~napari_deepsuperpixel.annotate.split.refine_mask`),
the refined mask's regions, their distance maxima and their objects
(:func:`~napari_deepsuperpixel.annotate.split.shape_split`). Passed back with
more strokes, only the regions near a pixel whose class changed are done
again, each on a crop of the image, and the rest is kept:

* the **outlines** of a region depend on the class mask within twice the ring's
  width of it (its ring, and the rings of its neighbours it competes with), so
  a region is redone when a changed pixel lies that near, on a crop with that
  margin;
* the **shape split** of a region of the refined mask depends on the distance
  transform within the Gaussian's reach (4 sigma) of it, and that distance on
  the mask within the largest distance value of it; a region is redone when a
  changed pixel lies within the sum, on a crop whose distance transform is
  checked to be the whole image's (the crop grows until it is);
* the split's radius is the median over all regions of their largest distance
  (:func:`~napari_deepsuperpixel.annotate.split.object_radius`): kept per
  region; when the median moves, the split is done again on the whole image.

So the objects are those of a computation from scratch: the regions are the
same pixels and each is split by the same operations on the same values, the
flood of each region alone in both (:func:`~napari_deepsuperpixel.annotate.split.flood`,
so also where two seeds have the same height)
(``tests/test_annotate.py`` compares the two). Their label numbers differ (the
objects are renumbered 1..N either way). Used for one 2D image or a 3D volume
with isotropic voxels, the default shape split (``seeds="peaks"``); a stack
done slice by slice, ``spacing`` and the other splits are computed from scratch.
Why: on a 2048 x 2048 image with 20,000 superpixels the pixel steps took about
5 s of a 5.7 s retraining (docs/annotate.md, "Speed at 2048 x 2048"). When the
changes lie all over the image the crops would cover most of it, and the
whole image is done again; the numba paths of
:mod:`~napari_deepsuperpixel.annotate.split` keep that about 1 s.
"""

from __future__ import annotations

import numpy as np


class FeatureTable(dict):
    """The feature table of :func:`~napari_deepsuperpixel.annotate.segment_objects` (a dict of columns).

    ``cache`` holds the pixel work of the last call (module docstring); it
    travels with the table when a caller passes it back as ``features=``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cache = {}


def image_key(image) -> tuple:
    """A fingerprint of an image: its shape, dtype and a hash of every value.

    Every value, not a sample: an image edited in a few pixels between two
    trainings must not reuse the old pixel work (about 10 ms for 2048 x 2048
    uint16, against the 0.35 s of a retraining that keeps it).
    """
    import hashlib

    a = np.ascontiguousarray(image)
    return a.shape, str(a.dtype), hashlib.blake2b(memoryview(a).cast("B"), digest_size=16).hexdigest()


def _dilated(mask, pad: int) -> np.ndarray:
    """``mask`` grown by a square (cube) of half-side ``pad`` pixels."""
    if pad <= 0:
        return mask
    if mask.ndim == 2:
        from ._rank_kernels import dilate_square_2d

        return dilate_square_2d(np.ascontiguousarray(mask, bool), int(pad))
    from scipy import ndimage as ndi

    return ndi.maximum_filter(mask.view(np.uint8), size=2 * pad + 1, mode="constant").astype(bool)


def _changed_regions(near, comp, n, old_comp, old_n):
    """The regions (new and old labels) touching ``near``, and the old -> new labels of the others.

    Regions away from every change are the same pixels in both labellings and,
    as :func:`scipy.ndimage.label` numbers regions in the order of their first
    pixel, in the same order: the k-th untouched old region is the k-th
    untouched new one. ``None`` when the counts disagree (cannot happen).
    """
    from ._rank_kernels import touched_labels

    flat = np.ascontiguousarray(near).ravel()
    dirty_new = touched_labels(flat, np.ascontiguousarray(comp).ravel(), int(n))
    dirty_new[0] = False
    dirty_old = touched_labels(flat, np.ascontiguousarray(old_comp).ravel(), int(old_n))
    dirty_old[0] = False
    clean_new = np.flatnonzero(~dirty_new[1:]) + 1
    clean_old = np.flatnonzero(~dirty_old[1:]) + 1
    if clean_new.size != clean_old.size:
        return None
    remap = np.zeros(old_n + 1, np.int64)
    remap[clean_old] = clean_new
    return dirty_new, dirty_old, remap


def _groups(sel, pad, limit=None):
    """Crops (slices) round groups of the selected pixels, each grown by ``pad``, and the group of each pixel.

    ``None`` when the grown pixels alone number more than ``limit`` (then so do the crops, which hold them).
    """
    from scipy import ndimage as ndi

    grown = _dilated(sel, pad)
    if limit is not None and np.count_nonzero(grown) > limit:
        return None
    grp, k = ndi.label(grown, structure=np.ones((3,) * sel.ndim))
    return grp, ndi.find_objects(grp), k


def refine_update(state, g, m, radius, *, level, quantile=90.0, order=None):
    """:func:`~napari_deepsuperpixel.annotate.split.refine_mask` of ``m``, redone only near its changes.

    ``state``: the dict of the previous call (empty the first time), updated.
    ``g``: the gray image, objects bright; ``order``: its pixels in ascending
    order of value (``numpy.argsort`` of its ravel), when kept. Returns the
    refined mask.
    """
    from scipy import ndimage as ndi

    from .split import background_floor, ring_levels, ring_width

    floor = background_floor(g, m)
    params = (g.shape, float(radius), float(level), float(quantile), floor)
    old = state.get("refine")
    changed = None
    if old is not None and old["params"] == params:
        changed = m != old["m"]
        if not changed.any():
            old["redone"] = 0.0
            return old["refined"]
    comp, n = ndi.label(m)
    if n == 0:
        state["refine"] = None
        return m.copy()
    pad = int(np.ceil(2 * ring_width(radius))) + 2
    upd = None
    if changed is not None:
        near = _dilated(changed, pad)
        upd = _changed_regions(near, comp, n, old["comp"], old["n"])
    if upd is None:
        grown, refined = ring_levels(g, comp, m, radius, level=level, quantile=quantile, lo_default=floor,
                                     order=order)
        state["refine"] = {"params": params, "m": m, "comp": comp, "n": n, "grown": grown, "refined": refined,
                           "redone": 1.0}
        return refined
    dirty_new, dirty_old, remap = upd
    sel = dirty_new[comp]
    groups = _groups(sel, pad, MAX_REDONE * m.size)
    if groups is None or _area(groups[1], 0, m.shape) > MAX_REDONE * m.size:  # as much work as the whole image
        grown, refined = ring_levels(g, comp, m, radius, level=level, quantile=quantile, lo_default=floor,
                                     order=order)
        state["refine"] = {"params": params, "m": m, "comp": comp, "n": n, "grown": grown, "refined": refined,
                           "redone": 1.0}
        return refined
    grp, boxes, _k = groups
    grown = remap[old["grown"]]
    refined = old["refined"] & (grown > 0)
    group_of = np.zeros(n + 1, np.int64)
    group_of[comp[sel]] = grp[sel]
    done = 0
    for j, box in enumerate(boxes, start=1):
        gr_c, ref_c = ring_levels(g[box], comp[box], m[box], radius, level=level, quantile=quantile,
                                  lo_default=floor)
        mine = (group_of[gr_c] == j) & (gr_c > 0)
        grown[box][mine] = gr_c[mine]
        refined[box][mine] = ref_c[mine]
        done += gr_c.size
    state["refine"] = {"params": params, "m": m, "comp": comp, "n": n, "grown": grown, "refined": refined,
                       "redone": done / m.size}
    return refined


#: when the crops to redo cover more than this fraction of the image, the whole image is done again
MAX_REDONE = 0.5


def _area(boxes, pad, shape) -> int:
    """Pixels of the crops ``boxes``, each grown by ``pad`` within ``shape``."""
    return sum(int(np.prod([min(b.stop + pad, s) - max(b.start - pad, 0) for b, s in zip(box, shape)]))
               for box in boxes if box is not None)


def _gauss_reach(sigma) -> int:
    """How far :func:`scipy.ndimage.gaussian_filter` (truncate 4) reaches, in pixels."""
    return int(4.0 * float(sigma) + 0.5)


def split_update(state, refined, *, smooth, h):
    """:func:`~napari_deepsuperpixel.annotate.split.shape_split` of ``refined``, redone only near its changes.

    ``state`` as :func:`refine_update`. Returns instance labels (not
    consecutive: :func:`~napari_deepsuperpixel.annotate.split.remove_small`
    renumbers them).
    """
    from scipy import ndimage as ndi

    from .split import _seeds, distance, flood, region_maxima, smoothed, split_regions

    m = refined
    params = (m.shape, float(smooth), float(h))
    old = state.get("split")
    changed = None
    if old is not None and old["params"] == params:
        changed = m is old["m"] or m != old["m"]
        if m is old["m"] or not changed.any():
            old["redone"] = 0.0
            return old["objects"]
    comp, n = ndi.label(m)
    if n == 0:
        state["split"] = None
        return np.zeros(m.shape, np.int32)
    upd = None
    if changed is not None and not _outlines_all_redone(state, m):
        reach = _gauss_reach(smooth * old["r"])
        near = _dilated(changed, reach + int(np.ceil(old["dmax"].max(initial=0))) + 2)
        upd = _changed_regions(near, comp, n, old["comp"], old["n"])
    if upd is not None:
        dirty_new, dirty_old, remap = upd
        dmax = np.zeros(n + 1)
        keep = remap > 0
        dmax[remap[keep]] = old["dmax"][keep]
        sel = dirty_new[comp]
        pad = reach + int(np.ceil(old["dmax"].max(initial=0))) + 2
        crops = []
        groups = _groups(sel, reach, MAX_REDONE * m.size)
        grp, boxes = (groups[0], groups[1]) if groups is not None else (None, [])
        if groups is None or _area(boxes, pad, m.shape) > MAX_REDONE * m.size:
            boxes = []
            upd = None
        for j, box in enumerate(boxes, start=1):
            d, big = _exact_distance(m, box, pad)
            cb = comp[big]
            mine = (grp[big] == j) & sel[big]
            dmax = np.maximum(dmax, region_maxima(np.where(mine, d, 0.0), np.where(mine, cb, 0), n))
            crops.append((big, d, cb, mine))
        r = float(np.median(dmax[1:]))
        if upd is not None and r != old["r"]:
            upd = None  # the radius moved: every region again
    if upd is None:
        dist = distance(m)
        dmax = region_maxima(dist, comp, n)
        r = float(np.median(dmax[1:]))
        objects = split_regions(m, comp, n, dist, r, smooth=smooth, h=h)
        state["split"] = {"params": params, "m": m, "comp": comp, "n": n, "dmax": dmax, "r": r,
                          "objects": objects, "next": int(objects.max(initial=0)) + 1, "redone": 1.0}
        return objects
    objects = np.where(dirty_old[old["comp"]], 0, old["objects"]).astype(np.int32)
    nxt = old["next"]
    sigma = smooth * r
    done = 0
    for big, d, cb, mine in crops:
        dist = smoothed(d, sigma, m[big]) if smooth > 0 else d
        lab = np.where(mine, cb, 0)
        markers = _seeds(dist, mine, lab, int(lab.max()), h * r, "peaks", np.ones(m.ndim))
        ws = flood(-dist, markers, lab, int(lab.max()))
        put = mine & (ws > 0)
        objects[big][put] = ws[put] + nxt
        nxt += int(ws.max(initial=0))
        done += d.size
    state["split"] = {"params": params, "m": m, "comp": comp, "n": n, "dmax": dmax, "r": r, "objects": objects,
                      "next": nxt, "redone": done / m.size}
    return objects


def _outlines_all_redone(state, m) -> bool:
    """Whether ``m`` is the filled mask of outlines that this call redid on the whole image.

    Then the split's crops, whose margins reach further than the outlines', would cover more
    than :data:`MAX_REDONE` of the image too, and the split is done whole without looking
    (the objects are the same either way; this saves the search for the changed regions).
    """
    filled, refine = state.get("filled"), state.get("refine")
    return (filled is not None and refine is not None and filled[2] is m and refine["refined"] is filled[0]
            and refine["redone"] == 1.0)


def _exact_distance(m, box, pad):
    """The distance transform of ``m`` on ``box`` grown by ``pad`` (and more until it is the whole image's there).

    On a crop a pixel's distance is the whole image's when its nearest
    background pixel is no farther than the crop's edge; the crop grows until
    that holds for every pixel within ``box``.
    """
    from .split import distance

    while True:
        big = tuple(slice(max(b.start - pad, 0), min(b.stop + pad, s)) for b, s in zip(box, m.shape))
        d = distance(m[big])
        inner = tuple(slice(b.start - o.start, b.stop - o.start) for b, o in zip(box, big))
        whole = all(o.start == 0 and o.stop == s for o, s in zip(big, m.shape))
        # the least distance from the box to an edge of the crop that is not the image's
        room = np.inf
        for b, o, size in zip(box, big, m.shape):
            if o.start > 0:
                room = min(room, b.start - o.start)
            if o.stop < size:
                room = min(room, o.stop - b.stop)
        if whole or d[inner].max(initial=0) < room:
            return d, big
        pad *= 2
