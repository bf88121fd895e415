"""Datasets: BSDS500 (:mod:`.bsds`) and generic image/mask folders.

Nothing heavy is imported here; loaders import scipy/imageio when called.
"""

from .bsds import BSDS500, SPLITS, BSDSSample, GroundTruth, ground_truth_files, load_ground_truth

__all__ = ["SPLITS", "BSDS500", "BSDSSample", "GroundTruth", "ground_truth_files", "load_ground_truth"]
