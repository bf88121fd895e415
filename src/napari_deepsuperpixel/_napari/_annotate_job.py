"""The work of the *Annotate with superpixels* widget that runs in worker threads (napari-free).

:func:`run_train_job` computes (or reuses) the feature table, trains the
classifier on the scribbles and prepares the class, object and "least
confident" label images; :func:`table_for_layer` turns the result into the
``features`` of the superpixel layer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np


@dataclass
class TrainJob:
    """One training run, built on the GUI thread.

    Attributes
    ----------
    image : numpy.ndarray
        The image, the superpixels' spatial shape (optionally ``(..., C)``).
    superpixels, scribbles : numpy.ndarray
        Same shape; scribbles 0 = not painted, 1..C = classes (a copy: the user
        may paint on while the job runs).
    object_class : int
        The class whose objects become the instances layer.
    classifier : str
    n_uncertain : int
        How many least-confident superpixels to mark.
    embedding : numpy.ndarray, optional
        Deep per-pixel features (``(..., D)``).
    features : dict, optional
        The cached feature table of these superpixels (skips its computation).
    """

    image: np.ndarray
    superpixels: np.ndarray
    scribbles: np.ndarray
    object_class: int = 1
    classifier: str = "random_forest"
    n_uncertain: int = 20
    embedding: Optional[np.ndarray] = None
    features: Optional[dict] = None
    seed: int = 0


def run_train_job(job: TrainJob) -> dict:
    """Train and predict (call it from a worker thread).

    Returns
    -------
    dict
        ``result`` (:class:`~napari_deepsuperpixel.annotate.SuperpixelClassification`),
        ``features`` (the table, for the cache), ``classes``, ``instances``,
        ``uncertain`` (label images), ``table`` (per-superpixel features with
        ``predicted_class`` and ``confidence``), ``seconds``.
    """
    from ..annotate import classify_superpixels, superpixel_features, to_instances

    t0 = time.perf_counter()
    feats = job.features
    if feats is None:
        feats = superpixel_features(job.image, job.superpixels, embedding=job.embedding)
    res = classify_superpixels(None, job.superpixels, job.scribbles, features=feats,
                               classifier=job.classifier, seed=job.seed)
    instances = to_instances(res.labels, job.superpixels, job.object_class, image=job.image)
    uncertain = np.zeros(job.superpixels.shape, np.uint8)
    least = res.least_confident(job.n_uncertain)
    if least.size:
        from ..annotate import SuperpixelIndex

        uncertain[SuperpixelIndex(job.superpixels).pixels(least)] = 1
    table = dict(feats)
    table["predicted_class"] = res.superpixel_classes
    table["confidence"] = res.confidence
    return {"result": res, "features": feats, "classes": res.labels, "instances": instances,
            "uncertain": uncertain, "table": table, "least_confident": least,
            "seconds": time.perf_counter() - t0}


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
