"""Adding results to the viewer: replace-or-keep, geometry from the input layer."""

from __future__ import annotations

import numpy as np


def _geometry(layer, ndim: int) -> dict:
    """``scale``/``translate`` of ``layer``'s last ``ndim`` axes (for a result of ``ndim`` dims).

    A single displayed slice gives a 2D result; it takes the YX geometry and
    napari shows it over every slice of the stack.
    """
    return {"scale": tuple(np.asarray(layer.scale, float)[-ndim:]),
            "translate": tuple(np.asarray(layer.translate, float)[-ndim:])}


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
        Add new layers even when layers of the same name exist
        (napari then makes the names unique); default replaces them.

    Returns
    -------
    napari.layers.Labels
        The result layer, named ``"<input> <method>"`` (plus ``" [<i>]"``, the slice
        index, for a single displayed slice).
    """
    labels = out["labels"]
    level0 = labels[0] if isinstance(labels, list) else labels  # a multiscale (dask) result: its levels
    name = f"{layer.name} {job.method}"
    if job.index is not None:
        name += " [" + ",".join(str(i) for i in job.index) + "]"
    geo = _geometry(layer, level0.ndim)
    feats = dict(out["features"])
    feats["index"] = feats["label"]
    meta = {"name": name, **geo, "features": feats,
            "metadata": {"method": job.method, "params": dict(job.params), "seed": job.seed,
                         "source_layer": layer.name}}
    result = _put(viewer, labels, meta, "labels", keep)
    for data, m, typ in out.get("layers", []):
        m = {**m, "name": f"{layer.name} {job.method} {m['name']}"}
        sp = data.ndim - (1 if m.get("rgb") else 0)
        m.update(_geometry(layer, sp))
        _put(viewer, data, m, typ, keep)
    viewer.layers.selection.active = result
    return result
