"""numba kernel of :func:`napari_deepsuperpixel.postprocess.icm_refine`.

A sweep updates the pixels in two half sweeps of a checkerboard: updating all
of them at once (a Jacobi sweep) let the two pixels on either side of an edge
swap labels together, which left zigzag edges across flat regions.

Imported inside that function, so that importing the package does not import
numba. Why hand-written: scikit-image and scipy have no ICM relabelling, and
the vectorised numpy sweep spent about 12 ms per sweep on a 481 x 321 image
in whole-image passes (neighbour copies, an edge mask, the pooled variance);
one pass here visits each pixel once and evaluates only the pixels on an edge.
Costs in float32 from float64 means and variances.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def icm_sweeps(lab, f, shape, passes, beta):  # pragma: no cover - compiled
    """``passes`` checkerboard sweeps of ICM with a Potts prior on flat labels ``lab`` (int64, N) and features ``f`` (N, C).

    ``shape``: the image's shape (2 or 3 axes, C order). Each sweep: every
    segment's mean feature and the pooled within-segment variance per channel
    from the labels at the start of the sweep; then the pixels with an even
    sum of coordinates, then those with an odd one (a checkerboard: a pixel's
    face neighbours are all of the other colour), each with a face neighbour
    of another segment taking, among its own label and its neighbours' (in the
    order own, axis 0 -/+, axis 1 -/+, axis 2 -/+), the first with the lowest
    ``sum_c (mean_c - f_c)^2 / (2 var_c) - beta * #neighbours with that label``.
    Stops early when a sweep changes nothing. Returns the labels (a new array).
    """
    n_pix, n_ch = f.shape
    nd = shape.size
    strides = np.ones(nd, np.int64)
    for a in range(nd - 2, -1, -1):
        strides[a] = strides[a + 1] * shape[a + 1]
    cur = lab.copy()
    nb = np.empty(2 * nd, np.int64)
    for _ in range(passes):
        n = 0
        for i in range(n_pix):
            if cur[i] + 1 > n:
                n = cur[i] + 1
        cnt = np.zeros(n)
        sums = np.zeros((n, n_ch))
        for i in range(n_pix):
            k = cur[i]
            cnt[k] += 1.0
            for c in range(n_ch):
                sums[k, c] += f[i, c]
        mean = np.empty((n, n_ch))
        for k in range(n):
            d = cnt[k] if cnt[k] > 1.0 else 1.0
            for c in range(n_ch):
                mean[k, c] = sums[k, c] / d
        var = np.zeros(n_ch)
        for i in range(n_pix):
            k = cur[i]
            for c in range(n_ch):
                e = np.float64(f[i, c]) - mean[k, c]
                var[c] += e * e
        scale = np.empty(n_ch)
        for c in range(n_ch):
            v = var[c] / n_pix
            if v < 1e-12:
                v = 1e-12
            scale[c] = np.sqrt(2.0 * v)
        sm = np.empty((n, n_ch), np.float32)
        for k in range(n):
            for c in range(n_ch):
                sm[k, c] = np.float32(mean[k, c] / scale[c])
        sc32 = np.empty(n_ch, np.float32)
        for c in range(n_ch):
            sc32[c] = np.float32(scale[c])
        changed = False
        # two half sweeps, "red" then "black" pixels (even, then odd sum of coordinates): no two
        # neighbours change at once, so two sides of an edge cannot swap and leave a zigzag
        for parity in range(2):
            for i in range(n_pix):
                own = cur[i]
                rest = i
                csum = 0
                edge = False
                for a in range(nd):
                    coord = rest // strides[a]
                    rest -= coord * strides[a]
                    csum += coord
                    lo = cur[i - strides[a]] if coord > 0 else -1
                    hi = cur[i + strides[a]] if coord < shape[a] - 1 else -1
                    nb[2 * a] = lo
                    nb[2 * a + 1] = hi
                    if (lo >= 0 and lo != own) or (hi >= 0 and hi != own):
                        edge = True
                if not edge or csum % 2 != parity:
                    continue
                best = own
                best_cost = np.float32(0.0)
                for j in range(2 * nd + 1):
                    cand = own if j == 0 else nb[j - 1]
                    if cand < 0:
                        cand = own
                    cost = np.float32(0.0)
                    for c in range(n_ch):
                        d = sm[cand, c] - np.float32(f[i, c]) / sc32[c]
                        cost += d * d
                    for t in range(2 * nd):
                        if nb[t] == cand:
                            cost = np.float32(np.float64(cost) - beta)
                    if j == 0 or cost < best_cost:
                        best = cand
                        best_cost = cost
                if best != own:
                    cur[i] = best
                    changed = True
        if not changed:
            break
    return cur
