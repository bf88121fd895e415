"""The BSDS500 dataset: image lists, images and human ground truth.

The layout is the one of the official archive (``BSR/BSDS500``)::

    ROOT/data/images/{train,val,test}/*.jpg
    ROOT/data/groundTruth/{train,val,test}/*.mat

Image lists are built from ``*.jpg`` (and ``groundTruth/*.mat``) names, never
from a raw directory listing: the archive contains ``Thumbs.db`` files.
Images come in both orientations (481 x 321 and 321 x 481).

References
----------
.. [1] P. Arbelaez, M. Maire, C. Fowlkes and J. Malik, "Contour Detection and
   Hierarchical Image Segmentation", IEEE TPAMI 33(5), 898-916, 2011.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

#: split names of BSDS500
SPLITS = ("train", "val", "test")


@dataclass
class GroundTruth:
    """Human annotations of one image.

    Attributes
    ----------
    segmentations : list of numpy.ndarray
        One ``int32`` label map per annotator (labels ``1..K``), shape ``(H, W)``.
    boundaries : list of numpy.ndarray
        One ``bool`` thin boundary map per annotator, exactly as stored in the
        ``.mat`` file (the benchmark matches against these, not against
        boundaries recomputed from the label maps).
    name : str
        Image id (file stem), empty when unknown.
    """

    segmentations: list
    boundaries: list
    name: str = ""

    def __post_init__(self):
        if len(self.segmentations) == 0:
            raise ValueError("ground truth has no annotations (empty groundTruth cell)")
        if len(self.segmentations) != len(self.boundaries):
            raise ValueError(
                f"ground truth has {len(self.segmentations)} segmentations but "
                f"{len(self.boundaries)} boundary maps; give one of each per annotator"
            )
        shapes = {np.shape(s) for s in self.segmentations} | {np.shape(b) for b in self.boundaries}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise ValueError(f"ground truth maps must all be 2-D with one shape, got shapes {sorted(shapes)}")

    @property
    def shape(self) -> tuple:
        """``(H, W)`` of the image."""
        return tuple(np.shape(self.segmentations[0]))

    @property
    def n_annotators(self) -> int:
        return len(self.segmentations)

    @classmethod
    def from_segmentations(cls, segmentations, name: str = "") -> "GroundTruth":
        """Build ground truth from label maps alone.

        Boundaries are ``thin_boundaries(seg_to_boundaries(seg))``
        (:mod:`napari_deepsuperpixel.metrics.boundary`), which reproduces the
        ``Boundaries`` stored in the BSDS500 files exactly (tested).

        Parameters
        ----------
        segmentations : sequence of array_like
            One ``(H, W)`` integer label map per annotator.
        name : str
            Image id.

        Returns
        -------
        GroundTruth
        """
        from ..metrics.boundary import seg_to_boundaries, thin_boundaries

        segs = [np.asarray(s).astype(np.int32) for s in segmentations]
        return cls(segs, [thin_boundaries(seg_to_boundaries(s)) for s in segs], name)


def load_ground_truth(path) -> GroundTruth:
    """Read a BSDS ``groundTruth/*.mat`` file.

    Parameters
    ----------
    path : str or Path
        A MATLAB v5 file with a ``groundTruth`` cell array of structs with fields
        ``Segmentation`` and ``Boundaries``.

    Returns
    -------
    GroundTruth
        Label maps as ``int32`` and boundary maps as ``bool``, one per annotator,
        in the order stored in the file.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not a BSDS ground-truth file.
    """
    import scipy.io as sio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such ground-truth file: {path}")
    try:
        mat = sio.loadmat(str(path))
    except Exception as e:  # scipy raises several types for non-mat files
        raise ValueError(f"cannot read {path} as a MATLAB .mat file ({e})") from None
    if "groundTruth" not in mat:
        keys = [k for k in mat if not k.startswith("__")]
        raise ValueError(f"{path} has no 'groundTruth' variable (found {keys}); is it a BSDS ground-truth file?")
    cell = np.asarray(mat["groundTruth"]).ravel()
    segs, bdries = [], []
    for entry in cell:
        try:
            s = np.asarray(entry["Segmentation"][0, 0])
            b = np.asarray(entry["Boundaries"][0, 0])
        except (ValueError, IndexError, KeyError, TypeError):
            raise ValueError(f"{path}: groundTruth entries must be structs with Segmentation and Boundaries") from None
        segs.append(s.astype(np.int32))
        bdries.append(b.astype(bool))
    return GroundTruth(segs, bdries, path.stem)


#: environment variable naming the BSDS500 folder (the one holding ``data/images``)
BSDS_ENV = "NDS_BSDS500"


def find_bsds500(data="bsds") -> Path:
    """Locate the BSDS500 folder: the one way every command and trainer finds it.

    Parameters
    ----------
    data : str or Path
        ``"bsds"`` (or ``None``): the folder named by ``$NDS_BSDS500``, else
        ``shared/BSDS500`` next to the working directory (``../shared`` or
        ``./shared``) or next to the source checkout. Any other value is a
        path that must be a BSDS500 folder.

    Returns
    -------
    pathlib.Path
        The BSDS500 folder (it contains ``data/images``).

    Raises
    ------
    FileNotFoundError
        No BSDS500 folder; the message lists where it looked and how to say where it is.
    """
    if data is not None and str(data).lower() != "bsds":
        p = Path(data)
        if (p / "data" / "images").is_dir():
            return p
        raise FileNotFoundError(f"{p} is not a BSDS500 folder (no data/images inside)")
    import os

    cands = [Path(os.environ[BSDS_ENV])] if os.environ.get(BSDS_ENV) else []
    here = Path(__file__).resolve()
    cands += [Path.cwd().parent / "shared" / "BSDS500", Path.cwd() / "shared" / "BSDS500",
              here.parents[3].parent / "shared" / "BSDS500"]
    for c in cands:
        if (c / "data" / "images").is_dir():
            return c.resolve()
    raise FileNotFoundError(
        f"BSDS500 not found; set {BSDS_ENV}=/path/to/BSDS500 or pass its folder (--data DIR) "
        f"(looked in: {', '.join(str(c) for c in cands)})"
    )


def _data_dir(root) -> Path:
    root = Path(root)
    for cand in (root, root / "data", root / "BSDS500" / "data"):
        if (cand / "images").is_dir() and (cand / "groundTruth").is_dir():
            return cand
    raise FileNotFoundError(
        f"{root} is not a BSDS500 folder: expected ROOT/data/images and ROOT/data/groundTruth "
        "(ROOT is the BSDS500 folder of the official BSR archive)"
    )


@dataclass
class BSDSSample:
    """One image of a split: its id and file paths."""

    name: str
    split: str
    image_path: Path
    gt_path: Path

    def load_image(self) -> np.ndarray:
        """The RGB image, ``uint8`` ``(H, W, 3)``."""
        import imageio.v3 as iio

        return np.asarray(iio.imread(self.image_path))

    def load_ground_truth(self) -> GroundTruth:
        """The :class:`GroundTruth` of this image."""
        return load_ground_truth(self.gt_path)


@dataclass
class BSDS500:
    """Access to a BSDS500 folder.

    Parameters
    ----------
    root : str or Path
        The ``BSDS500`` folder (containing ``data/``), or its ``data`` folder.

    Examples
    --------
    >>> ds = BSDS500("../shared/BSDS500")          # doctest: +SKIP
    >>> len(ds.ids("test"))                        # doctest: +SKIP
    200
    >>> gt = ds.ground_truth("test", ds.ids("test")[0])  # doctest: +SKIP
    """

    root: Path
    data_dir: Path = field(init=False)

    def __post_init__(self):
        self.root = Path(self.root)
        self.data_dir = _data_dir(self.root)

    def _check_split(self, split: str) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown BSDS500 split {split!r}; use one of {list(SPLITS)}")

    def ids(self, split: str) -> list:
        """Image ids of a split that have both a ``.jpg`` and a ground-truth ``.mat``, sorted.

        Parameters
        ----------
        split : {"train", "val", "test"}

        Returns
        -------
        list of str
        """
        self._check_split(split)
        imgs = {p.stem for p in (self.data_dir / "images" / split).glob("*.jpg")}
        gts = {p.stem for p in (self.data_dir / "groundTruth" / split).glob("*.mat")}
        return sorted(imgs & gts)

    def samples(self, split: str) -> list:
        """:class:`BSDSSample` objects of a split, sorted by id."""
        return [self.sample(split, i) for i in self.ids(split)]

    def sample(self, split: str, name: str) -> BSDSSample:
        """The :class:`BSDSSample` of image ``name`` in ``split`` (``FileNotFoundError`` if absent)."""
        self._check_split(split)
        img = self.data_dir / "images" / split / f"{name}.jpg"
        gt = self.data_dir / "groundTruth" / split / f"{name}.mat"
        if not img.is_file() or not gt.is_file():
            raise FileNotFoundError(f"image {name!r} of split {split!r} not found under {self.data_dir}")
        return BSDSSample(name, split, img, gt)

    def image(self, split: str, name: str) -> np.ndarray:
        """The RGB image (``uint8``, ``(H, W, 3)``)."""
        return self.sample(split, name).load_image()

    def ground_truth(self, split: str, name: str) -> GroundTruth:
        """The :class:`GroundTruth` of an image."""
        return self.sample(split, name).load_ground_truth()

    def __iter__(self) -> Iterator[BSDSSample]:
        for split in SPLITS:
            yield from self.samples(split)


def ground_truth_files(gt_dir, names: Optional[list] = None) -> dict:
    """Map image ids to ``.mat`` files of a ground-truth folder (``*.mat`` only).

    Parameters
    ----------
    gt_dir : str or Path
        Folder with ``<id>.mat`` ground-truth files.
    names : list of str, optional
        Restrict to these ids.

    Returns
    -------
    dict
        ``{id: Path}``, sorted by id.
    """
    gt_dir = Path(gt_dir)
    if not gt_dir.is_dir():
        raise FileNotFoundError(f"ground-truth folder not found: {gt_dir}")
    files = {p.stem: p for p in sorted(gt_dir.glob("*.mat"))}
    if names is not None:
        files = {k: files[k] for k in names if k in files}
    return dict(sorted(files.items()))
