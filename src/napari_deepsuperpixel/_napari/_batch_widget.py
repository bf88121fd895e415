"""The "Batch superpixels" dock widget: one method over a folder of images or the open Image layers.

No algorithm code here: the widget makes a :func:`napari_deepsuperpixel.batch.plan_batch`
(which refuses missing inputs and existing outputs before anything runs) and runs
:func:`napari_deepsuperpixel.batch.run_batch` in a napari ``thread_worker``: the same
code path as ``deepsuperpixel segment``, with progress over the images, Cancel
between images and a results table.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from magicgui.widgets import CheckBox, ComboBox, FileEdit, Label, LineEdit, ProgressBar, Select, SpinBox, Table
from superqt.utils import ensure_main_thread

from ._dock import Dock, usable_methods

SOURCES = ("folder", "open layers")
TABLE_COLUMNS = ("image", "segments", "seconds", "outputs")
#: the check boxes that name the remedies of an existing output
TOGGLES = {"overwrite": "overwrite existing outputs", "skip_existing": "skip finished images (resume)"}


def time_left(done: int, total: int, elapsed: float) -> Optional[float]:
    """Seconds left of a batch from its finished images: ``elapsed / done`` per image (wall clock).

    The wall clock per finished image includes what the worker processes do
    side by side, so the estimate holds for any number of workers. ``None``
    before the first image is finished.
    """
    if done <= 0 or total <= done:
        return None if done <= 0 else 0.0
    return elapsed / done * (total - done)


class BatchWidget(Dock):
    """Segment many images with one method and its parameters, writing files and a summary table.

    A :class:`~._dock.Dock` (``napari_viewer`` injected by napari).

    * *folder*: every image in the folder (png, jpg, tif, .zarr) or those
      matching *pattern* (e.g. ``*.tif``, ``**/*.png`` for subfolders), in
      ``workers`` processes; *open layers*: the selected Image layers, in this
      process (level 0 of a multiscale layer).
    * The outputs (``<image>_<method>.tif`` ... and ``summary.csv``) go to the
      output folder; existing outputs are refused unless *skip finished
      images* is ticked, which resumes an interrupted batch, or *overwrite
      existing outputs*, which replaces them (the refusal names these boxes).
    * While it runs, the status line estimates the time left from the
      finished images (:func:`time_left`).
    """

    TOGGLES = TOGGLES

    def __init__(self, napari_viewer):
        import os

        from ..batch import DEFAULT_FORMATS, OUTPUTS

        super().__init__(napari_viewer, labels=True)
        self.rows: list = []  # the summary rows of the current run, as the table shows them
        self.source = self.watch(ComboBox(label="images", choices=list(SOURCES), value="folder",
                                          tooltip="A folder of image files, or the open Image layers"),
                                 self._on_source)
        self.folder = FileEdit(label="input folder", mode="d",
                               tooltip="The folder of images (png, jpg, tif, .zarr) to segment")
        self.pattern = LineEdit(label="pattern", value="",
                                tooltip="Only files matching this pattern, e.g. *.tif or **/*.png (empty: all images)")
        self.layers = Select(label="layers", choices=self.image_layers, visible=False,
                             tooltip="The Image layers to segment (ctrl/shift-click for several)")
        self.output = FileEdit(label="output folder", mode="d",
                               tooltip="Where the labels, overlays and summary.csv are written (created if needed)")
        self.method = ComboBox(label="method", choices=lambda _w=None: usable_methods(), value="snic",
                               tooltip="The algorithm; its parameters appear below")
        panel = self.param_panel()
        self.formats = Select(label="write", choices=list(OUTPUTS), value=[DEFAULT_FORMATS[0]],
                              tooltip="tif: int32 labels; overlay: boundaries on the image; mat: BSDS segs; "
                                      "csv: per-segment table; zarr: labels as a zarr store (large images)")
        self.workers = SpinBox(label="workers", value=1, min=1, max=max(1, os.cpu_count() or 1),
                               tooltip="Worker processes for a folder (open layers run in napari's process)")
        self.skip = self.watch(CheckBox(text=TOGGLES["skip_existing"], value=True,
                                        tooltip="Images whose outputs all exist are not segmented again; the "
                                                "others are (resumes an interrupted batch)"), self._on_skip)
        self.overwrite = self.watch(CheckBox(text=TOGGLES["overwrite"], value=False,
                                             tooltip="Segment every image again and replace the outputs and "
                                                     "summary.csv already in the output folder"), self._on_overwrite)
        self.run_button = self.button("Run batch", self.run, tooltip="Segment the images and write the outputs")
        self.cancel_button = self.button("Cancel", self.cancel, enabled=False,
                                         tooltip="Stop after the image being segmented; Run batch again with "
                                                 "'skip finished images' resumes")
        self.progress = ProgressBar(label="images", min=0, max=1, value=0)
        self.status = Label(label="")
        self.status.native.setWordWrap(True)
        self.table = Table(value={c: [] for c in TABLE_COLUMNS}, label="results",
                           tooltip="One row per finished image: its segments, seconds and output files")
        self.extend([self.source, self.folder, self.pattern, self.layers, self.output, self.method, *panel,
                     self.formats, self.workers, self.skip, self.overwrite, self.run_button, self.cancel_button,
                     self.progress, self.status, self.table])
        self._t0 = 0.0
        self.method.changed.connect(self._on_method)
        self.follow_layers()
        self.stop_on_close()
        self._on_method(self.method.value)

    def _on_source(self, source) -> None:
        folder = source == "folder"
        self.folder.visible = self.pattern.visible = self.workers.visible = folder
        self.layers.visible = not folder

    def _on_skip(self, on) -> None:
        if on:
            self.overwrite.value = False  # keep finished images or replace them, not both

    def _on_overwrite(self, on) -> None:
        if on:
            self.skip.value = False

    def _on_method(self, name) -> None:
        from .. import get_method
        from ..methods._presets import presets_of

        info = get_method(name)
        self.show_parameters(info.parameters, presets_of(info.params_cls))

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
                          skip_existing=bool(self.skip.value), overwrite=bool(self.overwrite.value))

    def run(self):
        """Start the batch in a worker thread (the Run button). Returns the worker, or ``None``."""
        from ..batch import run_batch

        plan = self.ready(self.make_plan, errors=(ValueError, OSError))
        if plan is None:
            return None
        self.rows = []
        self.table.value = {c: [] for c in TABLE_COLUMNS}
        total = len(plan.todo)
        self.progress.max, self.progress.value = max(total, 1), 0
        skipped = f", {len(plan.skipped)} already done" if plan.skipped else ""
        self.status.value = f"segmenting {total} image(s) with {plan.method}{skipped}..."
        self._t0 = time.monotonic()
        return self.start(run_batch, plan, workers=int(self.workers.value), progress=self._on_progress,
                          on_result=self._on_row, on_returned=lambda rows: self._on_done(rows, plan),
                          on_errored=self._on_errored, button=self.run_button, cancel_button=self.cancel_button)

    def cancel(self) -> None:
        """Stop after the image being segmented (with one worker: at its next progress report)."""
        self.request_cancel("cancelling after the current image...")

    @ensure_main_thread
    def _on_progress(self, done, total, name) -> None:
        from ._workers import format_seconds

        self.progress.max, self.progress.value = max(total, 1), done
        if not self.cancelled:
            left = time_left(done, total, time.monotonic() - self._t0)
            eta = f", about {format_seconds(left)} left" if left else ""
            self.status.value = f"{done}/{total}: {Path(str(name)).name}{eta}"

    @ensure_main_thread
    def _on_row(self, row) -> None:
        self.rows.append(row)
        self.table.value = {c: [_cell(c, r[c]) for r in self.rows] for c in TABLE_COLUMNS}

    def _on_done(self, rows, plan) -> None:
        from ._workers import format_seconds

        self.progress_done()
        took = format_seconds(time.monotonic() - self._t0)
        self.status.value = (f"{len(rows)} image(s) segmented in {took} -> {plan.outdir} "
                             f"(summary: {plan.summary.name})")

    def _on_errored(self, err) -> None:
        self.show_failure(err, cancelled=f"cancelled after {len(self.rows)} image(s); Run batch again to resume",
                          notify="Batch failed")


def _cell(column: str, value):
    """A table cell: the image's file name, seconds with two decimals."""
    if column == "image":
        return Path(str(value)).name
    if column == "seconds":
        try:
            return f"{float(value):.2f}"
        except (TypeError, ValueError):
            return value
    return value
