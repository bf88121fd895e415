"""Parameter presets for the segmentation widget (pure Python, no Qt).

A preset changes only a method's *granularity* parameters, the ones declared
with ``role="count"`` (how many segments come out) or ``role="scale"`` (how
large they are); everything else keeps the method's documented defaults. This
keeps presets meaningful for every registered method, including ones added
later, without a table per method.
"""

from __future__ import annotations

#: preset names, in the order the widget lists them
PRESETS = ("default", "coarse", "fine")

_FACTOR = {"default": 1.0, "coarse": 0.25, "fine": 2.5}


def preset_values(parameters, preset: str) -> dict:
    """Parameter values of a preset.

    Parameters
    ----------
    parameters : list of ParamInfo
        A method's parameters (``get_method(name).parameters``).
    preset : {"default", "coarse", "fine"}
        ``"default"``: every parameter at its default. ``"coarse"``: counts
        (role ``"count"``) divided by 4, scales (role ``"scale"``)
        multiplied by 4. ``"fine"``: counts multiplied by 2.5, scales divided
        by 2.5. Results are clipped to each parameter's ``min``/``max``.

    Returns
    -------
    dict
        ``name -> value`` for every parameter.

    Raises
    ------
    ValueError
        For an unknown preset name.
    """
    if preset not in _FACTOR:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    f = _FACTOR[preset]
    out = {}
    for p in parameters:
        v = p.default
        if preset != "default" and isinstance(v, (int, float)) and not isinstance(v, bool) and v:
            if p.role == "count":
                v = v * f
            elif p.role == "scale":
                v = v / f
            if p.type is int or isinstance(p.default, int):
                v = max(1, int(round(v)))
            if p.min is not None:
                v = max(v, p.min)
            if p.max is not None:
                v = min(v, p.max)
        out[p.name] = v
    return out


def has_granularity(parameters) -> bool:
    """Whether any parameter is changed by the coarse/fine presets.

    Parameters
    ----------
    parameters : list of ParamInfo
        A method's parameters.

    Returns
    -------
    bool
    """
    return any(p.role in ("count", "scale") and isinstance(p.default, (int, float))
               and not isinstance(p.default, bool) and p.default for p in parameters)
