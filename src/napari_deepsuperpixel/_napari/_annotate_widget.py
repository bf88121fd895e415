"""The "Annotate with superpixels" dock: superpixels -> paint / merge -> scribbles -> objects.

Thin glue over :mod:`napari_deepsuperpixel.annotate`: *Train* calls
:func:`~napari_deepsuperpixel.annotate.segment_objects`, the function a script
calls (:func:`~._annotate_job.run_train_job`), painting is
:class:`~._superpixel_paint.SuperpixelPainter`, the merge slider cuts
:func:`~napari_deepsuperpixel.annotate.merge_hierarchy`'s tree; each runs in a
napari worker where it takes time.

Choices made here (docs/annotate.md, "The dock"):

* the sections follow the work, each with a title, and the class meanings
  (1 = objects, 2 = background) are written in the dock and in the scribble
  layer (its colours and a ``class`` feature napari shows under the pointer);
* the pickers never offer the superpixel layer as target or scribbles, and
  default to the layers the dock made for that role (the plugin's marker,
  :func:`~._layers.mark`), else to *none*;
* superpixels the dock makes or paints with are drawn as contours;
* the object size is measured (:func:`~napari_deepsuperpixel.annotate.estimate_object_size`)
  unless set, so that no one needs to know "pixels / 64";
* every training adds a new objects layer (``"<image> objects"``, ``"... run 2"``...)
  and hides the previous one; the split controls redo the latest one live;
* *Save annotation* writes the scribbles and the settings next to the image
  (``<stem>.annotation.tif``, :func:`~._annotate_job.save_annotation`); picking
  an image that has such a file loads it. The settings also travel in the
  scribble layer's ``metadata["annotate"]``.
"""

from __future__ import annotations

from magicgui.widgets import CheckBox, ComboBox, Container, FloatSlider, FloatSpinBox, Label, SpinBox

from ._dock import Dock, row
from ._superpixel_paint import MODES

#: the dock's layers: their kind in the plugin's marker (``metadata["deepsuperpixel"]["kind"]``)
ROLES = {"scribbles": "scribbles", "target": "annotation", "objects": "objects", "classes": "classes",
         "uncertain": "least_confident", "merged": "merged", "selection": "selection"}
#: layers never offered as target or scribbles: superpixels, results and the dock's own outputs
NOT_PAINTABLE = ("superpixels", "segmentation", "contours", "objects", "classes", "least_confident", "merged",
                 "selection", "extra")
#: layers never offered as superpixels: the dock's strokes, targets and outputs
NOT_SUPERPIXELS = ("scribbles", "annotation", "objects", "classes", "least_confident", "merged", "selection", "extra")
#: the split methods (``segment_objects``' ``split``) and what they do, for the dropdown
SPLIT_CHOICES = [("shape (waists)", "shape"), ("contrast (dark lines)", "contrast"),
                 ("learned boundary", "learned"), ("shape + learned", "shape+learned"), ("none", "none")]


def _warm_classifier() -> None:
    """Import scikit-learn's forests (in the background, when the dock opens)."""
    from ..annotate.classify import warm

    warm()


def _heading(text: str, tooltip: str) -> Label:
    lab = Label(value=f"<b>{text}</b>", tooltip=tooltip)
    return lab


def _section(*widgets) -> Container:
    box = Container(labels=True, widgets=list(widgets))
    box.margins = (0, 0, 0, 4)
    return box


class AnnotateWidget(Dock):
    """Objects from a few strokes per class, superpixel painting and a merge slider.

    A :class:`~._dock.Dock` (``napari_viewer`` injected by napari); its
    sections, in the order of the work:

    1. **Superpixels**: the image, the superpixel layer (*auto*: made from the
       measured object size when training), *Make superpixels* (drawn as contours);
    2. **Paint / merge** (optional): *New target layer*, *mode* ``paint`` /
       ``erase`` (a click or drag fills whole superpixels, Ctrl+Z undoes a drag)
       or ``select`` + *Merge selected*; *Build merge tree* and the slider;
    3. **Scribbles**: *New scribble layer* (1 = objects in red, 2 = background
       in blue), a few strokes of each;
    4. **Objects**: how touching objects are split; *Train* (:data:`TRAIN_KEYS`)
       adds ``"<image> objects"`` (a new layer each time), ``"<image> classes"``
       and ``"<image> least confident"``; moving *split* redoes the latest
       objects live. *Save annotation* (:data:`SAVE_KEYS`) keeps the strokes and
       settings next to the image.
    """

    DOCS_PAGE = "annotate.md#the-dock"
    #: keyboard shortcuts: train, paint by superpixel on/off, a new scribble layer, save the annotation
    TRAIN_KEYS = "Ctrl+Shift+Return"
    PAINT_KEYS = "Ctrl+Shift+D"
    SCRIBBLE_KEYS = "Ctrl+Shift+N"
    SAVE_KEYS = "Ctrl+Shift+A"

    def __init__(self, napari_viewer):
        from qtpy.QtWidgets import QWidget

        from ._annotate_job import SETTINGS_DEFAULTS, class_name

        # the first 'Train' must not wait for scikit-learn's import
        super().__init__(napari_viewer, labels=False, warm=[_warm_classifier])
        self._cut_worker = None
        self._pending_cut = None
        self._painter = None
        self._tree = None            # (tree, superpixel layer, image layer) of the slider
        self._features = (None, None)  # (cache key, table)
        self._latest = None          # the latest training: job, objects layer, what was written
        self._split_worker = None
        self._pending_split = False
        self._measured = None        # the object size the last run measured
        d = SETTINGS_DEFAULTS

        help_row = self.help_row("Docs", "Open the annotation page (the steps, with pictures) in the browser",
                                 "Set every setting back to its default (the layers stay)")
        # 1. superpixels
        self.image = self.watch(ComboBox(label="image", choices=self.image_layers,
                                         tooltip="The image to annotate: features, object size and superpixels "
                                                 "come from it"), self._on_image)
        self.superpixels = self.watch(ComboBox(label="superpixels", choices=self._superpixel_choices,
                                               tooltip="The superpixel Labels layer; auto: made when you train, "
                                                       "sized from the objects (or press Make superpixels)"),
                                      self._on_superpixels)
        self.object_size = FloatSpinBox(label="object size", value=d["object_size"], min=0, max=100000, step=1,
                                   tooltip="Typical object diameter in pixels; auto: measured from the image and "
                                           "the strokes. Superpixels are half of it across")
        self.object_size.native.setDecimals(0)
        self.object_size.native.setSpecialValueText("auto")
        self.object_size.native.setSuffix(" px")
        self.make_button = self.button("Make superpixels", self.make_superpixels,
                                       tooltip="SNIC superpixels half an object across (object size measured "
                                               "unless set), drawn as contours")
        self.size_note = Label(value="", tooltip="The object size in use and the superpixels it gives")
        # 2. paint / merge
        self.target = self.watch(ComboBox(label="target", choices=self._paintable_choices("target"),
                                          tooltip="The Labels layer painted by whole superpixels (never the "
                                                  "superpixels themselves)"), self._reset_painter)
        self.new_target = self.button("New target layer", self.add_target_layer,
                                      tooltip="An empty Labels layer of the image's shape to paint objects into")
        self.mode = self.watch(ComboBox(label="mode", choices=list(MODES), value="off",
                                        tooltip="paint / erase: a click or drag fills or clears whole superpixels "
                                                "of the target (Ctrl+Z undoes a drag); select: click superpixels, "
                                                "then Merge selected; off: napari's own tools"), self._on_mode)
        self.merge_button = self.button("Merge selected", self.merge_selected,
                                        tooltip="Write the selected superpixels into the target as one new object")
        self.weight = ComboBox(label="merge by", choices=["boundary", "color"],
                               tooltip="boundary: mean edge strength on the shared border; color: mean "
                                       "intensity distance")
        self.tree_button = self.button("Build merge tree", self.build_tree,
                                       tooltip="Merge neighbouring superpixels step by step (in the background); "
                                               "then the slider shows coarser segments live")
        self.threshold = self.watch(FloatSlider(label="merge", min=0.0, max=1.0, value=0.0, enabled=False,
                                                tooltip="Merge threshold: higher merges more, shown live in "
                                                        "'<superpixels> merged'"), self.request_cut)
        # 3. scribbles
        legend = " &nbsp; ".join(f"<span style='color:{c}'>&#9632;</span> {k} = {class_name(k)}"
                                 for k, c in ((1, "#ff4040"), (2, "#30a0ff")))
        self.classes_note = Label(value=f"{legend} &nbsp; (3, 4.. more classes)",
                                  tooltip="Paint label 1 on a few objects and label 2 on the background (the "
                                          "label field of napari's layer controls); 0 erases a stroke")
        self.scribble_button = self.button("New scribble layer", self.add_scribble_layer,
                                           tooltip="An empty Labels layer for strokes, in paint mode with label 1 "
                                                   "(objects); 2 = background")
        self.scribbles = self.watch(ComboBox(label="scribbles", choices=self._paintable_choices("scribbles"),
                                             tooltip="The strokes: 0 = not annotated, 1 = objects, "
                                                     "2 = background, 3.. more classes"),
                                    lambda *_: self._refresh_paintable())
        self.object_class = SpinBox(label="object class", value=d["object_class"], min=1, max=255,
                                    tooltip="The class whose pixels become objects (1 = objects)")
        # 4. objects
        self.split = self.watch(ComboBox(label="split", choices=SPLIT_CHOICES, value=d["split"],
                                         tooltip="How touching objects are separated: at the waists of their "
                                                 "shape, along darker lines, by a boundary learned from the "
                                                 "strokes, or not; changes redo the latest objects live"),
                                self._on_split)
        self.split_h = self.watch(FloatSlider(label="split depth", min=0.1, max=1.5, step=0.05, value=d["split_h"],
                                              tooltip="How deep a waist must be to cut objects apart (a fraction "
                                                      "of their radius): lower splits more; shown live"),
                                  self.request_split)
        self.more = self.watch(CheckBox(text="more settings", value=False,
                                        tooltip="Show the classifier, deep features and the least-confident count"),
                               self._on_more)
        self.embedding = ComboBox(label="deep features", choices=self._embedding_choices,
                                  tooltip="Optional Image layer of per-pixel features (e.g. an embedding) whose "
                                          "superpixel means join the feature table")
        self.classifier = ComboBox(label="classifier", choices=["random_forest", "hist_gradient_boosting"],
                                   value=d["classifier"], tooltip="The scikit-learn classifier trained on the "
                                                                  "superpixels the strokes touch")
        self.filters = CheckBox(text="multi-scale filter features", value=d["filters"],
                                tooltip="Add Gaussian, gradient, Laplacian, Hessian and structure-tensor features "
                                        "(slower; docs/annotate.md measures when they help)")
        self.n_uncertain = SpinBox(label="least confident", value=d["n_uncertain"], min=0, max=100000,
                                   tooltip="How many superpixels the classifier is least sure of to show in "
                                           "'<image> least confident' (where to paint next)")
        self.export_button = self.button("Export CSV", self._export_dialog, enabled=False,
                                         tooltip="Save the superpixels' feature table with the predicted class "
                                                 "and confidence")
        for w in (self.embedding, self.classifier, self.filters, self.n_uncertain, self.export_button):
            w.visible = False
        # footer: always visible
        self.train_button = self.button("Train", self.train,
                                         tooltip="Train on the scribbles and make the objects (segment_objects); "
                                                 "a new objects layer each time, the previous one kept")
        self.save_button = self.button("Save annotation", self.save_annotation,
                                       tooltip="Save the scribbles and settings next to the image "
                                               "(<image>.annotation.tif); picking the image loads them again")
        self.status = Label(value="", tooltip="What the dock did last, or what is missing")
        self.shortcut(self.TRAIN_KEYS, self.train, self.train_button)
        self.shortcut(self.PAINT_KEYS, self.toggle_paint, self.mode)
        self.shortcut(self.SCRIBBLE_KEYS, self.add_scribble_layer, self.scribble_button)
        self.shortcut(self.SAVE_KEYS, self.save_annotation, self.save_button)

        sections = [
            (_heading("1 · Superpixels", "The superpixels everything below works on"),
             _section(self.image, self.superpixels, self.object_size, row(self.make_button), self.size_note)),
            (_heading("2 · Paint / merge (optional)", "Label objects by hand, whole superpixels at a time"),
             _section(self.target, row(self.new_target, self.merge_button), self.mode, self.weight,
                      row(self.tree_button), self.threshold)),
            (_heading("3 · Scribbles", "A few strokes per class train the classifier"),
             _section(self.classes_note, row(self.scribble_button), self.scribbles, self.object_class)),
            (_heading("4 · Objects", "How the objects are cut apart, and the training's settings"),
             _section(self.split, self.split_h, self.more, self.embedding, self.classifier, self.filters,
                      self.n_uncertain, row(self.export_button))),
        ]
        from ._layout import make_scrollable

        body = Container(labels=False, widgets=[help_row, *(w for pair in sections for w in pair)])
        body.margins = (0, 0, 0, 0)
        self.body = body
        self.extend([body, row(self.train_button, self.save_button), self.status])
        make_scrollable(self, body, min_height=150)
        for lab in (self.status, self.size_note, self.classes_note):
            lab.native.setWordWrap(True)
        # the status line keeps three lines' height whatever it says (a long message must not make the dock,
        # and napari's window, taller than the screen); the whole message is its tooltip
        lines = self.status.native.fontMetrics().lineSpacing()
        self.status.native.setFixedHeight(3 * lines + 8)
        self.status.changed.connect(lambda text: setattr(self.status, "tooltip", str(text)))
        for slider in (self.threshold, self.split_h):  # the value box next to a slider explains it too
            for child in slider.native.findChildren(QWidget):
                child.setToolTip(slider.tooltip)
        self.follow_layers(self._on_inserted)
        self.stop_on_close()
        from ._layout import fit_widgets

        fit_widgets(self)
        self._apply_defaults()
        if self.image.value is not None:
            self.load_annotation(quiet=True)  # strokes saved with this image come back with it

    # -- choices and defaults ---------------------------------------------------------------------
    def _embedding_choices(self, _widget=None):
        return [("none", None)] + self.image_layers()

    def _superpixel_choices(self, _widget=None):
        from ._layers import marker

        keep = [(n, la) for n, la in self.labels_layers()
                if (m := marker(la)) is None or m.get("kind") not in NOT_SUPERPIXELS]
        return [("auto: sized from the objects", None)] + keep

    def _paintable_choices(self, role: str):
        def choices(_widget=None):
            from ._layers import marker

            sp = getattr(getattr(self, "superpixels", None), "value", None)
            out = []
            for name, layer in self.labels_layers():
                m = marker(layer)
                if layer is sp or (m is not None and m.get("kind") in NOT_PAINTABLE):
                    continue
                if role == "target" and m is not None and m.get("kind") == ROLES["scribbles"]:
                    continue
                if role == "scribbles" and m is not None and m.get("kind") == ROLES["target"]:
                    continue
                out.append((name, layer))
            hint = "press 'New target layer'" if role == "target" else "press 'New scribble layer'"
            return [(f"none: {hint}", None)] + out
        return choices

    def _newest(self, kinds, shape=None):
        from ._layers import newest

        layers = [la for la in self.viewer.layers if shape is None or tuple(la.data.shape) == tuple(shape)]
        return newest(layers, kinds)

    def _spatial_shape(self):
        layer = self.image.value
        if layer is None:
            return None
        data = layer.data[0] if layer.multiscale else layer.data
        return tuple(data.shape[:-1] if layer.rgb else data.shape)

    def _apply_defaults(self) -> None:
        """Pickers left at *none* / *auto* take the newest layer the dock (or the segmentation dock) made."""
        shape = self._spatial_shape()
        if self.superpixels.value is None:
            sp = self._newest(("superpixels",), shape)
            if sp is not None:
                self.superpixels.value = sp
        for picker, kind in ((self.scribbles, ROLES["scribbles"]), (self.target, ROLES["target"])):
            if picker.value is None:
                layer = self._newest((kind,), shape)
                if layer is not None:
                    picker.reset_choices()
                    picker.value = layer

    def _on_inserted(self, event=None) -> None:
        self.reset_choices()
        self._apply_defaults()

    def _refresh_paintable(self) -> None:
        for picker in (self.target, self.scribbles):
            picker.reset_choices()

    def _on_more(self, show) -> None:
        for w in (self.embedding, self.classifier, self.filters, self.n_uncertain, self.export_button):
            w.visible = bool(show)

    def restore_defaults(self) -> None:
        """Every setting back to its default (the layers stay): the *Restore defaults* button."""
        from ._annotate_job import SETTINGS_DEFAULTS

        self.apply_settings(SETTINGS_DEFAULTS)
        self.weight.value = "boundary"
        self.embedding.value = None
        self.more.value = False
        self.status.value = "defaults restored"

    # -- settings ----------------------------------------------------------------------------------
    def settings(self) -> dict:
        """The dock's settings, as saved with the scribbles (``object_size`` 0 = measured)."""
        return {"object_class": int(self.object_class.value), "object_size": float(self.object_size.value),
                "split": self.split.value, "split_h": round(float(self.split_h.value), 4),
                "classifier": self.classifier.value, "n_uncertain": int(self.n_uncertain.value),
                "filters": bool(self.filters.value)}

    def apply_settings(self, settings: dict) -> None:
        """Set the dock's fields from :meth:`settings`' keys (unknown keys and values are left out)."""
        fields = {"object_class": self.object_class, "object_size": self.object_size, "split": self.split,
                  "split_h": self.split_h, "classifier": self.classifier, "n_uncertain": self.n_uncertain,
                  "filters": self.filters}
        with self.split.changed.blocked(), self.split_h.changed.blocked():
            for key, value in settings.items():
                if key in fields:
                    try:
                        fields[key].value = value
                    except (ValueError, TypeError):
                        continue
        self._on_split(self.split.value, live=False)

    # -- layers ------------------------------------------------------------------------------------
    def _sp_layer(self):
        layer = self.superpixels.value
        if layer is None:
            raise ValueError("no superpixel layer: press 'Make superpixels' (section 1) or pick one")
        return layer

    def _image_data(self, spatial_shape=None):
        import numpy as np

        layer = self.image.value
        if layer is None:
            raise ValueError("no Image layer: open the image to annotate")
        data = np.asarray(layer.data[0] if layer.multiscale else layer.data)
        spatial = data.shape[:-1] if layer.rgb else data.shape
        if len(spatial) not in (2, 3):
            raise ValueError(f"image {layer.name!r} has shape {data.shape}: a 2D image or a (Z, Y, X) stack "
                             "is needed")
        if spatial_shape is not None and tuple(spatial) != tuple(spatial_shape):
            raise ValueError(f"image {layer.name!r} has shape {data.shape} but the superpixels have shape "
                             f"{tuple(spatial_shape)}; choose the image they were computed from")
        return data

    def _geometry(self, ndim: int) -> dict:
        from ._layers import _geometry

        return _geometry(self.image.value if self.image.value is not None else self._sp_layer(), ndim)

    def _add(self, data, name: str, role: str, **meta):
        """Add a layer the dock made (the plugin's marker with its role), in the image's geometry."""
        from ._layers import mark

        meta = {**self._geometry(data.ndim), **meta}
        meta["metadata"] = mark(meta.get("metadata"), ROLES.get(role, role))
        return self.viewer.add_labels(data, name=name, **meta)

    def _base_name(self) -> str:
        if self.image.value is not None:
            return self.image.value.name
        return self._sp_layer().name

    def _on_image(self, layer=None) -> None:
        self._reset_tree()
        self._features = (None, None)
        self._latest = None
        if layer is not None:
            self.load_annotation(quiet=True)

    def _on_superpixels(self, layer=None) -> None:
        self._reset_painter()
        self._reset_tree()
        self._refresh_paintable()
        if layer is not None and self.image.value is None:
            src = layer.metadata.get("source_layer")
            if src in self.viewer.layers:
                self.image.value = self.viewer.layers[src]

    # -- 1. superpixels ----------------------------------------------------------------------------
    def make_superpixels(self):
        """Superpixels half an object across (object size measured unless set), in a worker."""
        import numpy as np

        from ._annotate_job import run_superpixel_job

        def inputs():
            img = self._image_data()
            shape = self._spatial_shape()
            scr = self.scribbles.value
            sc = np.array(scr.data) if scr is not None and tuple(scr.data.shape) == shape else None
            size = float(self.object_size.value) or None
            return img, sc, size, shape

        chosen = self.ready(inputs)
        if chosen is None:
            return None
        img, sc, size, shape = chosen
        self.status.value = "measuring the objects and making superpixels..." if size is None else \
            "making superpixels..."
        return self.start(run_superpixel_job, img, sc, object_class=int(self.object_class.value), object_size=size,
                          spatial_shape=shape, on_returned=self._on_superpixels_made,
                          on_errored=self._on_errored, button=self.make_button)

    def _on_superpixels_made(self, out):
        sp = out["superpixels"]
        layer = self._add(sp, f"{self._base_name()} superpixels", "superpixels", opacity=0.6,
                          metadata={"source_layer": self._base_name(), "object_size": out["object_size"]})
        layer.contour = 1
        self.superpixels.reset_choices()
        self.superpixels.value = layer
        self._note_size(out["object_size"], int(sp.max()), measured=not self.object_size.value)
        self.status.value = f"{int(sp.max())} superpixels in {out['seconds']:.1f} s, drawn as contours"

    def _note_size(self, size: float, n_sp: int, measured: bool) -> None:
        self._measured = size if measured else self._measured
        how = "measured" if measured else "set"
        self.size_note.value = f"objects ≈ {size:.0f} px across ({how}) → {n_sp} superpixels ≈ {size / 2:.0f} px"

    # -- 2. painting --------------------------------------------------------------------------------
    def add_target_layer(self):
        """Add an empty Labels layer of the image's shape as the target and pick it."""
        import numpy as np

        shape = self._spatial_shape() or tuple(self._sp_layer().data.shape)
        layer = self._add(np.zeros(shape, np.int32), f"{self._base_name()} annotation", "target")
        self.target.reset_choices()
        self.target.value = layer
        return layer

    def add_scribble_layer(self):
        """Add an empty scribble layer (1 = objects in red, 2 = background in blue), in paint mode with label 1."""
        import numpy as np
        from napari.utils.colormaps import DirectLabelColormap

        from ._annotate_job import CLASS_COLOURS, class_name

        shape = self._spatial_shape() or tuple(self._sp_layer().data.shape)
        colours = {0: "transparent", None: "#808080", **CLASS_COLOURS}
        names = {"index": list(range(len(CLASS_COLOURS) + 1)),
                 "class": ["not annotated"] + [class_name(k) for k in CLASS_COLOURS]}
        layer = self._add(np.zeros(shape, np.int32), f"{self._base_name()} scribbles", "scribbles",
                          colormap=DirectLabelColormap(color_dict=colours), features=names, opacity=1.0,
                          metadata={"annotate": self.settings(), "classes": dict(names=names["class"])})
        layer.mode = "paint"
        layer.brush_size = 5
        layer.selected_label = 1
        self.scribbles.reset_choices()
        self.scribbles.value = layer
        self.viewer.layers.selection.active = layer
        self.status.value = "paint label 1 on a few objects, then 2 on the background (layer controls: label)"
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

    # -- 3./4. scribbles -> objects ---------------------------------------------------------------------
    def make_train_job(self):
        """The :class:`~._annotate_job.TrainJob` of the current layers (``ValueError`` says what is missing)."""
        import numpy as np

        from ._annotate_job import TrainJob, check_embedding, feature_cache_key

        sp_layer = self.superpixels.value
        img = self._image_data(None if sp_layer is None else sp_layer.data.shape)
        shape = self._spatial_shape()
        scr_layer = self.scribbles.value
        if scr_layer is None or scr_layer is sp_layer:
            raise ValueError("no scribble layer: press 'New scribble layer' and paint a few strokes per class")
        scribbles = np.array(scr_layer.data, copy=True)
        if scribbles.shape != shape:
            raise ValueError(f"scribbles {scr_layer.name!r} have shape {scribbles.shape}, the image {shape}; "
                             "press 'New scribble layer'")
        emb = None
        if self.embedding.value is not None:
            emb = check_embedding(self.embedding.value.data, shape, self.embedding.value.name)
        settings = self.settings()
        options = {"object_class": settings["object_class"], "split": settings["split"],
                   "split_h": settings["split_h"], "classifier": settings["classifier"],
                   "filters": settings["filters"], "object_size": settings["object_size"] or None}
        sp, cached, key = None, None, None
        if sp_layer is not None:
            sp = np.asarray(sp_layer.data)
            key = feature_cache_key(sp_layer.data, self.image.value.data,
                                    None if emb is None else self.embedding.value.data, settings["filters"])
            cached = self._features[1] if self._features[0] == key else None
        job = TrainJob(image=img, scribbles=scribbles, superpixels=sp, features=cached, embedding=emb,
                       n_uncertain=settings["n_uncertain"], options=options)
        return job, key

    def train(self):
        """Train on the scribbles and make the objects (``segment_objects``) in a worker thread.

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
        self._remember_settings()
        self.status.value = ("training..." if job.features is not None else
                             "measuring the objects, making superpixels and training..." if job.superpixels is None
                             else "computing features and training...")
        return self.start(run_train_job, job, on_returned=lambda out: self._on_trained(out, key, job),
                          on_errored=self._on_errored, button=self.train_button)

    def _remember_settings(self) -> None:
        scr = self.scribbles.value
        if scr is not None:
            scr.metadata["annotate"] = self.settings()

    def _on_trained(self, out, key, job):
        from ._annotate_job import feature_cache_key, table_for_layer
        from ._layers import _put, mark, result_name

        res = out["result"]
        base = self._base_name()
        if job.superpixels is None:  # segment_objects made them: a layer, reused by the next training
            sp_layer = self._add(res.superpixels, f"{base} superpixels", "superpixels", opacity=0.6,
                                 metadata={"source_layer": base, "object_size": res.object_size})
            sp_layer.contour = 1
            sp_layer.visible = False
            with self.superpixels.changed.blocked():
                self.superpixels.reset_choices()
                self.superpixels.value = sp_layer
            self._refresh_paintable()
            key = feature_cache_key(sp_layer.data, self.image.value.data,
                                    None if job.embedding is None else self.embedding.value.data,
                                    job.options.get("filters", False))
        else:
            sp_layer = self.superpixels.value
        self._features = (key, res.features)
        geo = self._geometry(res.objects.ndim)
        _put(self.viewer, res.classes, {"name": f"{base} classes", **geo, "opacity": 0.4, "visible": False},
             "labels", False, kind=ROLES["classes"])
        if job.n_uncertain:
            _put(self.viewer, out["uncertain"], {"name": f"{base} least confident", **geo, "visible": False},
                 "labels", False, kind=ROLES["uncertain"])
        previous = self._latest["layer"] if self._latest is not None else None
        name = result_name(self.viewer, f"{base} objects", keep=True)
        layer = self.viewer.add_labels(res.objects, name=name, **geo,
                                       metadata=mark({"annotate": self.settings(), "object_size": res.object_size,
                                                      "source_layer": base}, ROLES["objects"]))
        if previous is not None and previous in self.viewer.layers:
            previous.visible = False
        self._latest = {"job": job, "layer": layer, "written": res.objects.copy(), "key": key}
        if sp_layer is not None and tuple(sp_layer.data.shape) == tuple(res.superpixels.shape):
            sp_layer.features = table_for_layer(out["table"], sp_layer.features)
            self.export_button.enabled = True
        n_sp = int(res.classification.superpixel_ids.size)
        self._note_size(res.object_size, n_sp, measured=job.options.get("object_size") is None)
        kept = f"; '{previous.name}' kept, hidden" if previous is not None \
            and previous in self.viewer.layers else ""
        self.status.value = (f"{res.n_objects} objects in '{name}' ({out['seconds']:.1f} s){kept}. Next: strokes "
                             "where 'least confident' shows")
        if self.scribbles.value is not None:
            self.viewer.layers.selection.active = self.scribbles.value

    # -- live split ---------------------------------------------------------------------------------
    def _on_split(self, value=None, live: bool = True) -> None:
        self.split_h.enabled = self.split.value in ("shape", "shape+learned")
        if live:
            self.request_split()

    def request_split(self, *_):
        """Redo the latest objects with the split settings now shown (a worker; the latest value wins)."""
        from ._annotate_job import run_train_job

        if self._latest is None:
            return None
        if self._split_worker is not None or self.running:
            self._pending_split = True
            return None
        latest = self._latest
        sp_layer = self.superpixels.value
        if self._features[0] != latest["key"] or sp_layer is None:
            return None  # other superpixels since: the next Train uses the new settings
        import dataclasses

        import numpy as np

        options = {**latest["job"].options, "split": self.split.value,
                   "split_h": round(float(self.split_h.value), 4)}
        job = dataclasses.replace(latest["job"], superpixels=np.asarray(sp_layer.data), features=self._features[1],
                                  n_uncertain=0, options=options)
        from napari.qt.threading import create_worker

        worker = create_worker(run_train_job, job, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda out: self._on_split_done(out, latest))
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._split_finished)
        self._split_worker = worker
        self.status.value = "splitting..."
        worker.start()
        return worker

    def _on_split_done(self, out, latest) -> None:
        import numpy as np

        from ._layers import result_name

        if latest is not self._latest:
            return
        res = out["result"]
        layer = latest["layer"]
        split = f"split {self.split.value}" + (f", depth {self.split_h.value:.2f}" if self.split_h.enabled else "")
        if layer in self.viewer.layers and np.array_equal(layer.data, latest["written"]):
            layer.data = res.objects
            layer.metadata["annotate"] = self.settings()
            self.status.value = f"{split}: {res.n_objects} objects in '{layer.name}'"
        else:  # the objects were edited (or removed): the new split goes into a new layer
            name = result_name(self.viewer, f"{self._base_name()} objects", keep=True)
            layer = self.viewer.add_labels(res.objects, name=name, **self._geometry(res.objects.ndim),
                                           metadata={"annotate": self.settings()})
            self.status.value = f"{split}: {res.n_objects} objects in '{name}' (the edited ones kept)"
        latest["layer"] = layer
        latest["written"] = res.objects.copy()
        latest["job"].options.update(split=self.split.value, split_h=round(float(self.split_h.value), 4))

    def _split_finished(self) -> None:
        self._split_worker = None
        if self._pending_split:
            self._pending_split = False
            self.request_split()

    # -- saving -------------------------------------------------------------------------------------
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

    # -- export ---------------------------------------------------------------------------------------
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

    def _on_errored(self, err):
        self.warn(f"{type(err).__name__}: {err}")
