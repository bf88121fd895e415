"""The "Segmentation metrics" dock widget: prediction vs ground truth -> a table.

The numbers come from :func:`~._metrics_job.compute_metrics` (the metrics
module) in a worker thread; the widget only collects layers, shows rows and
saves them as CSV.
"""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

from magicgui.widgets import CheckBox, ComboBox, FileEdit, FloatSpinBox, Label, ProgressBar, Select, Table
from qtpy.QtCore import Qt

from ..metrics.boundary import MAX_DIST
from ._dock import Dock, row
from ._metrics_job import COLUMNS, FALSE_POSITIVE, MATCHED, MISSED

#: the table's first column: the metric names
METRIC_COLUMN = "metric"
#: rows of the table above the metrics: what was compared, and how label 0 was read
_GROUND_TRUTH, _BACKGROUND = "ground_truth", "background"


def _warm_metrics() -> None:
    """Compile the kernels this dock uses (in the background, when it opens)."""
    from ..metrics import warm_kernels

    warm_kernels()


class MetricsWidget(Dock):
    """Compare a prediction Labels layer with one or more ground-truth Labels layers.

    A :class:`~._dock.Dock` (``napari_viewer`` injected by napari).

    Each *Compute* adds (or updates) one table column named after the
    prediction layer: one row per metric, with its full name, an arrow
    (↑ higher / ↓ lower is better) and a tooltip with its definition and
    reference (:data:`napari_deepsuperpixel.metrics.info.METRIC_INFO`); the
    CSV has one row per prediction. The prediction defaults to the newest
    result. Label 0 of the ground truth is background: *ignore background*
    evaluates the annotated pixels only, and *object scores* adds
    object-level precision/recall/F1/AP at IoU 0.5 for instance masks.
    Ground-truth layers opened with this plugin's BSDS reader carry the
    annotators' stored boundary maps, which the boundary metrics then use,
    as the official benchmark does.
    """

    DOCS_PAGE = "metrics.md"

    def __init__(self, napari_viewer):
        # the inputs (self.body) carry the labels; the boundary matching and ucm kernels
        # compile as the dock opens, not on the first Compute
        super().__init__(napari_viewer, warm=[_warm_metrics])
        self.rows: dict = {}
        self.prediction = ComboBox(label="prediction", choices=self.labels_layers,
                                   tooltip="The segmentation / superpixels to evaluate (default: the newest result the plugin "
                                           "made, e.g. the objects of an annotation)")
        self.ground_truth = Select(label="ground truth", choices=self.ground_truth_layers,
                                   tooltip="One Labels layer per annotator (ctrl/shift-click for several); a "
                                           "mask opened as an Image layer (.png, .tif with integer values) is "
                                           "listed as '<name> (image as labels)' and converted when used")
        self.ground_truth.native.setMaximumHeight(78)  # about four names; the list scrolls
        self.image = ComboBox(label="image (for EV)", choices=self.image_layers, nullable=True,
                              tooltip="Optional: explained variation needs the image")
        self.ignore_background = CheckBox(
            text="ignore background (ground-truth label 0)", value=False,
            tooltip="Label 0 of the ground truth is background. Ticked: covering, PRI, VI, ASA and UE use only "
                    "the annotated (non-zero) pixels, and predicted segments lying mostly on background are not "
                    "counted as objects. Unticked: the background is one more ground-truth segment for PRI, VI, "
                    "ASA and UE (covering never counts it as a region).")
        self.objects = CheckBox(text="object scores (instance masks)", value=False,
                                tooltip="Object precision, recall, F1 and average precision at IoU 0.5: every "
                                        "non-zero ground-truth label is an object (nuclei, cells)")
        self.max_dist = FloatSpinBox(label="BSDS tolerance", value=MAX_DIST, min=0.0, max=0.1, step=0.0005,
                                     tooltip="Boundary P/R/F tolerance as a fraction of the image diagonal")
        self.max_dist.native.setDecimals(4)
        self.r = FloatSpinBox(label="BR/BP radius (px)", value=2.0, min=0.0, max=50.0, step=1.0,
                              tooltip="Tolerance of the superpixel boundary recall/precision")
        self.show_matches = CheckBox(text="show matched / unmatched boundaries", value=False,
                                     tooltip="green: matched, red: false positive, yellow: missed")
        self.overwrite = CheckBox(text="overwrite an existing CSV file", value=False,
                                  tooltip="Save CSV replaces an existing file only when this is ticked")
        help_row = self.help_row("Metrics docs", "Open the metrics page (definitions, references, background "
                                 "convention) in the browser", "Set every option back to its default")
        self.compute_button = self.button("Compute", self.compute, tooltip="Compute the metrics of the "
                                          "prediction against the ground truth: one table column per prediction")
        self.progress = ProgressBar(label="", min=0, max=1, value=0, visible=False)
        self.status = Label(label="")
        self.table = Table(label="", tooltip="One column per prediction, one row per metric; hover a metric "
                                             "for its definition, a value for its unrounded number")
        self.csv_path = FileEdit(label="CSV file", mode="w", filter="*.csv",
                                 tooltip="The CSV file Save CSV writes (one row per prediction)")
        self.csv_path.line_edit.native.setPlaceholderText("CSV file to save the table to")
        self.save_button = self.button("Save CSV", self._on_save, tooltip="Save the table as CSV (one row per "
                                       "prediction)")
        # the options scroll; Compute, the table and Save stay visible
        self.lay_out([self.prediction, self.ground_truth, self.image, self.ignore_background, self.objects,
                      self.max_dist, self.r, self.show_matches, self.overwrite, help_row],
                     [self.compute_button, self.progress, self.status, self.table, row(self.csv_path,
                                                                                    self.save_button)],
                     min_height=80, stretch=0)
        self.native.layout().setStretchFactor(self.table.native, 1)  # the table takes the spare height
        self._setup_table()
        from ._layout import fit_widgets

        fit_widgets(self)
        self.follow_layers(on_inserted=self._on_inserted)
        self._select_default_prediction()

    def _setup_table(self) -> None:
        from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QSizePolicy, QStyledItemDelegate

        t = self.table.native
        # the cells hold text already formatted by metrics.info.format_value (one format for every
        # number); magicgui's delegate would re-format numbers, switching between 0.7047 and 2.750e-02
        t.setItemDelegate(QStyledItemDelegate(t))
        t.setMinimumHeight(110)
        t.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Expanding)
        t.setEditTriggers(QAbstractItemView.NoEditTriggers)
        t.verticalHeader().hide()  # the metric names are the first column
        h = t.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.Interactive)
        h.setDefaultSectionSize(80)
        h.setStretchLastSection(True)  # one prediction: its column fills the table, nothing is cut off
        h.setTextElideMode(Qt.ElideMiddle)

    # -- layers ---------------------------------------------------------------------------
    def labels_layers(self, _widget=None):
        """Dropdown choices: the Labels layers, without the boundary-match layers this dock adds."""
        return self.layers_of("Labels", keep=lambda layer: not layer.metadata.get("boundary_matches"))

    def ground_truth_layers(self, _widget=None):
        """List choices: the Labels layers, then the Image layers holding integer labels (a mask file).

        napari opens a mask saved as ``.png`` or ``.tif`` as an Image layer;
        such a layer is offered as ``"<name> (image as labels)"`` and its values
        are used as labels when the metrics are computed (:func:`as_labels`).
        """
        images = [(f"{name} {IMAGE_AS_LABELS}", layer) for name, layer in self.layers_of("Image", keep=is_mask_image)]
        return self.labels_layers() + images

    def default_prediction(self):
        """The newest result: the newest layer the plugin made as a result, else the last Labels layer a
        method made, else the last Labels layer.

        A result is a layer with the plugin's marker of a prediction kind
        (:data:`~._layers.PREDICTION_KINDS`: a method's labels, the objects of
        an annotation). Ground-truth layers (opened with the BSDS reader, or
        selected as ground truth) come only when nothing else is there.
        """
        from ._layers import newest

        layers = [layer for _, layer in self.labels_layers()]
        selected = set(map(id, self.ground_truth.value))
        made = newest([la for la in layers if id(la) not in selected])
        if made is not None:
            return made
        for test in (lambda la: "method" in la.metadata,
                     lambda la: id(la) not in selected and "bsds_boundaries" not in la.metadata,
                     lambda la: True):
            found = [la for la in layers if test(la)]
            if found:
                return found[-1]
        return None

    def _select_default_prediction(self) -> None:
        layer = self.default_prediction()
        if layer is not None:
            self.prediction.value = layer

    def _on_inserted(self, event=None) -> None:
        self.reset_choices()
        layer = getattr(event, "value", None)
        from napari.layers import Labels

        if isinstance(layer, Labels) and not self.running and layer is self.default_prediction():
            self.prediction.value = layer

    # -- buttons ----------------------------------------------------------------------------
    def restore_defaults(self) -> None:
        """Set the options back to their defaults (the *Restore defaults* button); the table stays."""
        self.max_dist.value = MAX_DIST
        self.r.value = 2.0
        for box in (self.ignore_background, self.objects, self.show_matches, self.overwrite):
            box.value = False
        self._select_default_prediction()
        self.status.value = "defaults restored"

    def compute(self):
        """Start computing the metrics of the selected layers (the Compute button).

        Returns
        -------
        worker or None
            ``None`` while a computation runs or when the selection is invalid (the status line says why).
        """
        from ._metrics_job import compute_metrics

        def selection():
            pred = self.prediction.value
            gts = [g for g in self.ground_truth.value if g is not pred]
            if pred is None or not gts:
                raise ValueError("pick a prediction layer and at least one other Labels layer (or mask image) as "
                                 "ground truth")
            return pred, gts

        chosen = self.ready(selection)
        if chosen is None:
            return None
        pred, gts = chosen
        bnds = [g.metadata.get("bsds_boundaries") for g in gts]
        gt_data = self.ready(lambda: [as_labels(g) for g in gts])
        if gt_data is None:
            return None
        img = self.image.value
        self.status.value = ("compiling the metric kernels (first run only), then computing..." if self.warming
                             else "computing...")
        self.progress.visible = True
        self.progress.max = 0  # busy
        return self.start(compute_metrics, pred.data, gt_data,
                          gt_boundaries=bnds if all(b is not None for b in bnds) else None,
                          image=None if img is None else img.data, max_dist=float(self.max_dist.value),
                          r=float(self.r.value), match_map=bool(self.show_matches.value),
                          objects=bool(self.objects.value), ignore_background=bool(self.ignore_background.value),
                          on_returned=lambda out: self._on_returned(out, pred, gts), on_errored=self._on_errored,
                          button=self.compute_button)

    def _done(self) -> None:
        self.progress.max = 1
        self.progress.visible = False

    def _on_errored(self, err) -> None:
        self._done()
        self.warn(err)

    def _on_returned(self, out, pred, gts) -> None:
        from ._layers import mark
        from ._layout import elide

        self._done()
        background = "ignored" if self.ignore_background.value else "a segment"
        row = {"ground_truth": ", ".join(g.name for g in gts), "n_annotators": len(gts), _BACKGROUND: background,
               **out["row"]}
        self.rows[pred.name] = row
        self._refresh_table()
        converted = [g.name for g in gts if not _is_labels(g)]
        self.status.value = f"{elide(pred.name, 40)}: {len(gts)} annotator(s)" + (
            f"; used as labels: {', '.join(elide(n, 30) for n in converted)}" if converted else "")
        if "matches" in out:
            name = f"{pred.name} boundary matches"
            meta = {"scale": pred.scale, "translate": pred.translate,
                    "colormap": {None: "transparent", 0: "transparent", MATCHED: "lime",
                                 FALSE_POSITIVE: "red", MISSED: "yellow"},
                    "metadata": mark({"boundary_matches": True}, "boundary_matches")}
            if name in self.viewer.layers:
                self.viewer.layers.remove(name)
            self.viewer.add_labels(out["matches"], name=name, **meta)

    def _columns(self) -> list:
        return [c for c in COLUMNS if any(c in r for r in self.rows.values())]

    def _refresh_table(self) -> None:
        from qtpy.QtWidgets import QTableWidgetItem

        from ..metrics.info import format_value, metric_info

        # one row per metric (its full name in the first column, wrapped where long), one column per
        # prediction layer: fits a narrow dock
        keys = self._columns()
        infos = [metric_info(_METRIC_KEY.get(k, k)) for k in keys]
        names = ["ground truth", "background (label 0)"] + [textwrap.fill(m.label, 22) for m in infos]
        tips = ["The annotators each prediction was compared with",
                "Ground-truth label 0: 'ignored' (only annotated pixels count) or 'a segment' "
                "(the background is one more ground-truth segment)"] + [m.tooltip() for m in infos]
        values = [[_gt_cell(r) for r in self.rows.values()],
                  [r.get(_BACKGROUND, "") for r in self.rows.values()]]
        values += [[format_value(r[k]) if k in r else "" for r in self.rows.values()] for k in keys]
        data = [[name, *vals] for name, vals in zip(names, values)]
        self.table.value = {"data": data, "index": [str(i) for i in range(len(data))],  # index hidden
                            "columns": [METRIC_COLUMN, *self.rows]}
        t = self.table.native
        for i, tip in enumerate(tips):
            t.item(i, 0).setToolTip(tip)
        for j, (name, r) in enumerate(self.rows.items(), start=1):
            item = t.horizontalHeaderItem(j) or QTableWidgetItem(name)
            item.setToolTip(f"{name}\nvs {r['ground_truth']}\nbackground (label 0): {r.get(_BACKGROUND, '')}")
            t.setHorizontalHeaderItem(j, item)
            t.item(0, j).setToolTip(r["ground_truth"])
            for i, key in enumerate(keys, start=2):
                if key in r:
                    t.item(i, j).setTextAlignment(int(Qt.AlignRight | Qt.AlignVCenter))
                    t.item(i, j).setToolTip(repr(r[key]))  # the unrounded value
        t.resizeColumnToContents(0)
        t.setColumnWidth(0, t.columnWidth(0) + 12)  # room for the cell padding: names do not re-wrap
        for j in range(1, t.columnCount()):
            t.setColumnWidth(j, 80)
        t.resizeRowsToContents()

    def save_csv(self, path, *, overwrite: bool = False) -> Path:
        """Write the table (one row per prediction layer) as CSV.

        Parameters
        ----------
        path : str or Path
            Output file.
        overwrite : bool
            Replace an existing file (default: refuse).

        Returns
        -------
        Path

        Raises
        ------
        ValueError
            If the table is empty.
        FileExistsError
            If ``path`` exists and ``overwrite`` is False.
        """
        from ..io.writes import atomic_write

        if not self.rows:
            raise ValueError("the table is empty: compute some metrics first")
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists: tick 'overwrite an existing CSV file' or choose another file")
        cols = ["ground_truth", _BACKGROUND] + self._columns()

        def write(p):
            with open(p, "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["prediction", *cols])
                for name, r in self.rows.items():
                    w.writerow([name, *[r.get(c, "") for c in cols]])

        atomic_write(path, write)
        return path

    def _on_save(self) -> None:
        try:
            p = self.save_csv(self.csv_path.value, overwrite=bool(self.overwrite.value))
            self.status.value = f"saved {p}"
        except (ValueError, FileExistsError, OSError) as err:
            self.warn(err)


#: how the ground-truth list names an Image layer whose values are used as labels
IMAGE_AS_LABELS = "(image as labels)"


def _is_labels(layer) -> bool:
    from napari.layers import Labels

    return isinstance(layer, Labels)


def is_mask_image(layer) -> bool:
    """Whether an Image layer can be ground truth: integer values, not RGB, one resolution, 2D or 3D."""
    import numpy as np

    return (not getattr(layer, "rgb", False) and not getattr(layer, "multiscale", False)
            and np.dtype(layer.data.dtype).kind in "iub" and layer.data.ndim in (2, 3))


def as_labels(layer):
    """A ground-truth layer's data as labels: a Labels layer's data, or an integer Image layer's values.

    Raises
    ------
    ValueError
        For an Image layer whose values are not labels (negative values).
    """
    import numpy as np

    if _is_labels(layer):
        return layer.data
    data = np.asarray(layer.data)
    if data.dtype.kind == "b":
        return data.astype(np.int32)
    if data.dtype.kind == "i" and data.min() < 0:
        raise ValueError(f"{layer.name!r} has negative values and cannot be used as labels (0 = background, "
                         "1..N = objects)")
    if data.max() > np.iinfo(np.int32).max:
        raise ValueError(f"{layer.name!r} has values above 2^31 - 1 and cannot be used as labels")
    return data.astype(np.int32)


#: table rows whose :data:`~napari_deepsuperpixel.metrics.info.METRIC_INFO` key differs
_METRIC_KEY = {"boundary_p": "bdry_p", "boundary_r": "bdry_r", "boundary_f": "bdry_f"}


def _gt_cell(row: dict) -> str:
    """The ground-truth cell: the layer's name, or "5 annotators" (the names are in its tooltip)."""
    return row["ground_truth"] if row["n_annotators"] == 1 else f"{row['n_annotators']} annotators"
