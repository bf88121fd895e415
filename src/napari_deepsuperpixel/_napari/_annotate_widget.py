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

from ._annotate_files import AnnotationFiles
from ._annotate_job import NOT_PAINTABLE, NOT_SUPERPIXELS, ROLES, SPLIT_CHOICES
from ._annotate_merge import PaintAndMerge
from ._annotate_objects import ScribblesToObjects
from ._dock import Dock, row
from ._superpixel_paint import MODES


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


class AnnotateWidget(PaintAndMerge, ScribblesToObjects, AnnotationFiles, Dock):
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
        self.split_h = self.watch(FloatSlider(label="split depth", min=0.1, max=3.0, step=0.05, value=d["split_h"],
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

    def _on_errored(self, err):
        self.warn(f"{type(err).__name__}: {err}")
