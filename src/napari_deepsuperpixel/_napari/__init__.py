"""napari glue: widgets, reader, writers and sample data.

Everything here is thin: it converts napari layers to arrays, calls the
napari-free core (:func:`napari_deepsuperpixel.segment_result`, the metrics
and the file helpers) and turns results back into layers. Nothing in this
package is imported by the core.
"""
