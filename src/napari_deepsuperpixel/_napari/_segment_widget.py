"""The "Superpixels & segmentation" dock widget: one method picker, a generated parameter panel.

No algorithm code here: the widget builds a :class:`~._workers.SegmentJob`,
runs :func:`~._workers.run_segment_job` in a napari ``thread_worker`` and adds
what comes back as layers.
"""

from __future__ import annotations

import threading

from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    Label,
    ProgressBar,
    PushButton,
    Select,
    SpinBox,
)
from superqt.utils import ensure_main_thread

from ._axes import VolumeOptions
from ._param_panel import ParamPanel
from ._presets import PRESETS, has_granularity, preset_values


class SegmentWidget(Container):
    """Run any registered method on an Image layer (or several layers as channels).

    Parameters
    ----------
    napari_viewer : napari.Viewer
        Injected by napari.

    Notes
    -----
    * The result is a Labels layer named ``"<image> <method>"`` with the input
      layer's ``scale`` and ``translate``; running again replaces it unless
      *keep previous results* is ticked. Its ``features`` hold area, centroid
      and mean raw intensity per segment.
    * A stack (ZYX or TYX) runs slice by slice with per-slice progress; tick
      *only the displayed slice* to segment the slice the viewer shows.
      *axes* names the layer's axes (from RGB, its axis labels, or a guess
      shown in the status line); *mode* "3D volume" makes supervoxels with
      the methods that can (per-iteration progress), with the layer's
      ``scale`` as voxel size; *match labels through time* keeps labels of a
      time-lapse by overlap.
    * A multiscale (pyramid) layer is segmented at full resolution (level 0).
    * An RGB layer is colour. napari opens a multichannel file with
      ``channel_axis`` as one layer per channel: tick *use several layers as
      channels* and select them to segment them together.
    """

    def __init__(self, napari_viewer):
        from ..io.prepare import NORMALIZE_CHOICES
        from ..nn.device import available_devices

        super().__init__(labels=False)  # the inputs (self.body) carry the labels
        self.viewer = napari_viewer
        self._worker = None
        self._cancel_event = threading.Event()
        self._remembered: dict = {}  # method -> parameter values the user set this session
        self._preset_note = ""

        choices = self._method_choices()
        if not choices:
            raise RuntimeError(f"no usable method is registered: {self.unavailable}")
        names = [name for _, name in choices]
        self.method = ComboBox(label="method", choices=self._method_choices,
                               value="slic" if "slic" in names else names[0],
                               tooltip="The algorithm; its parameters appear below")
        self.docs_button = PushButton(text="Method docs", tooltip="Open the selected method's page "
                                      "(paper, parameters, when to use it) in the browser")
        self.defaults_button = PushButton(text="Restore defaults", tooltip="Set every field back to its default")
        self.help_row = Container(layout="horizontal", labels=False,
                                  widgets=[self.docs_button, self.defaults_button])
        self.help_row.margins = (0, 0, 0, 0)
        self.about = Label(label="")
        self.image = ComboBox(label="image", choices=self._image_layers,
                              tooltip="Image layer to segment (RGB, grayscale, 16-bit, stacks)")
        self.as_channels = CheckBox(text="use several layers as channels", value=False,
                                    tooltip="For a multichannel image opened with channel_axis "
                                            "(one layer per channel): select the channel layers")
        self.channels = Select(label="channels", choices=self._image_layers, visible=False)
        self.slice_only = CheckBox(text="only the displayed slice", value=False,
                                   tooltip="For a stack: segment only the slice shown in the viewer")
        self.volume = VolumeOptions()  # axes, 2D per slice / 3D volume, match labels through time
        self.preset = ComboBox(label="granularity", choices=list(PRESETS),
                               tooltip="default: the method's defaults; coarse/fine: fewer/more segments")
        self.params = ParamPanel(label="")
        self.advanced = CheckBox(text="show advanced parameters", value=False)
        self.seed = SpinBox(label="seed", value=0, min=0, max=2**31 - 1,
                            tooltip="Random seed; the same seed gives the same result on this machine "
                                    "(deep methods: also with the same number of CPU threads)")
        self.device = ComboBox(label="device", choices=["auto", *available_devices()],
                               tooltip="Where deep methods run ('auto': GPU if available); "
                                       "classical methods always run on the CPU")
        self.normalize = ComboBox(label="normalize", choices=list(NORMALIZE_CHOICES),
                                  tooltip="auto: uint8 by dtype, anything else by 1-99.8 percentiles")
        self.keep = CheckBox(text="keep previous results", value=False,
                             tooltip="Add a new layer instead of replacing the previous result")
        self.add_extras = CheckBox(text="add extra layers (embedding, contours...)",
                                   value=False, tooltip="When the method provides them: embedding (PCA "
                                   "to RGB), reconstruction, intermediate superpixels, contour strength")
        self.run_button = PushButton(text="Run")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.progress = ProgressBar(label="progress", min=0, max=1, value=0)
        self.status = Label(label="")
        from ._layout import fit_widgets, make_scrollable, scroll_body

        # the inputs scroll; Run, Cancel, progress and status stay visible below them
        self.body = scroll_body([self.method, self.help_row, self.about, self.image, self.as_channels,
                                 self.channels, self.slice_only, self.volume, self.preset, self.params,
                                 self.advanced, self.seed, self.device, self.normalize, self.keep,
                                 self.add_extras])
        self.buttons = Container(layout="horizontal", labels=False, widgets=[self.run_button, self.cancel_button])
        self.buttons.margins = (0, 0, 0, 0)
        self.extend([self.body, self.buttons, self.progress, self.status])
        make_scrollable(self, self.body, min_height=100)

        for lab in (self.about, self.status):
            lab.native.setWordWrap(True)  # long descriptions must not widen the dock
        self.method.changed.connect(self._on_method)
        self.preset.changed.connect(self._on_preset)
        self.advanced.changed.connect(self.params.show_advanced)
        self.as_channels.changed.connect(self._on_as_channels)
        self.image.changed.connect(self._on_image)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.docs_button.clicked.connect(self.open_docs)
        self.defaults_button.clicked.connect(self.restore_defaults)
        self.viewer.layers.events.inserted.connect(self.reset_choices)
        self.viewer.layers.events.removed.connect(self.reset_choices)
        # the image field follows the layer selected in the layer list
        self.viewer.layers.selection.events.active.connect(self._on_active_layer)
        # closing the widget stops a running method instead of leaving it running unseen
        self.native.destroyed.connect(lambda *_: self._cancel_event.set())
        self._on_method(self.method.value)
        fit_widgets(self)
        from ._workers import warm_in_background

        self._warming = warm_in_background("napari_deepsuperpixel.methods.snic:warm_kernels")

    # -- choices and method switching -------------------------------------------------
    def _method_choices(self, _widget=None):
        from .. import list_methods

        out, self.unavailable = [], {}
        for m in list_methods():
            try:
                m.parameters  # imports the parameter class (not the runner)
            except Exception as err:  # a broken optional method must not break the widget
                self.unavailable[m.name] = f"{type(err).__name__}: {err}"
                continue
            out.append((f"{m.name} ({m.kind})", m.name))
        return out

    def _image_layers(self, _widget=None):
        from napari.layers import Image

        return [(layer.name, layer) for layer in self.viewer.layers if isinstance(layer, Image)]

    def _on_method(self, name) -> None:
        from .. import get_method

        info = get_method(name)
        previous = getattr(self, "_current_method", None)
        if previous is not None and previous != name:
            self._remembered[previous] = self.params.values()  # back to it later: same values
        self._current_method = name
        self.about.value = info.description
        self.about.tooltip = info.description
        self.params.set_parameters(info.parameters)
        n_adv = self.params.n_advanced
        self.advanced.text = f"show advanced parameters ({n_adv})"
        self.advanced.visible = n_adv > 0
        self.preset.enabled = has_granularity(info.parameters)
        self.preset.value = "default"
        self.device.enabled = info.uses_torch
        self.params.set_values(self._remembered.get(name, {}))
        self.docs_button.tooltip = f"Open {self.docs_page()} in the browser"
        from ._layout import fit_scroll_width, fit_widgets

        fit_widgets(self.params)
        fit_scroll_width(self)
        self._on_image(self.image.value)

    def docs_page(self) -> str:
        """The documentation address of the selected method (``docs/methods/<method>.md``)."""
        from .. import get_method
        from ._layout import docs_url

        return docs_url(get_method(self.method.value).docs_page)

    def open_docs(self) -> None:
        """Open the selected method's documentation page (the *Method docs* button)."""
        from ._layout import open_url

        open_url(self.docs_page())

    def restore_defaults(self) -> None:
        """Set the parameters and options back to their defaults (the *Restore defaults* button)."""
        self._remembered.pop(self.method.value, None)
        self.preset.value = "default"
        self.params.set_values(self.params.defaults())
        self.seed.value = 0
        self.device.value = "auto"
        self.normalize.value = "auto"
        for box in (self.as_channels, self.slice_only, self.keep, self.add_extras, self.advanced):
            box.value = False
        self.status.value = f"{self.method.value}: defaults restored"

    def _on_active_layer(self, event=None) -> None:
        from napari.layers import Image

        layer = self.viewer.layers.selection.active
        if isinstance(layer, Image) and self._worker is None:
            self.image.reset_choices()
            self.image.value = layer

    def _on_image(self, layer) -> None:
        from .. import get_method

        data = _full_resolution(layer) if layer is not None else None
        self.volume.update(layer, get_method(self.method.value), None if data is None else data.shape)
        if self.volume.note:
            self.status.value = f"⚠ {self.volume.note}"

    def _on_preset(self, preset) -> None:
        from .. import get_method

        self.params.set_values(preset_values(get_method(self.method.value).parameters, preset))

    def _on_as_channels(self, on) -> None:
        self.channels.visible = bool(on)
        self.image.enabled = not on

    # -- running -------------------------------------------------------------------------
    def _input_layers(self) -> list:
        if self.as_channels.value:
            layers = list(self.channels.value)
            if not layers:
                raise ValueError("select the channel layers in 'channels' (or untick 'use several layers')")
            if any(layer.rgb for layer in layers):
                raise ValueError("RGB layers cannot be combined as channels; untick 'use several layers'")
            shapes = {tuple(_full_resolution(layer).shape) for layer in layers}
            if len(shapes) != 1:
                raise ValueError(f"channel layers must have the same shape, got {sorted(shapes)}")
            return layers
        layer = self.image.value
        if layer is None:
            raise ValueError("no Image layer: open an image or add one from File > Open Sample")
        return [layer]

    def make_job(self):
        """Build the :class:`~._workers.SegmentJob` from the current widget values.

        Returns
        -------
        job : SegmentJob
        layer : napari.layers.Image
            The (first) input layer, whose name/scale/translate the result takes.

        Raises
        ------
        ValueError
            With a message saying what to change (no layer, bad parameter...).
        """
        from .. import get_method
        from .._types import build_params
        from ._workers import SegmentJob

        layers = self._input_layers()
        layer = layers[0]
        info = get_method(self.method.value)
        values = self.params.values()
        build_params(info.params_cls, info.name, values)  # validate now, on the GUI thread
        data = _full_resolution(layer)
        n_spatial = data.ndim - (1 if layer.rgb else 0)
        vol = self.volume.values(layer, len(layers))
        index = None
        if self.slice_only.value and n_spatial > 2:
            point = layer.world_to_data(self.viewer.dims.point)
            lead = n_spatial - 2
            index = tuple(int(min(max(round(point[i]), 0), data.shape[i] - 1)) for i in range(lead))
            if vol["axes"][lead:lead + 2] != "YX":
                raise ValueError(f"'only the displayed slice' needs the layer's last axes to be Y, X; its axes are "
                                 f"{vol['axes']!r}: untick it or correct 'axes'")
            vol = {"axes": vol["axes"][lead:], "mode": "slices", "spacing": vol["spacing"][-2:],
                   "match_time": False, "geometry": None}
        job = SegmentJob(datas=[_full_resolution(lay) for lay in layers], rgb=bool(layer.rgb), method=info.name,
                         params=values, seed=int(self.seed.value),
                         device=self.device.value if info.uses_torch else "cpu",
                         normalize=self.normalize.value, index=index, extras=bool(self.add_extras.value), **vol)
        return job, layer

    def run(self):
        """Start the selected method in a worker thread (what the Run button does).

        Returns
        -------
        worker or None
            The started ``FunctionWorker``; ``None`` when the inputs are invalid
            (the status line then says what to change).
        """
        from napari.qt.threading import create_worker

        from .. import get_method
        from ..methods._presets import chosen_preset
        from ._workers import Eta, ProgressThrottle, run_segment_job, start_worker

        if self._worker is not None:
            return None
        try:
            job, layer = self.make_job()
            preset = chosen_preset(job.method, job.params, job.device)
        except ValueError as err:
            self.status.value = f"⚠ {err}"
            return None
        self._cancel_event = threading.Event()
        self._eta, self._warned_long = Eta(), False
        self._preset_note = f" (preset {preset})" if preset else ""
        if job.mode != "slices" and get_method(job.method).uses_torch:  # a 3D deep run: say what it needs
            from ._axes import memory_note

            self._preset_note += memory_note(get_method(job.method), job)
        # busy (indeterminate) until the method reports its first step, then determinate
        self.progress.value, self.progress.max = 0, 0
        self.status.value = f"running {job.method}{self._preset_note}..."
        worker = create_worker(run_segment_job, job, progress=ProgressThrottle(self._on_progress),
                               cancel_check=self._cancel_event.is_set, _start_thread=False,
                               _ignore_errors=True)
        return start_worker(self, worker, on_returned=lambda out: self._on_returned(out, job, layer),
                            on_errored=self._on_errored, start_button=self.run_button,
                            cancel_button=self.cancel_button)

    def cancel(self) -> None:
        """Ask the running method to stop at its next progress report.

        Deep methods stop within a fraction of a second. A method inside one
        long call that cannot be interrupted (e.g. a scikit-image function)
        runs on in the background; after 1 s without an answer the status says
        so, and its result is discarded when it returns (no layer is added).
        """
        if self._worker is not None:
            self._cancel_event.set()
            self.status.value = "cancelling..."
            from qtpy.QtCore import QTimer

            QTimer.singleShot(1000, self._cancel_pending)

    def _cancel_pending(self) -> None:
        if self._worker is not None and self._cancel_event.is_set():
            self.status.value = (f"cancelled: {self.method.value} is inside a call that cannot be interrupted; "
                                 "it finishes in the background and its result is discarded")

    @property
    def running(self) -> bool:
        """Whether a run is in progress."""
        return self._worker is not None

    @ensure_main_thread
    def _on_progress(self, ev) -> None:
        if self._worker is None:
            return
        self.progress.max = max(int(ev.total), 1)
        self.progress.value = min(int(ev.step), self.progress.max)
        bits = [ev.stage] if ev.stage else []
        if "n_slices" in ev.info:
            bits.append(f"slice {ev.info.get('slice', 0) + 1}/{ev.info['n_slices']}")
        if "n_frames" in ev.info:
            bits.append(f"frame {ev.info.get('frame', 0) + 1}/{ev.info['n_frames']}")
        if "loss" in ev.info:
            bits.append(f"loss {float(ev.info['loss']):.4g}")
        eta = self._eta.update(ev)
        if eta is not None:
            from ._workers import format_seconds

            left, whole = eta
            bits.append(f"about {format_seconds(left)} left")
            if whole > 30 and not self._warned_long:  # say it once, early, for a long run
                self._warned_long = True
                from napari.utils.notifications import show_info

                show_info(f"{self.method.value}{self._preset_note}: estimated {format_seconds(whole)} "
                          f"for this run; Cancel stops it")
        if not self._cancel_event.is_set():
            self.status.value = f"{ev.step}/{ev.total} " + ", ".join(bits)

    def _on_returned(self, out, job, layer) -> None:
        from ._layers import add_result_layers

        if self._cancel_event.is_set():  # cancelled while in an uninterruptible call
            self.progress.max, self.progress.value = 1, 0
            self.status.value = "cancelled (the result was discarded)"
            return

        labels_layer = add_result_layers(self.viewer, out, job, layer, keep=bool(self.keep.value))
        self.progress.max = max(self.progress.max, 1)
        self.progress.value = self.progress.max
        self.status.value = (f"{labels_layer.name}: {len(out['features']['label'])} segments "
                             f"in {out['seconds']:.1f} s{self._preset_note}")

    def _on_errored(self, err) -> None:
        from ._workers import show_failure

        show_failure(self, err, notify="Segmentation failed")


def _full_resolution(layer):
    """The layer's data; level 0 (full resolution) of a multiscale pyramid."""
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data
