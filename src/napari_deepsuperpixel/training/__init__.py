"""Training of the package's deep models (SuperAE, SEN) and the shared epoch loop.

* :mod:`.loop` -- :func:`~.loop.train_loop`: seeded epochs, progress and
  cancellation, periodic atomic checkpoints, exact resume; its
  :class:`~.loop.TrainResult` is what every trainer returns.
* :mod:`.superae` -- :func:`~.superae.train_superae` (Deep Superpixel Cut's SuperAE).
* :mod:`.sen` -- :func:`~.sen.train_sen` (the Superpixel Embedding Network).

A trainer is declared like a method: a parameter dataclass whose fields are
:func:`~napari_deepsuperpixel._types.param` declarations (the hyperparameters:
defaults, ranges, help texts, which ones are advanced) and a training
function. :data:`TRAINERS` lists them; the CLI (``deepsuperpixel train``,
``-p key=value``) and the napari training dock both build and check their
settings through :meth:`TrainerInfo.build_params`, so a bad value gives the
same one-line ``ValueError`` before any image is loaded.

Nothing here is imported by ``import napari_deepsuperpixel``; torch is only
imported when a function runs.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

#: the arithmetic of a training step (``precision`` of :func:`.loop.train_loop`; the same
#: as ``nn.optim.PRECISION_CHOICES``, which imports torch)
PRECISIONS = ("auto", "fp32", "bf16")


def precision_param(default: str, help: str):
    """The ``precision`` hyperparameter of a trainer: one of :data:`PRECISIONS`, advanced."""
    from .._types import param

    return param(default, help, choices=PRECISIONS, advanced=True)


@dataclass(frozen=True)
class TrainerInfo:
    """A trainable model: its training function, whose ``params_cls`` declares the hyperparameters.

    Attributes
    ----------
    name : str
        ``"superae"`` or ``"sen"`` (the ``deepsuperpixel train`` argument).
    description : str
        One line for menus and tooltips.
    trainer_ref : str
        ``"module:function"`` of the training function (imported when first
        needed), a function decorated with :func:`declare_trainer`.
    docs_page : str
        Page under ``docs/``.
    """

    name: str
    description: str
    trainer_ref: str
    docs_page: str = "training.md"

    def load(self):
        """The training function."""
        import importlib

        mod, _, fn = self.trainer_ref.partition(":")
        return getattr(importlib.import_module(mod), fn)

    @property
    def parameters(self) -> list:
        """The hyperparameters as :class:`~napari_deepsuperpixel._types.ParamInfo`, in declaration order."""
        from .._types import param_infos

        return param_infos(self.load().params_cls)

    def build_params(self, data, overrides: dict):
        """Hyperparameters from ``overrides``, checked against their declarations and ``data``.

        Parameters
        ----------
        data : str or Path
            The training data (``"bsds"`` or a folder): some settings depend
            on it (SuperAE's ``ucm2`` templates need BSDS500).
        overrides : dict
            ``name -> value``; strings (the CLI's ``-p key=value``, the
            dock's text fields) are converted to the declared types.

        Returns
        -------
        dataclass instance

        Raises
        ------
        ValueError
            An unknown name or a bad value, in one line naming the setting.
        """
        return build_train_params(self.load().params_cls, self.name, data, overrides)


def build_train_params(params_cls, name: str, data, overrides: dict):
    """:func:`~napari_deepsuperpixel._types.build_params` for a trainer, then its ``check(data)``.

    A hyperparameter dataclass may define ``check(self, data)`` for the rules
    that depend on the training data; it raises ``ValueError``.
    """
    from .._types import build_params

    params = build_params(params_cls, f"{name} training", dict(overrides))
    check = getattr(params, "check", None)
    if check is not None:
        check(data)
    return params


def declare_trainer(params_cls):
    """Decorator: the trainer's signature lists the hyperparameters of ``params_cls``.

    A trainer takes its hyperparameters as ``**hyperparameters`` (checked by
    :func:`build_train_params`); its ``inspect.signature`` (``help()``, editors,
    scripts that filter keyword arguments) shows them as keyword-only
    arguments with their declared defaults, and ``trainer.params_cls`` names
    the dataclass.
    """
    from .._types import param_infos

    def wrap(fn):
        sig = inspect.signature(fn)
        own = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        extra = [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=p.default, annotation=p.type)
                 for p in param_infos(params_cls)]
        fn.__signature__ = sig.replace(parameters=own + extra)
        fn.params_cls = params_cls
        return fn

    return wrap


#: model name -> its declaration. The CLI (``deepsuperpixel train``) and the
#: napari training dock both read this table.
TRAINERS = {
    "superae": TrainerInfo("superae", "Deep Superpixel Cut's autoencoder (SuperAE)",
                           "napari_deepsuperpixel.training.superae:train_superae"),
    "sen": TrainerInfo("sen", "Superpixel Embedding Network (SEN)", "napari_deepsuperpixel.training.sen:train_sen"),
}


def get_trainer_info(model: str) -> TrainerInfo:
    """The :class:`TrainerInfo` of ``model`` (``ValueError`` for an unknown name)."""
    if model not in TRAINERS:
        raise ValueError(f"unknown model {model!r}; trainable models: {', '.join(TRAINERS)}")
    return TRAINERS[model]


def get_trainer(model: str):
    """Import and return the training function for ``model``.

    Parameters
    ----------
    model : str
        A key of :data:`TRAINERS` (``"superae"`` or ``"sen"``).

    Returns
    -------
    callable

    Raises
    ------
    ValueError
        Unknown model name, or its trainer cannot be imported.
    """
    info = get_trainer_info(model)
    try:
        return info.load()
    except (ImportError, AttributeError) as e:
        raise ValueError(f"the {model!r} trainer ({info.trainer_ref}) is not available: {e}") from None
