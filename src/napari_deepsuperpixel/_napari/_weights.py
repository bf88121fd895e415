"""Which shipped weight set the segmentation dock uses when the weights field is left on *auto*.

SEN and SuperAE ship two sets (``checkpoint="bsds"``: BSDS500 photographs, the
library's default; ``"microscopy"``: DSB2018 nuclei). For a single-channel
image (one non-RGB layer: fluorescence, grey brightfield) the dock uses the set
that measured better on the 25 held-out DSB2018 images
(docs/training.md, "Weights for microscopy"; paired differences, mean ± 95 %
interval, ``python benchmarks/microscopy_weights.py eval --work runs/micro
--counts 200,800``):

* SuperAE (``superae``, ``dsc``, ``kmeans_superpixels``, ``ncut_superpixels``):
  microscopy − bsds ASA +0.0015 ± 0.0011 at K = 200 and +0.0013 ± 0.0010 at
  K = 800 (boundary recall +0.010 ± 0.014, +0.005 ± 0.006): **microscopy**.
* SEN (``sen``, ``sen_contours``): microscopy − bsds ASA −0.0019 ± 0.0033 and
  boundary recall −0.029 ± 0.041 at K = 200: not better, **bsds** stays.

Those images mix fluorescence, grey and colour brightfield (no split by
channel count was measured). An RGB image, several layers as channels and the
command line keep ``bsds``. The field names the set in use either way.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Optional

#: the weights' model (the stem of its first shipped file before "_": ``superae_bsds.pt`` -> ``superae``)
#: -> the set used for a single-channel image
SINGLE_CHANNEL_SET = {"superae": "microscopy", "sen": "bsds"}
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
