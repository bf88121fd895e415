"""The BSDS500 MATLAB ``.mat`` formats: one reader or writer for each.

* ``groundTruth`` files: a cell array of structs with fields
  ``Segmentation`` (label map, labels ``1..K``) and ``Boundaries`` (the thin
  boundary map the benchmark matches against), one per annotator;
* ``ucm2`` result files: an ultrametric contour map in "doubleSize" format,
  shape ``(2H+1, 2W+1)``;
* ``segs`` result files: a ``1 x K`` cell array of label maps (a hierarchy
  or any set of segmentations of one image).

Only numpy is imported at module level; scipy loads when a file is read or
written. Nothing here knows about metrics or napari.

References
----------
.. [1] P. Arbelaez, M. Maire, C. Fowlkes and J. Malik, "Contour Detection and
   Hierarchical Image Segmentation", IEEE TPAMI 33(5), 898-916, 2011.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .writes import atomic_write, check_writable

_UINT16_MAX = np.iinfo(np.uint16).max


def mat_kind(path):
    """Which BSDS ``.mat`` a file is, from its variable names (no data loaded).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str or None
        ``"groundTruth"``, ``"segs"``, ``"ucm2"``, or ``None`` for any other
        file (not a MATLAB v5 file, v7.3/HDF5, truncated, other variables).
    """
    from scipy.io import whosmat

    try:
        names = {name: cls for name, _shape, cls in whosmat(str(path))}
    except Exception:  # not a MATLAB file, v7.3/HDF5, truncated...
        return None
    if names.get("groundTruth") == "cell":
        return "groundTruth"
    if names.get("segs") == "cell":
        return "segs"
    if "ucm2" in names and names["ucm2"] in ("double", "single"):
        return "ucm2"
    return None


def _load(path, what: str) -> dict:
    import scipy.io as sio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such {what} file: {path}")
    try:
        return sio.loadmat(str(path))
    except Exception as e:  # scipy raises several types for non-mat files
        raise ValueError(f"cannot read {path} as a MATLAB .mat file ({e})") from None


def _variables(mat: dict) -> list:
    return [k for k in mat if not k.startswith("__")]


def _label_map(a, path, what: str, dtype) -> np.ndarray:
    """A stored label map as ``dtype``; refuses what a cast would turn into garbage (NaN, 1e12, 2.5, 3-D)."""
    a = np.asarray(a)
    if a.ndim != 2 or a.size == 0 or a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ValueError(f"{path}: {what} must be a 2-D numeric label map, got {a.dtype} of shape {a.shape}")
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{path}: {what} holds NaN or infinite values; it is not a label map")
        if not np.all(a == np.round(a)):
            raise ValueError(f"{path}: {what} holds non-integer values; it is not a label map")
    lo, hi = (a.min(), a.max()) if a.dtype != bool else (0, 1)
    info = np.iinfo(dtype)
    if lo < max(info.min, -(2**31)) or hi > min(info.max, 2**31 - 1):
        raise ValueError(f"{path}: {what} holds labels {lo}..{hi}, outside the int32 range of label maps")
    return a.astype(dtype)


def read_ground_truth_mat(path) -> tuple:
    """Read a BSDS ``groundTruth/*.mat`` file.

    Parameters
    ----------
    path : str or Path
        The ground truth of one image, ``groundTruth/<split>/<id>.mat`` in BSDS500.

    Returns
    -------
    segmentations : list of numpy.ndarray
        One ``int32`` label map per annotator, in the order stored.
    boundaries : list of numpy.ndarray
        One ``bool`` thin boundary map per annotator, exactly as stored.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not a BSDS ground-truth file.
    """
    mat = _load(path, "ground-truth")
    if "groundTruth" not in mat:
        raise ValueError(f"{path} has no 'groundTruth' variable (found {_variables(mat)}); "
                         "is it a BSDS ground-truth file?")
    segs, bdries = [], []
    for entry in np.asarray(mat["groundTruth"]).ravel():
        try:
            s = np.asarray(entry["Segmentation"][0, 0])
            b = np.asarray(entry["Boundaries"][0, 0])
        except (ValueError, IndexError, KeyError, TypeError):
            raise ValueError(f"{path}: groundTruth entries must be structs with Segmentation and Boundaries") from None
        segs.append(_label_map(s, path, f"groundTruth {{{len(segs) + 1}}}.Segmentation", np.int32))
        bdries.append(_label_map(b, path, f"groundTruth {{{len(bdries) + 1}}}.Boundaries", np.int32).astype(bool))
    if not segs:
        raise ValueError(f"{path}: the groundTruth cell is empty")
    return segs, bdries


def _ucm2_of(mat: dict) -> np.ndarray:
    return np.asarray(mat["ucm2"], np.float64)


def _segs_of(mat: dict, path="segs") -> list:
    cells = np.asarray(mat["segs"], dtype=object).ravel()
    if cells.size and not isinstance(cells[0], np.ndarray):  # a bare numeric array instead of a cell
        cells = np.asarray([np.asarray(mat["segs"])], dtype=object)
    out = [_label_map(c, path, f"segs {{{k + 1}}}", np.int64) for k, c in enumerate(cells)]
    if not out:
        raise ValueError(f"{path}: the segs cell is empty")
    return out


def read_result_mat(path) -> tuple:
    """Read a BSDS result ``.mat``: a ``ucm2`` map or a ``segs`` cell.

    Parameters
    ----------
    path : str or Path
        A machine result for one image (official ``ucm2/<id>.mat`` files, or
        what :func:`write_segs_mat` writes).

    Returns
    -------
    result, kind
        ``(float64 ucm2 array, "ucm2")`` or ``(list of int64 label maps,
        "segs")``; ``ucm2`` wins when a file holds both.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it is not a MATLAB file or holds neither variable.
    """
    mat = _load(path, "result")
    if "ucm2" in mat:
        return _ucm2_of(mat), "ucm2"
    if "segs" in mat:
        return _segs_of(mat, path), "segs"
    raise ValueError(f"{path} holds neither 'ucm2' nor 'segs' (found {_variables(mat)})")


def read_ucm2(path) -> np.ndarray:
    """The ``ucm2`` map of a BSDS ``.mat`` file, as ``float64`` ``(2H+1, 2W+1)``."""
    mat = _load(path, "ucm2")
    if "ucm2" not in mat:
        raise ValueError(f"{path} has no 'ucm2' variable (found {_variables(mat)})")
    return _ucm2_of(mat)


def read_segs(path) -> list:
    """The ``segs`` cell of a BSDS ``.mat`` file, as a list of ``int64`` label maps."""
    mat = _load(path, "segs")
    if "segs" not in mat:
        raise ValueError(f"{path} has no 'segs' variable (found {_variables(mat)})")
    return _segs_of(mat, path)


def _as_uint16(seg: np.ndarray) -> np.ndarray:
    seg = np.asarray(seg)
    if not np.issubdtype(seg.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {seg.dtype}")
    if seg.size and seg.min() < 0:
        raise ValueError("labels must be non-negative to be written as BSDS segs")
    if seg.size and seg.max() > _UINT16_MAX:
        from skimage.segmentation import relabel_sequential

        seg, _, _ = relabel_sequential(seg)
        if seg.max() > _UINT16_MAX:
            raise ValueError(
                f"{int(seg.max())} segments do not fit the benchmark's uint16 label maps "
                f"(at most {_UINT16_MAX}); use fewer segments"
            )
    return seg.astype(np.uint16)


def write_segs_mat(path, segs, *, overwrite: bool = False) -> Path:
    """Write label maps as a BSDS ``segs`` ``.mat`` file.

    Parameters
    ----------
    path : str or Path
        Output file; name it ``<image id>.mat`` for the benchmark.
    segs : array_like of int
        A ``(Y, X)`` label map (one segmentation) or ``(K, Y, X)`` (``K``
        segmentations of the same image, e.g. several scales; each slice
        becomes one cell). Label 0, if present, is kept: the benchmark
        ignores it as unlabelled.
    overwrite : bool
        Replace an existing file (default: refuse).

    Returns
    -------
    Path
        The written file: a MATLAB v5 file holding a ``1 x K`` cell array
        ``segs`` of ``uint16`` label maps, as the official BSDS benchmark
        (``evaluation_reg_image.m``) and ``deepsuperpixel eval`` read.
        Labels above 65535 are relabelled sequentially first.

    Raises
    ------
    ValueError
        For non-integer, negative, 1D or >3D labels, or more than 65535 segments.
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    """
    from scipy.io import savemat

    lab = np.asarray(segs)
    if lab.ndim == 2:
        lab = lab[np.newaxis]
    if lab.ndim != 3:
        raise ValueError(f"segs must be (Y, X) or (K, Y, X), got shape {np.asarray(segs).shape}")
    cells = np.empty((1, lab.shape[0]), dtype=object)
    for k in range(lab.shape[0]):
        cells[0, k] = _as_uint16(lab[k])
    path = Path(path)
    if path.suffix.lower() != ".mat":
        raise ValueError(f"a BSDS segs file must end in .mat, got {path.name!r}")
    check_writable([path], overwrite)
    atomic_write(path, lambda p: savemat(str(p), {"segs": cells}, do_compression=True))
    return path
