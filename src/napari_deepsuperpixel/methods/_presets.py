"""Named settings ("presets") of the per-image deep methods (backprop, neural superpixels).

A method declares ``{preset name: {field: value}}`` and leaves the
preset-controlled fields of its parameter dataclass at ``None``;
:func:`resolve_preset` fills them in at run time, so an explicit value always
wins over the preset.
"""

from __future__ import annotations

import dataclasses

from .._types import param


def resolve_preset(params, presets: dict, method: str):
    """Return a copy of ``params`` whose ``None`` fields take ``presets[params.preset]``'s values.

    Parameters
    ----------
    params : dataclass instance
        A parameter dataclass with a ``preset`` field; fields controlled by the
        preset default to ``None`` ("the preset's value").
    presets : dict
        ``{preset name: {field name: value}}``.
    method : str
        Method name used in the error message.

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
    name = params.preset
    if name not in presets:
        raise ValueError(f"unknown preset {name!r} for method {method!r}; valid presets: {', '.join(presets)}")
    changes = {k: v for k, v in presets[name].items() if getattr(params, k) is None}
    return dataclasses.replace(params, **changes)


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
    """The ``preset`` field of a parameter dataclass: ``"paper"`` (the paper's settings) or a CPU setting.

    Parameters
    ----------
    presets : dict
        ``{preset name: {field name: value}}``; its first key is the default.
    paper : str
        The paper, for the help text (e.g. ``"Kanezaki 2018"``).
    """
    return param(next(iter(presets)), f"Named settings: 'paper' ({paper}) or 'fast' (tuned for a CPU)",
                 choices=tuple(presets))


def preset_helper(presets: dict):
    """``_ph(text, key)``: :func:`preset_help` bound to one method's presets."""
    return lambda text, key: preset_help(text, presets, key)
