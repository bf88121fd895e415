"""The BSDS500 dataset: image lists, images and human ground truth.

The layout is the one of the official archive (``BSR/BSDS500``)::

    ROOT/data/images/{train,val,test}/*.jpg
    ROOT/data/groundTruth/{train,val,test}/*.mat

Image lists are built from ``*.jpg`` (and ``groundTruth/*.mat``) names, never
from a raw directory listing: the archive contains ``Thumbs.db`` files.
Images come in both orientations (481 x 321 and 321 x 481).

:class:`GroundTruth` and :func:`load_ground_truth` live in
:mod:`napari_deepsuperpixel.metrics.ground_truth` (the ``.mat`` reading in
:mod:`napari_deepsuperpixel.io.bsds_mat`) and are re-exported here.

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

from ..metrics.ground_truth import GroundTruth, load_ground_truth

__all__ = ["SPLITS", "BSDS500", "BSDSSample", "GroundTruth", "load_ground_truth", "ground_truth_files", "find_bsds500",
           "BSDS_ENV"]

#: split names of BSDS500
SPLITS = ("train", "val", "test")


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
        f"BSDS500 not found; set {BSDS_ENV}=/path/to/BSDS500 or give its folder "
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
