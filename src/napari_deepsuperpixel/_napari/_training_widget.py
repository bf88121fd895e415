"""The "Train SuperAE / SEN" dock widget: a thin front end to the training functions.

The hyperparameter panel is built from the trainer's parameter dataclass
(:data:`napari_deepsuperpixel.training.TRAINERS`), the declaration the
command line's ``-p key=value`` also goes through, and the settings are
checked with it before training starts. Trainers whose module cannot be
imported are simply not listed.
"""

from __future__ import annotations

from magicgui.widgets import CheckBox, ComboBox, FileEdit, Label, LineEdit, ProgressBar, SpinBox
from superqt.utils import ensure_main_thread

from ..training import TRAINERS
from ._dock import Dock, row


def available_trainers() -> dict:
    """Trainers whose module imports, ``name -> TrainerInfo``.

    Returns
    -------
    dict
        E.g. ``{"superae": TRAINERS["superae"], "sen": TRAINERS["sen"]}``; a
        trainer that is not installed or fails to import is left out.
    """
    out = {}
    for name, info in TRAINERS.items():
        try:
            info.load()
        except Exception:  # optional trainer missing or broken: do not break the widget
            continue
        out[name] = info
    return out


#: where the training images come from: choice -> help
DATA_CHOICES = {
    "BSDS500 (found automatically)": "BSDS500 at $NDS_BSDS500, else ../shared/BSDS500",
    "BSDS500 folder": "a BSDS500 folder (with data/images/<split>); the splits below are used",
    "image folder": "any folder of images (png, jpg, tif); the splits are ignored",
}
_AUTO, _BSDS_FOLDER, _IMAGE_FOLDER = DATA_CHOICES
#: check boxes named in error texts instead of command-line flags
_TOGGLES = {"overwrite": "overwrite existing checkpoint", "resume": "resume this checkpoint"}


class TrainingWidget(Dock):
    """Train SuperAE or SEN in a worker thread and write a checkpoint.

    A :class:`~._dock.Dock` (``napari_viewer`` injected by napari, unused
    except for parenting).

    Notes
    -----
    The checkpoint is what the ``superae``/``dsc`` and ``sen`` methods load
    through their ``checkpoint`` parameter (an advanced parameter of the
    segmentation widget). An existing checkpoint is replaced only with
    *overwrite*; *resume* continues it.
    """

    DOCS_PAGE = "training.md"
    TOGGLES = _TOGGLES
    #: keyboard shortcut of Train
    TRAIN_KEYS = "Ctrl+Shift+L"

    def __init__(self, napari_viewer=None):
        from ..nn.device import available_devices

        super().__init__(napari_viewer)  # the inputs (self.body) carry the labels
        self.trainers = available_trainers()
        if not self.trainers:
            raise RuntimeError("no training module is available (napari_deepsuperpixel.training)")
        self.trainer = self.watch(ComboBox(label="model", choices=list(self.trainers), tooltip="\n".join(
            f"{k}: {info.description}" for k, info in self.trainers.items())), self._on_trainer)
        self.data_kind = self.watch(ComboBox(label="data", choices=list(DATA_CHOICES), tooltip="\n".join(
            f"{k}: {v}" for k, v in DATA_CHOICES.items())), self._on_data_kind)
        self.data = self.watch(FileEdit(label="folder", mode="d", value="", enabled=False,
                                        tooltip="The BSDS500 folder or the image folder"), self._on_folder)
        self.split = LineEdit(label="split", value="train,val", tooltip="BSDS500 splits to train on")
        self.output = FileEdit(label="checkpoint", mode="w", filter="*.pt", tooltip="Where to write the .pt file")
        panel = self.param_panel()
        self.seed = SpinBox(label="seed", value=0, min=0, max=2**31 - 1,
                            tooltip="Random seed of the crops, the initial weights and the data order")
        self.device = ComboBox(label="device", choices=["auto", *available_devices()],
                               tooltip="Where training runs ('auto': GPU if available, else the CPU)")
        self.resume = CheckBox(text=_TOGGLES["resume"], value=False,
                               tooltip="Continue the checkpoint file from its last saved epoch")
        self.overwrite = CheckBox(text=_TOGGLES["overwrite"], value=False,
                                  tooltip="Replace an existing checkpoint file (checked before training starts)")
        help_row = self.help_row("Training docs", "Open the training page in the browser")
        self.train_button = self.button("Train", self.train, tooltip="Check the settings, then train in the "
                                        "background and write the checkpoint")
        self.cancel_button = self.button("Cancel", self.cancel, enabled=False,
                                         tooltip="Stop at the next step; the last periodic checkpoint can be resumed")
        self.shortcut(self.TRAIN_KEYS, self.train, self.train_button)
        self.progress = ProgressBar(label="progress", min=0, max=1, value=0)
        self.status = Label(label="")
        # the inputs scroll; Train, Cancel, progress and status stay visible below them
        self.lay_out([self.trainer, help_row, self.data_kind, self.data, self.split, self.output, *panel,
                      self.seed, self.device, self.resume, self.overwrite],
                     [row(self.train_button, self.cancel_button), self.progress, self.status], min_height=90)
        self.stop_on_close()  # closing stops training
        self._on_trainer(self.trainer.value)

    def _on_trainer(self, name) -> None:
        self.show_parameters(self.trainers[name].parameters)

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

    def make_kwargs(self) -> dict:
        """Keyword arguments for the selected trainer from the widget values.

        Returns
        -------
        dict

        Raises
        ------
        ValueError
            When no checkpoint file is chosen, it exists (without *overwrite*
            or *resume*), no folder is chosen, or a hyperparameter is refused
            by the trainer's declaration (e.g. a ucm2 template for an image folder).
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
        data = "bsds" if kind == _AUTO else folder
        hyper = self.params.values()
        self.trainers[self.trainer.value].build_params(data, hyper)  # the trainer's own checks, now
        kw = dict(hyper, data=data, split=str(self.split.value), seed=int(self.seed.value),
                  device=self.device.value, resume=bool(self.resume.value),
                  overwrite=bool(self.overwrite.value), out=path)
        return kw

    def train(self):
        """Start training in a worker thread (the Train button).

        Returns
        -------
        worker or None
            ``None`` while training runs or when the inputs are invalid (the status line says why).
        """
        from ._workers import ProgressThrottle

        kw = self.ready(self.make_kwargs)
        if kw is None:
            return None
        self.progress.value, self.progress.max = 0, 0  # busy while the images load
        self.status.value = "loading the training images..."
        return self.start(self.trainers[self.trainer.value].load(), progress=ProgressThrottle(self._on_progress),
                          on_returned=self._on_returned, on_errored=self._on_errored, button=self.train_button,
                          cancel_button=self.cancel_button, **kw)

    def cancel(self) -> None:
        """Stop training at the next step; the last periodic checkpoint stays valid."""
        self.request_cancel()

    @ensure_main_thread
    def _on_progress(self, ev) -> None:
        if not self.running or ev.stage == "epoch":  # the bar counts steps
            return
        bits = [f"step {ev.step}/{ev.total}"]
        if "epoch" in ev.info:
            bits.append(f"epoch {ev.info['epoch']}")
        if "loss" in ev.info:
            bits.append(f"loss {float(ev.info['loss']):.4g}")
        self.show_progress(ev, ", ".join(bits))

    def _on_returned(self, result) -> None:
        hist = result.loss_history
        self.progress_done()
        self.status.value = f"saved {result.path}" + (f", last epoch loss {hist[-1]:.4g}" if hist else "")

    def _on_errored(self, err) -> None:
        self.show_failure(err, cancelled="cancelled (the last periodic checkpoint can be resumed)",
                          toggles=_TOGGLES)
