"""Metrics: region (covering, PRI, VI), boundary (P/R/F with matching), the
BSDS500 benchmark (per-image evaluation, ODS/OIS/AP aggregation, official
files) and superpixel metrics.

Submodules import numpy only at import time; scipy, scikit-image and numba
load when a function needs them.
"""

from .boundary import (
    BoundaryMatcher,
    boundary_counts,
    boundary_prf,
    match_boundaries,
    seg_to_boundaries,
    thin_boundaries,
)
from .bsds import (
    BoundaryCurve,
    ImageEval,
    RegionCurve,
    Summary,
    collect,
    evaluate_image,
    load_result,
    write_official_files,
)
from .kernels import warm_kernels
from .region import probabilistic_rand_index, region_scores, segmentation_covering, variation_of_information

__all__ = [
    "BoundaryCurve",
    "BoundaryMatcher",
    "ImageEval",
    "RegionCurve",
    "Summary",
    "boundary_counts",
    "boundary_prf",
    "collect",
    "evaluate_image",
    "load_result",
    "match_boundaries",
    "probabilistic_rand_index",
    "region_scores",
    "seg_to_boundaries",
    "segmentation_covering",
    "thin_boundaries",
    "variation_of_information",
    "warm_kernels",
    "write_official_files",
]
