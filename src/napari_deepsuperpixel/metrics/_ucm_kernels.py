"""numba kernels of the region benchmark on ucm2 maps (compiled on first import, cached on disk).

Imported only inside the functions that need them, so that importing
:mod:`napari_deepsuperpixel.metrics` does not import numba.
"""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def find(parent, c):
    """Root of cell ``c`` in the union-find forest ``parent`` (with path halving)."""
    while parent[c] != c:
        parent[c] = parent[parent[c]]
        c = parent[c]
    return c


@numba.njit(cache=True, nogil=True)
def add_cells(ucm, parent, active, cells):
    """Activate ``cells`` (flat indices into ``ucm``) and join each to its active 8-neighbours."""
    H, W = ucm.shape
    for q in range(cells.shape[0]):
        c = cells[q]
        active[c] = True
        y = c // W
        x = c % W
        for vy in range(-1, 2):
            for vx in range(-1, 2):
                if vy == 0 and vx == 0:
                    continue
                yy = y + vy
                xx = x + vx
                if yy < 0 or yy >= H or xx < 0 or xx >= W:
                    continue
                nb = yy * W + xx
                if active[nb]:
                    a = find(parent, c)
                    b = find(parent, nb)
                    if a != b:
                        if a < b:
                            parent[b] = a
                        else:
                            parent[a] = b


@numba.njit(cache=True, nogil=True)
def ucm_hierarchy(ucm, thresholds):
    """Fine labels (at thresholds[0]) of the pixel cells and, per threshold,
    the coarse label of every fine region (8-connected ``ucm <= t``)."""
    H, W = ucm.shape
    h = (H - 1) // 2
    w = (W - 1) // 2
    n = H * W
    flat = ucm.ravel()
    parent = np.arange(n)
    active = np.zeros(n, np.bool_)
    t0 = thresholds[0]
    nlow = 0
    for c in range(n):
        if flat[c] <= t0:
            nlow += 1
    low = np.empty(nlow, np.int64)
    high = np.empty(n - nlow, np.int64)
    a = 0
    b = 0
    for c in range(n):
        if flat[c] <= t0:
            low[a] = c
            a += 1
        else:
            high[b] = c
            b += 1
    add_cells(ucm, parent, active, low)
    high = high[np.argsort(flat[high], kind="mergesort")]
    # fine labels of the pixel cells
    rootlab = np.full(n, -1, np.int64)
    fine = np.empty((h, w), np.int64)
    nfine = 0
    reps = np.empty(h * w, np.int64)
    for i in range(h):
        for j in range(w):
            c = (2 * i + 1) * W + 2 * j + 1
            r = find(parent, c)
            if rootlab[r] < 0:
                rootlab[r] = nfine
                reps[nfine] = c
                nfine += 1
            fine[i, j] = rootlab[r]
    nt = thresholds.shape[0]
    coarse = np.empty((nt, nfine), np.int64)
    ncoarse = np.empty(nt, np.int64)
    stamp = np.full(n, -1, np.int64)
    lab = np.empty(n, np.int64)
    pos = 0
    for k in range(nt):
        t = thresholds[k]
        e = pos
        while e < high.shape[0] and flat[high[e]] <= t:
            e += 1
        if e > pos:
            add_cells(ucm, parent, active, high[pos:e])
            pos = e
        m = 0
        for f in range(nfine):
            r = find(parent, reps[f])
            if stamp[r] != k:
                stamp[r] = k
                lab[r] = m
                m += 1
            coarse[k, f] = lab[r]
        ncoarse[k] = m
    return fine, nfine, coarse, ncoarse
