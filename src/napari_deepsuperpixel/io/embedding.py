"""Per-pixel embeddings as an RGB image (PCA to three components). Pure numpy."""

from __future__ import annotations

import numpy as np


def embedding_to_rgb(emb: np.ndarray, *, max_samples: int = 20000, seed: int = 0) -> np.ndarray:
    """Project per-pixel embeddings to RGB with PCA (first three components).

    Parameters
    ----------
    emb : numpy.ndarray
        ``(..., D)`` embeddings (any leading spatial shape).
    max_samples : int
        Pixels sampled to fit the PCA (the projection is applied to all).
    seed : int
        Seed of the pixel sample.

    Returns
    -------
    numpy.ndarray of float32
        ``(..., 3)`` in ``[0, 1]``: each component mapped from its 1st-99th
        percentile; missing components (``D < 3``) are zero. The sign of each
        component is fixed so that its largest-magnitude loading is positive,
        which keeps colours stable from run to run.
    """
    e = np.asarray(emb, np.float64)
    shape = e.shape[:-1]
    x = e.reshape(-1, e.shape[-1])
    mean = x.mean(0)
    rng = np.random.default_rng(seed)
    sample = x if len(x) <= max_samples else x[rng.choice(len(x), max_samples, replace=False)]
    _, _, vt = np.linalg.svd(sample - mean, full_matrices=False)
    comps = vt[:3]
    signs = np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(1)])
    comps = comps * signs[:, None]
    proj = (x - mean) @ comps.T
    out = np.zeros((len(x), 3), np.float32)
    for c in range(proj.shape[1]):
        lo, hi = np.percentile(proj[:, c], [1, 99])
        out[:, c] = np.clip((proj[:, c] - lo) / (hi - lo), 0, 1) if hi > lo else 0.0
    return out.reshape(*shape, 3)
