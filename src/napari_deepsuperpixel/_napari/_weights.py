"""Which shipped weight set the segmentation dock uses when the weights field is left on *auto*.

SEN and SuperAE ship two sets (``checkpoint="bsds"``: BSDS500 photographs, the
library's default; ``"microscopy"``: DSB2018 nuclei). For a single-channel
image (one non-RGB layer: fluorescence, grey brightfield) the dock uses
``microscopy`` for both: on the 15 single-channel images of the 25 held-out
DSB2018 images (11 fluorescence, 4 grey brightfield; docs/training.md,
"Weights for microscopy"; paired differences microscopy − bsds, mean ± 95 %
interval, every method at its defaults, ``python
benchmarks/microscopy_weights.py eval --work runs/micro --counts 200,800``):

* SEN (``sen``, ``sen_contours``, with its edge refinement): boundary recall
  +0.023 ± 0.020 at K = 200 (ASA +0.0006 ± 0.0017), level at K = 800 (ASA
  −0.0002 ± 0.0007, boundary recall −0.003 ± 0.004).
* SuperAE (``superae``, ``dsc``, ``kmeans_superpixels``, ``ncut_superpixels``):
  level (ASA +0.0003 ± 0.0012 at K = 200, +0.0000 ± 0.0010 at K = 800); on
  all 25 images +0.0015 ± 0.0011 and +0.0013 ± 0.0010, the gain coming from the
  colour brightfield images; and DSC finds more nuclei with it (object F1 0.559
  against 0.546 on 8 fluorescence images, docs/methods/dsc.md).

An RGB image, several layers as channels and the command line keep ``bsds``.
The field names the set in use either way.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Optional

#: the weights' model (the stem of its first shipped file before "_": ``superae_bsds.pt`` -> ``superae``)
#: -> the set used for a single-channel image
SINGLE_CHANNEL_SET = {"superae": "microscopy", "sen": "microscopy"}
#: why, as the weights field says it
SINGLE_CHANNEL_WHY = "single-channel image"


def weights_model(info) -> Optional[str]:
    """The model whose shipped weights a method loads (``"sen"``, ``"superae"``), or ``None``.

    Read from the ``WEIGHT_SETS`` table next to the method's parameters
    (``methods/sen.py``, ``methods/dsc.py``).
    """
    try:
        module = importlib.import_module(info.params_cls.__module__)
    except ImportError:
        return None
    sets = getattr(module, "WEIGHT_SETS", None)
    if not isinstance(sets, dict) or not sets:
        return None
    return Path(str(next(iter(sets.values())))).stem.split("_")[0]


def auto_weights(info, single_channel: bool) -> dict:
    """``{"checkpoint": (set, why)}`` for :attr:`~._param_panel.ParamPanel.auto_choices`, or ``{}``.

    Parameters
    ----------
    info : MethodInfo
    single_channel : bool
        One non-RGB layer (not several layers as channels).
    """
    if not single_channel or "checkpoint" not in {p.name for p in info.parameters}:
        return {}
    chosen = SINGLE_CHANNEL_SET.get(weights_model(info) or "")
    options = next(p.options for p in info.parameters if p.name == "checkpoint")
    if chosen is None or chosen not in options:
        return {}
    return {"checkpoint": (chosen, SINGLE_CHANNEL_WHY)}
