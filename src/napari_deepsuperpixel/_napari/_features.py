"""Per-segment features of a label image: see :mod:`napari_deepsuperpixel.io.tables`.

Kept so that ``from napari_deepsuperpixel._napari._features import segment_table`` works.
"""

from ..io.tables import segment_table

__all__ = ["segment_table"]
