"""numba kernels of the outline and split steps (:mod:`napari_deepsuperpixel.annotate.split`).

Ordinary module-level ``numba.njit(cache=True)`` functions (compiled on first
call, cached on disk). :mod:`napari_deepsuperpixel.annotate.split` imports this
module inside the functions that need it, so that importing the package does
not import numba. Why hand-written, each measured on a 2048 x 2048 retraining
with 20,000 superpixels whose classes change all over the image:

* :func:`ring_counts` / :func:`ring_values` / :func:`above_level`: per group,
  the k-th smallest of its values for a few given k (a 90th percentile and a
  median per region), from the pixels already sorted by value once per image;
  numpy's way (a sort of every pixel by group and value, ``numpy.lexsort``)
  took about 1.4 s, this pass about 0.05 s; scipy.ndimage's
  ``percentile``/``median`` per label loop in Python over the labels.
* :func:`group_max`: each region's largest distance in one pass
  (``numpy.maximum.at`` took about 0.2 s).
* :func:`distance_2d`: an exact distance transform (Meijster et al. 2000),
  scipy's values to the bit, about 6x faster; :func:`expand_labels_2d`: the
  same algorithm carrying the nearest labelled pixel along, the labels of
  ``skimage.segmentation.expand_labels`` up to exact ties (scipy also builds
  index arrays for every pixel).
* :func:`peak_candidates_2d` / :func:`spaced`: ``skimage.feature.peak_local_max``
  with ``labels`` loops in Python over the labels (5,000 calls, 1.4 s); one
  pass over the image finds each label's candidates (0.05 s) and the greedy
  spacing of ``ensure_spacing`` runs per label on them.
* :func:`flood_2d`: a priority flood per region that holds two or more seeds,
  in one call: scikit-image's watershed on each region's crop cost 0.3 ms of
  checks and padding each (1,900 regions).
* :func:`dilate_square_2d`: a square dilation by running counts
  (``scipy.ndimage.maximum_filter`` took 0.07 s a call on a 35-pixel square).
"""

from __future__ import annotations

import heapq

import numba
import numpy as np


@numba.njit(cache=True)
def group_max(labels, values, n):  # pragma: no cover - compiled
    """The largest value of each label ``0..n-1`` (0.0 where a label has no value or only negative ones)."""
    out = np.zeros(n)
    for i in range(labels.size):
        k = labels[i]
        if values[i] > out[k]:
            out[k] = values[i]
    return out


@numba.njit(cache=True)
def _nearest_rows(feature):  # pragma: no cover - compiled
    """Per pixel, the row of the nearest feature pixel in its own column (-1: none); two sweeps.

    Of two equally near, the upper one.
    """
    ny, nx = feature.shape
    fr = np.full((ny, nx), -1, np.int32)
    for y in range(ny):
        for x in range(nx):
            if feature[y, x]:
                fr[y, x] = y
            elif y > 0:
                fr[y, x] = fr[y - 1, x]
    below = np.full(nx, -1, np.int64)
    for y in range(ny - 1, -1, -1):
        for x in range(nx):
            if feature[y, x]:
                below[x] = y
            up = fr[y, x]
            if below[x] >= 0 and (up < 0 or below[x] - y < y - up):
                fr[y, x] = below[x]
    return fr


@numba.njit(cache=True)
def _nearest_columns(fr, y, s, t, col):  # pragma: no cover - compiled
    """For each pixel of row ``y``, the column whose nearest feature (:func:`_nearest_rows`) is nearest.

    The lower envelope of the parabolas ``(x - u)^2 + g(u)^2``, ``g(u) = fr[y, u] - y``,
    of Meijster et al. (2000), integer arithmetic; ``s``, ``t``: work arrays of
    the row's length; ``col`` receives the columns (-1 everywhere when the
    image has no feature pixel).
    """
    nx = fr.shape[1]
    q = -1
    for u in range(nx):
        if fr[y, u] < 0:
            continue
        gu = np.int64(fr[y, u]) - y
        while q >= 0:
            i = s[q]
            gi = np.int64(fr[y, i]) - y
            if (t[q] - i) * (t[q] - i) + gi * gi > (t[q] - u) * (t[q] - u) + gu * gu:
                q -= 1
            else:
                break
        if q < 0:
            q = 0
            s[0] = u
            t[0] = 0
        else:
            i = s[q]
            gi = np.int64(fr[y, i]) - y
            w = 1 + (u * u - i * i + gu * gu - gi * gi) // (2 * (u - i))
            if w < nx:
                q += 1
                s[q] = u
                t[q] = w
    if q < 0:
        col[:] = -1
        return
    for x in range(nx - 1, -1, -1):
        col[x] = s[q]
        if x == t[q]:
            q -= 1


@numba.njit(cache=True)
def distance_2d(mask):  # pragma: no cover - compiled
    """``scipy.ndimage.distance_transform_edt(mask)`` of a 2D mask with some background, the same float64 values.

    A distance does not depend on which of equally near background pixels is
    taken, so any exact transform gives scipy's values: scipy takes the square
    root of the squared distance, a sum of two squared integers held exactly
    in float64, and so does this. The squared distances are exact integers,
    by the separable algorithm of Meijster et al. (2000): each column's
    nearest background pixel (two sweeps), then per row the lower envelope of
    the parabolas ``(x - u)^2 + g(u)^2``.
    """
    ny, nx = mask.shape
    fr = _nearest_rows(~mask)
    s = np.empty(nx, np.int64)
    t = np.empty(nx, np.int64)
    col = np.empty(nx, np.int64)
    out = np.empty((ny, nx))
    for y in range(ny):
        _nearest_columns(fr, y, s, t, col)
        for x in range(nx):
            i = col[x]
            gi = np.int64(fr[y, i]) - y
            out[y, x] = np.sqrt(np.float64((x - i) * (x - i) + gi * gi))
    return out


@numba.njit(cache=True)
def expand_labels_2d(labels, distance):  # pragma: no cover - compiled
    """``skimage.segmentation.expand_labels(labels, distance)`` of a 2D label image, up to ties.

    Each pixel takes the label of its nearest labelled pixel when that lies
    within ``distance`` (Euclidean). The nearest labelled pixel comes from the
    separable algorithm of :func:`distance_2d` carrying along which pixel each
    distance belongs to. Where two labelled pixels of different labels are
    exactly equally near, the label taken may differ from scikit-image's (which
    follows scipy's feature transform); everywhere else it is the same.
    """
    ny, nx = labels.shape
    fr = _nearest_rows(labels != 0)
    s = np.empty(nx, np.int64)
    t = np.empty(nx, np.int64)
    col = np.empty(nx, np.int64)
    out = np.zeros_like(labels)
    d2max = distance * distance
    for y in range(ny):
        _nearest_columns(fr, y, s, t, col)
        for x in range(nx):
            i = col[x]
            if i < 0:
                continue
            gi = np.int64(fr[y, i]) - y
            if (x - i) * (x - i) + gi * gi <= d2max:
                out[y, x] = labels[fr[y, i], i]
    return out


@numba.njit(cache=True, inline="always")
def _append(out, m, value):  # pragma: no cover - compiled
    """``out`` holding ``m`` values with ``value`` put at ``m`` (a new array of twice the room when full)."""
    if m == out.size:
        bigger = np.empty(2 * out.size, out.dtype)
        bigger[:m] = out[:m]
        out = bigger
    out[m] = value
    return out


@numba.njit(cache=True)
def peak_candidates_2d(height, labels, md, threshold, n):  # pragma: no cover - compiled
    """The pixels that ``skimage.feature.peak_local_max(height, min_distance=md, labels=labels)`` considers.

    A pixel of region ``k`` is a candidate when no pixel of ``k`` within a
    (2 md + 1)-square around it is higher and it is above ``threshold``.
    Returns the candidates' flat indices in raster order and, per label
    ``0..n``, whether every one of its pixels equals its square's maximum
    (skimage's "trivial" region, handled apart by the caller).
    """
    ny, nx = height.shape
    present = np.zeros(n + 1, np.bool_)
    not_max = np.zeros(n + 1, np.bool_)
    out = np.empty(16, np.int64)
    m = 0
    for y in range(ny):
        for x in range(nx):
            k = labels[y, x]
            if k <= 0:
                continue
            present[k] = True
            v = height[y, x]
            ok = True
            # the 3 x 3 square first: most pixels fail there
            for yy in range(max(y - 1, 0), min(y + 2, ny)):
                for xx in range(max(x - 1, 0), min(x + 2, nx)):
                    if labels[yy, xx] == k and height[yy, xx] > v:
                        ok = False
                        break
                if not ok:
                    break
            if ok and md > 1:
                for yy in range(max(y - md, 0), min(y + md + 1, ny)):
                    for xx in range(max(x - md, 0), min(x + md + 1, nx)):
                        if labels[yy, xx] == k and height[yy, xx] > v:
                            ok = False
                            break
                    if not ok:
                        break
            if not ok:
                not_max[k] = True
            elif v > threshold:
                out = _append(out, m, y * nx + x)
                m += 1
    return out[:m], present & ~not_max


@numba.njit(cache=True)
def spaced(ys, xs, group, md):  # pragma: no cover - compiled
    """Which points to keep so that no two of a group are nearer than ``md`` (Chebyshev), the first ones first.

    Points in their order of priority, grouped (``group`` ascending); a point
    is kept when no kept point of its group lies at a Chebyshev distance below
    ``md`` (``skimage._shared.coord.ensure_spacing`` with ``p_norm=inf``).
    """
    keep = np.zeros(ys.size, np.bool_)
    kept = np.empty(ys.size, np.int64)  # the kept points of the current group
    nk = 0
    for i in range(ys.size):
        if i > 0 and group[i] != group[i - 1]:
            nk = 0
        ok = True
        for t in range(nk):
            j = kept[t]
            if max(abs(ys[i] - ys[j]), abs(xs[i] - xs[j])) < md:
                ok = False
                break
        if ok:
            keep[i] = True
            kept[nk] = i
            nk += 1
    return keep


@numba.njit(cache=True)
def flood_2d(surface, out, comp, seeds, starts):  # pragma: no cover - compiled
    """A seeded watershed of each region given, one region at a time, into ``out``.

    Priority flooding from markers (Barnes et al., Computers & Geosciences
    2014): a priority queue (``heapq``) of pixels keyed by the level at which
    the flood reaches them (their ``surface`` value, or the level of the pixel
    that reached them if that is higher), then by the order in which they
    entered it; a popped pixel gives its label to each of its four face
    neighbours inside the region that has none yet, which then enter the
    queue. ``out`` holds the markers (and may hold other regions'
    labels); ``seeds``: the markers' flat indices, grouped by region
    (``starts``: each group's first); ``comp``: nonzero inside the mask
    (regions are face-connected, so a neighbour in the mask is in the same
    region). The same flood as ``skimage.segmentation.watershed`` with a mask
    up to the order of pixels of equal value, without its checks and padding
    for each of thousands of regions.
    """
    ny, nx = surface.shape
    fs = surface.ravel()
    fc = comp.ravel()
    fo = out.ravel()
    for c in range(starts.size - 1):
        heap = [(fs[seeds[starts[c]]], np.int64(0), np.int64(seeds[starts[c]]))]
        order = np.int64(1)
        for t in range(starts[c] + 1, starts[c + 1]):
            heapq.heappush(heap, (fs[seeds[t]], order, np.int64(seeds[t])))
            order += 1
        while len(heap) > 0:
            v, _, idx = heapq.heappop(heap)
            y = idx // nx
            x = idx - y * nx
            lab = fo[idx]
            for q in range(4):
                if q == 0:
                    if y == 0:
                        continue
                    j = idx - nx
                elif q == 1:
                    if y == ny - 1:
                        continue
                    j = idx + nx
                elif q == 2:
                    if x == 0:
                        continue
                    j = idx - 1
                else:
                    if x == nx - 1:
                        continue
                    j = idx + 1
                if fc[j] != 0 and fo[j] == 0:
                    fo[j] = lab
                    heapq.heappush(heap, (max(fs[j], v), order, j))  # never below the level reached
                    order += 1
    return out


@numba.njit(cache=True)
def dilate_square_2d(mask, pad):  # pragma: no cover - compiled
    """``mask`` grown by a square of half-side ``pad`` (``scipy.ndimage.maximum_filter``, constant 0 outside).

    Separable, each pass from running counts of the set pixels in a line.
    """
    ny, nx = mask.shape
    tmp = np.zeros((ny, nx), np.bool_)
    cs = np.zeros(max(ny, nx) + 1, np.int64)
    for y in range(ny):
        for x in range(nx):
            cs[x + 1] = cs[x] + (1 if mask[y, x] else 0)
        for x in range(nx):
            tmp[y, x] = cs[min(x + pad + 1, nx)] - cs[max(x - pad, 0)] > 0
    out = np.zeros((ny, nx), np.bool_)
    cnt = np.zeros(nx, np.int64)  # set pixels of each column within rows y - pad .. y + pad
    for y in range(min(pad, ny)):
        for x in range(nx):
            cnt[x] += tmp[y, x]
    for y in range(ny):
        if y + pad < ny:
            for x in range(nx):
                cnt[x] += tmp[y + pad, x]
        if y - pad - 1 >= 0:
            for x in range(nx):
                cnt[x] -= tmp[y - pad - 1, x]
        for x in range(nx):
            out[y, x] = cnt[x] > 0
    return out


@numba.njit(cache=True)
def ring_counts(grown, inside, n):  # pragma: no cover - compiled
    """The group of each pixel of the outline levels and the pixels per group (flat arrays).

    Group ``2k - 1``: inside region ``k``; ``2k``: in its ring; 0: neither.
    """
    count = np.zeros(2 * n + 1, np.int64)
    key = np.zeros(grown.size, np.int32)
    for i in range(grown.size):
        k = grown[i]
        if k > 0:
            g = 2 * k - (1 if inside[i] else 0)
            key[i] = g
            count[g] += 1
    return count, key


@numba.njit(cache=True)
def ring_values(order, key, values, rank_a, rank_b):  # pragma: no cover - compiled
    """For each group ``k`` of :func:`ring_counts`: its ``rank_a[k]``-th and ``rank_b[k]``-th value (0-based).

    The pixels are visited in ``order`` (ascending value), so the j-th pixel
    met of a group holds its j-th smallest value.
    """
    n = rank_a.size
    seen = np.zeros(n, np.int64)
    va = np.zeros(n)
    vb = np.zeros(n)
    for i in range(order.size):
        p = order[i]
        k = key[p]
        if k <= 0:
            continue
        s = seen[k]
        if s == rank_a[k]:
            va[k] = np.float64(values[p])
        if s == rank_b[k]:
            vb[k] = np.float64(values[p])
        seen[k] = s + 1
    return va, vb


@numba.njit(cache=True)
def above_level(grown, values, level):  # pragma: no cover - compiled
    """``(grown > 0) & (values > level[grown])`` (flat arrays)."""
    out = np.zeros(grown.size, np.bool_)
    for i in range(grown.size):
        k = grown[i]
        if k > 0 and values[i] > level[k]:
            out[i] = True
    return out


@numba.njit(cache=True)
def small_faces(lab, small):  # pragma: no cover - compiled
    """The faces between a small label and a label that is not: ``(small one, other)`` per face, of ``(Z, Y, X)``.

    Faces between pixels that differ along each axis, 0 (no label) left out,
    as :func:`napari_deepsuperpixel.regions.adjacency` counts them.
    """
    nz, ny, nx = lab.shape
    a = np.empty(64, np.int64)
    b = np.empty(64, np.int64)
    m = 0
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                p = lab[z, y, x]
                if p == 0:
                    continue
                for q in range(3):
                    if q == 0:
                        if x + 1 >= nx:
                            continue
                        o = lab[z, y, x + 1]
                    elif q == 1:
                        if y + 1 >= ny:
                            continue
                        o = lab[z, y + 1, x]
                    else:
                        if z + 1 >= nz:
                            continue
                        o = lab[z + 1, y, x]
                    if o == 0 or o == p or small[p] == small[o]:
                        continue
                    if m == a.size:
                        a2 = np.empty(2 * m, np.int64)
                        b2 = np.empty(2 * m, np.int64)
                        a2[:m] = a[:m]
                        b2[:m] = b[:m]
                        a, b = a2, b2
                    if small[p]:
                        a[m] = p
                        b[m] = o
                    else:
                        a[m] = o
                        b[m] = p
                    m += 1
    return a[:m], b[:m]


@numba.njit(cache=True)
def seeded_regions(comp, markers, n):  # pragma: no cover - compiled
    """Per label ``0..n`` of ``comp`` (flat): whether it has a pixel, and whether one of them holds a marker."""
    present = np.zeros(n + 1, np.bool_)
    seeded = np.zeros(n + 1, np.bool_)
    for i in range(comp.size):
        k = comp[i]
        present[k] = True
        if markers[i] > 0:
            seeded[k] = True
    return present, seeded


@numba.njit(cache=True)
def touched_labels(near, labels, n):  # pragma: no cover - compiled
    """Which labels ``0..n`` have a pixel where ``near`` is set (flat arrays)."""
    out = np.zeros(n + 1, np.bool_)
    for i in range(near.size):
        if near[i]:
            out[labels[i]] = True
    return out


@numba.njit(cache=True)
def isolated_pixels_2d(height, labels, trivial, threshold):  # pragma: no cover - compiled
    """The peaks of skimage's "trivial" labels: their pixels that a binary opening (cross) removes, above ``threshold``.

    ``peak_local_max`` takes, for a label whose every pixel is a maximum of its
    square, ``mask ^ binary_opening(mask)`` on the label's crop: a pixel stays
    in the opening when it or one of its four neighbours has all four
    neighbours in the label (outside the image counts as outside the label).
    Flat indices in raster order.
    """
    ny, nx = labels.shape
    out = np.empty(16, np.int64)
    m = 0
    for y in range(ny):
        for x in range(nx):
            k = labels[y, x]
            if k <= 0 or not trivial[k]:
                continue
            opened = False
            for q in range(5):
                qy, qx = y, x
                if q == 1:
                    qy = y - 1
                elif q == 2:
                    qx = x - 1
                elif q == 3:
                    qx = x + 1
                elif q == 4:
                    qy = y + 1
                if qy < 1 or qy >= ny - 1 or qx < 1 or qx >= nx - 1:
                    continue  # a neighbour of q outside the image: q is not in the erosion
                if (labels[qy, qx] == k and labels[qy - 1, qx] == k and labels[qy + 1, qx] == k
                        and labels[qy, qx - 1] == k and labels[qy, qx + 1] == k):
                    opened = True
                    break
            if not opened and height[y, x] > threshold:
                out = _append(out, m, y * nx + x)
                m += 1
    return out[:m]
