"""The "Superpixels & segmentation" dock widget: one method picker, a generated parameter panel.

No algorithm code here: the widget builds a :class:`~._workers.SegmentJob`,
runs :func:`~._workers.run_segment_job` in a napari ``thread_worker`` and adds
what comes back as layers.
"""

from __future__ import annotations

from magicgui.widgets import CheckBox, ComboBox, Label, ProgressBar, Select, SpinBox
from superqt.utils import ensure_main_thread

from ._axes import VolumeOptions
from ._detail import DETAIL_LEVELS, detail_values, has_detail_levels
from ._dock import Dock, row, usable_methods


class SegmentWidget(Dock):
    """Run any registered method on an Image layer (or several layers as channels).

    A :class:`~._dock.Dock` (``napari_viewer`` injected by napari).

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
    * *detail* (default / coarse / fine) scales the method's count and
      scale parameters (:mod:`._detail`).
    * A multiscale (pyramid) layer is segmented at full resolution (level 0).
    * An RGB layer is colour. napari opens a multichannel file with
      ``channel_axis`` as one layer per channel: tick *use several layers as
      channels* and select them to segment them together.
    * Fields left to the method show the value the run will use (the
      preset's, :mod:`._param_panel`); the weights of SEN and SuperAE name the
      set in use, for a single-channel image the one measured better on
      microscopy (:mod:`._weights`).
    * Shortcuts: :data:`RUN_KEYS` runs, :data:`CONTOUR_KEYS` draws the selected
      (or newest) result as contours or filled. A 3D result is drawn
      translucent in the 3D view (:func:`~._layers.follow_ndisplay`).
    """

    #: keyboard shortcut of Run
    RUN_KEYS = "Ctrl+Shift+R"
    #: keyboard shortcut of *Contours* (the selected or newest result: contours <-> filled)
    CONTOUR_KEYS = "Ctrl+Shift+B"

    def __init__(self, napari_viewer):
        from .. import list_methods
        from ..io.prepare import NORMALIZE_CHOICES
        from ..nn.device import available_devices

        # the inputs (self.body) carry the labels; the methods that declare a warm-up (SNIC's
        # numba kernels) compile as the dock opens
        super().__init__(napari_viewer, warm=[m.warm for m in list_methods() if m.warm_ref is not None])
        self._remembered: dict = {}  # method -> parameter values the user set this session
        self._run_note = ""  # the method's chosen preset and memory estimate, said while it runs
        self.unavailable: dict = {}
        choices = usable_methods(self.unavailable)
        if not choices:
            raise RuntimeError(f"no usable method is registered: {self.unavailable}")
        names = [name for _, name in choices]
        self.method = ComboBox(label="method", choices=self._method_choices,
                               value="slic" if "slic" in names else names[0],
                               tooltip="The algorithm; its parameters appear below")
        help_row = self.help_row("Method docs", "Open the selected method's page (paper, parameters, when to "
                                 "use it) in the browser")
        self.about = Label(label="")
        self.about.native.setWordWrap(True)  # long descriptions must not widen the dock
        self.image = ComboBox(label="image", choices=self.image_layers,
                              tooltip="Image layer to segment (RGB, grayscale, 16-bit, stacks)")
        self.as_channels = self.watch(CheckBox(text="use several layers as channels", value=False,
                                               tooltip="For a multichannel image opened with channel_axis "
                                                       "(one layer per channel): select the channel layers"),
                                      self._on_as_channels)
        self.channels = self.watch(Select(label="channels", choices=self.image_layers, visible=False,
                                          tooltip="The channel layers to segment together (same shape; "
                                                  "ctrl/shift-click for several)"),
                                   lambda *_: self._on_image(self.image.value))
        self.slice_only = CheckBox(text="only the displayed slice", value=False,
                                   tooltip="For a stack: segment only the slice shown in the viewer")
        self.volume = VolumeOptions()  # axes, 2D per slice / 3D volume, match labels through time
        self.detail = self.watch(ComboBox(label="detail", choices=list(DETAIL_LEVELS),
                                          tooltip="default: the method's defaults; coarse/fine: fewer/more "
                                                  "segments (scales its count and size parameters)"),
                                 self._on_detail)
        panel = self.param_panel()
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
        self.run_button = self.button("Run", self.run, tooltip="Run the method on the image in the background")
        self.cancel_button = self.button("Cancel", self.cancel, enabled=False,
                                         tooltip="Stop the run at its next iteration (no layer is added)")
        self.contours_button = self.button("Contours", self.toggle_contours,
                                           tooltip="Draw the selected (or newest) result as contours / filled")
        self.progress = ProgressBar(label="progress", min=0, max=1, value=0)
        self.status = Label(label="")
        self.shortcut(self.RUN_KEYS, self.run, self.run_button)
        self.shortcut(self.CONTOUR_KEYS, self.toggle_contours, self.contours_button)
        # the inputs scroll; Run, Cancel, progress and status stay visible below them
        self.lay_out([self.method, help_row, self.about, self.image, self.as_channels, self.channels,
                      self.slice_only, self.volume, self.detail, *panel, self.seed, self.device, self.normalize,
                      self.keep, self.add_extras],
                     [row(self.run_button, self.cancel_button, self.contours_button), self.progress, self.status],
                     min_height=100)
        self.method.changed.connect(self._on_method)
        self.image.changed.connect(self._on_image)
        self.device.changed.connect(self._on_device)
        from ._layers import follow_ndisplay

        follow_ndisplay(self.viewer)  # result volumes readable in the 3D view
        self.follow_layers()
        # the image field follows the layer selected in the layer list
        self.viewer.layers.selection.events.active.connect(self._on_active_layer)
        self.stop_on_close()
        self._on_method(self.method.value)
        from ._layout import fit_widgets

        fit_widgets(self)

    # -- choices and method switching -------------------------------------------------
    def _method_choices(self, _widget=None):
        self.unavailable = {}
        return usable_methods(self.unavailable)

    def _on_method(self, name) -> None:
        from .. import get_method
        from ..methods._presets import presets_of

        info = get_method(name)
        previous = getattr(self, "_current_method", None)
        if previous is not None and previous != name:
            self._remembered[previous] = self.params.values()  # back to it later: same values
        self._current_method = name
        self.about.value = info.description
        self.about.tooltip = info.description
        self.params.device = self.device.value if info.uses_torch else "cpu"
        self.show_parameters(info.parameters, presets_of(info.params_cls))
        self.detail.enabled = has_detail_levels(info.parameters)
        self.detail.value = "default"
        self.device.enabled = info.uses_torch
        self.params.set_values(self._remembered.get(name, {}))
        self.docs_button.tooltip = f"Open {self.docs_page()} in the browser"
        self._on_image(self.image.value)

    def docs_page(self) -> str:
        """The documentation address of the selected method (``docs/methods/<method>.md``)."""
        from .. import get_method
        from ._layout import docs_url

        return docs_url(get_method(self.method.value).docs_page)

    def restore_defaults(self) -> None:
        """Set the parameters and options back to their defaults (the *Restore defaults* button)."""
        self._remembered.pop(self.method.value, None)
        self.detail.value = "default"
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
        if isinstance(layer, Image) and not self.running:
            self.image.reset_choices()
            self.image.value = layer

    def _on_image(self, layer) -> None:
        from .. import get_method
        from ._weights import auto_weights

        info = get_method(self.method.value)
        data = _full_resolution(layer) if layer is not None else None
        self.volume.update(layer, info, None if data is None else data.shape)
        single = layer is not None and not layer.rgb and not (self.as_channels.value and len(self.channels.value) > 1)
        self.params.auto_choices = auto_weights(info, single)
        self.params.refresh_auto()
        if self.volume.note:
            self.warn(self.volume.note)

    def _on_device(self, device) -> None:
        from .. import get_method

        self.params.device = device if get_method(self.method.value).uses_torch else "cpu"
        self.params.refresh_auto()

    def toggle_contours(self):
        """Draw the selected result (else the newest one the plugin made) as contours, or filled again.

        Returns
        -------
        napari.layers.Labels or None
            The layer changed; ``None`` when there is no result (the status says so).
        """
        from napari.layers import Labels

        from ._layers import newest

        layer = self.viewer.layers.selection.active
        if not isinstance(layer, Labels):
            layer = newest(list(self.viewer.layers))
        if layer is None:
            self.status.value = "no result to draw as contours: run a method first"
            return None
        layer.contour = 0 if layer.contour else 1
        self.status.value = f"{layer.name}: {'contours' if layer.contour else 'filled'}"
        return layer

    def _on_detail(self, level) -> None:
        from .. import get_method

        self.params.set_values(detail_values(get_method(self.method.value).parameters, level))

    def _on_as_channels(self, on) -> None:
        self.channels.visible = bool(on)
        self.image.enabled = not on
        self._on_image(self.image.value)

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
        values = self.params.run_values()  # an automatic weight set chosen for this image, named
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
            The started ``FunctionWorker``; ``None`` while a run is in progress
            or when the inputs are invalid (the status line then says what to change).
        """
        from .. import get_method
        from ..methods._presets import chosen_preset
        from ._workers import Eta, ProgressThrottle, run_segment_job

        def prepare():
            job, layer = self.make_job()
            return job, layer, chosen_preset(job.method, job.params, job.device)

        ready = self.ready(prepare)
        if ready is None:
            return None
        job, layer, preset = ready
        self._eta, self._warned_long = Eta(), False
        self._run_note = f" (preset {preset})" if preset else ""
        if job.mode != "slices" and get_method(job.method).uses_torch:  # a 3D deep run: say what it needs
            from ._axes import memory_note

            self._run_note += memory_note(get_method(job.method), job)
        # busy (indeterminate) until the method reports its first step, then determinate
        self.progress.value, self.progress.max = 0, 0
        self.status.value = f"running {job.method}{self._run_note}..."
        return self.start(run_segment_job, job, progress=ProgressThrottle(self._on_progress),
                          on_returned=lambda out: self._on_returned(out, job, layer), on_errored=self._on_errored,
                          button=self.run_button, cancel_button=self.cancel_button)

    def cancel(self) -> None:
        """Ask the running method to stop at its next progress report.

        Deep methods stop within a fraction of a second. A method inside one
        long call that cannot be interrupted (e.g. a scikit-image function)
        runs on in the background; after 1 s without an answer the status says
        so, and its result is discarded when it returns (no layer is added).
        """
        if self.request_cancel():
            from qtpy.QtCore import QTimer

            QTimer.singleShot(1000, self._cancel_pending)

    def _cancel_pending(self) -> None:
        if self.running and self.cancelled:
            self.status.value = (f"cancelled: {self.method.value} is inside a call that cannot be interrupted; "
                                 "it finishes in the background and its result is discarded")

    @ensure_main_thread
    def _on_progress(self, ev) -> None:
        if not self.running:
            return
        bits = [ev.stage] if ev.stage else []
        if "n_slices" in ev.info:
            bits.append(f"slice {ev.info.get('slice', 0) + 1}/{ev.info['n_slices']}")
        if "n_frames" in ev.info:
            bits.append(f"frame {ev.info.get('frame', 0) + 1}/{ev.info['n_frames']}")
        if "loss" in ev.info:
            bits.append(f"loss {float(ev.info['loss']):.4g}")
        eta = self._eta.update(ev)
        if eta is not None:
            from ._workers import eta_words, format_seconds

            left, whole = eta
            bits.append(eta_words(self._eta, left))
            if whole > 30 and not self._warned_long:  # say it once, early, for a long run
                self._warned_long = True
                from napari.utils.notifications import show_info

                how = "up to" if self._eta.is_upper_bound else "estimated"
                show_info(f"{self.method.value}{self._run_note}: {how} {format_seconds(whole)} "
                          f"for this run; Cancel stops it")
        self.show_progress(ev, f"{ev.step}/{ev.total} " + ", ".join(bits))

    def _on_returned(self, out, job, layer) -> None:
        from ._layers import add_result_layers

        if self.cancelled:  # cancelled while in an uninterruptible call
            self.progress.max, self.progress.value = 1, 0
            self.status.value = "cancelled (the result was discarded)"
            return

        labels_layer = add_result_layers(self.viewer, out, job, layer, keep=bool(self.keep.value))
        self.progress_done()
        self.status.value = (f"{labels_layer.name}: {len(out['features']['label'])} segments "
                             f"in {out['seconds']:.1f} s{self._run_note}")

    def _on_errored(self, err) -> None:
        self.show_failure(err, notify="Segmentation failed")


def _full_resolution(layer):
    """The layer's data; level 0 (full resolution) of a multiscale pyramid."""
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data
