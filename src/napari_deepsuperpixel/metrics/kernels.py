"""Compiling the metrics' numba kernels ahead of their first use.

The kernels live in :mod:`._boundary_kernels` (thinning, boundary matching)
and :mod:`._ucm_kernels` (the region hierarchy of a ucm2). numba compiles
each on its first call (a few seconds per process without a disk cache,
well under a second with one); :func:`warm_kernels` makes that first call on
tiny inputs, e.g. from a background thread while a user is still choosing
what to evaluate.
"""

from __future__ import annotations

import numpy as np


def warm_kernels() -> None:
    """Compile (or load from numba's disk cache) every numba kernel of the metrics.

    Runs the public functions that use the kernels once on a 6 x 7 label
    map, with the same argument types as real calls, so later calls start
    at full speed. Safe to call from any thread and more than once.
    """
    from .boundary import boundary_counts, match_boundaries, seg_to_boundaries, thin_boundaries
    from .bsds import evaluate_image
    from .ground_truth import GroundTruth

    seg = np.zeros((6, 7), np.int32)
    seg[:, 4:] = 1
    seg[3:, :] += 2
    gt = GroundTruth.from_segmentations([seg])  # thinning
    bmap = seg_to_boundaries(seg)
    boundary_counts(bmap, gt)  # candidate entries + exact matching counts
    match_boundaries(thin_boundaries(bmap), gt.boundaries[0])  # graph + matching
    ucm2 = np.zeros((2 * seg.shape[0] + 1, 2 * seg.shape[1] + 1))
    evaluate_image(ucm2, gt, nthresh=2)  # ucm hierarchy, thresholded boundary counts
