"""Training of the package's deep models (SuperAE, SEN) and the shared epoch loop.

* :mod:`.loop` -- :func:`~.loop.train_loop`: seeded epochs, progress and
  cancellation, periodic atomic checkpoints, exact resume.
* :mod:`.superae` -- :func:`~.superae.train_superae` (Deep Superpixel Cut's SuperAE).
* :mod:`.sen` -- the Superpixel Embedding Network trainer.

Nothing here is imported by ``import napari_deepsuperpixel``; torch is only
imported when a function runs.
"""

from __future__ import annotations

#: model name -> ``"module:function"`` of its trainer; every trainer takes
#: ``data, out, split, epochs, seed, device, resume, overwrite,
#: checkpoint_every, progress, cancel_check`` as keywords. The CLI
#: (``deepsuperpixel train``) and the napari training widget both read this table.
TRAINERS = {
    "superae": "napari_deepsuperpixel.training.superae:train_superae",
    "sen": "napari_deepsuperpixel.training.sen:train_sen",
}


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
    import importlib

    if model not in TRAINERS:
        raise ValueError(f"unknown model {model!r}; trainable models: {', '.join(TRAINERS)}")
    mod, _, fn = TRAINERS[model].partition(":")
    try:
        return getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"the {model!r} trainer ({TRAINERS[model]}) is not available: {e}") from None
