"""The work of the *Annotate with superpixels* dock that runs in worker threads (napari-free).

:func:`run_train_job` calls :func:`napari_deepsuperpixel.annotate.segment_objects`,
the function a script calls, with the dock's layers and settings, and adds
what only the dock shows: the "least confident" superpixels and the feature
table for the superpixel layer. :func:`run_superpixel_job` makes superpixels
sized from the measured object size, as ``segment_objects`` makes them.
The annotation file (:func:`save_annotation`, :func:`load_annotation`) keeps
the scribbles and the dock's settings next to the image.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

#: what the scribble classes mean (shown in the dock, named in the scribble layer)
CLASS_NAMES = {1: "objects", 2: "background"}
#: the scribble layer's colours: 1 = objects, 2 = background, then more classes
CLASS_COLOURS = {1: "#ff4040", 2: "#30a0ff", 3: "#ffd000", 4: "#40e040", 5: "#e040ff", 6: "#ff9020",
                 7: "#00e0d0", 8: "#ffffff", 9: "#a0a0a0"}
#: the annotation file next to an image ``<stem><ANNOTATION_SUFFIX>`` (a labels TIFF, settings in its description)
ANNOTATION_SUFFIX = ".annotation.tif"
#: the dock's settings saved with the scribbles (and their defaults)
SETTINGS_DEFAULTS = {"object_class": 1, "object_size": 0.0, "split": "shape", "split_h": 0.6,
                     "classifier": "random_forest", "n_uncertain": 20, "filters": False}


#: the dock's layers: their kind in the plugin's marker (``metadata["deepsuperpixel"]["kind"]``)
ROLES = {"scribbles": "scribbles", "target": "annotation", "objects": "objects", "classes": "classes",
         "uncertain": "least_confident", "merged": "merged", "selection": "selection"}
#: layers never offered as target or scribbles: superpixels, results and the dock's own outputs
NOT_PAINTABLE = ("superpixels", "segmentation", "contours", "objects", "classes", "least_confident", "merged",
                 "selection", "extra")
#: layers never offered as superpixels: the dock's strokes, targets and outputs
NOT_SUPERPIXELS = ("scribbles", "annotation", "objects", "classes", "least_confident", "merged", "selection", "extra")
#: the split methods (``segment_objects``' ``split``) and what they do, for the dropdown
SPLIT_CHOICES = [("shape (waists)", "shape"), ("contrast (dark lines)", "contrast"),
                 ("learned boundary", "learned"), ("shape + learned", "shape+learned"), ("none", "none")]


def class_name(k: int) -> str:
    """The meaning of scribble class ``k`` (``"objects"``, ``"background"``, ``"class 3"``...)."""
    return CLASS_NAMES.get(int(k), f"class {int(k)}")


@dataclass
class TrainJob:
    """One training run, built on the GUI thread: the arguments of ``segment_objects``.

    Attributes
    ----------
    image : numpy.ndarray
        The image, the scribbles' spatial shape (optionally ``(..., C)``).
    scribbles : numpy.ndarray
        0 = not painted, 1..C = classes (a copy: the user may paint on while the job runs).
    superpixels : numpy.ndarray, optional
        ``None``: ``segment_objects`` makes them, sized from the objects.
    features : dict, optional
        The cached feature table of these superpixels (skips its computation).
    embedding : numpy.ndarray, optional
        Deep per-pixel features ``(..., D)``, finite.
    n_uncertain : int
        How many least-confident superpixels to mark.
    options : dict
        The other keywords of ``segment_objects`` (``object_class``,
        ``object_size``, ``split``, ``split_h``, ``classifier``, ``filters``, ``seed``).
    """

    image: np.ndarray
    scribbles: np.ndarray
    superpixels: Optional[np.ndarray] = None
    features: Optional[dict] = None
    embedding: Optional[np.ndarray] = None
    n_uncertain: int = 20
    options: dict = field(default_factory=dict)

    @property
    def object_class(self) -> int:
        return int(self.options.get("object_class", 1))


def run_train_job(job: TrainJob) -> dict:
    """``segment_objects`` on the job's inputs (call it from a worker thread).

    Returns
    -------
    dict
        ``result`` (:class:`~napari_deepsuperpixel.annotate.ObjectSegmentation`),
        ``uncertain`` (label image: 1 on the least confident superpixels),
        ``least_confident`` (their labels), ``table`` (per-superpixel features
        with ``predicted_class`` and ``confidence``), ``seconds``.
    """
    from ..annotate import segment_objects

    t0 = time.perf_counter()
    res = segment_objects(job.image, job.scribbles, superpixels=job.superpixels, features=job.features,
                          embedding=job.embedding if job.features is None else None, **job.options)
    cls = res.classification
    least = cls.least_confident(job.n_uncertain) if job.n_uncertain else np.zeros(0, np.int64)
    uncertain = np.zeros(res.superpixels.shape, np.uint8)
    if least.size:
        from ..annotate import SuperpixelIndex

        uncertain[SuperpixelIndex(res.superpixels).pixels(least)] = 1
    table = {k: np.asarray(v) for k, v in res.features.items()}
    rows = np.searchsorted(cls.superpixel_ids, table["label"])
    rows = np.clip(rows, 0, max(cls.superpixel_ids.size - 1, 0))
    known = cls.superpixel_ids[rows] == table["label"] if cls.superpixel_ids.size else np.zeros(0, bool)
    table["predicted_class"] = np.where(known, cls.superpixel_classes[rows], 0)
    table["confidence"] = np.where(known, cls.confidence[rows], np.nan)
    return {"result": res, "uncertain": uncertain, "least_confident": least, "table": table,
            "seconds": time.perf_counter() - t0}


def run_superpixel_job(image, scribbles=None, *, object_class: int = 1, object_size: Optional[float] = None,
                       spatial_shape=None) -> dict:
    """Superpixels a fraction of the object size (measured unless given), as ``segment_objects`` makes them.

    A stack ``(Z, Y, X)`` is measured and segmented slice by slice (labels
    distinct across slices). Returns ``superpixels``, ``object_size``, ``seconds``.
    """
    from ..annotate.objects import make_superpixels
    from ..annotate.size import estimate_object_size

    t0 = time.perf_counter()
    img = np.asarray(image)
    shape = tuple(spatial_shape or (img.shape if scribbles is None else np.shape(scribbles)))
    sc = None if scribbles is None or not np.any(scribbles) else np.asarray(scribbles)
    if object_size is None:
        if len(shape) == 3:
            sizes = [estimate_object_size(img[z], None if sc is None else sc[z], object_class=object_class,
                                          spatial_ndim=2) for z in range(shape[0])]
            sizes = [s for s in sizes if s > 0]
            object_size = float(np.median(sizes)) if sizes else 0.0
        else:
            object_size = estimate_object_size(img, sc, object_class=object_class, spatial_ndim=2)
        if not object_size > 0:
            raise ValueError("no objects found to measure their size; set 'object size' (a diameter in pixels)")
    sp = make_superpixels(img, shape, float(object_size))
    return {"superpixels": sp, "object_size": float(object_size), "seconds": time.perf_counter() - t0}


def table_for_layer(table: dict, existing: Any = None) -> dict:
    """The table as napari Labels ``features``: with ``index`` = ``label``, keeping other existing columns.

    Parameters
    ----------
    table : dict
        Per-superpixel columns with ``label``.
    existing : dict or pandas.DataFrame, optional
        The layer's current features; its columns that ``table`` lacks are kept
        (matched by ``index`` or ``label``), so nothing the user had is lost.

    Returns
    -------
    dict
    """
    from ..io.tables import _merge_features

    out = {k: np.asarray(v) for k, v in table.items()}
    if existing is not None and len(existing.keys()):
        _merge_features(out, existing)
    out["index"] = out["label"]
    return out


def feature_cache_key(*arrays) -> tuple:
    """What identifies a feature table: the arrays it came from (their identity and shape)."""
    return tuple((id(a), getattr(a, "shape", None)) for a in arrays)


def check_embedding(embedding, spatial_shape, name: str) -> np.ndarray:
    """The deep features as ``(..., D)`` float, refused (``ValueError``, one line) when shaped wrong or not finite."""
    emb = np.asarray(embedding)
    if emb.shape == tuple(spatial_shape):
        emb = emb[..., None]
    if emb.shape[:-1] != tuple(spatial_shape):
        raise ValueError(f"deep features {name!r} have shape {emb.shape}; they need the image's shape "
                         f"{tuple(spatial_shape)} (plus channels): choose another layer or 'none'")
    if not np.issubdtype(emb.dtype, np.number) or np.issubdtype(emb.dtype, np.complexfloating):
        raise ValueError(f"deep features {name!r} are {emb.dtype}, not real numbers: choose another layer or 'none'")
    if np.issubdtype(emb.dtype, np.floating) and not np.isfinite(emb).all():
        bad = int(np.count_nonzero(~np.isfinite(emb)))
        raise ValueError(f"deep features {name!r} hold {bad} NaN or infinite values: recompute them or choose "
                         "'none'")
    return emb


# -- the annotation file ---------------------------------------------------------------------------
def annotation_path(image_path) -> Path:
    """The annotation file of an image: ``<folder>/<stem>.annotation.tif`` next to it."""
    p = Path(image_path)
    name = p.name
    for suf in (".ome.tiff", ".ome.tif"):
        if name.lower().endswith(suf):
            return p.with_name(name[: -len(suf)] + ANNOTATION_SUFFIX)
    return p.with_name(p.stem + ANNOTATION_SUFFIX)


def save_annotation(path, scribbles, settings: dict, *, image_name: str = "") -> Path:
    """Write the scribbles (a zlib labels TIFF, readable by any TIFF reader) with the settings in its description.

    Replaces an existing file (the dock saves the annotation it loaded from
    there, with the strokes added since). The description is JSON:
    ``{"napari_deepsuperpixel_annotation": {"version": 1, "image": ..., "classes": ...,
    "settings": ...}}``.
    """
    import tifffile

    from ..io.writes import atomic_write

    sc = np.asarray(scribbles)
    if sc.ndim not in (2, 3) or not np.issubdtype(sc.dtype, np.integer):
        raise ValueError(f"scribbles must be a 2D or 3D integer label image, got {sc.dtype} {sc.shape}")
    present = sorted(int(k) for k in np.unique(sc[sc > 0]))
    info = {"version": 1, "image": str(image_name), "settings": {k: settings[k] for k in settings},
            "classes": {str(k): class_name(k) for k in sorted(set(present) | set(CLASS_NAMES))}}
    dtype = np.uint8 if sc.max(initial=0) < 256 else np.int32
    description = json.dumps({"napari_deepsuperpixel_annotation": info})
    return atomic_write(Path(path), lambda p: tifffile.imwrite(p, sc.astype(dtype), compression="zlib",
                                                              description=description, metadata=None))


def load_annotation(path) -> tuple:
    """``(scribbles, settings)`` from a file :func:`save_annotation` wrote (``ValueError`` for any other file)."""
    import tifffile

    path = Path(path)
    try:
        with tifffile.TiffFile(path) as tif:
            desc = tif.pages[0].description
            data = tif.asarray()
        info = json.loads(desc)["napari_deepsuperpixel_annotation"]
    except Exception as err:  # noqa: BLE001 (a damaged or foreign file: one line)
        raise ValueError(f"{path} is not an annotation file of this plugin ({type(err).__name__}); "
                         "move it away or save the annotation again") from None
    settings = {k: v for k, v in dict(info.get("settings", {})).items() if k in SETTINGS_DEFAULTS}
    return np.asarray(data).astype(np.int32), settings
