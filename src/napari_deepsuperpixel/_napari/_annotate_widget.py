"""The "Annotate with superpixels" dock widget: paint, merge and classify by superpixel.

Thin glue: painting is :class:`~._superpixel_paint.SuperpixelPainter`, training
is :func:`~._annotate_job.run_train_job` and the merge tree is
:func:`napari_deepsuperpixel.annotate.merge_hierarchy`, each in a napari
``thread_worker`` where it takes time.
"""

from __future__ import annotations

from magicgui.widgets import ComboBox, FloatSlider, Label, SpinBox

from ._dock import Dock
from ._superpixel_paint import MODES


def _warm_classifier() -> None:
    """Compile the kernels this dock uses (in the background, when it opens)."""
    from ..annotate.classify import warm

    warm()


class AnnotateWidget(Dock):
    """Turn superpixels into objects and training annotations.

    A :class:`~._dock.Dock` (``napari_viewer`` injected by napari).

    * **Paint**: choose the superpixel layer and a target Labels layer (or
      press *new target layer*), set *mode* to ``paint``: a click or a drag on
      the target fills whole superpixels with its selected label; ``erase``
      clears them; Ctrl+Z undoes a whole drag (napari's history).
    * **Merge**: in ``select`` mode clicks toggle superpixels; *merge selected*
      writes them as one new object.
    * **Merge slider**: *build merge tree* (in the background), then the slider
      shows coarser segments live in ``"<superpixels> merged"``.
    * **Classify**: *add scribble layer*, paint a few strokes per class (1 =
      objects, 2 = background, ...), press *train*: ``"<image> classes"``,
      ``"<image> objects"`` and ``"<image> least confident"`` (paint there
      next) appear; paint more and train again. The superpixel layer's
      ``features`` get the feature table (``label`` column), *export CSV* saves it.
    """

    DOCS_PAGE = "annotate.md"

    def __init__(self, napari_viewer):
        # the first 'train' must not wait for scikit-learn's import
        super().__init__(napari_viewer, labels=True, warm=[_warm_classifier])
        self._cut_worker = None
        self._pending_cut = None
        self._painter = None
        self._tree = None
        self._features = (None, None)  # (cache key, table)

        self.superpixels = self.watch(ComboBox(label="superpixels", choices=self.labels_layers, tooltip="The "
                                               "superpixel Labels layer (e.g. from 'Superpixels & segmentation')"),
                                      self._reset_painter)
        self.image = ComboBox(label="image", choices=self.image_layers,
                              tooltip="The image the features and the merge tree are computed from")
        self.target = self.watch(ComboBox(label="target", choices=self.labels_layers,
                                          tooltip="Labels layer painted by superpixel"), self._reset_painter)
        self.new_target = self.button("new target layer", self.add_target_layer)
        self.mode = self.watch(ComboBox(label="mode", choices=list(MODES), value="off", tooltip="paint/erase: a "
                                        "click or drag fills whole superpixels; select: toggle for merging"),
                               self._on_mode)
        self.merge_button = self.button("merge selected", self.merge_selected)
        self.weight = ComboBox(label="merge by", choices=["boundary", "color"],
                               tooltip="boundary: mean edge strength on the shared border; color: mean intensity distance")
        self.tree_button = self.button("build merge tree", self.build_tree)
        self.threshold = self.watch(FloatSlider(label="merge threshold", min=0.0, max=1.0, value=0.0,
                                                enabled=False), self.request_cut)
        self.scribble_button = self.button("add scribble layer", self.add_scribble_layer)
        self.scribbles = ComboBox(label="scribbles", choices=self.labels_layers,
                                  tooltip="Strokes: 0 = not annotated, 1..C = classes")
        self.embedding = ComboBox(label="deep features", choices=self._embedding_choices,
                                  tooltip="Optional Image layer of per-pixel features (e.g. an embedding) "
                                          "whose superpixel means join the feature table")
        self.object_class = SpinBox(label="object class", value=1, min=1, max=255,
                                    tooltip="The class whose connected superpixels become objects")
        self.classifier = ComboBox(label="classifier", choices=["random_forest", "hist_gradient_boosting"])
        self.n_uncertain = SpinBox(label="show least confident", value=20, min=0, max=100000)
        self.train_button = self.button("train", self.train)
        self.export_button = self.button("export CSV", self._export_dialog, enabled=False)
        self.status = Label(label="")
        self.extend([self.superpixels, self.image, self.target, self.new_target, self.mode, self.merge_button,
                     self.weight, self.tree_button, self.threshold, self.scribble_button, self.scribbles,
                     self.embedding, self.object_class, self.classifier, self.n_uncertain, self.train_button,
                     self.export_button, self.status])
        self.status.native.setWordWrap(True)
        self.follow_layers()

    # -- choices --------------------------------------------------------------------------------
    def _embedding_choices(self, _widget=None):
        return [("none", None)] + self.image_layers()

    def _sp_layer(self):
        layer = self.superpixels.value
        if layer is None:
            raise ValueError("no superpixel layer: make one in 'Superpixels & segmentation' first")
        return layer

    def _image_data(self, sp_shape):
        import numpy as np

        layer = self.image.value
        if layer is None:
            raise ValueError("no Image layer to compute features from: open the image")
        data = np.asarray(layer.data[0] if layer.multiscale else layer.data)
        spatial = data.shape[:-1] if layer.rgb else data.shape
        if tuple(spatial) != tuple(sp_shape):
            raise ValueError(f"image {layer.name!r} has shape {data.shape} but the superpixels have shape "
                             f"{tuple(sp_shape)}; choose the image they were computed from")
        return data

    def _result_geometry(self):
        from ._layers import _geometry

        sp = self._sp_layer()
        return _geometry(sp, sp.data.ndim)

    # -- painting ---------------------------------------------------------------------------------
    def add_target_layer(self):
        """Add an empty Labels layer of the superpixels' shape and geometry as the target."""
        import numpy as np

        sp = self._sp_layer()
        layer = self.viewer.add_labels(np.zeros(sp.data.shape, np.int32), name=f"{sp.name} annotation",
                                       **self._result_geometry())
        self.target.value = layer
        return layer

    def add_scribble_layer(self):
        """Add an empty Labels layer for strokes (label 1 = objects, 2 = background) and select it."""
        import numpy as np

        sp = self._sp_layer()
        name = f"{self.image.value.name if self.image.value is not None else sp.name} scribbles"
        layer = self.viewer.add_labels(np.zeros(sp.data.shape, np.int32), name=name, **self._result_geometry())
        layer.mode = "paint"
        layer.brush_size = 5
        self.scribbles.value = layer
        self.viewer.layers.selection.active = layer
        return layer

    def _reset_painter(self, *_):
        if self._painter is not None:
            self._painter.detach()
        self._painter = None
        if self.mode.value != "off":
            self.mode.value = "off"

    def painter(self):
        """The painter of the current superpixel and target layers (made when first needed)."""
        from ._superpixel_paint import SuperpixelPainter

        if self._painter is None:
            sp, target = self._sp_layer(), self.target.value
            if target is None:
                raise ValueError("no target Labels layer: press 'new target layer'")
            if target is sp:
                raise ValueError("the target must not be the superpixel layer itself; press 'new target layer'")
            self._painter = SuperpixelPainter(sp, target, selection=None)
        return self._painter

    def _selection_layer(self):
        import numpy as np

        from ._layers import _put

        sp = self._sp_layer()
        meta = {"name": f"{sp.name} selection", **self._result_geometry(), "opacity": 0.5}
        name = meta["name"]
        if name in self.viewer.layers and self.viewer.layers[name].data.shape == sp.data.shape:
            return self.viewer.layers[name]
        return _put(self.viewer, np.zeros(sp.data.shape, np.uint8), meta, "labels", False)

    def _on_mode(self, mode):
        try:
            p = self.painter() if mode != "off" or self._painter is not None else None
            if p is None:
                return
            if mode == "select" and p.selection_layer is None:
                p.selection_layer = self._selection_layer()
            p.set_mode(mode)
            if mode != "off":
                self.viewer.layers.selection.active = p.target
            self.status.value = {"paint": "click or drag on the target: whole superpixels get its label",
                                 "erase": "click or drag: whole superpixels are cleared",
                                 "select": "click superpixels, then 'merge selected'", "off": ""}[mode]
        except ValueError as err:
            self.warn(err)
            self.mode.value = "off"

    def merge_selected(self):
        """Write the selected superpixels into the target as one new object."""
        if self._painter is None or not self._painter.selected:
            self.warn("nothing selected: set mode to 'select' and click superpixels")
            return 0
        n = len(self._painter.selected)
        label = self._painter.merge_selected()
        self.status.value = f"{n} superpixels merged into object {label}"
        return label

    # -- merge tree and slider ----------------------------------------------------------------
    def build_tree(self):
        """Build the merge tree in a worker; the slider works when it returns."""
        import numpy as np

        from ..annotate import merge_hierarchy

        def inputs():
            sp = np.asarray(self._sp_layer().data)
            return sp, self._image_data(sp.shape)

        chosen = self.ready(inputs)
        if chosen is None:
            return None
        sp, img = chosen
        self.status.value = "building the merge tree..."
        return self.start(merge_hierarchy, img, sp, weight=self.weight.value, on_returned=self._on_tree,
                          on_errored=self._on_errored, button=self.tree_button)

    def _on_tree(self, tree):
        self._tree = tree
        self.threshold.enabled = False  # no cut while the range changes
        self.threshold.max = max(tree.max_height, 1e-6)
        self.threshold.value = 0.0
        self.threshold.enabled = True
        self.status.value = f"merge tree of {tree.leaves.size} superpixels: move the slider"
        self.request_cut(0.0)

    def request_cut(self, value=None):
        """Show the cut at the slider's value; cuts run in a worker, the latest value wins."""
        from napari.qt.threading import create_worker

        if self._tree is None or not self.threshold.enabled:
            return None
        t = float(self.threshold.value if value is None else value)
        if self._cut_worker is not None:
            self._pending_cut = t
            return None
        tree = self._tree
        worker = create_worker(tree.cut, t, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda labels: self._on_cut(labels, t))
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._cut_finished)
        self._cut_worker = worker
        worker.start()
        return worker

    def _on_cut(self, labels, t):
        from ._layers import _put

        sp = self._sp_layer()
        meta = {"name": f"{sp.name} merged", **self._result_geometry(),
                "metadata": {"merge_threshold": t, "merge_by": self.weight.value}}
        _put(self.viewer, labels, meta, "labels", False)
        self.status.value = f"threshold {t:.3g}: {self._tree.n_segments(t)} segments"

    def _cut_finished(self):
        self._cut_worker = None
        if self._pending_cut is not None:
            t, self._pending_cut = self._pending_cut, None
            self.request_cut(t)

    # -- scribbles -> classes ------------------------------------------------------------------
    def make_train_job(self):
        """The :class:`~._annotate_job.TrainJob` of the current layers (``ValueError`` says what is missing)."""
        import numpy as np

        from ._annotate_job import TrainJob, feature_cache_key

        sp_layer = self._sp_layer()
        sp = np.asarray(sp_layer.data)
        img = self._image_data(sp.shape)
        scr_layer = self.scribbles.value
        if scr_layer is None or scr_layer is sp_layer:
            raise ValueError("no scribble layer: press 'add scribble layer' and paint a few strokes per class")
        scribbles = np.array(scr_layer.data, copy=True)
        if scribbles.shape != sp.shape:
            raise ValueError(f"scribbles {scr_layer.name!r} have shape {scribbles.shape}, the superpixels "
                             f"{sp.shape}; press 'add scribble layer'")
        emb = None
        if self.embedding.value is not None:
            e = self.embedding.value
            emb = np.asarray(e.data)
            if emb.shape == sp.shape:
                emb = emb[..., None]
            if emb.shape[:-1] != sp.shape:
                raise ValueError(f"deep features {e.name!r} have shape {emb.shape}; they need the superpixels' "
                                 f"shape {sp.shape} (plus channels)")
        key = feature_cache_key(sp_layer.data, self.image.value.data, None if emb is None else self.embedding.value.data)
        cached = self._features[1] if self._features[0] == key else None
        job = TrainJob(image=img, superpixels=sp, scribbles=scribbles, object_class=int(self.object_class.value),
                       classifier=self.classifier.value, n_uncertain=int(self.n_uncertain.value),
                       embedding=emb, features=cached)
        return job, key

    def train(self):
        """Train on the scribbles and predict every superpixel, in a worker thread.

        Returns
        -------
        worker or None
            The started worker; ``None`` while one runs or when an input is missing (the status says which).
        """
        from ._annotate_job import run_train_job

        chosen = self.ready(self.make_train_job)
        if chosen is None:
            return None
        job, key = chosen
        self.status.value = "training..." if job.features is not None else "computing features and training..."
        return self.start(run_train_job, job, on_returned=lambda out: self._on_trained(out, key, job),
                          on_errored=self._on_errored, button=self.train_button)

    def _on_trained(self, out, key, job):
        from ._annotate_job import table_for_layer
        from ._layers import _put

        self._features = (key, out["features"])
        sp = self._sp_layer()
        base = self.image.value.name
        geo = self._result_geometry()
        _put(self.viewer, out["classes"], {"name": f"{base} classes", **geo, "opacity": 0.4}, "labels", False)
        _put(self.viewer, out["instances"], {"name": f"{base} objects", **geo}, "labels", False)
        if job.n_uncertain:
            _put(self.viewer, out["uncertain"], {"name": f"{base} least confident", **geo}, "labels", False)
        sp.features = table_for_layer(out["table"], sp.features)
        self.export_button.enabled = True
        res = out["result"]
        self.status.value = (f"trained on {res.trained_on.size} superpixels ({len(res.classes)} classes) in "
                             f"{out['seconds']:.1f} s: {int(out['instances'].max())} objects of class "
                             f"{job.object_class}; paint where 'least confident' shows and train again")
        if self.scribbles.value is not None:
            self.viewer.layers.selection.active = self.scribbles.value

    def export_csv(self, path):
        """Write the superpixel layer's feature table (with predictions) to ``path`` (overwrites).

        The file dialog behind *export CSV* has already asked before replacing a file.
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

    def _on_errored(self, err):
        self.warn(f"{type(err).__name__}: {err}")
