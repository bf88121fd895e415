"""Superpixels as an annotation tool: features, scribble classification, objects, merge trees.

napari-free; the *Annotate with superpixels* widget calls these functions.

* :func:`superpixel_features` -- a feature table per superpixel (intensity,
  shape, neighbours, mean deep embedding);
* :func:`classify_superpixels` -- a few strokes per class train a scikit-learn
  classifier that labels every superpixel;
* :func:`to_instances` -- one class's superpixels as objects, split where
  they touch;
* :func:`segment_objects` -- one call from scribbles to objects: superpixels
  sized from the measured object size, the classifier, touching objects
  split by their shape (:func:`shape_split`);
* :func:`merge_hierarchy` -- a merge tree whose :meth:`~MergeHierarchy.cut`
  gives coarser segments for a larger threshold, instantly;
* :class:`SuperpixelIndex` -- the pixels of any superpixels at once (painting
  whole superpixels).
"""

from .classify import CLASSIFIERS, SuperpixelClassification, classify_superpixels, make_classifier
from .features import feature_matrix, superpixel_features
from .hierarchy import MergeHierarchy, merge_hierarchy
from .index import SuperpixelIndex
from .instances import boundary_contrast, to_instances
from .objects import ObjectSegmentation, segment_objects
from .size import estimate_object_size
from .split import shape_split

__all__ = [
    "CLASSIFIERS",
    "MergeHierarchy",
    "ObjectSegmentation",
    "SuperpixelClassification",
    "SuperpixelIndex",
    "boundary_contrast",
    "classify_superpixels",
    "estimate_object_size",
    "feature_matrix",
    "make_classifier",
    "merge_hierarchy",
    "segment_objects",
    "shape_split",
    "superpixel_features",
    "to_instances",
]
