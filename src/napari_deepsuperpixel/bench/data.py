"""The images and ground truth a benchmark runs on (BSDS500 or an image/mask folder)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np


@dataclass
class _Item:
    name: str
    image: np.ndarray
    segmentations: list
    boundaries: Optional[list]  # None: no official boundary benchmark (folder datasets)
    files: str = ""  # its files, named by the messages about it: "image a.jpg, ground truth a.mat"


def load_items(data=None, *, split: str = "test", limit: Optional[int] = None) -> tuple:
    """The images and ground truth a benchmark runs on.

    Parameters
    ----------
    data : None, "bsds", str or Path
        ``None`` or ``"bsds"``: the BSDS500 folder next to the repository
        (``../shared/BSDS500``). A folder with ``images/`` and ``masks/``: a
        :class:`~napari_deepsuperpixel.datasets.folder.FolderDataset` (mask
        value 0 becomes a ground-truth segment of its own). A BSDS500 folder
        (with ``data/images`` and ``data/groundTruth``): that copy of BSDS500.
    split : {"train", "val", "test"}
        BSDS500 split (ignored for folder datasets).
    limit : int, optional
        Only the first ``limit`` images (sorted by name).

    Returns
    -------
    (description, list of items)
    """
    if limit is not None and int(limit) < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if data is None or (isinstance(data, str) and data.lower() == "bsds"):
        from ..datasets.bsds import find_bsds500

        return _bsds_items(find_bsds500(), split, limit)
    root = Path(data)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root}")
    if (root / "images").is_dir() and (root / "masks").is_dir():
        from ..datasets.folder import FolderDataset

        ds = FolderDataset(root, limit=limit)
        items = []
        for i, (name, image, masks) in enumerate(ds):
            # shift so that the background (0) is a segment for covering/PRI/VI too
            segs = [np.asarray(m).astype(np.int64) - int(np.min(m)) + 1 for m in masks]
            items.append(_Item(name, image, segs, None, f"image {ds.image_path(i)}, mask {ds.mask_path(i)}"))
        return f"folder {root}", items
    return _bsds_items(root, split, limit)


def _bsds_items(root, split, limit):
    from ..datasets.bsds import BSDS500

    ds = BSDS500(root)
    ids = ds.ids(split)  # the images with a ground truth
    images = sorted(p.stem for p in (ds.data_dir / "images" / split).glob("*.jpg"))
    lacking = [i for i in images if i not in set(ids)]
    if limit is not None:
        lacking = [i for i in lacking if i in images[: int(limit)]]
    if lacking:  # refused, as a folder dataset refuses an image without a mask (never the next one taken)
        from ..errors import InputError

        gt_dir = ds.data_dir / "groundTruth" / split
        raise InputError(f"{len(lacking)} image(s) of split {split!r} have no ground truth in {gt_dir} (e.g. "
                         f"{', '.join(f'{i}.jpg' for i in lacking[:5])}): restore their .mat files or remove the "
                         "images")
    if not ids:
        raise ValueError(f"no images in split {split!r} of {root}")
    if limit is not None:
        ids = ids[: int(limit)]
    items = []
    for i in ids:
        s = ds.sample(split, i)
        image, gt = _checked_sample(s)
        items.append(_Item(i, image, list(gt.segmentations), list(gt.boundaries),
                           f"image {s.image_path}, ground truth {s.gt_path}"))
    return f"BSDS500 {split} ({root})", items


def _checked_sample(s):
    """The image and ground truth of a BSDS500 sample, read and checked as ``deepsuperpixel eval`` reads and
    checks its files (:func:`~napari_deepsuperpixel.bench.evaluate.read_input`, the metrics' own
    :func:`~napari_deepsuperpixel.metrics._labels.gt_label_maps`), before any work: a damaged file, a ground
    truth of another size than its image or with negative labels is one line naming both files."""
    from ..datasets.bsds import load_ground_truth
    from ..metrics._labels import gt_label_maps
    from .evaluate import named_input_error, read_input

    image = read_input(lambda _: s.load_image(), s.image_path, "image", "restore it from BSDS500")
    gt = read_input(load_ground_truth, s.gt_path, "ground-truth file", "restore it from BSDS500")
    try:  # what the region metrics require (label 0 is "no region"; no negative labels)
        gt_label_maps(gt, shape=np.shape(image)[:2], name="groundTruth", allow_negative=False)
    except ValueError as e:
        raise named_input_error(f"ground truth {s.gt_path} (image {s.image_path})", e) from None
    return image, gt
