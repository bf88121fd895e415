"""Stitching the blocks: labels that a border cut into pieces become one region each.

See :mod:`napari_deepsuperpixel.tiled` ("Stitching").
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..regions import adjacency
from .runner import _Counter, _Runner, _shared, _Writes


def _write_block(labels: np.ndarray, target, y0: int, y1: int, x0: int, x1: int, writes: _Writes) -> None:
    """One block's labels into the run's labels (nothing once the run has ended: :class:`_Writes`)."""
    writes.put(target, y0, y1, x0, x1, labels)


def _stats(block: np.ndarray):
    """Connected components of a block and what stitching needs of them.

    Returns the components, their number, the label and size of each, the
    adjacent component pairs of the block with their border lengths
    (``(k, 3)``: a, b, pixels), and the components and labels of its four edges.
    """
    from skimage.measure import label as cc_label

    cc = cc_label(block, background=-1, connectivity=1).astype(np.int64, copy=False)
    n = int(cc.max())
    seed_of = np.zeros(n + 1, np.int64)
    seed_of[cc.ravel()] = block.ravel()
    sizes = np.bincount(cc.ravel(), minlength=n + 1)
    adj = adjacency(cc)
    edges = np.stack([adj.u, adj.v, adj.n_faces], 1)
    # copies: a view would keep the block's component image and labels (12 bytes a pixel) alive
    # until the stitching ends, which for all blocks together is of the image's size
    borders = {"top": (cc[0].copy(), block[0].copy()), "bottom": (cc[-1].copy(), block[-1].copy()),
               "left": (cc[:, 0].copy(), block[:, 0].copy()), "right": (cc[:, -1].copy(), block[:, -1].copy())}
    return cc, n, seed_of, sizes, edges, borders


def _block_stats(labels_store, y0, y1, x0, x1, counter: Optional[_Counter] = None):
    """What the stitching needs of one block of the labels (:func:`_stats` without the components)."""
    if counter is not None:
        counter.start()
    _, n, seed_of, sizes, edges, borders = _stats(np.asarray(labels_store[y0:y1, x0:x1]))
    if counter is not None:
        counter.finish()
    return n, seed_of, sizes, edges, borders


def _regions(ychunks, xchunks):
    """``(by, bx)`` and ``(y0, y1, x0, x1)`` of every block, row by row."""
    y_edges, x_edges = np.cumsum((0,) + tuple(ychunks)), np.cumsum((0,) + tuple(xchunks))
    return [((by, bx), (int(y_edges[by]), int(y_edges[by + 1]), int(x_edges[bx]), int(x_edges[bx + 1])))
            for by in range(len(ychunks)) for bx in range(len(xchunks))]


def _stitch_table(labels_store, ychunks, xchunks, runner: _Runner):
    """The lookup table ``component -> final label`` of every block (or ``None``: nothing to change)."""
    import dask
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    regions = _regions(ychunks, xchunks)
    keys = [k for k, _ in regions]
    counter = runner.counter(len(regions), "stitch")
    store = _shared(labels_store, "labels")
    tasks = [dask.delayed(_block_stats, pure=False)(store, *r, counter=counter) for _, r in regions]
    stats = dict(zip(keys, runner.run(tasks, "stitch")))
    offsets, total = {}, 0
    for k in keys:
        offsets[k] = total
        total += stats[k][0]
    seed_of = np.zeros(total + 1, np.int64)
    sizes = np.zeros(total + 1, np.int64)
    edges, joins = [], []
    for k in keys:
        n, s, z, e, _ = stats[k]
        o = offsets[k]
        seed_of[o + 1:o + n + 1], sizes[o + 1:o + n + 1] = s[1:], z[1:]
        edges.append(e + np.array([o, o, 0]))
    for (by, bx) in keys:
        for (nb, mine, theirs) in (((by + 1, bx), "bottom", "top"), ((by, bx + 1), "right", "left")):
            if nb not in stats:
                continue
            ca, la = stats[(by, bx)][4][mine]
            cb, lb = stats[nb][4][theirs]
            ga, gb = ca + offsets[(by, bx)], cb + offsets[nb]
            same = la == lb
            joins.append(np.stack([ga[same], gb[same]], 1))
            edges.append(np.stack([ga[~same], gb[~same], np.ones(int((~same).sum()), np.int64)], 1))
    joins = np.concatenate(joins) if joins else np.zeros((0, 2), np.int64)
    graph = coo_matrix((np.ones(len(joins)), (joins[:, 0], joins[:, 1])), shape=(total + 1, total + 1))
    _, root = connected_components(graph, directed=False)  # pieces of one label joined across borders
    n_roots = int(root.max()) + 1
    rsize = np.bincount(root, weights=sizes, minlength=n_roots)
    rseed = np.zeros(n_roots, np.int64)
    rseed[root[1:]] = seed_of[1:]
    # per label, the largest piece keeps it; the others are fragments
    order = np.lexsort((-rsize[1:], rseed[1:])) + 1 if n_roots > 1 else np.zeros(0, np.int64)
    main = np.zeros(n_roots, bool)
    first = np.ones(order.size, bool)
    first[1:] = rseed[order[1:]] != rseed[order[:-1]]
    main[order[first]] = True
    main[0] = False
    frag = np.flatnonzero(~main)
    frag = frag[frag > 0]
    if frag.size == 0:
        return None, 0
    # every fragment joins the neighbouring piece it shares the longest border with
    e = np.concatenate(edges)
    w = e[:, 2]
    e = root[e[:, :2]].astype(np.int64)  # (int64: the pair keys below exceed int32 for 46,341 pieces)
    keep = e[:, 0] != e[:, 1]
    e, w = e[keep], w[keep]
    e, w = np.concatenate([e, e[:, ::-1]]), np.concatenate([w, w])
    is_frag = np.zeros(n_roots, bool)
    is_frag[frag] = True
    sel = is_frag[e[:, 0]]
    e, w = e[sel], w[sel]
    key, inv = np.unique(e[:, 0] * n_roots + e[:, 1], return_inverse=True)
    border = np.bincount(inv.ravel(), weights=w)
    src, dst = key // n_roots, key % n_roots
    best = np.lexsort((dst, -border, src))
    src, dst = src[best], dst[best]
    keep = np.ones(src.size, bool)
    keep[1:] = src[1:] != src[:-1]
    graph = coo_matrix((np.ones(int(keep.sum())), (src[keep], dst[keep])), shape=(n_roots, n_roots))
    _, group = connected_components(graph, directed=False)
    final = np.zeros(int(group.max()) + 1, np.int64)
    final[group[main]] = rseed[main]
    n_seeds = int(rseed.max())
    orphan = np.flatnonzero(final == 0)
    orphan = orphan[orphan != group[0]]
    final[orphan] = n_seeds + 1 + np.arange(orphan.size)  # fragments only among themselves: own labels
    lut = final[group[root]].astype(np.int32)
    return (lut, offsets), int(frag.size)


def _relabel_block(target, lut, offset: int, y0, y1, x0, x1, writes: _Writes,
                   counter: Optional[_Counter] = None) -> None:
    """Rewrite one block through the stitching table (its components recomputed, as in the stitching)."""
    from skimage.measure import label as cc_label

    if counter is not None:
        counter.start()
    cc = cc_label(np.asarray(target[y0:y1, x0:x1]), background=-1, connectivity=1)
    writes.put(target, y0, y1, x0, x1, lut[cc + offset])
    if counter is not None:
        counter.finish()


def _relabel(target, lut, offsets, ych, xch, runner: _Runner, writes: _Writes) -> None:
    """Rewrite every block through the stitching table."""
    import dask

    regions = _regions(ych, xch)
    counter = runner.counter(len(regions), "relabel")
    store, table = _shared(target, "labels"), _shared(lut, "stitch-table")
    runner.run([dask.delayed(_relabel_block, pure=False)(store, table, offsets[k], *r, writes, counter=counter)
                for k, r in regions], "relabel")
