"""A generic dataset: a folder of images and a folder of label masks.

Layout::

    ROOT/images/NAME.png   (or .tif/.tiff/.jpg/.jpeg/.bmp)
    ROOT/masks/NAME.png    (or .tif/.tiff), integer labels, same Y, X shape

Images and masks pair by file stem. This is the layout of
``../shared/microscopy/dsb2018_stage1_subset`` (uint16 masks, 0 = background,
1..N = one nucleus each) and of most bioimage annotation exports.

Background (label 0)
--------------------
The metrics treat every mask value, 0 included, as one ground-truth segment:
the unlabelled background is *one* segment. For achievable segmentation
accuracy (ASA) a superpixel lying mostly in the background is therefore
"correct" when it stays in the background, and a superpixel straddling a
nucleus and the background loses the smaller part; boundary recall counts the
nucleus outlines (background/nucleus and nucleus/nucleus contacts) as
ground-truth boundaries; covering/PRI/VI compare against the partition
{background, nucleus 1, ..., nucleus N}. Every pixel is scored, background
pixels included, so that all methods are compared on the same pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, NamedTuple, Optional, Sequence

import numpy as np

from ..io.files import IMAGE_SUFFIXES, read_image

#: file suffixes accepted for masks (lossless formats only)
MASK_SUFFIXES = (".png", ".tif", ".tiff")


class Sample(NamedTuple):
    """One dataset item: ``(name, image, ground_truths)``.

    Attributes
    ----------
    name : str
        The file stem (unique within the dataset).
    image : numpy.ndarray
        The image as read from disk (any dtype; ``(Y, X)`` or ``(Y, X, C)``).
    ground_truths : list of numpy.ndarray
        Integer label maps ``(Y, X)``, one per annotator (one for a folder
        dataset; several for BSDS500).
    """

    name: str
    image: np.ndarray
    ground_truths: list


def _index(folder: Path, suffixes: Sequence[str], what: str) -> dict:
    files = {}
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith("."):
            continue
        if p.suffix.lower() not in suffixes:
            continue
        if p.stem in files:
            raise ValueError(
                f"two {what} files share the name {p.stem!r} in {folder}: "
                f"{files[p.stem].name} and {p.name}; keep one of them"
            )
        files[p.stem] = p
    return files


class FolderDataset:
    """Images in ``ROOT/images`` paired with label masks in ``ROOT/masks``.

    Parameters
    ----------
    root : str or Path
        Folder that contains the two sub-folders.
    images : str
        Name of the image sub-folder (default ``"images"``).
    masks : str
        Name of the mask sub-folder (default ``"masks"``).
    names : sequence of str, optional
        Only these stems, in this order (default: all pairs, sorted by name).
    limit : int, optional
        Keep only the first ``limit`` pairs (after ``names``).

    Raises
    ------
    FileNotFoundError
        When ``root`` or one of the sub-folders does not exist.
    ValueError
        When an image has no mask or a mask has no image (the message lists
        the unpaired names), when the folder holds no pairs, when a requested
        name is missing, or for an invalid ``limit``.

    Notes
    -----
    Iterating yields :class:`Sample` tuples ``(name, image, [mask])``; images
    and masks are read lazily, one item at a time. Mask value 0 is an ordinary
    ground-truth segment (the background); see the module docstring.

    Examples
    --------
    >>> ds = FolderDataset("../shared/microscopy/dsb2018_stage1_subset")  # doctest: +SKIP
    >>> name, image, (mask,) = ds[0]                                       # doctest: +SKIP
    """

    def __init__(self, root, *, images: str = "images", masks: str = "masks",
                 names: Optional[Sequence[str]] = None, limit: Optional[int] = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"dataset folder not found: {self.root}")
        self.image_dir = self.root / images
        self.mask_dir = self.root / masks
        for d in (self.image_dir, self.mask_dir):
            if not d.is_dir():
                raise FileNotFoundError(
                    f"{self.root} has no {d.name}/ folder; a folder dataset needs "
                    f"{self.root}/{images}/ and {self.root}/{masks}/ with files of the same names"
                )
        imgs = _index(self.image_dir, IMAGE_SUFFIXES, "image")
        msks = _index(self.mask_dir, MASK_SUFFIXES, "mask")
        no_mask = sorted(set(imgs) - set(msks))
        no_image = sorted(set(msks) - set(imgs))
        if no_mask or no_image:
            parts = []
            if no_mask:
                parts.append(f"{len(no_mask)} image(s) without a mask in {self.mask_dir}: "
                             + ", ".join(no_mask[:10]) + (" ..." if len(no_mask) > 10 else ""))
            if no_image:
                parts.append(f"{len(no_image)} mask(s) without an image in {self.image_dir}: "
                             + ", ".join(no_image[:10]) + (" ..." if len(no_image) > 10 else ""))
            raise ValueError("unpaired files; every image needs a mask with the same name. "
                             + "; ".join(parts))
        if not imgs:
            raise ValueError(
                f"no image/mask pairs found in {self.root} (image suffixes: {', '.join(IMAGE_SUFFIXES)}; "
                f"mask suffixes: {', '.join(MASK_SUFFIXES)})"
            )
        stems = sorted(imgs)
        if names is not None:
            names = [str(n) for n in names]
            missing = [n for n in names if n not in imgs]
            if missing:
                raise ValueError(f"name(s) not in {self.root}: {', '.join(missing[:10])}")
            stems = names
        if limit is not None:
            if int(limit) < 1:
                raise ValueError(f"limit must be at least 1, got {limit}")
            stems = stems[: int(limit)]
        self.names = list(stems)
        self._images = imgs
        self._masks = msks

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"FolderDataset({str(self.root)!r}, {len(self)} pairs)"

    def image_path(self, i: int) -> Path:
        """Path of the ``i``-th image."""
        return self._images[self.names[i]]

    def mask_path(self, i: int) -> Path:
        """Path of the ``i``-th mask."""
        return self._masks[self.names[i]]

    def read_mask(self, i: int) -> np.ndarray:
        """Read and check the ``i``-th mask (2D integer labels)."""
        path = self.mask_path(i)
        m = read_image(path)
        if m.ndim == 3 and m.shape[-1] in (3, 4) and np.all(m[..., :3] == m[..., :1]):
            m = m[..., 0]  # a grey mask saved as RGB(A)
        if m.ndim != 2:
            raise ValueError(
                f"mask {path} has shape {m.shape}; masks must be 2D label images "
                "(one integer per pixel, e.g. uint16 PNG or TIFF)"
            )
        if not (np.issubdtype(m.dtype, np.integer) or m.dtype == bool):
            raise ValueError(f"mask {path} has dtype {m.dtype}; masks must hold integer labels")
        return m.astype(np.int64) if m.dtype == bool else m

    def __getitem__(self, i: int) -> Sample:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for a dataset of {len(self)} pairs")
        i %= len(self)
        image = read_image(self.image_path(i))
        mask = self.read_mask(i)
        if tuple(image.shape[:2]) != tuple(mask.shape):
            raise ValueError(
                f"image {self.image_path(i)} has spatial shape {image.shape[:2]} but its mask "
                f"{self.mask_path(i)} has shape {mask.shape}; they must match"
            )
        return Sample(self.names[i], image, [mask])

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]
