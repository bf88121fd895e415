"""napari-deepsuperpixel: unsupervised deep superpixels and segmentation.

The public API is small and cheap to import (nothing heavy is loaded until a
method runs)::

    >>> import napari_deepsuperpixel as nds
    >>> [m.name for m in nds.list_methods()][:2]
    ['slic', 'snic']
    >>> labels = nds.segment(image, "snic", n_segments=400)   # doctest: +SKIP

See :func:`segment` and :func:`list_methods`.
"""

from ._types import Cancelled, ProgressEvent, Result
from ._version import __version__
from .api import get_method, list_methods, segment, segment_result
from .options import RunOptions

__all__ = [
    "__version__",
    "Cancelled",
    "ProgressEvent",
    "Result",
    "RunOptions",
    "get_method",
    "list_methods",
    "segment",
    "segment_result",
]
