"""Adding results to the viewer: replace-or-keep, geometry from the input layer."""

from __future__ import annotations

import numpy as np


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


def _put(viewer, data, meta: dict, layer_type: str, keep: bool):
    """Add a layer, or replace the data of the existing layer with the same name."""
    name = meta["name"]
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
    result = _put(viewer, labels, meta, "labels", keep)
    suffix = name[len(base):]  # " run <k>" when kept
    for data, m, typ in out.get("layers", []):
        m = {**m, "name": f"{base} {m['name']}{suffix}"}
        sp = data.ndim - (1 if m.get("rgb") else 0)
        if job.index is not None:
            data, g = _at_slice(data, layer, job.index, sp)
            m.update(g)
        else:
            m.update(_geometry(layer, sp))
        _put(viewer, data, m, typ, keep)
    viewer.layers.selection.active = result
    return result
