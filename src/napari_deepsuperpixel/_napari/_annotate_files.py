"""The annotate dock's files: the annotation saved beside the image, and the feature table as CSV.

A part of :class:`~._annotate_widget.AnnotateWidget`; the file format is
:func:`~._annotate_job.save_annotation`'s.
"""

from __future__ import annotations


class AnnotationFiles:
    """Saving and loading the annotation, exporting the feature table (mixed into the annotate dock)."""

    def _image_path(self):
        layer = self.image.value
        path = getattr(getattr(layer, "source", None), "path", None) if layer is not None else None
        return path

    def save_annotation(self, path=None):
        """Save the scribbles and settings (next to the image's file unless ``path`` is given).

        Returns
        -------
        pathlib.Path or None
            The file written; ``None`` when nothing could be saved (the status says why).
        """
        import numpy as np

        from ._annotate_job import annotation_path, save_annotation

        scr = self.scribbles.value
        if scr is None or not np.any(scr.data):
            self.warn("no strokes to save: paint on a scribble layer first")
            return None
        if path is None:
            src = self._image_path()
            if src is None:
                from qtpy.QtWidgets import QFileDialog

                path, _ = QFileDialog.getSaveFileName(self.native, "Save the annotation",
                                                      f"{self._base_name()}.annotation.tif", "TIFF (*.tif)")
                if not path:
                    return None
            else:
                path = annotation_path(src)
        try:
            out = save_annotation(path, np.asarray(scr.data), self.settings(), image_name=self._base_name())
        except (OSError, ValueError) as err:
            self.warn(f"could not save the annotation: {err}")
            return None
        self._remember_settings()
        self.status.value = f"saved the strokes and settings to {out}"
        return out

    def load_annotation(self, path=None, quiet: bool = False):
        """Load strokes and settings saved with the image (or from ``path``) into a new scribble layer.

        With ``quiet`` (picking an image), nothing happens when the image has no
        annotation file or its scribbles are already in the viewer.
        """
        from pathlib import Path

        from ._annotate_job import annotation_path, load_annotation

        if path is None:
            src = self._image_path()
            if src is None:
                return None
            path = annotation_path(src)
            if not Path(path).is_file():
                return None
        name = f"{self._base_name()} scribbles"
        if quiet and name in self.viewer.layers:
            return None
        try:
            data, settings = load_annotation(path)
            shape = self._spatial_shape()
            if shape is not None and tuple(data.shape) != shape:
                raise ValueError(f"{path} holds strokes of shape {data.shape}, the image is {shape}; "
                                 "move the file away or pick the image it belongs to")
        except ValueError as err:
            self.warn(err)
            return None
        layer = self.add_scribble_layer()
        layer.data = data
        layer.mode = "pan_zoom"
        self.apply_settings(settings)
        layer.metadata["annotate"] = self.settings()
        self.status.value = f"loaded the strokes and settings saved in {path}"
        return layer

    def export_csv(self, path):
        """Write the superpixel layer's feature table (with predictions) to ``path`` (overwrites).

        The file dialog behind *Export CSV* has already asked before replacing a file.
        """
        import numpy as np

        from ..io.tables import write_segments_csv

        sp = self._sp_layer()
        return write_segments_csv(path, np.asarray(sp.data), features=sp.features, overwrite=True)

    def _export_dialog(self):
        from qtpy.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self.native, "Export superpixel features", "superpixels.csv",
                                              "CSV (*.csv)")
        if path:
            self.status.value = f"saved {self.export_csv(path)}"
