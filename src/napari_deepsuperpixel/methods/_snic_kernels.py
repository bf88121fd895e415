"""The compiled SNIC kernels (numba), imported by :func:`napari_deepsuperpixel.methods.snic.snic` when it runs.

Kept in their own module so that importing :mod:`.snic` (e.g. to list SNIC's
parameters) does not import numba; ``cache=True`` keeps the compiled code on
disk, so the compilation cost is paid once per installation.
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def heap_push(hd, hp, n, d, p, k):
    # binary min-heap on two parallel arrays: keys ``hd`` and payloads
    # ``hp = pixel << 31 | superpixel`` (one int64 moves faster than two
    # arrays: -13 % run time); hole-based sift-up
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        if hd[parent] <= d:
            break
        hd[i] = hd[parent]
        hp[i] = hp[parent]
        i = parent
    hd[i] = d
    hp[i] = (p << 31) | k


@njit(cache=True, nogil=True)
def heap_pop(hd, hp, n):
    # remove the root of a heap of size n (> 0); the caller read it before
    n -= 1
    d = hd[n]
    p = hp[n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and hd[c + 1] < hd[c]:
            c += 1
        if hd[c] >= d:
            break
        hd[i] = hd[c]
        hp[i] = hp[c]
        i = c
    if n > 0:
        hd[i] = d
        hp[i] = p


@njit(cache=True, nogil=True)
def grow(feat, fnorm, best, ny, nx, labels, sums, ysum, xsum, counts,
             hd, hp, hn, assigned, stop_at, wspace, cosine):
    """Pop/assign/push until ``stop_at`` pixels are assigned or the queue is empty.

    Returns the (possibly reallocated) heap arrays, the heap size and the
    number of assigned pixels, so that the caller can resume. ``best[q]``
    is the smallest distance pixel ``q`` was pushed with: a push with a
    distance >= ``best[q]`` is skipped, because the earlier, closer entry
    pops first and the later one would only be discarded as stale.
    """
    nc = feat.shape[1]
    mean = np.empty(nc, np.float64)
    while assigned < stop_at and hn > 0:
        pk = hp[0]
        p = pk >> 31
        k = pk & 0x7FFFFFFF
        heap_pop(hd, hp, hn)
        hn -= 1
        if labels[p] != 0:
            continue  # a stale entry: the pixel was taken by a closer superpixel
        labels[p] = k + 1
        assigned += 1
        y = p // nx
        x = p - y * nx
        cnt = counts[k] + 1.0
        counts[k] = cnt
        inv = 1.0 / cnt
        mnorm2 = 0.0
        for c in range(nc):
            s = sums[k, c] + feat[p, c]
            sums[k, c] = s
            mean[c] = s * inv
            mnorm2 += mean[c] * mean[c]
        ysum[k] += y
        xsum[k] += x
        cy = ysum[k] * inv
        cx = xsum[k] * inv
        mnorm = np.sqrt(mnorm2)
        if hn + 4 > hd.shape[0]:  # make room for the up to 4 pushes below
            cap = 2 * hd.shape[0] + 4
            nd = np.empty(cap, hd.dtype)
            npix = np.empty(cap, hp.dtype)
            nd[:hn] = hd[:hn]
            npix[:hn] = hp[:hn]
            hd = nd
            hp = npix
        for j in range(4):
            if j == 0:
                if x == 0:
                    continue
                q = p - 1
                qy = y
                qx = x - 1
            elif j == 1:
                if y == 0:
                    continue
                q = p - nx
                qy = y - 1
                qx = x
            elif j == 2:
                if x == nx - 1:
                    continue
                q = p + 1
                qy = y
                qx = x + 1
            else:
                if y == ny - 1:
                    continue
                q = p + nx
                qy = y + 1
                qx = x
            if labels[q] != 0:
                continue
            if cosine:
                dot = 0.0
                for c in range(nc):
                    dot += feat[q, c] * mean[c]
                den = fnorm[q] * mnorm
                if den > 0.0:
                    fd = 0.5 - 0.5 * dot / den
                    if fd < 0.0:
                        fd = 0.0
                else:
                    fd = 0.5  # a zero vector has no direction: treat it as orthogonal
            else:
                fd = 0.0
                for c in range(nc):
                    diff = feat[q, c] - mean[c]
                    fd += diff * diff
            dy = qy - cy
            dx = qx - cx
            d = fd + wspace * (dy * dy + dx * dx)
            if d >= best[q]:
                continue
            best[q] = d
            heap_push(hd, hp, hn, d, q, k)
            hn += 1
    return hd, hp, hn, assigned


@njit(cache=True, nogil=True)
def heap4_push(h, n, e):
    # a 4-ary min-heap of packed uint64 entries (children of i: 4i+1 .. 4i+4) for the volumes'
    # large queues: half the levels of a binary heap, four children in one cache line
    i = n
    while i > 0:
        parent = (i - 1) >> 2
        if h[parent] <= e:
            break
        h[i] = h[parent]
        i = parent
    h[i] = e


@njit(cache=True, nogil=True)
def heap4_pop(h, n):
    # remove the root of a 4-ary heap of size n (> 0); the caller read it before
    n -= 1
    e = h[n]
    i = 0
    while True:
        c = 4 * i + 1
        if c >= n:
            break
        m = c
        end = c + 4 if c + 4 <= n else n
        for j in range(c + 1, end):
            if h[j] < h[m]:
                m = j
        if h[m] >= e:
            break
        h[i] = h[m]
        i = m
    if n > 0:
        h[i] = e


@njit(cache=True, nogil=True)
def grow3d(feat, fnorm, best, bestk, nz, ny, nx, labels, sums, zsum, ysum, xsum, counts,
           h, hn, assigned, stop_at, wz, wy, wx, cosine):
    """:func:`grow` on a ``(Z, Y, X)`` volume with 6 neighbours.

    The space term of a push is ``wz * dz**2 + wy * dy**2 + wx * dx**2`` with
    ``dz, dy, dx`` in voxels; the caller folds the compactness and the voxel
    spacing into the three weights (``w = m**2 / s**2 * spacing**2``).

    The queue of a volume holds the surfaces of all growing supervoxels
    (50 times the entries of a 2D slice's), so it is built for memory traffic:
    a 4-ary heap of single ``uint64`` entries ``(key << 32) | voxel``, where
    ``key`` is 0 for a seed and ``1 +`` the float32 bit pattern of the
    distance otherwise (the bit patterns of non-negative float32 values sort
    like the values; seeds pop first). The superpixel is not in the entry:
    ``bestk[q]`` is the superpixel of the smallest push of ``q``, the only
    entry of ``q`` that can find it unlabelled (the others pop later, stale).
    Distances are compared in float32 (relative precision 6e-8).
    """
    nc = feat.shape[1]
    mean = np.empty(nc, np.float64)
    nyx = ny * nx
    d32 = np.empty(1, np.float32)
    bits = d32.view(np.uint32)
    while assigned < stop_at and hn > 0:
        p = np.int64(h[0] & np.uint64(0xFFFFFFFF))
        heap4_pop(h, hn)
        hn -= 1
        if labels[p] != 0:
            continue
        k = bestk[p]
        labels[p] = k + 1
        assigned += 1
        z = p // nyx
        r = p - z * nyx
        y = r // nx
        x = r - y * nx
        cnt = counts[k] + 1.0
        counts[k] = cnt
        inv = 1.0 / cnt
        mnorm2 = 0.0
        for c in range(nc):
            s = sums[k, c] + feat[p, c]
            sums[k, c] = s
            mean[c] = s * inv
            mnorm2 += mean[c] * mean[c]
        zsum[k] += z
        ysum[k] += y
        xsum[k] += x
        cz = zsum[k] * inv
        cy = ysum[k] * inv
        cx = xsum[k] * inv
        mnorm = np.sqrt(mnorm2)
        if hn + 6 > h.shape[0]:  # room for the up to 6 pushes below
            nh = np.empty(2 * h.shape[0] + 6, h.dtype)
            nh[:hn] = h[:hn]
            h = nh
        for j in range(6):
            qz = z
            qy = y
            qx = x
            if j == 0:
                if x == 0:
                    continue
                qx = x - 1
            elif j == 1:
                if y == 0:
                    continue
                qy = y - 1
            elif j == 2:
                if z == 0:
                    continue
                qz = z - 1
            elif j == 3:
                if x == nx - 1:
                    continue
                qx = x + 1
            elif j == 4:
                if y == ny - 1:
                    continue
                qy = y + 1
            else:
                if z == nz - 1:
                    continue
                qz = z + 1
            q = qz * nyx + qy * nx + qx
            if labels[q] != 0:
                continue
            if cosine:
                dot = 0.0
                for c in range(nc):
                    dot += feat[q, c] * mean[c]
                den = fnorm[q] * mnorm
                if den > 0.0:
                    fd = 0.5 - 0.5 * dot / den
                    if fd < 0.0:
                        fd = 0.0
                else:
                    fd = 0.5
            else:
                fd = 0.0
                for c in range(nc):
                    diff = feat[q, c] - mean[c]
                    fd += diff * diff
            dz = qz - cz
            dy = qy - cy
            dx = qx - cx
            d32[0] = fd + wz * dz * dz + wy * dy * dy + wx * dx * dx
            if d32[0] >= best[q]:
                continue
            best[q] = d32[0]
            bestk[q] = k
            heap4_push(h, hn, ((np.uint64(bits[0]) + np.uint64(1)) << np.uint64(32)) | np.uint64(q))
            hn += 1
    return h, hn, assigned
