"""The "Train SuperAE / SEN" dock widget: a thin front end to the training functions.

The hyperparameter panel is generated from the training function's signature
and numpydoc docstring, so it follows the trainers as they change. Trainers
whose module cannot be imported are simply not listed.
"""

from __future__ import annotations

import ast
import inspect
import threading
import typing

from magicgui.widgets import CheckBox, ComboBox, Container, FileEdit, Label, LineEdit, ProgressBar, PushButton, SpinBox
from superqt.utils import ensure_main_thread

from ._param_panel import ParamPanel

from ..training import TRAINERS, get_trainer

#: arguments the widget sets itself (not part of the generated panel)
_OWN = {"data", "split", "out", "output", "seed", "device", "progress", "cancel_check", "resume", "overwrite"}
#: hyperparameters shown without ticking "advanced"
_BASIC = {"epochs", "steps_per_epoch", "batch_size", "crop", "lr", "template", "max_images"}


def available_trainers() -> dict:
    """Trainers whose module imports, ``name -> function``.

    Returns
    -------
    dict
        E.g. ``{"superae": train_superae}``; a trainer that is not installed
        or fails to import is left out.
    """
    out = {}
    for name in TRAINERS:
        try:
            out[name] = get_trainer(name)
        except Exception:  # optional trainer missing or broken: do not break the widget
            continue
    return out


def _param_help(func) -> dict:
    from docstring_parser import parse

    helps = {}
    for p in parse(inspect.getdoc(func) or "").params:
        names = [n.strip() for n in p.arg_name.split(",")]
        text = " ".join((p.description or "").split())
        if len(names) > 1:  # a grouped entry "a, b : type": say which value is which
            text = f"({', '.join(names)}) {text}"
        for name in names:
            helps[name] = text
    return helps


def trainer_parameters(func) -> list:
    """Hyperparameters of a training function as :class:`~napari_deepsuperpixel._types.ParamInfo`.

    Parameters
    ----------
    func : callable
        A trainer such as :func:`napari_deepsuperpixel.training.superae.train_superae`.

    Returns
    -------
    list of ParamInfo
        Every keyword argument with a number/str/None default that the widget
        does not set itself; help texts from the numpydoc ``Parameters``
        section; ``advanced=True`` for all but the usual few; ``options``
        (usual values, offered in a dropdown) from the trainer module's
        ``PARAM_OPTIONS``.
    """
    from .._types import ParamInfo

    helps = _param_help(func)
    hints = typing.get_type_hints(func)
    options = getattr(inspect.getmodule(func), "PARAM_OPTIONS", {})
    out = []
    for name, p in inspect.signature(func).parameters.items():
        if name in _OWN or p.default is inspect.Parameter.empty:
            continue
        if not (p.default is None or isinstance(p.default, (bool, int, float, str))):
            continue
        typ = hints.get(name, type(p.default))
        out.append(ParamInfo(name=name, default=p.default, type=typ, help=helps.get(name, ""),
                             min=0 if typ in (int, float) else None, advanced=name not in _BASIC,
                             options=tuple(options.get(name, ()))))
    return out


def _parse_text(v):
    if not isinstance(v, str):
        return v
    try:
        return ast.literal_eval(v.strip())
    except (ValueError, SyntaxError):
        return v


#: where the training images come from: choice -> help
DATA_CHOICES = {
    "BSDS500 (found automatically)": "BSDS500 at $NDS_BSDS500, else ../shared/BSDS500",
    "BSDS500 folder": "a BSDS500 folder (with data/images/<split>); the splits below are used",
    "image folder": "any folder of images (png, jpg, tif); the splits are ignored",
}
_AUTO, _BSDS_FOLDER, _IMAGE_FOLDER = DATA_CHOICES
#: check boxes named in error texts instead of command-line flags
_TOGGLES = {"overwrite": "overwrite existing checkpoint", "resume": "resume this checkpoint"}


class TrainingWidget(Container):
    """Train SuperAE or SEN in a worker thread and write a checkpoint.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        Injected by napari (unused except for parenting).

    Notes
    -----
    The checkpoint is what the ``superae``/``dsc`` and ``sen`` methods load
    through their ``checkpoint`` parameter (an advanced parameter of the
    segmentation widget). An existing checkpoint is replaced only with
    *overwrite*; *resume* continues it.
    """

    def __init__(self, napari_viewer=None):
        from ..nn.device import available_devices

        super().__init__(labels=False)  # the inputs (self.body) carry the labels
        self.viewer = napari_viewer
        self.trainers = available_trainers()
        if not self.trainers:
            raise RuntimeError("no training module is available (napari_deepsuperpixel.training)")
        self._worker = None
        self._cancel_event = threading.Event()
        self.trainer = ComboBox(label="model", choices=list(self.trainers),
                                tooltip="superae: Deep Superpixel Cut's autoencoder; sen: Superpixel Embedding Network")
        self.data_kind = ComboBox(label="data", choices=list(DATA_CHOICES),
                                  tooltip="\n".join(f"{k}: {v}" for k, v in DATA_CHOICES.items()))
        self.data = FileEdit(label="folder", mode="d", value="", enabled=False,
                             tooltip="The BSDS500 folder or the image folder")
        self.split = LineEdit(label="split", value="train,val", tooltip="BSDS500 splits to train on")
        self.output = FileEdit(label="checkpoint", mode="w", filter="*.pt", tooltip="Where to write the .pt file")
        self.params = ParamPanel(label="")
        self.advanced = CheckBox(text="show advanced parameters", value=False)
        self.seed = SpinBox(label="seed", value=0, min=0, max=2**31 - 1)
        self.device = ComboBox(label="device", choices=["auto", *available_devices()])
        self.resume = CheckBox(text="resume this checkpoint", value=False)
        self.overwrite = CheckBox(text="overwrite existing checkpoint", value=False)
        self.docs_button = PushButton(text="Training docs", tooltip="Open the training page in the browser")
        self.defaults_button = PushButton(text="Restore defaults", tooltip="Set every field back to its default")
        self.help_row = Container(layout="horizontal", labels=False,
                                  widgets=[self.docs_button, self.defaults_button])
        self.help_row.margins = (0, 0, 0, 0)
        self.train_button = PushButton(text="Train")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.progress = ProgressBar(label="progress", min=0, max=1, value=0)
        self.status = Label(label="")
        self.status.native.setWordWrap(True)
        from ._layout import fit_widgets, make_scrollable, scroll_body

        # the inputs scroll; Train, Cancel, progress and status stay visible below them
        self.body = scroll_body([self.trainer, self.help_row, self.data_kind, self.data, self.split, self.output,
                                 self.params, self.advanced, self.seed, self.device, self.resume,
                                 self.overwrite])
        self.buttons = Container(layout="horizontal", labels=False, widgets=[self.train_button, self.cancel_button])
        self.buttons.margins = (0, 0, 0, 0)
        self.extend([self.body, self.buttons, self.progress, self.status])
        make_scrollable(self, self.body, min_height=90)
        fit_widgets(self)
        self.trainer.changed.connect(self._on_trainer)
        self.advanced.changed.connect(self.params.show_advanced)
        self.train_button.clicked.connect(self.train)
        self.cancel_button.clicked.connect(self.cancel)
        self.data_kind.changed.connect(self._on_data_kind)
        self.data.changed.connect(self._on_folder)
        self.docs_button.clicked.connect(self.open_docs)
        self.defaults_button.clicked.connect(self.restore_defaults)
        self.native.destroyed.connect(lambda *_: self._cancel_event.set())  # closing stops training
        self._on_trainer(self.trainer.value)

    def _on_trainer(self, name) -> None:
        self.params.set_parameters(trainer_parameters(self.trainers[name]))
        from ._layout import fit_scroll_width, fit_widgets

        fit_widgets(self.params)
        fit_scroll_width(self)

    def _on_data_kind(self, kind) -> None:
        self.data.enabled = kind != _AUTO
        self.split.enabled = kind != _IMAGE_FOLDER

    def _on_folder(self, value) -> None:
        """A folder chosen while the data says "found automatically": use it, as what it is."""
        from pathlib import Path

        folder = str(value or "").strip()
        if self.data_kind.value == _AUTO and folder not in ("", "."):
            is_bsds = (Path(folder) / "data" / "images").is_dir()
            self.data_kind.value = _BSDS_FOLDER if is_bsds else _IMAGE_FOLDER

    def docs_page(self) -> str:
        """The documentation address of training (``docs/training.md``)."""
        from ._layout import docs_url

        return docs_url("training.md")

    def open_docs(self) -> None:
        """Open the training documentation page (the *Training docs* button)."""
        from ._layout import open_url

        open_url(self.docs_page())

    def restore_defaults(self) -> None:
        """Set the hyperparameters and options back to their defaults (the *Restore defaults* button)."""
        self.params.set_values(self.params.defaults())
        self.data_kind.value = _AUTO
        self.split.value = "train,val"
        self.seed.value = 0
        self.device.value = "auto"
        for box in (self.resume, self.overwrite, self.advanced):
            box.value = False
        self.status.value = "defaults restored"

    @property
    def running(self) -> bool:
        """Whether training is in progress."""
        return self._worker is not None

    def make_kwargs(self) -> dict:
        """Keyword arguments for the selected trainer from the widget values.

        Returns
        -------
        dict

        Raises
        ------
        ValueError
            When no checkpoint file is chosen, it exists (without *overwrite*
            or *resume*), no folder is chosen, or a ucm2 template is asked of
            an image folder.
        """
        from pathlib import Path

        path = str(self.output.value or "").strip()
        if not path or path == ".":
            raise ValueError("choose a checkpoint file (.pt) to write")
        if Path(path).exists() and not (self.overwrite.value or self.resume.value):
            raise ValueError(f"checkpoint {path} exists: tick 'overwrite existing checkpoint' to replace it "
                             "or 'resume this checkpoint' to continue it")
        kind = self.data_kind.value
        folder = str(self.data.value or "").strip()
        if kind != _AUTO and folder in ("", "."):
            raise ValueError(f"choose the {kind} in 'folder'")
        kw = {k: _parse_text(v) for k, v in self.params.values().items()}
        if kind == _IMAGE_FOLDER and str(kw.get("template", "")).startswith("ucm2"):
            raise ValueError(f"template {kw['template']!r} needs BSDS500's ucm2 files: for an image folder "
                             "choose another 'template', e.g. felzenszwalb")
        kw.update(data="bsds" if kind == _AUTO else folder, split=str(self.split.value), seed=int(self.seed.value),
                  device=self.device.value, resume=bool(self.resume.value),
                  overwrite=bool(self.overwrite.value), out=path)
        return kw

    def train(self):
        """Start training in a worker thread (the Train button).

        Returns
        -------
        worker or None
            ``None`` when the inputs are invalid (the status line says why).
        """
        from napari.qt.threading import create_worker

        from ._workers import ProgressThrottle, start_worker

        if self._worker is not None:
            return None
        try:
            kw = self.make_kwargs()
        except ValueError as err:
            self.status.value = f"⚠ {err}"
            return None
        self._cancel_event = threading.Event()
        self.progress.value, self.progress.max = 0, 0  # busy while the images load
        self.status.value = "loading the training images..."
        worker = create_worker(self.trainers[self.trainer.value], progress=ProgressThrottle(self._on_progress),
                               cancel_check=self._cancel_event.is_set, _start_thread=False,
                               _ignore_errors=True, **kw)
        return start_worker(self, worker, on_returned=self._on_returned, on_errored=self._on_errored,
                            start_button=self.train_button, cancel_button=self.cancel_button)

    def cancel(self) -> None:
        """Stop training at the next step; the last periodic checkpoint stays valid."""
        if self._worker is not None:
            self._cancel_event.set()
            self.status.value = "cancelling..."

    @ensure_main_thread
    def _on_progress(self, ev) -> None:
        if self._worker is None or ev.stage == "epoch":  # the bar counts steps
            return
        self.progress.max = max(int(ev.total), 1)
        self.progress.value = min(int(ev.step), self.progress.max)
        bits = [f"step {ev.step}/{ev.total}"]
        if "epoch" in ev.info:
            bits.append(f"epoch {ev.info['epoch']}")
        if "loss" in ev.info:
            bits.append(f"loss {float(ev.info['loss']):.4g}")
        if not self._cancel_event.is_set():
            self.status.value = ", ".join(bits)

    def _on_returned(self, result) -> None:
        path = getattr(result, "path", result)
        hist = getattr(result, "loss_history", None)
        extra = f", last epoch loss {hist[-1]:.4g}" if hist else ""
        self.progress.max = max(self.progress.max, 1)
        self.progress.value = self.progress.max
        self.status.value = f"saved {path}{extra}"

    def _on_errored(self, err) -> None:
        from ._workers import show_failure

        show_failure(self, err, cancelled="cancelled (the last periodic checkpoint can be resumed)",
                     toggles=_TOGGLES)
