"""npe2 reader for BSDS500 files.

* a ground-truth ``.mat`` (variable ``groundTruth``) opens as one Labels layer
  per annotator, named ``"<image id> annotator <k>"``;
* a ``ucm2`` ``.mat`` opens as an Image layer of boundary strength at pixel
  resolution (see :func:`ucm_to_pixels`);
* a ``segs`` ``.mat`` (what :mod:`._writer` and the MATLAB benchmark use)
  opens as one Labels layer per segmentation;
* a BSDS image (``.jpg``) inside a BSDS folder (``.../images/...`` next to
  ``.../groundTruth/...``) opens together with its ground truth.

Every other file gives ``None`` so that napari tries another reader; the
reader getter never raises.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.files import IMAGE_SUFFIXES


def _mat_kind(path: Path):
    """Cheaply identify a BSDS ``.mat`` by its variable names (no data loaded)."""
    from ..io.bsds_mat import mat_kind

    return mat_kind(path)


def find_ground_truth(image_path) -> Path | None:
    """Return the BSDS ground-truth ``.mat`` of an image file, or ``None``.

    Parameters
    ----------
    image_path : str or Path
        An image inside a BSDS folder: ``<root>/data/images/<split>/<id>.jpg``
        (BSDS500) or ``<root>/images/<id>.jpg`` (the benchmark's test folder).

    Returns
    -------
    Path or None
        The path with its last ``images`` component replaced by
        ``groundTruth`` and the suffix by ``.mat``, when that file exists.
    """
    p = Path(image_path)
    parts = list(p.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            cand = Path(*parts[:i], "groundTruth", *parts[i + 1:-1], p.stem + ".mat")
            return cand if cand.is_file() else None
    return None


def ucm_to_pixels(ucm2: np.ndarray) -> np.ndarray:
    """Boundary strength per pixel from a BSDS ``ucm2`` map.

    Parameters
    ----------
    ucm2 : numpy.ndarray
        The ``(2H+1, 2W+1)`` "doubled" ultrametric contour map stored in BSDS
        ``ucm2`` files (pixels at odd indices, boundaries between them at
        even indices).

    Returns
    -------
    numpy.ndarray of float32
        ``(H, W)`` map ``ucm2[2::2, 2::2]``, the same sampling the BSDS
        MATLAB code uses (``ucm2(3:2:end, 3:2:end)``) so that it lies on the
        image grid. A map that is not of odd-by-odd shape is returned as is.
    References
    ----------
    .. [1] P. Arbelaez, M. Maire, C. Fowlkes and J. Malik, "Contour Detection and
       Hierarchical Image Segmentation", IEEE TPAMI 33(5), 898-916, 2011.
    """
    u = np.asarray(ucm2, dtype=np.float32)
    if u.ndim == 2 and u.shape[0] % 2 == 1 and u.shape[1] % 2 == 1 and min(u.shape) >= 3:
        return np.ascontiguousarray(u[2::2, 2::2])
    return u


def read_bsds_mat(path) -> list:
    """Read a BSDS ``.mat`` file as napari layer data tuples.

    Parameters
    ----------
    path : str or Path
        A ``groundTruth``, ``segs`` or ``ucm2`` file.

    Returns
    -------
    list of tuple
        ``(data, meta, layer_type)`` tuples: Labels for ``groundTruth``
        (one per annotator; only the first is visible; the stored thin
        boundary map is kept in ``metadata["bsds_boundaries"]`` for the
        metrics widget) and ``segs``, one Image for ``ucm2``.

    Raises
    ------
    ValueError
        If the file is not one of these BSDS kinds.
    """
    from ..io.bsds_mat import read_ground_truth_mat, read_segs, read_ucm2
    from ._layers import mark

    path = Path(path)
    kind = _mat_kind(path)
    if kind is None:
        raise ValueError(f"{path} is not a BSDS groundTruth, segs or ucm2 .mat file")
    stem = path.stem
    if kind == "ucm2":
        data = ucm_to_pixels(read_ucm2(path))
        return [(data, {"name": f"{stem} ucm2", "colormap": "magma", "blending": "additive",
                        "metadata": {"source": str(path)}}, "image")]
    if kind == "groundTruth":
        segs, bdries = read_ground_truth_mat(path)
    else:
        segs, bdries = read_segs(path), None
    out = []
    for k, seg in enumerate(segs):
        md = {"source": str(path), "index": k}
        if bdries is not None:
            name = f"{stem} annotator {k + 1}"
            # the benchmark matches against the stored thin boundaries; keep them
            md["bsds_boundaries"] = bdries[k]
        else:
            name = f"{stem} seg {k + 1}"
        # the plugin's marker: annotators are ground truth, never the metrics dock's default prediction
        md = mark(md, "ground_truth" if bdries is not None else "segmentation")
        meta = {"name": name, "visible": k == 0, "opacity": 0.6, "metadata": md}
        out.append((np.asarray(seg).astype(np.int32), meta, "labels"))
    return out


def read_bsds_image(path) -> list:
    """Read a BSDS image plus, when found, its ground truth (see :func:`find_ground_truth`).

    Parameters
    ----------
    path : str or Path
        The image file.

    Returns
    -------
    list of tuple
        The Image layer tuple followed by the ground-truth Labels tuples.
    """
    from ..io.files import read_image

    path = Path(path)
    img = read_image(path)
    rgb = img.ndim == 3 and img.shape[-1] in (3, 4)
    layers = [(img, {"name": path.stem, "rgb": rgb}, "image")]
    gt = find_ground_truth(path)
    if gt is not None:
        shape = img.shape[:2]
        for data, meta, _ in read_bsds_mat(gt):
            if tuple(np.shape(data)[:2]) != tuple(shape):
                raise ValueError(f"its ground truth {gt} ({meta.get('name', 'a layer')}) is "
                                 f"{np.shape(data)[0]} x {np.shape(data)[1]} but the image is {shape[0]} x {shape[1]}; "
                                 "the .mat belongs to another image: move it away or open the image alone")
            layers.append((data, meta, _))
    return layers


def _single(path):
    """napari passes a list of paths when it stacks files; this plugin reads one file."""
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    return Path(str(path))


def _claimed(read):
    """The reader napari calls: one path (or a one-path list) in, layer tuples or a one-line error out.

    A file this plugin claimed but cannot read (truncated, a struct without
    ``Boundaries``, labels holding NaN...) raises ``ValueError("cannot open
    FILE: why")``, which napari shows as a message, not as a crash.
    """
    def reader(path):
        p = _single(path)
        try:
            return read(p)
        except Exception as e:  # every failure of a claimed file becomes one readable message
            raise ValueError(f"cannot open {p}: {e}") from None

    reader.__name__ = reader.__qualname__ = read.__name__
    reader.__doc__ = read.__doc__
    return reader


def get_reader(path):
    """npe2 ``get_reader`` hook: a reader function for BSDS files, else ``None``.

    Parameters
    ----------
    path : str or list of str
        What napari asks about; a list (napari's ``stack=True``) is handled
        when it holds one path.

    Returns
    -------
    callable or None
        A function ``path -> list of layer data tuples`` (it accepts the same
        path or one-path list); ``None`` for any file this plugin does not
        understand (never raises).
    """
    try:
        p = _single(path)
        if p is None:
            return None
        suffix = p.suffix.lower()
        if suffix == ".mat":
            return _claimed(read_bsds_mat) if p.is_file() and _mat_kind(p) is not None else None
        if suffix in IMAGE_SUFFIXES and p.is_file() and find_ground_truth(p) is not None:
            return _claimed(read_bsds_image)
    except Exception:
        return None
    return None
