"""The "Segmentation metrics" dock widget: prediction vs ground truth -> a table.

The numbers come from :func:`~._metrics_job.compute_metrics` (the metrics
module) in a worker thread; the widget only collects layers, shows rows and
saves them as CSV.
"""

from __future__ import annotations

import csv
from pathlib import Path

from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    PushButton,
    Select,
    Table,
)

from ..metrics.boundary import MAX_DIST
from ._metrics_job import COLUMNS, FALSE_POSITIVE, MATCHED, MISSED


class MetricsWidget(Container):
    """Compare a prediction Labels layer with one or more ground-truth Labels layers.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        Injected by napari.

    Notes
    -----
    Each *Compute* adds (or updates) one table column named after the
    prediction layer (one row per metric; the CSV has one row per
    prediction). Ground-truth layers opened with this plugin's BSDS
    reader carry the annotators' stored boundary maps, which the boundary
    metrics then use, as the official benchmark does.
    """

    def __init__(self, napari_viewer):
        super().__init__(labels=True)
        self.viewer = napari_viewer
        self._worker = None
        self.rows: dict = {}
        self.prediction = ComboBox(label="prediction", choices=self._labels_layers,
                                   tooltip="The segmentation / superpixels to evaluate")
        self.ground_truth = Select(label="ground truth", choices=self._labels_layers,
                                   tooltip="One Labels layer per annotator (ctrl/shift-click for several)")
        self.image = ComboBox(label="image (for EV)", choices=self._image_layers, nullable=True,
                              tooltip="Optional: explained variation needs the image")
        self.max_dist = FloatSpinBox(label="BSDS tolerance", value=MAX_DIST, min=0.0, max=0.1, step=0.0005,
                                     tooltip="Boundary P/R/F tolerance as a fraction of the image diagonal")
        self.max_dist.native.setDecimals(4)
        self.r = FloatSpinBox(label="BR/BP radius (px)", value=2.0, min=0.0, max=50.0, step=1.0,
                              tooltip="Tolerance of the superpixel boundary recall/precision")
        self.show_matches = CheckBox(text="show matched / unmatched boundaries", value=False,
                                     tooltip="green: matched, red: false positive, yellow: missed")
        self.compute_button = PushButton(text="Compute")
        self.status = Label(label="")
        self.table = Table(label="")
        self.table.min_height = 320
        self.csv_path = FileEdit(label="CSV file", mode="w", filter="*.csv")
        self.overwrite = CheckBox(text="overwrite existing file", value=False)
        self.save_button = PushButton(text="Save table as CSV")
        self.extend([self.prediction, self.ground_truth, self.image, self.max_dist, self.r,
                     self.show_matches, self.compute_button, self.status, self.table, self.csv_path,
                     self.overwrite, self.save_button])
        self.status.native.setWordWrap(True)
        self.compute_button.clicked.connect(self.compute)
        self.save_button.clicked.connect(self._on_save)
        self.viewer.layers.events.inserted.connect(self.reset_choices)
        self.viewer.layers.events.removed.connect(self.reset_choices)
        from ._workers import warm_in_background

        # the boundary matching and ucm kernels compile here, not on the first Compute
        self._warming = warm_in_background("napari_deepsuperpixel.metrics:warm_kernels")

    def _labels_layers(self, _widget=None):
        from napari.layers import Labels

        return [(layer.name, layer) for layer in self.viewer.layers
                if isinstance(layer, Labels) and not layer.metadata.get("boundary_matches")]

    def _image_layers(self, _widget=None):
        from napari.layers import Image

        return [(layer.name, layer) for layer in self.viewer.layers if isinstance(layer, Image)]

    @property
    def running(self) -> bool:
        """Whether a computation is in progress."""
        return self._worker is not None

    def compute(self):
        """Start computing the metrics of the selected layers (the Compute button).

        Returns
        -------
        worker or None
            ``None`` when the selection is invalid (the status line says why).
        """
        from napari.qt.threading import create_worker

        from ._metrics_job import compute_metrics
        from ._workers import start_worker

        if self._worker is not None:
            return None
        pred = self.prediction.value
        gts = [g for g in self.ground_truth.value if g is not pred]
        if pred is None or not gts:
            self.status.value = "⚠ pick a prediction layer and at least one other Labels layer as ground truth"
            return None
        bnds = [g.metadata.get("bsds_boundaries") for g in gts]
        bnds = bnds if all(b is not None for b in bnds) else None
        img = self.image.value
        self.status.value = "computing..."
        worker = create_worker(compute_metrics, pred.data, [g.data for g in gts], gt_boundaries=bnds,
                               image=None if img is None else img.data, max_dist=float(self.max_dist.value),
                               r=float(self.r.value), match_map=bool(self.show_matches.value),
                               _start_thread=False, _ignore_errors=True)
        return start_worker(self, worker, on_returned=lambda out: self._on_returned(out, pred, gts),
                            on_errored=lambda err: setattr(self.status, "value", f"⚠ {err}"),
                            start_button=self.compute_button)

    def _on_returned(self, out, pred, gts) -> None:
        row = {"ground_truth": ", ".join(g.name for g in gts), **out["row"]}
        self.rows[pred.name] = row
        self._refresh_table()
        self.status.value = f"{pred.name}: {len(gts)} annotator(s)"
        if "matches" in out:
            name = f"{pred.name} boundary matches"
            meta = {"scale": pred.scale, "translate": pred.translate,
                    "colormap": {None: "transparent", 0: "transparent", MATCHED: "lime",
                                 FALSE_POSITIVE: "red", MISSED: "yellow"},
                    "metadata": {"boundary_matches": True}}
            if name in self.viewer.layers:
                self.viewer.layers.remove(name)
            self.viewer.add_labels(out["matches"], name=name, **meta)

    def _refresh_table(self) -> None:
        # one column per prediction layer, one row per metric: fits a narrow dock
        keys = ["ground_truth"] + [c for c in COLUMNS if any(c in r for r in self.rows.values())]
        data = [[_cell(r.get(k, "")) for r in self.rows.values()] for k in keys]
        self.table.value = {"data": data, "index": keys, "columns": list(self.rows)}
        self.table.native.resizeColumnsToContents()

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
        from .._util import atomic_write, check_writable

        if not self.rows:
            raise ValueError("the table is empty: compute some metrics first")
        path = Path(path)
        check_writable([path], overwrite)
        cols = ["ground_truth"] + [c for c in COLUMNS if any(c in r for r in self.rows.values())]

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
            self.status.value = f"⚠ {err}"


def _cell(v):
    return round(float(v), 4) if isinstance(v, float) else v
