"""What every dock of the plugin shares: layer pickers, the docs/defaults row, one run at a time.

:class:`Dock` is the base of the segmentation, annotation, metrics, batch and
training docks. It holds the viewer, offers the layers of a kind as dropdown
choices that follow the layer list, builds the *docs* / *Restore defaults*
row and the parameter panel with its *show advanced parameters* box, and
keeps the state of the dock's background run: :meth:`Dock.start` runs a
function in a napari worker with the start button disabled (and Cancel
enabled) until it ends, :meth:`Dock.request_cancel` asks it to stop, and the
progress bar and status line are updated through :meth:`Dock.show_progress`,
:meth:`Dock.progress_done` and :meth:`Dock.show_failure`.
"""

from __future__ import annotations

import threading
from typing import Callable, Optional

from magicgui.widgets import CheckBox, Container, PushButton

from ._param_panel import ParamPanel


def row(*widgets) -> Container:
    """A horizontal row of widgets without margins (buttons side by side)."""
    box = Container(layout="horizontal", labels=False, widgets=list(widgets))
    box.margins = (0, 0, 0, 0)
    return box


def usable_methods(unavailable: Optional[dict] = None) -> list:
    """Dropdown choices ``("<name> (<kind>)", name)`` of the registered methods whose parameters import.

    Parameters
    ----------
    unavailable : dict, optional
        Filled with ``name -> reason`` for the methods left out (a broken
        optional method must not break a dock).
    """
    from .. import list_methods

    out = []
    for m in list_methods():
        try:
            _ = m.parameters  # imports the parameter class (not the runner)
        except Exception as err:
            if unavailable is not None:
                unavailable[m.name] = f"{type(err).__name__}: {err}"
            continue
        out.append((f"{m.name} ({m.kind})", m.name))
    return out


class Dock(Container):
    """Base of the plugin's dock widgets.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        Injected by napari.
    labels : bool
        Whether the outer container labels its widgets (docks whose inputs
        scroll label them in their body instead).
    warm : sequence, optional
        Zero-argument warm-ups compiling the dock's numba kernels (callables or
        ``"module:function"``), run in a background thread as the dock opens
        (see :attr:`warming`).
    """

    #: the dock's page under ``docs/`` (the *docs* button)
    DOCS_PAGE = "usage.md"
    #: ``option -> check box text``: the remedies of a user error named by the dock's check boxes
    #: (see :func:`~._workers.gui_message`)
    TOGGLES: dict = {}

    def __init__(self, napari_viewer, *, labels: bool = False, warm=()):
        super().__init__(labels=labels)
        self.viewer = napari_viewer
        self._worker = None
        self._cancel_event = threading.Event()
        self._warming = None
        if warm:
            from ._workers import warm_in_background

            self._warming = warm_in_background(*warm)

    # -- building --------------------------------------------------------------------------------
    @staticmethod
    def button(text: str, slot: Callable, **kwargs) -> PushButton:
        """A push button whose click calls ``slot``."""
        b = PushButton(text=text, **kwargs)
        b.clicked.connect(slot)
        return b

    @staticmethod
    def watch(widget, slot: Callable):
        """``widget`` with ``slot`` called on every change of its value (returns the widget)."""
        widget.changed.connect(slot)
        return widget

    def help_row(self, docs_text: str, docs_tooltip: str,
                 defaults_tooltip: str = "Set every field back to its default") -> Container:
        """The *docs* and *Restore defaults* buttons (``docs_button``, ``defaults_button``) in a row."""
        self.docs_button = self.button(docs_text, self.open_docs, tooltip=docs_tooltip)
        self.defaults_button = self.button("Restore defaults", self.restore_defaults, tooltip=defaults_tooltip)
        return row(self.docs_button, self.defaults_button)

    def param_panel(self) -> list:
        """``params`` (a :class:`~._param_panel.ParamPanel`) and its ``advanced`` box, in that order."""
        self.params = ParamPanel(label="")
        self.advanced = self.watch(CheckBox(text="show advanced parameters", value=False,
                                            tooltip="Show the rarely changed parameters too"),
                                   self.params.show_advanced)
        return [self.params, self.advanced]

    def show_parameters(self, parameters, presets=None) -> None:
        """Fill the parameter panel with ``parameters`` (``ParamInfo``); the advanced box says how many it hides.

        ``presets`` (``{preset: {field: value}}``) lets the unticked fields show the preset's value.
        """
        from ._layout import fit_scroll_width, fit_widgets

        self.params.set_parameters(parameters, presets)
        n = self.params.n_advanced
        self.advanced.text = f"show advanced parameters ({n})"
        self.advanced.visible = n > 0
        fit_widgets(self.params)
        fit_scroll_width(self)

    def lay_out(self, inputs: list, footer: list, *, min_height: int, stretch: int = 1) -> None:
        """``inputs`` in a scrolling ``body`` above ``footer`` (buttons, progress, status), which stays visible."""
        from ._layout import make_scrollable, scroll_body

        self.body = scroll_body(inputs)
        self.extend([self.body, *footer])
        make_scrollable(self, self.body, min_height=min_height, stretch=stretch)
        self.status.native.setWordWrap(True)  # long messages must not widen the dock

    def shortcut(self, keys: str, slot: Callable, button=None) -> str:
        """A keyboard shortcut of the dock, active while napari's window (or the floating dock) has focus.

        Parameters
        ----------
        keys : str
            E.g. ``"Ctrl+Shift+R"`` (the key names of ``QKeySequence``).
        slot : callable
            Called when the keys are pressed.
        button : magicgui widget, optional
            Its tooltip gets ``" (<keys>)"`` (the shortcut in the platform's words).

        Returns
        -------
        str
            The shortcut as the platform writes it (``"Ctrl+Shift+R"``, ``"⇧⌘R"``).
        """
        from qtpy.QtCore import Qt
        from qtpy.QtGui import QKeySequence

        try:
            from qtpy.QtGui import QShortcut
        except ImportError:  # Qt5
            from qtpy.QtWidgets import QShortcut

        seq = QKeySequence(keys)
        sc = QShortcut(seq, self.native)
        sc.setContext(Qt.ShortcutContext.WindowShortcut)
        sc.activated.connect(slot)
        if not hasattr(self, "shortcuts"):
            self.shortcuts = {}
        self.shortcuts[keys] = sc
        text = seq.toString(QKeySequence.SequenceFormat.NativeText)
        if button is not None:
            button.tooltip = f"{button.tooltip or ''} ({text})".strip()
        return text

    # -- layers ----------------------------------------------------------------------------------
    def layers_of(self, kind: str, keep: Optional[Callable] = None) -> list:
        """``(name, layer)`` of the viewer's layers of ``kind`` (``"Image"``, ``"Labels"``) that ``keep`` accepts."""
        import napari.layers

        cls = getattr(napari.layers, kind)
        return [(layer.name, layer) for layer in self.viewer.layers
                if isinstance(layer, cls) and (keep is None or keep(layer))]

    def image_layers(self, _widget=None) -> list:
        """Dropdown choices: the Image layers."""
        return self.layers_of("Image")

    def labels_layers(self, _widget=None) -> list:
        """Dropdown choices: the Labels layers."""
        return self.layers_of("Labels")

    def follow_layers(self, on_inserted: Optional[Callable] = None) -> None:
        """Refresh the layer dropdowns whenever a layer is added or removed."""
        self.viewer.layers.events.inserted.connect(on_inserted or self.reset_choices)
        self.viewer.layers.events.removed.connect(self.reset_choices)

    # -- docs and defaults -----------------------------------------------------------------------
    def docs_page(self) -> str:
        """The address of the dock's documentation page."""
        from ._layout import docs_url

        return docs_url(self.DOCS_PAGE)

    def open_docs(self) -> None:
        """Open the documentation page in the browser (the *docs* button)."""
        from ._layout import open_url

        open_url(self.docs_page())

    def restore_defaults(self) -> None:
        """Set the dock's fields back to their defaults (the *Restore defaults* button)."""
        raise NotImplementedError

    # -- the background run ----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether the dock's run is in progress."""
        return self._worker is not None

    @property
    def cancelled(self) -> bool:
        """Whether Cancel was pressed during the current (or last) run."""
        return self._cancel_event.is_set()

    @property
    def warming(self) -> bool:
        """Whether the dock's kernels are still compiling in the background."""
        return self._warming is not None and self._warming.is_alive()

    def ready(self, build: Callable, errors=(ValueError,)):
        """``build()``, or ``None`` while a run is in progress or when it raises ``errors`` (the status says why)."""
        if self.running:
            return None
        try:
            return build()
        except errors as err:
            self.warn(err)
            return None

    def start(self, fn: Callable, *args, on_returned: Callable, on_errored: Callable, button,
              cancel_button=None, **kwargs):
        """Run ``fn(*args, **kwargs)`` in a napari worker; the dock is :attr:`running` until it ends.

        With ``cancel_button``, ``fn`` also receives ``cancel_check`` (true once
        :meth:`request_cancel` was called) and the button is enabled while it
        runs; ``button`` (the start button) is disabled meanwhile.

        Returns
        -------
        FunctionWorker or None
            The started worker; ``None`` while another run is in progress.
        """
        from napari.qt.threading import create_worker

        if self.running:
            return None
        if cancel_button is not None:
            self._cancel_event = threading.Event()
            kwargs["cancel_check"] = self._cancel_event.is_set
        worker = create_worker(fn, *args, _start_thread=False, _ignore_errors=True, **kwargs)

        def finished():
            self._worker = None
            button.enabled = True
            if cancel_button is not None:
                cancel_button.enabled = False

        worker.returned.connect(on_returned)
        worker.errored.connect(on_errored)
        worker.finished.connect(finished)
        self._worker = worker
        button.enabled = False
        if cancel_button is not None:
            cancel_button.enabled = True
        worker.start()
        return worker

    def request_cancel(self, text: str = "cancelling...") -> bool:
        """Ask the running worker to stop at its next progress report; ``False`` when nothing runs."""
        if not self.running:
            return False
        self._cancel_event.set()
        self.status.value = text
        return True

    def stop_on_close(self) -> None:
        """Closing the dock stops its run instead of leaving it running unseen."""
        def stop(*_args):
            event = getattr(self, "_cancel_event", None)  # gone when Python tore the dock down first
            if event is not None:
                event.set()

        self.native.destroyed.connect(stop)

    # -- progress and status ---------------------------------------------------------------------
    def warn(self, err) -> None:
        """Say what to change in the status line (a user error's remedies named by the dock's check boxes)."""
        from ._workers import gui_message

        text = gui_message(err, self.TOGGLES) if isinstance(err, BaseException) else err
        self.status.value = f"\u26a0 {text}"

    def show_progress(self, ev, text: str) -> None:
        """Move the progress bar to a :class:`~napari_deepsuperpixel.ProgressEvent`; ``text`` in the status line."""
        self.progress.max = max(int(ev.total), 1)
        self.progress.value = min(int(ev.step), self.progress.max)
        if not self.cancelled:
            self.status.value = text

    def progress_done(self) -> None:
        """A full progress bar (also for a run that reported no steps)."""
        self.progress.max = max(self.progress.max, 1)
        self.progress.value = self.progress.max

    def show_failure(self, err, *, cancelled: str = "cancelled", notify: Optional[str] = None,
                     toggles: Optional[dict] = None) -> None:
        """Show how a run ended in the progress bar and status line.

        Parameters
        ----------
        err : BaseException
            The worker's exception; :class:`~napari_deepsuperpixel.Cancelled` is a cancellation.
        cancelled : str
            Status text after a cancellation.
        notify : str, optional
            Also show a napari error notification ``"<notify>: <err>"``.
        toggles : dict, optional
            The dock's check boxes named instead of command-line flags
            (see :func:`~._workers.gui_message`; default :attr:`TOGGLES`).
        """
        from .. import Cancelled
        from ._workers import gui_message

        self.progress.max, self.progress.value = 1, 0
        if isinstance(err, Cancelled):
            self.status.value = cancelled
            return
        msg = gui_message(err, self.TOGGLES if toggles is None else toggles)
        self.warn(f"{type(err).__name__}: {msg}")
        if notify:
            from napari.utils.notifications import show_error

            show_error(f"{notify}: {msg}")
