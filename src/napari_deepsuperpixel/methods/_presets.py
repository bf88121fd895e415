"""Named settings ("presets") of the per-image deep methods (backprop, neural superpixels, DSC).

A method declares ``{preset name: {field: value}}`` with a ``"paper"`` preset
(the paper's settings) and a ``"fast"`` one (tuned for a CPU), and leaves the
preset-controlled fields of its parameter dataclass at ``None``;
:func:`resolve_preset` fills them in at run time, so an explicit value always
wins over the preset. The default preset, ``"auto"``, is ``"paper"`` on a GPU
(CUDA or Apple MPS) and ``"fast"`` on a CPU: the paper's settings take minutes
to hours per image on a CPU (see each method's docs page).
"""

from __future__ import annotations

import dataclasses
import types
from typing import Optional

from .._types import param

#: the preset every per-image deep method starts from
AUTO = "auto"


def auto_preset(device) -> str:
    """The preset ``"auto"`` stands for on ``device``: ``"paper"`` on a GPU, ``"fast"`` on a CPU."""
    kind = getattr(device, "type", str(device).split(":")[0])
    return "paper" if kind in ("cuda", "mps") else "fast"


def resolve_preset(params, presets: dict, method: str, device="cpu"):
    """Return a copy of ``params`` whose ``None`` fields take ``presets[params.preset]``'s values.

    ``preset="auto"`` is first replaced by :func:`auto_preset` of ``device``;
    the copy's ``preset`` field names the preset actually used.

    Parameters
    ----------
    params : dataclass instance
        A parameter dataclass with a ``preset`` field; fields controlled by the
        preset default to ``None`` ("the preset's value").
    presets : dict
        ``{preset name: {field name: value}}``.
    method : str
        Method name used in the error message.
    device : str or torch.device
        Where the method runs (decides ``"auto"``).

    Returns
    -------
    dataclass instance
        A copy in which explicit (non-``None``) values are kept and every
        ``None`` is replaced by the preset's value.

    Raises
    ------
    ValueError
        For an unknown preset name.
    """
    name = auto_preset(device) if params.preset == AUTO else params.preset
    if name not in presets:
        raise ValueError(f"unknown preset {name!r} for method {method!r}; valid presets: "
                         f"{', '.join([AUTO, *presets])}")
    changes = {k: v for k, v in presets[name].items() if getattr(params, k) is None}
    return dataclasses.replace(params, preset=name, **changes)


def preset_help(text: str, presets: dict, key: str) -> str:
    """Help text naming each preset's value, e.g. ``"... (None = preset: paper 100, fast 32)"``.

    Parameters
    ----------
    text : str
        The parameter's description.
    presets : dict
        ``{preset name: {field name: value}}``.
    key : str
        The field.

    Returns
    -------
    str
    """
    vals = ", ".join(f"{name} {p[key]!r}" for name, p in presets.items())
    return f"{text} (None = the preset's value: {vals})"


def preset_param(presets: dict, paper: str):
    """The ``preset`` field of a parameter dataclass: ``"auto"`` (default), ``"paper"`` or ``"fast"``.

    Parameters
    ----------
    presets : dict
        ``{preset name: {field name: value}}``.
    paper : str
        The paper, for the help text (e.g. ``"Kanezaki 2018"``).
    """
    field = param(AUTO, f"Named settings: 'paper' ({paper}), 'fast' (tuned for a CPU), or 'auto' (paper on "
                        "a GPU, fast on a CPU)", choices=(AUTO, *presets))
    # the presets travel with the field, so that a front end can show what a preset sets (presets_of)
    field.metadata = types.MappingProxyType({**field.metadata, "presets": presets})
    return field


def presets_of(params_cls) -> Optional[dict]:
    """``{preset name: {field: value}}`` of a parameter dataclass with a ``preset`` field, else ``None``."""
    for f in dataclasses.fields(params_cls):
        if "presets" in (f.metadata or {}):
            return f.metadata["presets"]
    return None


def preset_helper(presets: dict):
    """``_ph(text, key)``: :func:`preset_help` bound to one method's presets."""
    return lambda text, key: preset_help(text, presets, key)


def chosen_preset(method: str, params: dict, device="auto"):
    """The preset a run of ``method`` with ``params`` will use, or ``None`` for a method without presets.

    For the CLI and the widget to say *before* a run what ``"auto"`` became
    (the runner reports the same name in ``Result.extras["preset"]``).
    """
    from . import get_method

    info = get_method(method)
    if "preset" not in {p.name for p in info.parameters}:
        return None
    name = str(params.get("preset", info.defaults()["preset"]))
    if name != AUTO:
        return name
    from ..nn.device import resolve_device

    return auto_preset(resolve_device(device))
