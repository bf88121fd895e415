"""The work a widget hands to a ``thread_worker``: napari-free, so it is testable alone.

:func:`run_segment_job` turns layer data into an image, calls
:func:`napari_deepsuperpixel.segment_result` and prepares everything the GUI
thread only has to add as layers (labels, per-segment features, extra layers).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np


@dataclass
class SegmentJob:
    """Everything one segmentation run needs (built on the GUI thread, run on a worker).

    Attributes
    ----------
    datas : list
        Layer data arrays (possibly lazy, e.g. dask); several = channels.
    rgb : bool
        Whether the single layer is RGB(A) (its last axis holds colour).
    method, params, seed, device, normalize
        Passed to :func:`~napari_deepsuperpixel.segment_result`.
    index : tuple of int, optional
        Leading indices selecting the displayed 2D slice, or ``None`` for all data.
    extras : bool
        Whether to prepare extra layers (embedding, reconstruction, contours).
    axes : str, optional
        The axes of the (indexed) layer data, e.g. ``"ZYX"``, ``"YXC"``
        (without the ``C`` of several layers stacked as channels); ``None``:
        guessed as :func:`~napari_deepsuperpixel.segment` does.
    mode, spacing, match_time
        Passed to :func:`~napari_deepsuperpixel.segment_result`.
    geometry : dict, optional
        ``scale``/``translate`` of the result; ``None``: the layer's last axes.
    """

    datas: list
    rgb: bool
    method: str
    params: dict = field(default_factory=dict)
    seed: int = 0
    device: str = "auto"
    normalize: str = "auto"
    index: Optional[tuple] = None
    extras: bool = False
    axes: Optional[str] = None
    mode: str = "slices"
    spacing: Optional[tuple] = None
    match_time: bool = False
    geometry: Optional[dict] = None


def job_image(job: SegmentJob) -> tuple[np.ndarray, Optional[int]]:
    """Materialise the job's image and its channel axis.

    Parameters
    ----------
    job : SegmentJob

    Returns
    -------
    image : numpy.ndarray
        Spatial axes first, channels (if any) last.
    channel_axis : int or None
        ``-1`` for RGB or several layers, else ``None``.

    Raises
    ------
    ValueError
        If several layers differ in shape or are RGB.
    """
    from ..io.lazy import is_lazy

    arrays = []
    for d in job.datas:
        a = d[job.index] if job.index else d
        # one lazy (dask, zarr) layer stays lazy: a large image is then read block by block
        arrays.append(a if len(job.datas) == 1 and is_lazy(a) else np.asarray(a))
    if len(arrays) == 1:
        return arrays[0], (-1 if job.rgb else None)
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"layers used as channels must have the same shape, got {sorted(shapes)}")
    return np.stack(arrays, axis=-1), -1


def run_segment_job(job: SegmentJob, progress: Optional[Callable] = None,
                    cancel_check: Optional[Callable[[], bool]] = None) -> dict:
    """Run one segmentation (call it from a worker thread).

    Parameters
    ----------
    job : SegmentJob
    progress : callable, optional
        Receives :class:`~napari_deepsuperpixel.ProgressEvent` objects.
    cancel_check : callable, optional
        Returns True to stop; the run then raises
        :class:`~napari_deepsuperpixel.Cancelled`.

    Returns
    -------
    dict
        ``labels`` (int32), ``features`` (per-segment table, mean intensity
        of the raw image), ``layers`` (extra layer data tuples), ``seconds``
        and ``result`` (the :class:`~napari_deepsuperpixel.Result`).
    """
    from .. import segment_result
    from ..io.tables import segment_table
    from ._extras import extras_to_layers

    t0 = time.perf_counter()
    image, cax = job_image(job)
    axes = None
    if job.axes is not None:
        from ..io.axes import to_canonical

        # T Z Y X C order, so that the raw image lines up with the labels for the features
        image, axes = to_canonical(image, job.axes + ("C" if len(job.datas) > 1 else ""))
        cax = -1 if "C" in axes else None
    store = _result_store(image, cax) if job.mode == "slices" else None
    res = segment_result(image, job.method, seed=job.seed, device=job.device, progress=progress,
                         cancel_check=cancel_check, channel_axis="auto" if axes else cax, normalize=job.normalize,
                         axes=axes, mode=job.mode, spacing=job.spacing, match_time=job.match_time, out=store,
                         **job.params)
    if store is not None:  # a large result: a dask-backed (multiscale) Labels layer read from zarr
        from ..io.lazy import labels_pyramid

        levels = labels_pyramid(store)
        n = int(res.extras.get("n_segments") or 0) or int(levels[-1].max().compute())
        return {"labels": levels if len(levels) > 1 else levels[0], "features": {"label": np.arange(1, n + 1)},
                "layers": [], "result": res, "seconds": time.perf_counter() - t0}
    labels = np.asarray(res.labels, np.int32)
    raw = image if cax is not None or image.shape == labels.shape else None
    features = segment_table(labels, raw)
    layers = extras_to_layers(res.extras) if job.extras else []
    return {"labels": labels, "features": features, "layers": layers, "result": res,
            "seconds": time.perf_counter() - t0}


def _result_store(image, cax):
    """A new zarr path in the temporary folder for the labels of a lazy image above ``tiled.ZARR_PIXELS``."""
    from ..io.lazy import is_lazy
    from ..tiled import ZARR_PIXELS

    if not is_lazy(image):
        return None
    shape = [s for i, s in enumerate(np.shape(image)) if cax is None or i != cax % np.ndim(image)]
    if len(shape) != 2 or shape[0] * shape[1] <= ZARR_PIXELS:
        return None
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp(prefix="deepsuperpixel-labels-")) / "labels.zarr"


class ProgressThrottle:
    """Forward progress events at most every ``interval`` seconds (plus the last one).

    Methods may report thousands of steps; the GUI needs a few per second.

    Parameters
    ----------
    callback : callable
        Receives the forwarded :class:`~napari_deepsuperpixel.ProgressEvent`.
    interval : float
        Minimum seconds between forwarded events.
    """

    def __init__(self, callback: Callable[[Any], None], interval: float = 0.05):
        self.callback = callback
        self.interval = interval
        self._last = -np.inf

    def __call__(self, ev) -> None:
        now = time.monotonic()
        if ev.step >= ev.total or now - self._last >= self.interval:
            self._last = now
            self.callback(ev)


class Eta:
    """Time left of a run, estimated from its progress events (napari-free, for the widgets).

    The rate is measured within one stage (a stage or total change restarts
    the estimate), after at least ``min_steps`` steps and ``min_seconds``.

    A method whose own stop rule can end it before ``total`` (backprop's label
    count, a convergence test) reports its forecast of the step it will stop
    at as ``info["expected_total"]``: the estimate then counts to that step
    (never past ``total``), and :attr:`upper` keeps the time left if the run
    goes on to ``total`` (``None`` while unknown). Without the forecast a run
    that stops at a fifth of ``total`` was estimated at five times its length.
    """

    def __init__(self, min_steps: int = 2, min_seconds: float = 1.0, clock=time.monotonic):
        self.min_steps, self.min_seconds, self.clock = min_steps, min_seconds, clock
        self._key = None
        self._t0 = self._s0 = 0
        #: seconds left if the run does not stop before ``total`` (``None`` while unknown)
        self.upper: Optional[float] = None
        #: the run has a stop rule and no forecast of it: the estimate is an upper bound
        self.is_upper_bound = False

    def update(self, ev) -> Optional[tuple]:
        """``(seconds left, estimated seconds for the whole stage)`` or ``None`` while unknown."""
        now = self.clock()
        key = (ev.stage.split(":")[0], ev.total)
        if key != self._key:
            self._key, self._t0, self._s0 = key, now, ev.step
            self.upper = None
            return None
        done, elapsed = ev.step - self._s0, now - self._t0
        if done < self.min_steps or elapsed < self.min_seconds or ev.total <= 0:
            return None
        per_step = elapsed / done
        end = ev.total
        forecast = ev.info.get("expected_total") if isinstance(ev.info, dict) else None
        if forecast is not None:
            end = min(max(int(forecast), ev.step), ev.total)
        self.is_upper_bound = forecast is None and bool(ev.info.get("may_stop_early")) \
            if isinstance(ev.info, dict) else False
        self.upper = per_step * max(ev.total - ev.step, 0)
        return per_step * max(end - ev.step, 0), per_step * (end - self._s0) + 0.0


def eta_words(eta: "Eta", left: float) -> str:
    """``"about 12 s left"``, or ``"up to 12 s left"`` for a run whose stop rule may end it sooner."""
    return f"{'up to' if eta.is_upper_bound else 'about'} {format_seconds(left)} left"


def format_seconds(s: float) -> str:
    """``75`` -> ``"1 min 15 s"``; ``3700`` -> ``"1 h 2 min"``."""
    s = int(round(s))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def gui_message(err: BaseException, toggles: Optional[dict] = None) -> str:
    """An error text in a widget's words: the remedies of a user error named by the widget's fields.

    Parameters
    ----------
    err : BaseException
        A :class:`~napari_deepsuperpixel.errors.UserError` carries its remedies
        as options (``overwrite``, ``resume``...), which are rendered here as
        the widget's check boxes; any other error is shown as its text.
    toggles : dict, optional
        ``option -> check box text`` of the widget, e.g.
        ``{"overwrite": "overwrite existing checkpoint"}``; an option the widget
        has no field for is named in plain words.

    Returns
    -------
    str
        E.g. ``"refusing to overwrite existing checkpoint: a.pt; tick 'overwrite existing checkpoint' to replace it"``.
    """
    from ..errors import UserError

    if not isinstance(err, UserError):
        return " ".join(str(err).split()) or type(err).__name__
    labels = toggles or {}
    return err.render(lambda opt: f"tick '{labels[opt]}'" if opt in labels else opt.replace("_", " "))


def warm_in_background(*jobs) -> threading.Thread:
    """Compile numba kernels in a daemon thread, when a widget opens.

    Each job is a zero-argument warm-up (e.g. a method's
    :meth:`~napari_deepsuperpixel.methods.MethodInfo.warm`, or
    :func:`napari_deepsuperpixel.metrics.warm_kernels`), so that a user's first
    click does not wait for compilation. A failure here is not the user's
    problem (the real run reports it), so it is only logged.

    When Python exits (napari closed) while the warm-up runs, no further job
    starts and the exit waits for the one running: a daemon thread stopped
    inside torch or numba during the interpreter's shutdown aborted the
    process ("terminate called without an active exception").
    """
    import atexit

    stop = threading.Event()

    def finish() -> None:  # at exit: let the running job end, start no other
        stop.set()
        thread.join()

    def warm():
        import logging

        try:
            for job in jobs:
                if stop.is_set():
                    return
                try:
                    job()
                except Exception:  # pragma: no cover - environment-specific
                    logging.getLogger(__name__).debug("warming %s failed", job, exc_info=True)
        finally:
            atexit.unregister(finish)

    thread = threading.Thread(target=warm, name="deepsuperpixel-warm-kernels", daemon=True)
    atexit.register(finish)
    thread.start()
    return thread
