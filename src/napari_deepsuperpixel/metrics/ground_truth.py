"""Human ground truth of one image, as the BSDS500 benchmark uses it.

:class:`GroundTruth` lives with the metrics that consume it; the ``.mat``
format is read by :mod:`napari_deepsuperpixel.io.bsds_mat`, and
:mod:`napari_deepsuperpixel.datasets.bsds` re-exports both names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


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
        from .boundary import seg_to_boundaries, thin_boundaries

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
        in the order stored in the file. A missing file raises
        ``FileNotFoundError``, one that is not a BSDS ground-truth file
        ``ValueError`` (:func:`~napari_deepsuperpixel.io.bsds_mat.read_ground_truth_mat`).
    """
    from ..io.bsds_mat import read_ground_truth_mat

    segs, bdries = read_ground_truth_mat(path)
    return GroundTruth(segs, bdries, Path(path).stem)


def as_ground_truth(gt) -> GroundTruth:
    """``gt`` as a :class:`GroundTruth`.

    Parameters
    ----------
    gt : GroundTruth, str, os.PathLike or list of array_like
        Ground truth, a ground-truth ``.mat`` path or the annotators' label maps
        (boundaries are then computed, see :meth:`GroundTruth.from_segmentations`).

    Returns
    -------
    GroundTruth
    """
    if isinstance(gt, GroundTruth):
        return gt
    if isinstance(gt, (str, os.PathLike)):
        return load_ground_truth(gt)
    if isinstance(gt, (list, tuple)):
        return GroundTruth.from_segmentations(gt)
    raise ValueError("gt must be a GroundTruth, a ground-truth .mat path or a list of label maps")
