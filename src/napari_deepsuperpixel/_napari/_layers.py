"""Adding results to the viewer: replace-or-keep, geometry from the input layer, the plugin's marker.

Every layer a dock adds carries ``metadata["deepsuperpixel"] = {"kind": ..., "made": ...}``
(:func:`mark`): what it is (:data:`PREDICTION_KINDS` are results a user may
score; ``"extra"``, ``"boundary_matches"``, ``"ground_truth"``... are not) and
when it was made, so that the metrics dock can offer the newest result by
default without guessing from names.
"""

from __future__ import annotations

import itertools
import time
from typing import Optional

import numpy as np

#: the key of the plugin's marker in ``layer.metadata``
MARKER = "deepsuperpixel"
#: kinds of layers that are results to score (the metrics dock's default prediction): the labels of
#: a segmentation method (its ``MethodInfo.kind``: ``"superpixels"``, ``"segmentation"``, ``"contours"``) and the
#: objects of an annotation
PREDICTION_KINDS = ("objects", "segmentation", "superpixels", "contours")
_ORDER = itertools.count()


def mark(metadata: Optional[dict], kind: str) -> dict:
    """``metadata`` with the plugin's marker: ``{"kind": kind, "made": <time>, "order": <n>}``.

    ``order`` grows with every call of this process, so that two layers made
    within one clock tick are still ordered.
    """
    metadata = dict(metadata or {})
    metadata[MARKER] = {"kind": str(kind), "made": time.time(), "order": next(_ORDER)}
    return metadata


def marker(layer) -> Optional[dict]:
    """The plugin's marker of ``layer`` (``None`` for a layer the plugin did not make)."""
    m = getattr(layer, "metadata", {}).get(MARKER)
    return m if isinstance(m, dict) else None


def newest(layers, kinds=PREDICTION_KINDS):
    """The newest of ``layers`` whose marker's kind is one of ``kinds`` (``None`` when there is none)."""
    found = [(m.get("made", 0.0), m.get("order", -1), i, la) for i, la in enumerate(layers)
             if (m := marker(la)) is not None and m.get("kind") in kinds]
    return max(found, key=lambda t: t[:3])[3] if found else None


def _geometry(layer, ndim: int) -> dict:
    """``scale``/``translate`` of ``layer``'s last ``ndim`` axes (for a result of ``ndim`` dims)."""
    return {"scale": tuple(np.asarray(layer.scale, float)[-ndim:]),
            "translate": tuple(np.asarray(layer.translate, float)[-ndim:])}


def _at_slice(data, layer, index, n_spatial: int):
    """A one-slice result placed at its slice: leading axes of length 1 translated to ``index``.

    napari draws a 2D layer over every slice of a stack, which would suggest
    the whole stack was segmented; a layer of shape ``(1, ..., Y, X)`` whose
    leading axes are translated to the slice shows only there.

    Returns
    -------
    data : numpy.ndarray
        ``data`` with ``len(index)`` new leading axes.
    geometry : dict
        ``scale`` and ``translate`` for napari.
    """
    lead = len(index)
    data = np.asarray(data)[(None,) * lead]
    geo = _geometry(layer, n_spatial + lead)
    translate = np.asarray(geo["translate"], float)
    translate[:lead] += np.asarray(index, float) * np.asarray(geo["scale"][:lead], float)
    return data, {"scale": geo["scale"], "translate": tuple(translate)}


def result_name(viewer, base: str, keep: bool) -> str:
    """``base``, or with *keep previous results* the first free ``"<base> run <k>"`` (k = 2, 3, ...)."""
    if not keep or base not in viewer.layers:
        return base
    k = 2
    while f"{base} run {k}" in viewer.layers:
        k += 1
    return f"{base} run {k}"


def _put(viewer, data, meta: dict, layer_type: str, keep: bool, kind: Optional[str] = None):
    """Add a layer, or replace the data of the existing layer with the same name.

    With ``kind``, the layer carries the plugin's marker (:func:`mark`), renewed
    when its data are replaced.
    """
    name = meta["name"]
    if kind is not None:
        meta = {**meta, "metadata": mark(meta.get("metadata"), kind)}
    import napari.layers

    cls = getattr(napari.layers, layer_type.capitalize())
    old = viewer.layers[name] if name in viewer.layers else None
    multiscale = isinstance(data, list)
    if multiscale:
        meta = {**meta, "multiscale": True}
    if old is not None and not keep and isinstance(old, cls) and not multiscale \
            and not getattr(old, "multiscale", False) \
            and old.data.ndim == np.ndim(data) and getattr(old, "rgb", False) == meta.get("rgb", False):
        old.data = data
        old.scale = meta["scale"]
        old.translate = meta["translate"]
        if "features" in meta:
            old.features = meta["features"]
        old.metadata.update(meta.get("metadata", {}))
        return old
    if old is not None and not keep:
        viewer.layers.remove(old)
    adder = getattr(viewer, f"add_{layer_type}")
    return adder(data, **meta)


def add_result_layers(viewer, out: dict, job, layer, *, keep: bool = False):
    """Add (or update) the Labels layer and extra layers of a finished run.

    Parameters
    ----------
    viewer : napari.Viewer
    out : dict
        What :func:`~._workers.run_segment_job` returned.
    job : SegmentJob
        The job that produced ``out`` (method, parameters, slice index).
    layer : napari.layers.Image
        The input layer: its name, ``scale`` and ``translate`` are reused.
    keep : bool
        Add new layers even when layers of the same name exist (named
        ``"<name> run 2"``, ``"run 3"``...); default replaces them.

    Returns
    -------
    napari.layers.Labels
        The result layer, named ``"<input> <method>"`` (plus ``" (slice <i>)"`` for
        a single displayed slice, which is placed at its slice: a layer with a
        leading axis of length 1 translated there, not a 2D layer napari would
        draw over every slice).
    """
    labels = out["labels"]
    level0 = labels[0] if isinstance(labels, list) else labels  # a multiscale (dask) result: its levels
    base = f"{layer.name} {job.method}"
    if job.index is not None:
        base += " (slice " + ",".join(str(i) for i in job.index) + ")"
        labels, geo = _at_slice(labels, layer, job.index, labels.ndim)
    else:
        geo = job.geometry if getattr(job, "geometry", None) else _geometry(layer, level0.ndim)
    name = result_name(viewer, base, keep)
    feats = dict(out["features"])
    feats["index"] = feats["label"]
    meta = {"name": name, **geo, "features": feats,
            "metadata": {"method": job.method, "params": dict(job.params), "seed": job.seed,
                         "source_layer": layer.name}}
    from .. import get_method

    result = _put(viewer, labels, meta, "labels", keep, kind=get_method(job.method).kind)
    suffix = name[len(base):]  # " run <k>" when kept
    for data, m, typ in out.get("layers", []):
        m = {**m, "name": f"{base} {m['name']}{suffix}"}
        sp = data.ndim - (1 if m.get("rgb") else 0)
        if job.index is not None:
            data, g = _at_slice(data, layer, job.index, sp)
            m.update(g)
        else:
            m.update(_geometry(layer, sp))
        _put(viewer, data, m, typ, keep, kind="extra")
    viewer.layers.selection.active = result
    return result


#: how a result volume is drawn in napari's 3D view. Supervoxels tile the whole volume, so
#: napari's default (``iso_categorical``: the first label a ray meets, opaque) shows a block of
#: coloured cubes that hides the image; drawn translucent and faint, without depth test, over the
#: image's maximum intensity projection, the nuclei stay visible with the supervoxels' colours on them
#: (chosen by looking at four renderings of SNIC supervoxels of the nuclei sample: translucent or
#: iso_categorical, opacity 0.15-0.4, additive, translucent or translucent_no_depth blending).
VIEW_3D = {"rendering": "translucent", "opacity": 0.2, "blending": "translucent_no_depth"}
#: the same layers in the 2D view (napari's defaults for a Labels layer)
VIEW_2D = {"rendering": "iso_categorical", "opacity": 0.7, "blending": "translucent"}


def is_volume_result(layer) -> bool:
    """A Labels layer the plugin made as a result, with three or more axes (a stack or supervoxels)."""
    from napari.layers import Labels

    m = marker(layer)
    return (isinstance(layer, Labels) and m is not None and m.get("kind") in PREDICTION_KINDS
            and np.ndim(layer.data[0] if getattr(layer, "multiscale", False) else layer.data) >= 3
            and not getattr(layer, "multiscale", False))


def style_for_view(layer, ndisplay: int) -> None:
    """Draw a result volume for napari's 2D or 3D view (:data:`VIEW_3D`, :data:`VIEW_2D`).

    Only the plugin's own choices are undone: a layer whose opacity or
    blending the user changed in the 3D view keeps them.
    """
    if not is_volume_result(layer):
        return
    if ndisplay == 3:
        layer.metadata["_view_2d"] = {k: getattr(layer, k) for k in VIEW_3D}
        for k, v in VIEW_3D.items():
            setattr(layer, k, v)
        return
    before = layer.metadata.pop("_view_2d", None)
    if before is not None:
        for k, v in before.items():
            if getattr(layer, k) == VIEW_3D[k]:
                setattr(layer, k, v)


def follow_ndisplay(viewer) -> None:
    """Restyle the result volumes whenever the viewer switches between its 2D and 3D views (once per viewer)."""
    if getattr(viewer, "_deepsuperpixel_view_styles", False):
        return
    viewer._deepsuperpixel_view_styles = True

    def restyle(event=None):
        for layer in viewer.layers:
            style_for_view(layer, viewer.dims.ndisplay)

    def on_inserted(event):
        if viewer.dims.ndisplay == 3:
            style_for_view(event.value, 3)

    viewer.dims.events.ndisplay.connect(restyle)
    viewer.layers.events.inserted.connect(on_inserted)
