"""numba kernels of the outline and split steps: values at given ranks within groups, and group maxima.

Ordinary module-level ``numba.njit(cache=True)`` function (compiled on first
call, cached on disk). :mod:`napari_deepsuperpixel.annotate.split` imports this
module inside the function that needs it, so that importing the package does
not import numba. Why hand-written: per group, the k-th smallest of its values
for a few given k (a 90th percentile and a median per region), from the pixels
already sorted by value once per image; numpy's way (a sort of every pixel by
group and value, ``numpy.lexsort``) took about 1.4 s of a 2048 x 2048
retraining, this pass about 0.02 s; scipy.ndimage's ``percentile``/``median``
per label loop in Python over the labels. :func:`group_max`: each region's
largest distance in one pass (``numpy.maximum.at`` took about 0.2 s of it at
2048 x 2048).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def values_at_ranks(keys, vals, rank_a, rank_b):  # pragma: no cover - compiled
    """For each group ``k``: its ``rank_a[k]``-th and ``rank_b[k]``-th value (0-based), ``vals`` ascending.

    ``keys``: the group of each value (0 = none); groups are visited in the
    order of ``vals``, so the j-th value met of a group is its j-th smallest.
    """
    n = rank_a.size
    seen = np.zeros(n, np.int64)
    va = np.zeros(n)
    vb = np.zeros(n)
    for i in range(keys.size):
        k = keys[i]
        if k <= 0:
            continue
        s = seen[k]
        if s == rank_a[k]:
            va[k] = vals[i]
        if s == rank_b[k]:
            vb[k] = vals[i]
        seen[k] = s + 1
    return va, vb


@numba.njit(cache=True)
def group_max(labels, values, n):  # pragma: no cover - compiled
    """The largest value of each label ``0..n-1`` (0.0 where a label has no value or only negative ones)."""
    out = np.zeros(n)
    for i in range(labels.size):
        k = labels[i]
        if values[i] > out[k]:
            out[k] = values[i]
    return out
