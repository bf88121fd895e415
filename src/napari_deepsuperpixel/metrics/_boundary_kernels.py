"""numba kernels of the boundary benchmark: thinning and one-to-one matching.

Ordinary module-level ``numba.njit(cache=True)`` functions (compiled on first
call, cached on disk). :mod:`napari_deepsuperpixel.metrics.boundary` imports
this module inside the functions that need it, so that importing
:mod:`napari_deepsuperpixel.metrics` does not import numba.

Matching works on CSR adjacency lists: left nodes are annotator pixels, right
nodes machine pixels (row-major ids), and each left node's candidates are
listed nearest offset first (``dy, dx`` sorted by distance).
"""

import numba
import numpy as np


def _thin_lut() -> np.ndarray:
    """Deletion table of Guo & Hall's two-subiteration thinning (algorithm A1).

    Neighbours ``x1..x8`` start East and turn counter-clockwise (E, NE, N, NW,
    W, SW, S, SE) and are bits 0..7 of the table index. A pixel is deleted in
    subiteration ``s`` when
    G1: ``X_H = sum_i [x_{2i-1} = 0 and (x_2i or x_{2i+1})] == 1``;
    G2: ``2 <= min(n1, n2) <= 3`` with ``n1 = sum_k (x_{2k-1} or x_2k)`` and
    ``n2 = sum_k (x_2k or x_{2k+1})``;
    G3 (s = 0): ``(x2 or x3 or not x8) and x1 == 0``;
    G3' (s = 1): ``(x6 or x7 or not x4) and x5 == 0``.
    """
    lut = np.zeros((2, 256), np.bool_)
    for code in range(256):
        x = [None] + [(code >> i) & 1 for i in range(8)] + [code & 1]  # x[1..8], x[9] = x1
        xh = sum(1 for i in range(1, 5) if x[2 * i - 1] == 0 and (x[2 * i] or x[2 * i + 1]))
        n1 = sum(1 for k in range(1, 5) if x[2 * k - 1] or x[2 * k])
        n2 = sum(1 for k in range(1, 5) if x[2 * k] or x[2 * k + 1])
        g12 = xh == 1 and 2 <= min(n1, n2) <= 3
        lut[0, code] = g12 and ((x[2] or x[3] or not x[8]) and x[1]) == 0
        lut[1, code] = g12 and ((x[6] or x[7] or not x[4]) and x[5]) == 0
    return lut


#: deletion table of :func:`thin`, indexed ``[subiteration, neighbourhood code]``
THIN_LUT = _thin_lut()


@numba.njit(cache=True, nogil=True)
def thin(b, lut):
    """Guo & Hall thinning of the bool map ``b`` to convergence, with the deletion table ``lut`` (``THIN_LUT``)."""
    h, w = b.shape
    ys, xs = np.nonzero(b)  # row-major
    ys = ys + 1  # in the padded image
    xs = xs + 1
    n = ys.shape[0]
    img = np.zeros((h + 2, w + 2), np.uint8)  # zero border
    for q in range(n):
        img[ys[q], xs[q]] = 1
    dels = np.empty(n, np.int64)
    changed = True
    while changed:
        changed = False
        for sub in range(2):
            nd = 0
            for q in range(n):
                y = ys[q]
                x = xs[q]
                code = (img[y, x + 1] | (img[y - 1, x + 1] << 1) | (img[y - 1, x] << 2)
                        | (img[y - 1, x - 1] << 3) | (img[y, x - 1] << 4) | (img[y + 1, x - 1] << 5)
                        | (img[y + 1, x] << 6) | (img[y + 1, x + 1] << 7))
                if lut[sub, code]:
                    dels[nd] = q
                    nd += 1
            if nd:
                changed = True
                for d in range(nd):
                    img[ys[dels[d]], xs[dels[d]]] = 0
                m = 0
                for q in range(n):
                    if img[ys[q], xs[q]]:
                        ys[m] = ys[q]
                        xs[m] = xs[q]
                        m += 1
                n = m
    out = np.zeros((h, w), np.bool_)
    for q in range(n):
        out[ys[q] - 1, xs[q] - 1] = True
    return out


@numba.njit(cache=True, nogil=True)
def pixel_ids(b):
    """Row-major node ids of the True pixels of ``b`` (-1 elsewhere) and their coordinates."""
    ys, xs = np.nonzero(b)  # row-major
    ids = np.full(b.shape, -1, np.int32)
    for i in range(ys.shape[0]):
        ids[ys[i], xs[i]] = i
    return ids, ys.astype(np.int64), xs.astype(np.int64)


@numba.njit(cache=True, nogil=True)
def candidate_entries(gys, gxs, mask, dy, dx):
    """For every annotator pixel, the flat positions (and offset index) of
    the pixels within tolerance where ``mask`` allows a machine pixel."""
    h, w = mask.shape
    n = gys.shape[0]
    noff = dy.shape[0]
    ptr = np.zeros(n + 1, np.int64)
    pos = np.empty(n * noff, np.int64)
    kk = np.empty(n * noff, np.int64)
    e = 0
    for i in range(n):
        for k in range(noff):
            yy = gys[i] + dy[k]
            xx = gxs[i] + dx[k]
            if yy >= 0 and yy < h and xx >= 0 and xx < w and mask[yy, xx]:
                pos[e] = yy * w + xx
                kk[e] = k
                e += 1
        ptr[i + 1] = e
    return ptr, pos[:e].copy(), kk[:e].copy()


@numba.njit(cache=True, nogil=True)
def build_graph(ysl, xsl, ids_r, dy, dx):
    """CSR adjacency (nearest offsets first) from left pixels to right pixels (ids_r)."""
    ptr, pos, offk = candidate_entries(ysl, xsl, ids_r >= 0, dy, dx)
    return ptr, ids_r.ravel()[pos].astype(np.int64), offk


@numba.njit(cache=True, nogil=True)
def max_matching(nl, nr, ptr, adj, offk, noff):
    """Maximum-cardinality matching: greedy nearest-first, then one
    breadth-first augmenting search per free left node; a failed search's
    alternating tree is dropped for good (it can never augment again)."""
    ml = np.full(nl, -1, np.int64)
    mr = np.full(nr, -1, np.int64)
    ne = adj.shape[0]
    # greedy by increasing distance: bucket the edges by offset index
    cnt = np.zeros(noff + 1, np.int64)
    for e in range(ne):
        cnt[offk[e] + 1] += 1
    for k in range(noff):
        cnt[k + 1] += cnt[k]
    dst = np.empty(ne, np.int64)
    src = np.empty(ne, np.int64)
    for i in range(nl):
        for e in range(ptr[i], ptr[i + 1]):
            k = offk[e]
            dst[cnt[k]] = adj[e]
            src[cnt[k]] = i
            cnt[k] += 1
    for q in range(ne):
        i = src[q]
        j = dst[q]
        if ml[i] < 0 and mr[j] < 0:
            ml[i] = j
            mr[j] = i
    # augmenting searches
    dead = np.zeros(nl, np.bool_)
    seen_l = np.zeros(nl, np.int64)
    seen_r = np.zeros(nr, np.int64)
    parent = np.empty(nl, np.int64)
    pedge = np.empty(nl, np.int64)
    queue = np.empty(nl, np.int64)
    stamp = 0
    for root in range(nl):
        if ml[root] >= 0 or ptr[root + 1] == ptr[root]:
            continue
        stamp += 1
        qh = 0
        qt = 1
        queue[0] = root
        seen_l[root] = stamp
        found = False
        while qh < qt and not found:
            u = queue[qh]
            qh += 1
            for e in range(ptr[u], ptr[u + 1]):
                j = adj[e]
                if seen_r[j] == stamp:
                    continue
                seen_r[j] = stamp
                w = mr[j]
                if w < 0:
                    # augment along the BFS tree
                    while True:
                        ml[u] = j
                        mr[j] = u
                        if u == root:
                            break
                        j = pedge[u]
                        u = parent[u]
                    found = True
                    break
                if dead[w] or seen_l[w] == stamp:
                    continue
                seen_l[w] = stamp
                parent[w] = u
                pedge[w] = j
                queue[qt] = w
                qt += 1
        if not found:
            for q in range(qt):
                dead[queue[q]] = True
    return ml, mr


@numba.njit(cache=True, nogil=True)
def tally(ml, mr, acc):
    """Number of matched left nodes; marks the matched right nodes in ``acc``."""
    for j in range(mr.shape[0]):
        if mr[j] >= 0:
            acc[j] = True
    return np.count_nonzero(ml >= 0)


@numba.njit(cache=True, nogil=True)
def counts_entries(b1, eptr, epos, ek, gstart, noff):
    """cntR, sumR, cntP, sumP of machine map b1 from candidate entries
    (:func:`candidate_entries`) of the annotators' pixels; annotator ``a``
    owns the left nodes ``gstart[a]:gstart[a + 1]``."""
    ids1, ys1, xs1 = pixel_ids(b1)
    flat = ids1.ravel()
    n1 = ys1.shape[0]
    acc = np.zeros(n1, np.bool_)
    cntR = 0
    sumR = 0
    for a in range(gstart.shape[0] - 1):
        l0 = gstart[a]
        nl = gstart[a + 1] - l0
        ptr = np.zeros(nl + 1, np.int64)
        adj = np.empty(eptr[l0 + nl] - eptr[l0], np.int64)
        offk = np.empty(adj.shape[0], np.int64)
        q = 0
        for i in range(nl):
            for e in range(eptr[l0 + i], eptr[l0 + i + 1]):
                j = flat[epos[e]]
                if j >= 0:
                    adj[q] = j
                    offk[q] = ek[e]
                    q += 1
            ptr[i + 1] = q
        ml, mr = max_matching(nl, n1, ptr, adj[:q], offk[:q], noff)
        sumR += nl
        cntR += tally(ml, mr, acc)
    return cntR, sumR, np.count_nonzero(acc), n1
