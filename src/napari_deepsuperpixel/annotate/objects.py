"""One call from scribbles to objects: superpixels sized from the data, a classifier, touching objects split.

:func:`segment_objects` chains what the rest of :mod:`napari_deepsuperpixel.annotate`
provides:

1. **object size** (:func:`~napari_deepsuperpixel.annotate.size.estimate_object_size`):
   measured from the image and the strokes unless given;
2. **superpixels** (unless given): SNIC, squares of ``superpixel_fraction``
   times the object diameter on a side;
3. **features** (unless given): the intensity statistics of
   :func:`~napari_deepsuperpixel.annotate.superpixel_features` and, with
   ``filters=True``, the multi-scale filters of
   :func:`~napari_deepsuperpixel.annotate.filters.filter_features`; kept on the
   result (``.features``) so that a retraining passes them back and only
   trains;
4. **classes**: :func:`~napari_deepsuperpixel.annotate.classify_superpixels`;
5. **outlines** (``refine=True``): each object's outline redrawn at a level
   between its own brightness and its surroundings'
   (:func:`~napari_deepsuperpixel.annotate.split.refine_mask`); on DSB2018
   this raised object F1 by 0.03 to 0.08 and kept it from falling with more
   strokes (docs/annotate.md, "More strokes never hurt"); then the holes
   smaller than half a typical object filled (:func:`filled`): the outline
   level leaves holes in textured nuclei, each hole a distance maximum for the
   split (on the 8 stained-tissue images of ``--set tissue --n-images 8``, 2
   seeds: object F1 +0.01 to +0.03; no change on 8 fluorescence images);
6. **objects**: the pixels of ``object_class`` split into objects by ``split``,
   then objects smaller than ``min_fraction`` of a typical one joined to a
   touching object or dropped (:func:`~napari_deepsuperpixel.annotate.split.remove_small`):
   ``"shape"`` (:func:`~napari_deepsuperpixel.annotate.split.shape_split`),
   ``"contrast"`` (:func:`~napari_deepsuperpixel.annotate.to_instances`, along
   darker or brighter lines between superpixels), ``"learned"`` (an edge
   classifier on the superpixel graph trained from the strokes and the
   object outlines, :mod:`napari_deepsuperpixel.annotate.boundary`),
   ``"shape+learned"`` (the same, also taught by the shape split's objects)
   or ``"none"`` (connected components).

A stack ``(Z, Y, X)`` is segmented slice by slice by default (superpixels and
objects per slice, one classifier trained on the strokes of every slice);
``mode="3d"`` makes supervoxels and splits in 3D (``spacing`` for
anisotropic voxels). The defaults were chosen by measurement on DSB2018
fluorescence nuclei (docs/annotate.md).

A retraining that passes back the returned ``.features`` redoes the pixel
steps only where the classes changed (:mod:`napari_deepsuperpixel.annotate.retrain`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from .retrain import FeatureTable
from .size import DEFAULT_FRACTION

SPLITS = ("shape", "contrast", "learned", "shape+learned", "none")
MODES = ("slices", "3d")
DEFAULT_SPLIT = "shape"
DEFAULT_FILTERS = False


@dataclass
class ObjectSegmentation:
    """What :func:`segment_objects` returns.

    Attributes
    ----------
    objects : numpy.ndarray of int32
        0 = background, 1..N = objects (distinct across the slices of a stack).
    classes : numpy.ndarray of int32
        Per-pixel class (``1..C``).
    superpixels : numpy.ndarray of int32
        The superpixels used (labels distinct across slices).
    confidence : numpy.ndarray of float32
        Per pixel, the classifier's probability of its superpixel's class.
    object_size : float
        The object diameter used (pixels), measured or given.
    features : FeatureTable
        The feature table, a dict of columns (pass it back as ``features=`` with the same
        ``superpixels=`` to retrain without recomputing).
    classification : SuperpixelClassification
        The classifier's result per superpixel.
    """

    objects: np.ndarray
    classes: np.ndarray
    superpixels: np.ndarray
    confidence: np.ndarray
    object_size: float
    features: dict = field(default_factory=dict)
    classification: Any = None

    @property
    def n_objects(self) -> int:
        return int(np.unique(self.objects[self.objects > 0]).size)


def _check(image, scribbles, object_class, mode, split):
    img = np.asarray(image)
    sc = np.asarray(scribbles)
    if sc.ndim not in (2, 3):
        raise ValueError(f"scribbles must be a 2D (Y, X) or 3D (Z, Y, X) label image, got shape {sc.shape}")
    if img.shape != sc.shape and img.shape[:-1] != sc.shape:
        raise ValueError(f"image has shape {img.shape} but the scribbles have shape {sc.shape}; paint the "
                         "scribbles in a Labels layer of the image's shape (a trailing channel axis is allowed)")
    if not np.issubdtype(sc.dtype, np.integer) or (sc.size and sc.min() < 0):
        raise ValueError("scribbles must hold integer classes >= 0 (0 = not annotated)")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    classes = np.unique(sc[sc > 0])
    if object_class not in classes:
        raise ValueError(f"object_class={object_class} has no strokes (painted classes: {classes.tolist() or 'none'}); "
                         "paint a few strokes of it on the objects")
    if classes.size < 2:
        raise ValueError(f"paint strokes of at least two classes (found {classes.tolist()}); "
                         "e.g. 1 on objects and 2 on background")
    return img, sc


def make_superpixels(image, shape, object_size: float, *, fraction: float = DEFAULT_FRACTION,
                     mode: str = "slices", spacing=None, seed: int = 0) -> np.ndarray:
    """SNIC superpixels of side ``fraction * object_size``; per slice for a stack, labels distinct across slices.

    The image is prepared as :func:`napari_deepsuperpixel.segment` prepares it
    for ``"snic"`` (normalised per channel, CIELAB for colour, other channels
    scaled to [0, 100]) and SNIC (:mod:`napari_deepsuperpixel.methods.snic`,
    ``snic3d`` for ``mode="3d"``) runs at its default compactness. ``seed`` is
    unused: SNIC is deterministic.
    """
    from ..io.prepare import prepare_image, to_feature_space
    from ..methods.snic import snic
    from .size import superpixel_count

    img = np.asarray(image)
    axes = ("YX" if len(shape) == 2 else "ZYX") + ("C" if img.ndim == len(shape) + 1 else "")
    prep = prepare_image(img, axes=axes)
    data = prep.data if len(shape) == 3 else prep.data.reshape(shape + (-1,))
    if len(shape) == 2:
        feats = to_feature_space(data, prep.rgb, "lab")
        n = superpixel_count(shape, object_size, fraction=fraction)
        return np.asarray(snic(feats, n), np.int32)
    data = data.reshape(shape + (-1,))
    if mode == "3d":
        from ..methods.snic3d import snic3d

        feats = np.stack([to_feature_space(data[z], prep.rgb, "lab") for z in range(shape[0])])
        n = superpixel_count(shape, object_size, fraction=fraction, spacing=spacing)
        return np.asarray(snic3d(feats, n, spacing=(1.0, 1.0, 1.0) if spacing is None else tuple(spacing)),
                          np.int32)
    out = np.zeros(shape, np.int32)
    offset = 0
    n = superpixel_count(shape[1:], object_size, fraction=fraction)
    for z in range(shape[0]):
        lab = np.asarray(snic(to_feature_space(data[z], prep.rgb, "lab"), n), np.int32)
        out[z] = np.where(lab > 0, lab + offset, 0)
        offset = int(out[z].max(initial=offset))
    return out


def object_features(image, superpixels, *, filters: bool = DEFAULT_FILTERS, spacing=None,
                    embedding=None) -> dict:
    """The feature table :func:`segment_objects` trains on: intensity statistics (+ multi-scale filters)."""
    from .features import superpixel_features
    from .filters import filter_features

    table = superpixel_features(image, superpixels, embedding=embedding)
    if filters:
        extra = filter_features(image, superpixels, spacing=spacing)
        if not np.array_equal(extra["label"], table["label"]):
            raise ValueError("the filter table's labels differ from the feature table's")  # cannot happen: same sp
        table.update({k: v for k, v in extra.items() if k != "label"})
    return table


def feature_columns(features) -> list:
    """The columns the classifier of :func:`segment_objects` uses: intensity, filters and embedding."""
    prefixes = ("intensity_mean", "intensity_std", "intensity_p", "filter_", "embedding_")
    return [k for k in features.keys() if str(k).startswith(prefixes)]


def segment_objects(image, scribbles, *, object_class: int = 1, superpixels=None, object_size: Optional[float] = None,
                    superpixel_fraction: float = DEFAULT_FRACTION, features=None, filters: bool = DEFAULT_FILTERS,
                    embedding=None, split: str = DEFAULT_SPLIT, split_h: Optional[float] = None,
                    refine: bool = True, min_fraction: Optional[float] = None, classifier="random_forest",
                    mode: str = "slices", spacing=None, seed: int = 0, incremental: bool = True) -> ObjectSegmentation:
    """Objects of one class from a few strokes per class (module docstring).

    Parameters
    ----------
    image : array_like
        ``(Y, X)``, ``(Z, Y, X)`` (a stack, or a volume with ``mode="3d"``),
        optionally with a trailing channel axis. Raw values.
    scribbles : array_like of int
        The spatial shape of ``image``: 0 = not annotated, ``1..C`` = class.
    object_class : int
        The class painted on the objects (default 1).
    superpixels : array_like of int, optional
        Superpixels to use (labels distinct across slices); default: SNIC sized
        from the object size.
    object_size : float, optional
        Typical object diameter in pixels (in ``spacing``'s units when given); default: measured
        (:func:`~napari_deepsuperpixel.annotate.size.estimate_object_size`).
    superpixel_fraction : float
        Superpixel side as a fraction of the object diameter.
    features : dict, optional
        A table from an earlier call's ``.features`` (same superpixels): only
        the classifier is trained again.
    filters : bool
        Add the multi-scale filter features (when computing the table).
    embedding : array_like, optional
        Per-pixel deep features (e.g. SEN's ``extras["embedding"]``) averaged
        per superpixel as more columns.
    split : {"shape", "contrast", "learned", "shape+learned", "none"}
        How touching objects are separated.
    split_h : float, optional
        The shape split's seed height as a fraction of the object radius
        (:func:`~napari_deepsuperpixel.annotate.split.shape_split`'s ``h``);
        larger splits less, ``inf`` never.
    refine : bool
        Redraw each object's outline at a local level (step 5); for
        single-channel intensities (a multichannel image uses the channels' mean).
    min_fraction : float, optional
        Objects smaller than this fraction of a typical object's area join a
        touching object or become background
        (:func:`~napari_deepsuperpixel.annotate.split.remove_small`; default
        0.15, 0 keeps all).
    classifier : str or scikit-learn estimator
        See :func:`~napari_deepsuperpixel.annotate.make_classifier`.
    mode : {"slices", "3d"}
        For a ``(Z, Y, X)`` image: slice by slice, or supervoxels and a 3D split.
    spacing : sequence of float, optional
        ``mode="3d"``: voxel size per axis.
    seed : int
    incremental : bool
        Keep the pixel work on the returned ``.features`` and, when they are
        passed back, redo it only where the classes changed
        (:mod:`napari_deepsuperpixel.annotate.retrain`; one image or a 3D
        volume without ``spacing``, ``split="shape"``); the objects are the
        same either way. ``False``: compute everything again.

    Returns
    -------
    ObjectSegmentation

    Raises
    ------
    ValueError
        Shapes that differ, no strokes of ``object_class`` or of a second
        class, an unknown ``split`` or ``mode``.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[:64, :64]
    >>> img = (((yy - 32) ** 2 + (xx - 20) ** 2 < 100) | ((yy - 32) ** 2 + (xx - 38) ** 2 < 100)).astype(float)
    >>> strokes = np.zeros((64, 64), int); strokes[32, 16:24] = 1; strokes[5, 5:20] = 2
    >>> segment_objects(img, strokes, object_class=1).n_objects
    2
    """
    from .classify import classify_superpixels

    img, sc = _check(image, scribbles, object_class, mode, split)
    shape = sc.shape
    if spacing is not None and (len(spacing) != len(shape) or any(not float(s) > 0 for s in spacing)):
        raise ValueError(f"spacing must give one positive voxel size per axis of {shape}, got {spacing}")
    per_slice = len(shape) == 3 and mode == "slices"
    if object_size is None:
        from .size import estimate_object_size

        if per_slice:
            sizes = [estimate_object_size(img[z], sc[z], object_class=object_class, spatial_ndim=2)
                     for z in range(shape[0]) if (sc[z] == object_class).any()]
            object_size = float(np.median(sizes)) if sizes else 0.0
        else:
            object_size = estimate_object_size(img, sc, object_class=object_class, spacing=spacing,
                                               spatial_ndim=len(shape))
        if not object_size > 0:
            raise ValueError("no objects found to measure their size; pass object_size= (a diameter in pixels)")
    elif not object_size > 0:
        raise ValueError(f"object_size must be > 0 (a diameter in pixels), got {object_size}")
    if superpixels is None:
        if features is not None:
            raise ValueError("features= belongs to given superpixels; pass the superpixels= they were computed on")
        sp = make_superpixels(img, shape, object_size, fraction=superpixel_fraction, mode=mode, spacing=spacing,
                              seed=seed)
    else:
        sp = np.asarray(superpixels)
        if sp.shape != shape:
            raise ValueError(f"superpixels have shape {sp.shape} but the scribbles have shape {shape}")
    if features is None:
        features = object_features(img, sp, filters=filters, spacing=spacing if mode == "3d" else None,
                                   embedding=embedding)
    if not isinstance(features, FeatureTable):
        features = FeatureTable(features)
    res = classify_superpixels(None, sp, sc, features=features, columns=feature_columns(features),
                               classifier=classifier, seed=seed)
    n = int(max(res.superpixel_ids.max(initial=0), sp.max(initial=0))) + 1
    conf = np.zeros(n, np.float32)
    conf[res.superpixel_ids] = res.confidence
    mask = res.labels == object_class
    if incremental and not per_slice and spacing is None and split == "shape":
        objects = _kept_objects(features.cache, img, sc, mask, object_size, object_class=object_class,
                                refine=refine, split_h=split_h)
    else:
        features.cache.clear()
        if refine:
            mask = refined_mask(img, sc, mask, object_size, object_class=object_class, per_slice=per_slice,
                                spacing=spacing if mode == "3d" else None)
        objects = split_objects(img, sp, res.labels, mask, object_class=object_class, scribbles=sc, split=split,
                                split_h=split_h, per_slice=per_slice, spacing=spacing if mode == "3d" else None)
    ckey = (objects.shape, float(object_size), min_fraction, per_slice, None if spacing is None else tuple(spacing))
    kept = features.cache.get("cleaned")
    if kept is not None and kept[0] is objects and kept[1] == ckey:
        objects = kept[2]  # the same objects as the last call: their cleaning too
    else:
        raw = objects
        objects = cleaned(objects, object_size, min_fraction=min_fraction, per_slice=per_slice, spacing=spacing)
        if incremental:
            features.cache["cleaned"] = (raw, ckey, objects)
    return ObjectSegmentation(objects=objects, classes=res.labels, superpixels=sp.astype(np.int32, copy=False),
                              confidence=conf[sp], object_size=float(object_size), features=features,
                              classification=res)


def _kept_objects(cache, image, scribbles, mask, object_size, *, object_class, refine, split_h) -> np.ndarray:
    """Outlines and shape split of ``mask`` (one image or volume), redone only where it changed since the last call.

    :mod:`napari_deepsuperpixel.annotate.retrain`; ``cache`` is the feature
    table's, reset when the image, the stroke polarity or the settings differ.
    """
    from scipy import ndimage as ndi

    from .retrain import image_key, refine_update, split_update
    from .size import _gray, normalised_channels
    from .split import DEFAULT_H, DEFAULT_LEVEL, DEFAULT_SMOOTH

    key = (image_key(image), mask.shape, int(object_class))
    if cache.get("key") != key:
        cache.clear()
        cache["key"] = key
    h = DEFAULT_H if split_h is None else float(split_h)
    if not np.isfinite(h):  # never split: nothing worth keeping
        return split_objects(image, None, None, refined_mask(image, scribbles, mask, object_size,
                                                             object_class=object_class) if refine else mask,
                             object_class=object_class, scribbles=scribbles, split="shape", split_h=split_h)
    if refine:
        if "norm" not in cache:
            cache["norm"] = normalised_channels(image, mask.ndim)
        g = _gray(image, mask.ndim, scribbles, object_class, norm=cache["norm"])
        gkey = None if cache["norm"].shape[-1] == 1 else hash(g.tobytes())
        if cache.get("gray_key", ()) != gkey or "gray" not in cache:
            cache["gray"] = ndi.gaussian_filter(g, 1.0)
            cache["gray_key"] = gkey
            cache.pop("order", None)
            cache.pop("refine", None)
            cache.pop("split", None)
        gray = cache["gray"]
        gray = _polarity(gray, scribbles, object_class)
        flip = gray is not cache["gray"]
        if cache.get("flip") != flip or "order" not in cache:
            cache["flip"] = flip
            cache["order"] = np.argsort(gray.ravel())  # the pixels by value, for the outline levels
            cache.pop("refine", None)
            cache.pop("split", None)
        refined = refine_update(cache, gray, mask, 0.5 * object_size, level=DEFAULT_LEVEL, order=cache["order"])
        kept = cache.get("filled")
        if kept is not None and kept[0] is refined and kept[1] == object_size:
            mask = kept[2]  # the same outlines as the last call: the same holes filled
        else:
            mask = filled(refined, object_size)
            cache["filled"] = (refined, object_size, mask)
    return split_update(cache, mask, smooth=DEFAULT_SMOOTH, h=h)


def _polarity(gray, scribbles, object_class):
    """``gray``, negated (1 - gray) when the objects' strokes are darker than the others'."""
    obj, other = scribbles == object_class, (scribbles > 0) & (scribbles != object_class)
    if obj.any() and other.any() and np.median(gray[obj]) < np.median(gray[other]):
        return 1.0 - gray
    return gray


def object_gray(image, scribbles, *, object_class, ndim, per_slice=False, spacing=None) -> np.ndarray:
    """The image as one normalised channel, smoothed (1 pixel), negated when the objects are the darker class."""
    from scipy import ndimage as ndi

    from .size import _gray

    gray = _gray(image, ndim, scribbles, object_class)
    if per_slice:
        gray = np.stack([ndi.gaussian_filter(gray[z], 1.0) for z in range(gray.shape[0])])
    else:
        sigma = 1.0 if spacing is None else float(np.min(spacing)) / np.asarray(spacing, float)
        gray = ndi.gaussian_filter(gray, sigma)
    return _polarity(gray, scribbles, object_class)


def refined_mask(image, scribbles, mask, object_size, *, object_class, per_slice=False, spacing=None):
    """:func:`~napari_deepsuperpixel.annotate.split.refine_mask` of ``mask``, the polarity from the strokes."""
    from .split import refine_mask

    gray = object_gray(image, scribbles, object_class=object_class, ndim=mask.ndim, per_slice=per_slice,
                       spacing=spacing)
    if per_slice:
        return np.stack([filled(refine_mask(gray[z], mask[z], 0.5 * object_size), object_size)
                         for z in range(mask.shape[0])])
    return filled(refine_mask(gray, mask, 0.5 * object_size, spacing=spacing), object_size, spacing=spacing)


#: holes smaller than this fraction of a typical object's area are filled after the outlines (0: none)
HOLE_FRACTION = 0.5


def filled(mask, object_size, *, spacing=None, fraction=None) -> np.ndarray:
    """``mask`` with its holes smaller than ``fraction`` of a disc (ball) of ``object_size`` filled.

    A hole: a connected region of the background (face connectivity) that
    does not touch the image's edge.
    """
    from scipy import ndimage as ndi

    frac = HOLE_FRACTION if fraction is None else float(fraction)
    if not frac > 0:
        return mask
    r = 0.5 * float(object_size)
    if spacing is not None:
        r = r / float(np.prod(spacing)) ** (1.0 / len(spacing))
    full = np.pi * r ** 2 if mask.ndim == 2 else 4.0 / 3.0 * np.pi * r ** 3
    bg, n = ndi.label(~mask)
    if n == 0:
        return mask
    area = np.bincount(bg.ravel(), minlength=n + 1)
    edge = np.zeros(n + 1, bool)
    for axis in range(mask.ndim):
        edge[np.take(bg, 0, axis=axis)] = True
        edge[np.take(bg, -1, axis=axis)] = True
    hole = (area < frac * full) & ~edge
    hole[0] = False
    return mask | hole[bg]


def cleaned(objects, object_size, *, min_fraction=None, per_slice=False, spacing=None) -> np.ndarray:
    """:func:`~napari_deepsuperpixel.annotate.split.remove_small` per slice or on the whole, labels 1..N overall."""
    from .split import DEFAULT_MIN_FRACTION, remove_small

    frac = DEFAULT_MIN_FRACTION if min_fraction is None else float(min_fraction)
    if not frac >= 0:
        raise ValueError(f"min_fraction must be >= 0 (0 keeps every object), got {min_fraction}")
    r = 0.5 * float(object_size)
    if spacing is not None:
        r = r / float(np.prod(spacing)) ** (1.0 / len(spacing))  # the radius in voxels of the mean size
    if not per_slice:
        return remove_small(objects, r, min_fraction=frac)
    out = np.zeros(objects.shape, np.int32)
    offset = 0
    for z in range(objects.shape[0]):
        lab = remove_small(objects[z], r, min_fraction=frac)
        out[z] = np.where(lab > 0, lab + offset, 0)
        offset = int(out[z].max(initial=offset))
    return out


def split_objects(image, superpixels, class_labels, mask, *, object_class, scribbles, split=DEFAULT_SPLIT,
                  split_h=None, per_slice=False, spacing=None, gray=None) -> np.ndarray:
    """The objects of ``mask`` (the pixels of ``object_class``), separated by ``split`` (module docstring).

    ``class_labels``: the per-pixel classes (for ``split="contrast"``); ``gray``:
    :func:`object_gray` when already computed (for the learned splits).
    """
    from scipy import ndimage as ndi

    from .split import DEFAULT_H, shape_split

    if split in ("learned", "shape+learned") and gray is None:
        gray = object_gray(image, scribbles, object_class=object_class, ndim=mask.ndim, per_slice=per_slice,
                           spacing=spacing)
    h = DEFAULT_H if split_h is None else float(split_h)
    if per_slice:
        out = np.zeros(mask.shape, np.int32)
        offset = 0
        for z in range(mask.shape[0]):
            if not mask[z].any():
                continue
            lab = split_objects(image[z], superpixels[z], class_labels[z], mask[z], object_class=object_class,
                                scribbles=scribbles[z], split=split, split_h=split_h,
                                gray=None if gray is None else gray[z])
            out[z] = np.where(lab > 0, lab + offset, 0)
            offset = int(out[z].max(initial=offset))
        return out
    if split == "none":
        return ndi.label(mask)[0].astype(np.int32)
    if split == "contrast":
        from .instances import to_instances

        return to_instances(class_labels, superpixels, object_class, image=image)
    if split == "shape":
        return shape_split(mask, h=h, spacing=spacing)
    from .boundary import learned_split

    return learned_split(gray, superpixels, mask, scribbles, object_class=object_class,
                         shape=split == "shape+learned", h=h, spacing=spacing)
