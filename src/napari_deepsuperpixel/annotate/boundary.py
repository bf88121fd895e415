"""A learned boundary: which superpixel edges inside the object class separate two objects.

The object mask (the superpixels of the object class, outlines refined) is
cut into **fragments**: every superpixel's part inside the mask. Every edge
between two touching fragments is an edge of the graph; a random forest
learns from examples whether it separates two objects ("cut") or lies inside
one ("merge"), and the objects are the connected fragments over the edges it
does not cut (thresholded agglomeration: ``scipy.sparse.csgraph``).

Examples (what the user already gave, and what the classification says):

* **merge**: edges between fragments touched by one connected object stroke
  (inside one painted object);
* **cut**: every edge between an object fragment and a background fragment
  (the outline of an object, "against background").

A learned object smaller than 0.15 of a typical object (a sliver of the
dark line itself) joins the touching object it shares most boundary with.

**The combination** (``shape=True``): an edge is cut where the learned
boundary cuts it or where it separates two objects of the shape split
(:func:`~napari_deepsuperpixel.annotate.split.shape_split`; each fragment
takes its majority shape object): the shape split finds waists, the learned
boundary finds lines, and either can separate two objects. (Teaching the
forest with the shape split's objects as pseudo-labels, and shape features,
was tried first: it learned the shape split back and never cut a straight
line.)

Edge features (intensities normalised to [0, 1], smoothed with a Gaussian of
1 pixel, negated for objects darker than their surroundings), measured across
every pixel face of the boundary: how far the boundary falls below the
brighter of the two pixels 2 further out on either side (about 0 inside an
object, also on an edge that runs across an outline; large at an outline and
at a dark line between two objects), and the same as a ratio. The features were chosen so that what the examples teach (an outline) transfers to
what is asked (a line between two objects): a difference of the two
fragments' means would separate outline from interior too, but is 0 between
two equally bright objects; a boundary mean against the fragments' means
calls every edge that meets the outline a cut. Measured on DSB2018 against
the shape split (docs/annotate.md, "What the numbers say"): it loses there
(object F1 0.49 to 0.60 against 0.76 to 0.79), cutting edges inside nuclei
that lie on their intensity slope near the rim (from across the edge they look
like an outline, and strokes in nucleus centres never show such an edge as
"merge"); it is an option, not the default.
"""

from __future__ import annotations

import numpy as np

from ..regions import adjacency

#: a learned object smaller than this fraction of a typical object (a sliver along a cut) joins its neighbour
MIN_AREA = 0.15


def _absorb_small(comp, frag, adj, oo, *, min_area):
    """Components of the object fragments smaller than ``min_area`` join the touching one they share most faces with."""
    area = np.bincount(comp[frag.ravel()], minlength=comp.max() + 1).astype(np.float64)
    cu, cv = comp[adj.u[oo]], comp[adj.v[oo]]
    faces = adj.n_faces[oo].astype(np.float64)
    between = cu != cv
    cu, cv, faces = cu[between], cv[between], faces[between]
    if not cu.size:
        return comp
    # both directions: for every small component, its neighbour with the most shared faces
    a = np.concatenate([cu, cv])
    b = np.concatenate([cv, cu])
    f = np.concatenate([faces, faces])
    small = area[a] < min_area
    a, b, f = a[small], b[small], f[small]
    if not a.size:
        return comp
    order = np.lexsort((-area[b], -f, a))
    first = np.concatenate([[True], a[order][1:] != a[order][:-1]])
    target = np.arange(comp.max() + 1)
    target[a[order][first]] = b[order][first]
    # a small component pointing at another small one that points back: keep the larger one's label
    for _ in range(3):
        target = target[target]
    return target[comp]


def _majority(frag, labels, size) -> np.ndarray:
    """For every fragment label ``0..size-1``, the label of ``labels`` most of its pixels have (0 if none)."""
    fl, lo = frag.ravel(), np.asarray(labels).ravel().astype(np.int64)
    k = int(lo.max(initial=0)) + 1
    keys, cnt = np.unique(fl * k + lo, return_counts=True)
    fk, ok = keys // k, keys % k
    order = np.lexsort((-cnt, fk))
    first = np.concatenate([[True], fk[order][1:] != fk[order][:-1]])
    major = np.zeros(size, np.int64)
    major[fk[order][first]] = ok[order][first]
    return major


def _fragments(superpixels, mask):
    """Fragment labels: each superpixel's part inside the mask keeps its label, the part outside gets label + n."""
    sp = np.asarray(superpixels).astype(np.int64)
    n = int(sp.max(initial=0)) + 1
    frag = np.where(mask, sp, sp + n)
    frag[sp == 0] = 0
    return frag, n


def edge_features(gray, frag, adj, *, reach: int = 2) -> np.ndarray:
    """The edge features of the module docstring, one row per edge of ``adj``.

    Across every boundary face (two pixels on either side), ``mid`` is their
    mean and ``far`` the brighter of the two pixels ``reach`` further out on
    each side, along the face's axis; per edge, the means over its faces of
    ``far - mid`` and ``mid / far``.
    """
    g = np.asarray(gray, np.float64)
    gp = np.pad(g, reach, mode="edge")
    ca = np.stack(np.unravel_index(adj.face_a, g.shape)) + reach
    cb = np.stack(np.unravel_index(adj.face_b, g.shape)) + reach
    step = cb - ca  # one unit vector per face, along its axis
    far = np.maximum(gp[tuple(ca - reach * step)], gp[tuple(cb + reach * step)])
    mid = 0.5 * (gp[tuple(ca)] + gp[tuple(cb)])
    nf = np.maximum(adj.n_faces, 1)
    per_edge = lambda v: np.bincount(adj.face_edge, weights=v, minlength=adj.n_edges) / nf  # noqa: E731
    return np.stack([per_edge(far - mid), per_edge(mid / np.maximum(far, 1e-6))], axis=1)


def learned_split(gray, superpixels, mask, scribbles, *, object_class: int = 1, shape: bool = True,
                  radius: float = None, h: float = None, spacing=None, seed: int = 0,
                  threshold: float = 0.5) -> np.ndarray:
    """Instance labels of ``mask``: fragments joined over the edges the learned boundary does not cut.

    Parameters
    ----------
    gray : array_like of float
        Per-pixel intensity, objects bright (normalised and smoothed; see the module docstring).
    superpixels : array_like of int
    mask : array_like of bool
        The object class's pixels.
    scribbles : array_like of int
        The strokes (0 = none); connected strokes of ``object_class`` give the "merge" examples.
    object_class : int
    shape : bool
        Combine with the shape split (its objects as more examples, the distance transform as features).
    radius : float, optional
        Object radius in pixels (default: measured from the mask).
    h : float, optional
        The shape split's seed height (fraction of the radius).
    spacing : sequence of float, optional
    seed : int
    threshold : float
        Probability of "cut" above which an edge separates two objects.

    Returns
    -------
    numpy.ndarray of int32
        0 = background, 1..N = objects.
    """
    from scipy import ndimage as ndi
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from sklearn.ensemble import RandomForestClassifier

    from .split import DEFAULT_H, object_radius, shape_split

    m = np.asarray(mask, bool)
    if not m.any():
        return np.zeros(m.shape, np.int32)
    frag, n = _fragments(superpixels, m)
    adj = adjacency(frag)
    is_obj_u, is_obj_v = adj.u < n, adj.v < n
    oo = is_obj_u & is_obj_v
    ob = is_obj_u ^ is_obj_v
    r = object_radius(m, spacing=spacing) if radius is None else float(radius)
    x = edge_features(np.asarray(gray, np.float64), frag, adj)
    y = np.full(adj.n_edges, -1, np.int64)
    w = np.ones(adj.n_edges)
    y[ob] = 1
    # edges between fragments of one connected object stroke: merge
    strokes, _ = ndi.label(np.asarray(scribbles) == object_class, structure=np.ones((3,) * m.ndim))
    fl, sl = frag.ravel(), strokes.ravel()
    hit = (sl > 0) & (fl > 0) & (fl < n)
    owner = np.zeros(int(frag.max()) + 1, np.int64)
    owner[fl[hit]] = sl[hit]
    same = oo & (owner[adj.u] > 0) & (owner[adj.u] == owner[adj.v])
    y[same] = 0
    train = y >= 0
    if np.unique(y[train]).size < 2:
        keep = oo  # nothing to learn from (no outline, or no stroke): connected components
    else:
        # the outline has far more edges than the strokes: balanced classes, each side half the weight
        rf = RandomForestClassifier(n_estimators=100, min_samples_leaf=2, class_weight="balanced",
                                    random_state=seed)
        rf.fit(x[train], y[train], sample_weight=w[train])
        p_cut = rf.predict_proba(x)[:, list(rf.classes_).index(1)]
        p_cut[same] = 0.0
        keep = oo & (p_cut <= threshold)
    size = int(frag.max()) + 1
    graph = coo_matrix((np.ones(int(keep.sum())), (adj.u[keep], adj.v[keep])), shape=(size, size))
    _, comp = connected_components(graph, directed=False)
    is_obj = np.bincount(frag.ravel(), minlength=size) > 0
    is_obj[0] = False
    is_obj[n:] = False
    if shape:
        # the combination: cut where either cuts (each fragment takes its majority shape object)
        objs = shape_split(m, h=DEFAULT_H if h is None else h, spacing=spacing)
        major = _majority(frag, objs, size)
        comp = np.unique(comp.astype(np.int64) * (int(objs.max()) + 1) + major, return_inverse=True)[1].ravel()
    comp = _absorb_small(comp, frag, adj, oo, min_area=MIN_AREA * np.pi * r ** 2 if m.ndim == 2
                         else MIN_AREA * 4 / 3 * np.pi * r ** 3)
    uniq, lab = np.unique(comp[is_obj], return_inverse=True)
    lut = np.zeros(size, np.int32)
    lut[is_obj] = lab.astype(np.int32) + 1
    out = lut[frag]
    out[~m] = 0
    return out
