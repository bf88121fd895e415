"""Segmenting many image files: folders and globs in, label files and a summary table out.

The one batch path behind ``deepsuperpixel segment`` and the napari *Batch*
widget. :func:`plan_batch` refuses everything it can before any work starts
(missing inputs, colliding names, existing outputs, an unwritable folder);
:func:`run_batch` segments the images that are left, in this process, in
local worker processes or on a Dask distributed cluster (the executors of
``deepsuperpixel bench``, :mod:`napari_deepsuperpixel.bench.executors`).

Every output file is written atomically, and after an image's outputs a
record of what made them (``<image>_<method>.run.json``:
:mod:`napari_deepsuperpixel.io.records`). ``skip_existing=True`` skips an
image only when its outputs were made with the same method, parameters, run
options and input and are intact; anything else is redone. The summary table
(``summary.csv``: image, method, parameters, segments, seconds, peak memory) is
updated by (image, method) after every finished image, never truncated, and
rebuilt from the records when a batch starts, so a killed batch loses no row.

Before the first image is segmented, every image's header is read and its run
planned (:func:`check_images`: axes, counts, the memory estimate), no output may
replace an input, the output folder and the summary table are written to
(real bytes), and the temporary files of killed runs are removed.
"""

from __future__ import annotations

import glob
import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .errors import InputError, InputFileError
from .io.records import SUMMARY_FIELDS, merge_summary, read_summary, record_path, records_in  # noqa: F401
from .io.writes import atomic_write_dir, check_writable
from .options import RunOptions

#: the summary table written in the output folder
SUMMARY_NAME = "summary.csv"
_GLOB_CHARS = set("*?[")


def _write_tif(path, image, labels, overwrite, axes=None):
    from .io.files import write_labels_tif
    from .io.lazy import write_labels_tiled_tif
    from .tiled import ZARR_PIXELS

    if isinstance(labels, np.ndarray) and labels.size <= ZARR_PIXELS:
        write_labels_tif(path, labels, overwrite=overwrite)
    else:  # a large or lazy result: a tiled TIFF written tile by tile
        write_labels_tiled_tif(path, labels, overwrite=overwrite)


def _write_overlay(path, image, labels, overwrite, axes=None):
    from .io.files import overlay_boundaries, write_png

    write_png(path, overlay_boundaries(image, labels, axes=axes), overwrite=overwrite)


def _write_mat(path, image, labels, overwrite, axes=None):
    from .io.bsds_mat import write_segs_mat

    write_segs_mat(path, labels, overwrite=overwrite)


def _write_csv(path, image, labels, overwrite, axes=None):
    from .io.tables import write_segments_csv

    write_segments_csv(path, labels, image=image, overwrite=overwrite)


def _write_zarr(path, image, labels, overwrite, axes=None):
    from .io.lazy import write_labels_zarr

    write_labels_zarr(path, labels, overwrite=overwrite)


def _direct_zarr(task: "BatchTask") -> Optional[Path]:
    """A temporary zarr store the run writes its labels into, block by block: when zarr is asked for
    (it then takes the output's place), or when the blocks run on a cluster, whose workers write them
    (removed once the other outputs are written)."""
    import os

    if "zarr" in task.formats:
        target = Path(task.targets[task.formats.index("zarr")])
        check_writable([target], task.replace)
        return target.with_name(f".{target.name}.run{os.getpid()}")
    if task.options.scheduler is not None:
        first = Path(task.targets[0])
        return first.with_name(f".{first.stem}.blocks{os.getpid()}.zarr")
    return None


def _runs_in_blocks(path, method: str, params: dict, block_size) -> bool:
    """Whether a TIFF or zarr image file is segmented in blocks, from its shape alone (nothing read)."""
    from . import get_method
    from ._types import build_params
    from .io.layout import describe_image
    from .tiled import choose_tile

    if isinstance(path, NamedImage) or Path(path).suffix.lower() not in (".tif", ".tiff", ".zarr"):
        return False  # other formats are read whole anyway
    from .io.lazy import TiffLevel, open_zarr

    try:  # the lazy readers open the header only
        shape = (open_zarr if Path(path).suffix.lower() == ".zarr" else TiffLevel)(path).shape
    except Exception:  # noqa: BLE001 - unreadable here: the worker that reads it says why
        return False

    img = np.broadcast_to(np.zeros(1, np.uint8), tuple(shape))  # the shape, without the pixels
    info = get_method(method)
    try:
        layout = describe_image(img)
        return choose_tile(layout, info, build_params(info.params_cls, method, dict(params)), block_size) is not None
    except ValueError:
        return False


#: what a batch can write per image: name -> (file suffix, writer), where
#: ``writer(path, image, labels, overwrite, axes)`` writes one file (a folder for zarr; ``image`` in ``axes``, T Z Y X C order)
OUTPUTS = {
    "tif": (".tif", _write_tif),
    "overlay": ("_overlay.png", _write_overlay),
    "mat": (".mat", _write_mat),
    "csv": (".csv", _write_csv),
    "zarr": (".zarr", _write_zarr),
}
DEFAULT_FORMATS = ("tif", "overlay")


def check_formats(items) -> list:
    """The output formats named by ``items`` (``["tif,overlay", "csv"]``), in order, without repeats.

    Raises
    ------
    ValueError
        An unknown format (the message lists the valid ones).
    """
    names = [f.strip() for item in (items or DEFAULT_FORMATS) for f in str(item).split(",") if f.strip()]
    if not names:
        raise InputError(f"no output format given ({', '.join(repr(str(i)) for i in items)}): choose one or "
                         f"more of {', '.join(OUTPUTS)} (default {','.join(DEFAULT_FORMATS)})")
    bad = sorted(set(names) - set(OUTPUTS))
    if bad:
        raise InputError(f"unknown output format(s) {', '.join(bad)}: choose from {', '.join(OUTPUTS)}")
    return list(dict.fromkeys(names))


def _is_image(p: Path) -> bool:
    from .io.files import IMAGE_SUFFIXES

    return (p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES) or (p.is_dir() and p.suffix.lower() == ".zarr")


def find_images(items) -> list:
    """The image files named by ``items``: files, folders (their images, not recursive) and glob patterns.

    Parameters
    ----------
    items : iterable of str or Path
        A file (taken as it is, its format is checked when it is read), a
        folder (every ``.png``, ``.jpg``, ``.tif``, ``.bmp`` file and ``.zarr``
        folder directly inside it, sorted by name, except the outputs an earlier
        batch recorded there) or a glob pattern such as
        ``"plate1/*.tif"`` or ``"screen/**/*.png"`` (recursive with ``**``).

    Returns
    -------
    list of pathlib.Path
        In the order given, each path once.

    Raises
    ------
    FileNotFoundError
        Paths that do not exist, a folder without images or a pattern that matches none (all named).
    """
    found, missing = [], []
    for item in items:
        s = str(item)
        p = Path(s)
        if p.exists() and not (p.is_dir() and p.suffix.lower() != ".zarr"):
            found.append(p)
        elif p.is_dir():
            from .io.records import recorded_outputs

            made = recorded_outputs(p)  # the outputs of an earlier batch into this folder are not inputs
            hits = sorted(c for c in p.iterdir() if _is_image(c) and c.name not in made)
            found.extend(hits) if hits else missing.append(f"{s} (a folder without images)")
        elif _GLOB_CHARS & set(s):
            hits = sorted(Path(h) for h in glob.glob(s, recursive=True) if _is_image(Path(h)))
            found.extend(hits) if hits else missing.append(f"{s} (no image matches)")
        else:
            missing.append(s)
    if missing:
        raise FileNotFoundError(f"image file(s) not found: {', '.join(missing)}")
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class NamedImage:
    """An image already in memory (e.g. a napari layer's data) with the name its outputs take."""

    name: str
    data: object
    channel_axis: object = "auto"

    @property
    def stem(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name


@dataclass
class BatchPlan:
    """What :func:`run_batch` will do: made and checked by :func:`plan_batch`."""

    method: str
    params: dict
    outdir: Path
    formats: list
    todo: list
    skipped: list
    summary: Path
    replace: bool
    options: RunOptions = field(default_factory=RunOptions)
    built: object = None
    #: ``(image, why)`` of the images whose existing outputs are redone (``skip_existing``)
    redone: list = field(default_factory=list)

    def targets(self, image: Path) -> list:
        """The output files of one image (one per format)."""
        return [self.outdir / f"{image.stem}_{self.method}{OUTPUTS[f][0]}" for f in self.formats]

    def record(self, image) -> Path:
        """The record of what made the outputs of one image (:mod:`~napari_deepsuperpixel.io.records`)."""
        return record_path(self.outdir, image.stem, self.method)

    def key(self, image) -> dict:
        """What makes the outputs of one image (:func:`~napari_deepsuperpixel.io.records.run_key`)."""
        from .io.records import run_key

        return run_key(self.method, self.built, self.options, None if isinstance(image, NamedImage) else image)


def plan_batch(inputs, method: str, outdir, *, params: Optional[dict] = None, formats=None,
               skip_existing: bool = False, overwrite: bool = False, summary=None,
               options: Optional[RunOptions] = None) -> BatchPlan:
    """Check a batch before any work starts and say which images are to be segmented.

    Parameters
    ----------
    inputs : iterable of str, Path or NamedImage
        Files, folders and glob patterns (:func:`find_images`), or images in
        memory (:class:`NamedImage`, e.g. napari layers; run in this process).
    method : str
        A registered method.
    outdir : str or Path
        The output folder (created if needed).
    params : dict, optional
        Method parameters (strings are converted to the declared types).
    formats : iterable of str, optional
        Names from :data:`OUTPUTS` (default ``tif`` and ``overlay``).
    skip_existing : bool
        Resume: images whose outputs exist, intact, made with the same method,
        parameters, run options and input (their record says so) are skipped;
        the others are redone (``plan.redone`` says why).
    overwrite : bool
        Replace existing outputs (the summary table is always updated by image
        and method, never truncated).
    summary : str or Path, optional
        The summary table (default ``OUTDIR/summary.csv``).
    options : RunOptions, optional
        The run options of every image (seed, device, axes, ...): part of what
        the outputs are keyed by.

    Raises
    ------
    ValueError
        Unknown method, parameter or format; both ``skip_existing`` and ``overwrite``;
        inputs sharing a name (their outputs would collide).
        An output that would replace an input; an empty output folder name.
    FileNotFoundError
        Missing inputs (:func:`find_images`).
    FileExistsError
        Existing outputs without ``skip_existing`` or ``overwrite``.
    OSError
        An unwritable output folder or summary table, a full disk.
    """
    from . import get_method
    from ._types import build_params
    from .io.writes import check_output_folder

    if skip_existing and overwrite:
        raise InputError("keep finished images (skip_existing) or replace them (overwrite), not both")
    params = dict(params or {})
    options = options if options is not None else RunOptions()
    if not isinstance(options, RunOptions):
        raise InputError(f"options must be a RunOptions, got {type(options).__name__}")
    built = build_params(get_method(method).params_cls, method, params)
    formats = check_formats(formats)
    if not str(outdir).strip():
        raise InputError("the output folder is an empty name (''): give a folder (e.g. -o labels)")
    inputs = list(inputs)
    named = [i for i in inputs if isinstance(i, NamedImage)]
    images = named + (find_images([i for i in inputs if not isinstance(i, NamedImage)])
                      if len(named) < len(inputs) else [])
    stems = [p.stem for p in images]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise ValueError(f"several inputs share the name(s) {dupes}; outputs would collide (segment them into "
                         "separate output folders)")
    outdir = Path(outdir)
    if summary is not None and not str(summary).strip():
        raise InputError("the summary table is an empty name (''): give a file name or leave it out")
    summary = Path(summary) if summary is not None else outdir / SUMMARY_NAME
    from .io.writes import check_output_file, remove_stale_temps

    check_output_folder(outdir)
    check_output_file(summary, "summary table")
    for folder in {outdir, summary.parent}:
        remove_stale_temps(folder)  # what killed runs left
    plan = BatchPlan(method, params, outdir, formats, [], [], summary, replace=overwrite or skip_existing,
                     options=options, built=built)
    _refuse_replacing_inputs(plan, images)
    from .io.records import finished

    for p in images:
        targets = plan.targets(p)
        why = finished(plan.record(p), plan.key(p), targets) if skip_existing else "not resuming"
        if why is None:
            plan.skipped.append(p)
            continue
        plan.todo.append(p)
        if skip_existing and any(t.exists() for t in targets):
            plan.redone.append((p, why))
    if not skip_existing:
        check_writable([t for p in plan.todo for t in plan.targets(p)], overwrite,
                       remedies=[("overwrite", "replace them"),
                                 ("skip_existing", "keep those made with the same settings and segment the "
                                                   "other images")])
    return plan


def _refuse_replacing_inputs(plan: BatchPlan, images: list) -> None:
    """An output (or the summary, or a record) that is one of the inputs: refused before any work."""
    import os

    def real(p):
        return os.path.realpath(p)

    inputs = {real(p): p for p in images if not isinstance(p, NamedImage)}
    if not inputs:
        return
    if real(plan.summary) in inputs:
        raise InputError(f"the summary table {plan.summary} is one of the inputs; choose another summary path")
    for p in images:
        for t in (*plan.targets(p), plan.record(p)):
            if real(t) in inputs:
                raise InputError(f"the output {t} of {p} would replace the input {inputs[real(t)]}; write the "
                                 "outputs into another folder (an output folder without inputs)")


def check_images(plan: BatchPlan, options: Optional[RunOptions] = None) -> None:
    """Read every image's header and plan its run (axes, counts, mode, memory) before the first is segmented.

    Raises
    ------
    InputFileError
        Naming the first image that cannot be read or segmented as asked, and why.
    """
    import warnings

    from .errors import UserError
    from .io.lazy import open_image
    from .pipeline import plan_run

    options = (options or plan.options).replace(out=None, scheduler=None)
    for p in plan.todo:
        img = None
        try:
            if isinstance(p, NamedImage):
                img = p.data
                opts = options.replace(channel_axis=p.channel_axis) if options.axes is None else options
            else:
                img, opts = open_image(p), options  # large TIFFs and zarr stores: their header only
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the run itself warns
                plan_run(img, plan.method, opts, dict(plan.params))
        except FileExistsError:
            raise
        except (ValueError, UserError, MemoryError) as e:
            shape = f" (shape {tuple(img.shape)})" if getattr(img, "shape", None) is not None else ""
            raise InputFileError(p, ValueError(f"{e}{shape}")) from e


def _peak_rss_mb() -> Optional[float]:
    """The peak resident memory of this process so far, in MB (``None`` where unknown)."""
    try:
        import resource
        import sys
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20) if sys.platform == "darwin" else peak / 1024, 1)


@dataclass(frozen=True)
class BatchTask:
    """One image of a batch: what a worker needs to segment it and write its outputs (picklable).

    ``image`` is the path (or the :class:`NamedImage`, segmented in this
    process); ``options`` the run options of every image of the batch.
    """

    image: object
    method: str
    params: dict
    options: RunOptions
    formats: tuple
    targets: tuple
    replace: bool
    record: Optional[str] = None
    key: Optional[dict] = None


def segment_file(task: BatchTask, progress=None, cancel_check=None) -> dict:
    """Segment one image file and write its outputs: what a batch worker runs.

    ``progress`` and ``cancel_check`` are used in this process only (as
    :func:`~napari_deepsuperpixel.segment_result`'s). Returns the image's summary row.

    Raises
    ------
    InputFileError
        The image could not be read or segmented (a ``ValueError`` naming the file and why).
    """
    from . import segment_result
    from .io.lazy import open_image

    path = task.image
    options = task.options
    direct = _direct_zarr(task)
    t0 = time.perf_counter()
    try:
        if isinstance(path, NamedImage):
            img = path.data
            options = options.replace(channel_axis=path.channel_axis) if options.axes is None else options
        else:
            img = open_image(path)
            if options.axes is None and options.channel_axis == "auto":
                from .io.files import file_axes

                stated = file_axes(path)  # an OME or ImageJ TIFF names its axes: CZYX is not TZYX
                if stated is not None and len(stated) == len(np.shape(img)):
                    options = options.replace(axes=stated)
        if options.axes:  # the writers get the image in the labels' axis order (T Z Y X, then C)
            from .io.axes import to_canonical

            img, axes = to_canonical(np.asarray(img), options.axes)
            options = options.replace(axes=axes)
        res = segment_result(img, task.method, options=options.replace(out=direct), progress=progress,
                             cancel_check=cancel_check, **task.params)
        seconds = time.perf_counter() - t0
        if task.record is not None and Path(task.record).exists():  # the old record goes before its outputs
            Path(task.record).unlink()
        for fmt, target in zip(task.formats, task.targets):
            if fmt != "zarr":
                OUTPUTS[fmt][1](target, img, res.labels, task.replace, options.axes)
        if direct is not None and "zarr" in task.formats:  # the store written by the run takes its place last
            atomic_write_dir(task.targets[task.formats.index("zarr")], lambda tmp: direct.rename(tmp))
    except (ValueError, FloatingPointError) as e:  # the input's fault (a TypeError is a bug: not wrapped)
        raise InputFileError(path, e) from e
    finally:
        if direct is not None and direct.exists():
            import shutil

            shutil.rmtree(direct, ignore_errors=True)
    row = {"image": str(path), "method": task.method, "params": json.dumps(task.params, sort_keys=True),
           "segments": res.extras.get("n_segments") or res.n_segments, "seconds": round(seconds, 3),
           "peak_rss_mb": _peak_rss_mb(), "tiled": bool(res.extras.get("blocks")),
           "outputs": ";".join(Path(t).name for t in task.targets)}
    if task.record is not None:  # last: the record says the outputs are complete
        from .io.records import write_record

        write_record(task.record, task.key, task.targets, row)
    return row


def _run_task(task: BatchTask) -> dict:
    """:func:`segment_file` in a worker process or on a cluster (no progress, no cancel)."""
    return segment_file(task)


def write_summary(path, rows) -> Path:
    """Update the summary table with ``rows`` by (image, method), atomically; other rows stay
    (:func:`~napari_deepsuperpixel.io.records.merge_summary`)."""
    return merge_summary(path, rows)


def run_batch(plan: BatchPlan, *, options: Optional[RunOptions] = None, workers: Optional[int] = 1,
              scheduler=None, progress: Optional[Callable] = None, image_progress: Optional[Callable] = None,
              cancel_check: Optional[Callable] = None, on_result: Optional[Callable] = None) -> list:
    """Segment the images of a :func:`plan_batch` plan and write their outputs and the summary.

    Parameters
    ----------
    plan : BatchPlan
    options : RunOptions, optional
        The run options of every image (default the plan's: give them to
        :func:`plan_batch`, which keys the outputs by them). Its
        ``scheduler`` and ``out`` must stay unset: the batch chooses them.
    workers : int, optional
        Local worker processes (1: this process; ``None``: the number of CPUs).
    scheduler : str or distributed.Client, optional
        A Dask distributed scheduler address (``tcp://host:8786``) or client;
        the images are then segmented on its workers (``workers`` is ignored).
        A TIFF or zarr image that runs in blocks (``block_size``) is run from
        this process instead, its blocks on the workers (they must share the
        output folder: the labels go through a zarr store there).
    progress : callable, optional
        ``progress(done, total, image_name)`` after every finished image.
    image_progress : callable, optional
        ``image_progress(path)`` returns the progress callback of one image's
        run (or ``None``); used in this process only (``workers=1``).
    cancel_check : callable, optional
        Returns True to stop: checked between images (and inside each run when
        ``workers=1``); raises :class:`~napari_deepsuperpixel.Cancelled`.
    on_result : callable, optional
        ``on_result(row)`` for every finished image.

    Returns
    -------
    list of dict
        The summary rows of this run's images, in the order they finished.
    """
    from ._types import Cancelled
    from .parallel import SerialExecutor, completed, executor_for

    if options is not None and options != plan.options:
        if plan.skipped:
            raise InputError("run_batch got other run options than plan_batch, which chose the images to skip "
                             "by them: give the options to plan_batch(options=...)")
        import dataclasses

        plan = dataclasses.replace(plan, options=options)
    options = plan.options
    if options.scheduler is not None or options.out is not None:
        raise InputError("a batch chooses where each image's labels go and where its blocks run: give the "
                         "scheduler to run_batch(scheduler=...), and leave options.out and options.scheduler unset")
    check_images(plan)  # every image, before the first is segmented
    new = []
    total = len(plan.todo)
    write_summary(plan.summary, records_in(plan.outdir))  # rebuilt from the records (a killed batch's too)

    if not total:
        return new

    def task(p, opts=options) -> BatchTask:
        return BatchTask(p, plan.method, plan.params, opts, tuple(plan.formats),
                         tuple(str(x) for x in plan.targets(p)), plan.replace, str(plan.record(p)), plan.key(p))

    def progress_of(p):
        return image_progress(p) if image_progress is not None else None

    if any(isinstance(p, NamedImage) for p in plan.todo):
        workers, scheduler = 1, None  # images in memory are segmented in this process
    # on a cluster, an image that runs in blocks is run from here and its blocks go to the workers
    plain_2d = not options.axes and options.slices
    blocks_here = [p for p in plan.todo if scheduler is not None and plain_2d
                   and _runs_in_blocks(p, plan.method, plan.params, options.block_size)]
    whole = [p for p in plan.todo if p not in blocks_here]

    def here(p):
        t = task(p, options.replace(scheduler=scheduler))
        return p, SerialExecutor().submit(segment_file, t, progress_of(p), cancel_check)

    with executor_for(len(whole), workers, scheduler) as executor:
        if isinstance(executor, SerialExecutor):  # in this process: progress and Cancel inside each run
            runs = ((p, executor.submit(segment_file, task(p), progress_of(p), cancel_check)) for p in whole)
        else:
            runs = completed(executor, _run_task, whole, task)
        for done, (p, fut) in enumerate(itertools.chain(runs, (here(p) for p in blocks_here)), 1):
            row = fut.result()  # a failure stops the batch; what finished stays written and summarised
            new.append(row)
            write_summary(plan.summary, [row])
            if on_result is not None:
                on_result(row)
            if progress is not None:
                progress(done, total, getattr(p, "name", str(p)))
            if cancel_check is not None and cancel_check() and done < total:
                raise Cancelled(f"batch cancelled after {done} of {total} image(s)")
    return new
