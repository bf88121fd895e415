"""The annotate dock's section 2, painting and merging: a part of :class:`~._annotate_widget.AnnotateWidget`.

Painting whole superpixels into a target layer (:class:`~._superpixel_paint.SuperpixelPainter`),
merging selected ones, and the merge tree whose slider cuts
:func:`~napari_deepsuperpixel.annotate.merge_hierarchy`; the tree belongs to one
superpixel layer and image and is forgotten when either changes.
"""

from __future__ import annotations

from ._annotate_job import ROLES


class PaintAndMerge:
    """Section 2 of the annotate dock (mixed into :class:`~._annotate_widget.AnnotateWidget`)."""

    def add_target_layer(self):
        """Add an empty Labels layer of the image's shape as the target and pick it."""
        import numpy as np

        shape = self._spatial_shape() or tuple(self._sp_layer().data.shape)
        layer = self._add(np.zeros(shape, np.int32), f"{self._base_name()} annotation", "target")
        self.target.reset_choices()
        self.target.value = layer
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
                raise ValueError("no target Labels layer: press 'New target layer'")
            if target is sp:
                raise ValueError("the target must not be the superpixel layer itself; press 'New target layer'")
            self._painter = SuperpixelPainter(sp, target, selection=None)
        return self._painter

    def toggle_paint(self) -> None:
        """Paint by superpixel on / off (the :data:`PAINT_KEYS` shortcut); makes a target layer when there is none."""
        if self.mode.value != "off":
            self.mode.value = "off"
            return
        if self.target.value is None and self.superpixels.value is not None:
            self.add_target_layer()
        self.mode.value = "paint"

    def _selection_layer(self):
        import numpy as np

        sp = self._sp_layer()
        name = f"{sp.name} selection"
        if name in self.viewer.layers and self.viewer.layers[name].data.shape == sp.data.shape:
            return self.viewer.layers[name]
        return self._add(np.zeros(sp.data.shape, np.uint8), name, "selection", opacity=0.5)

    def _on_mode(self, mode):
        try:
            p = self.painter() if mode != "off" or self._painter is not None else None
            if p is None:
                return
            if mode == "select" and p.selection_layer is None:
                p.selection_layer = self._selection_layer()
            p.set_mode(mode)
            if mode != "off":
                p.superpixels.contour = max(int(p.superpixels.contour), 1)  # the image shows through
                self.viewer.layers.selection.active = p.target
            self.status.value = {"paint": "click or drag on the target: whole superpixels get its label",
                                 "erase": "click or drag: whole superpixels are cleared",
                                 "select": "click superpixels, then 'Merge selected'", "off": ""}[mode]
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

    # -- 2. merge tree and slider ---------------------------------------------------------------------
    def _reset_tree(self) -> None:
        """Forget the merge tree (it belongs to one superpixel layer and image): the slider waits for a new one."""
        had = self._tree is not None
        self._tree = None
        self._pending_cut = None
        self.threshold.enabled = False
        if had:
            self.status.value = "other superpixels or image: press 'Build merge tree' again for the slider"

    def build_tree(self):
        """Build the merge tree of the current superpixels in a worker; the slider works when it returns."""
        import numpy as np

        from ..annotate import merge_hierarchy

        def inputs():
            layer = self._sp_layer()
            sp = np.asarray(layer.data)
            return layer, sp, self._image_data(sp.shape)

        chosen = self.ready(inputs)
        if chosen is None:
            return None
        layer, sp, img = chosen
        image_layer = self.image.value
        self.status.value = "building the merge tree..."
        return self.start(merge_hierarchy, img, sp, weight=self.weight.value,
                          on_returned=lambda tree: self._on_tree(tree, layer, image_layer),
                          on_errored=self._on_errored, button=self.tree_button)

    def _on_tree(self, tree, layer, image_layer):
        if layer is not self.superpixels.value or image_layer is not self.image.value:
            return  # the user picked other layers meanwhile: this tree is not theirs
        self._tree = (tree, layer, image_layer)
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
        state = self._tree
        worker = create_worker(state[0].cut, t, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda labels: self._on_cut(labels, t, state))
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._cut_finished)
        self._cut_worker = worker
        worker.start()
        return worker

    def _on_cut(self, labels, t, state):
        from ._layers import _geometry, _put, mark

        if state is not self._tree:
            return  # cut of a tree the dock no longer holds (other superpixels picked meanwhile)
        tree, layer, _ = state
        meta = {"name": f"{layer.name} merged", **_geometry(layer, labels.ndim),
                "metadata": mark({"merge_threshold": t, "merge_by": self.weight.value}, ROLES["merged"])}
        name = meta["name"]
        if name in self.viewer.layers and tuple(self.viewer.layers[name].data.shape) != tuple(labels.shape):
            self.viewer.layers.remove(name)  # an earlier tree's cut: other shape, other axes
        _put(self.viewer, labels, meta, "labels", False)
        self.status.value = f"threshold {t:.3g}: {tree.n_segments(t)} segments"

    def _cut_finished(self):
        self._cut_worker = None
        if self._pending_cut is not None:
            t, self._pending_cut = self._pending_cut, None
            self.request_cut(t)
