"""The "Batch superpixels" dock widget: one method over a folder of images or the open Image layers.

No algorithm code here: the widget makes a :func:`napari_deepsuperpixel.batch.plan_batch`
(which refuses missing inputs and existing outputs before anything runs) and runs
:func:`napari_deepsuperpixel.batch.run_batch` in a napari ``thread_worker``: the same
code path as ``deepsuperpixel segment``, with progress over the images, Cancel
between images and a results table.
"""

from __future__ import annotations

import threading
from pathlib import Path

from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    Label,
    LineEdit,
    ProgressBar,
    PushButton,
    Select,
    SpinBox,
    Table,
)
from superqt.utils import ensure_main_thread

from ._param_panel import ParamPanel

SOURCES = ("folder", "open layers")
TABLE_COLUMNS = ("image", "segments", "seconds", "outputs")


class BatchWidget(Container):
    """Segment many images with one method and its parameters, writing files and a summary table.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        Injected by napari.

    Notes
    -----
    * *folder*: every image in the folder (png, jpg, tif, .zarr) or those
      matching *pattern* (e.g. ``*.tif``, ``**/*.png`` for subfolders), in
      ``workers`` processes; *open layers*: the selected Image layers, in this
      process (level 0 of a multiscale layer).
    * The outputs (``<image>_<method>.tif`` ... and ``summary.csv``) go to the
      output folder; existing outputs are refused unless *skip finished
      images* is ticked, which resumes an interrupted batch.
    """

    def __init__(self, napari_viewer):
        import os

        from ..batch import DEFAULT_FORMATS, OUTPUTS

        super().__init__(labels=True)
        self.viewer = napari_viewer
        self._worker = None
        self._cancel_event = threading.Event()
        self.rows: list = []  # the summary rows of the current run, as the table shows them
        self.source = ComboBox(label="images", choices=list(SOURCES), value="folder",
                               tooltip="A folder of image files, or the open Image layers")
        self.folder = FileEdit(label="input folder", mode="d")
        self.pattern = LineEdit(label="pattern", value="",
                                tooltip="Only files matching this pattern, e.g. *.tif or **/*.png (empty: all images)")
        self.layers = Select(label="layers", choices=self._image_layers, visible=False)
        self.output = FileEdit(label="output folder", mode="d")
        self.method = ComboBox(label="method", choices=self._method_choices, value="snic")
        self.params = ParamPanel(label="")
        self.advanced = CheckBox(text="show advanced parameters", value=False)
        self.formats = Select(label="write", choices=list(OUTPUTS), value=[DEFAULT_FORMATS[0]],
                              tooltip="tif: int32 labels; overlay: boundaries on the image; mat: BSDS segs; "
                                      "csv: per-segment table; zarr: labels as a zarr store (large images)")
        self.workers = SpinBox(label="workers", value=1, min=1, max=max(1, os.cpu_count() or 1),
                               tooltip="Worker processes for a folder (open layers run in napari's process)")
        self.skip = CheckBox(text="skip finished images (resume)", value=True,
                             tooltip="Images whose outputs all exist are not segmented again")
        self.run_button = PushButton(text="Run batch")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.progress = ProgressBar(label="images", min=0, max=1, value=0)
        self.status = Label(label="")
        self.status.native.setWordWrap(True)
        self.table = Table(value={c: [] for c in TABLE_COLUMNS}, label="results")
        self.extend([self.source, self.folder, self.pattern, self.layers, self.output, self.method, self.params,
                     self.advanced, self.formats, self.workers, self.skip, self.run_button, self.cancel_button,
                     self.progress, self.status, self.table])
        self.source.changed.connect(self._on_source)
        self.method.changed.connect(self._on_method)
        self.advanced.changed.connect(self.params.show_advanced)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.viewer.layers.events.inserted.connect(self.reset_choices)
        self.viewer.layers.events.removed.connect(self.reset_choices)
        self.native.destroyed.connect(lambda *_: self._cancel_event.set())
        self._on_method(self.method.value)

    def _method_choices(self, _widget=None):
        from .. import list_methods

        return [(f"{m.name} ({m.kind})", m.name) for m in list_methods()]

    def _image_layers(self, _widget=None):
        from napari.layers import Image

        return [(layer.name, layer) for layer in self.viewer.layers if isinstance(layer, Image)]

    def _on_source(self, source) -> None:
        folder = source == "folder"
        self.folder.visible = self.pattern.visible = self.workers.visible = folder
        self.layers.visible = not folder

    def _on_method(self, name) -> None:
        from .. import get_method

        info = get_method(name)
        self.params.set_parameters(info.parameters)
        self.advanced.text = f"show advanced parameters ({self.params.n_advanced})"
        self.advanced.visible = self.params.n_advanced > 0

    @property
    def running(self) -> bool:
        """Whether a batch is in progress."""
        return self._worker is not None

    def _inputs(self) -> list:
        from ..batch import NamedImage

        if self.source.value == "folder":
            folder = Path(str(self.folder.value))
            if not str(self.folder.value).strip() or not folder.is_dir():
                raise ValueError("choose an input folder")
            return [str(folder / self.pattern.value.strip())] if self.pattern.value.strip() else [folder]
        layers = list(self.layers.value)
        if not layers:
            raise ValueError("select the Image layers to segment in 'layers'")
        out = []
        for layer in layers:
            data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
            out.append(NamedImage(layer.name, data, -1 if layer.rgb else "auto"))
        return out

    def make_plan(self):
        """The :class:`~napari_deepsuperpixel.batch.BatchPlan` of the current values.

        Raises
        ------
        ValueError, OSError
            With a message saying what to change (no input, existing outputs...).
        """
        from ..batch import plan_batch

        if not str(self.output.value).strip() or str(self.output.value) == ".":
            raise ValueError("choose an output folder")
        return plan_batch(self._inputs(), self.method.value, Path(str(self.output.value)),
                          params=self.params.values(), formats=list(self.formats.value) or None,
                          skip_existing=bool(self.skip.value))

    def run(self):
        """Start the batch in a worker thread (the Run button). Returns the worker, or ``None``."""
        from napari.qt.threading import create_worker

        from ..batch import run_batch
        from ._workers import start_worker

        if self._worker is not None:
            return None
        try:
            plan = self.make_plan()
        except (ValueError, OSError) as err:
            self.status.value = f"\u26a0 {err}"
            return None
        self._cancel_event = threading.Event()
        self.rows = []
        self.table.value = {c: [] for c in TABLE_COLUMNS}
        total = len(plan.todo)
        self.progress.max, self.progress.value = max(total, 1), 0
        skipped = f", {len(plan.skipped)} already done" if plan.skipped else ""
        self.status.value = f"segmenting {total} image(s) with {plan.method}{skipped}..."
        worker = create_worker(run_batch, plan, workers=int(self.workers.value), progress=self._on_progress,
                               on_result=self._on_row, cancel_check=self._cancel_event.is_set,
                               _start_thread=False, _ignore_errors=True)
        return start_worker(self, worker, on_returned=lambda rows: self._on_done(rows, plan),
                            on_errored=self._on_errored, start_button=self.run_button,
                            cancel_button=self.cancel_button)

    def cancel(self) -> None:
        """Stop after the image being segmented (with one worker: at its next progress report)."""
        if self._worker is not None:
            self._cancel_event.set()
            self.status.value = "cancelling after the current image..."

    @ensure_main_thread
    def _on_progress(self, done, total, name) -> None:
        self.progress.max, self.progress.value = max(total, 1), done
        if not self._cancel_event.is_set():
            self.status.value = f"{done}/{total}: {name}"

    @ensure_main_thread
    def _on_row(self, row) -> None:
        self.rows.append(row)
        self.table.value = {c: [Path(r["image"]).name if c == "image" else r[c] for r in self.rows]
                            for c in TABLE_COLUMNS}

    def _on_done(self, rows, plan) -> None:
        self.progress.value = self.progress.max
        self.status.value = f"{len(rows)} image(s) segmented -> {plan.outdir} (summary: {plan.summary.name})"

    def _on_errored(self, err) -> None:
        from ._workers import show_failure

        show_failure(self, err, cancelled=f"cancelled after {len(self.rows)} image(s); "
                                          "Run batch again to resume", notify="Batch failed")
