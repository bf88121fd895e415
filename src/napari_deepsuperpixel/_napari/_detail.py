"""Detail levels of the segmentation dock: default, coarse, fine (pure Python, no Qt).

A detail level changes only a method's *granularity* parameters, the ones
declared with ``role="count"`` (how many segments come out) or
``role="scale"`` (how large they are); everything else keeps the method's
documented defaults. This keeps the levels meaningful for every registered
method, including ones added later, without a table per method.

(These are not a method's *presets*: a preset, e.g. ``preset="fast"`` of
backprop, is a named group of a method's own settings, declared by the
method; see :mod:`napari_deepsuperpixel.methods._presets`.)
"""

from __future__ import annotations

#: detail level names, in the order the dock lists them
DETAIL_LEVELS = ("default", "coarse", "fine")

_FACTOR = {"default": 1.0, "coarse": 0.25, "fine": 2.5}


def detail_values(parameters, level: str) -> dict:
    """Parameter values of a detail level.

    Parameters
    ----------
    parameters : list of ParamInfo
        A method's parameters (``get_method(name).parameters``).
    level : {"default", "coarse", "fine"}
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
        For an unknown level.
    """
    if level not in _FACTOR:
        raise ValueError(f"unknown detail level {level!r}; choose one of {', '.join(DETAIL_LEVELS)}")
    f = _FACTOR[level]
    out = {}
    for p in parameters:
        v = p.default
        if level != "default" and _is_granularity(p):
            v = v * f if p.role == "count" else v / f
            if p.type is int or isinstance(p.default, int):
                v = max(1, int(round(v)))
            if p.min is not None:
                v = max(v, p.min)
            if p.max is not None:
                v = min(v, p.max)
        out[p.name] = v
    return out


def _is_granularity(p) -> bool:
    return (p.role in ("count", "scale") and isinstance(p.default, (int, float))
            and not isinstance(p.default, bool) and bool(p.default))


def has_detail_levels(parameters) -> bool:
    """Whether any parameter is changed by the coarse/fine detail levels.

    Parameters
    ----------
    parameters : list of ParamInfo
        A method's parameters.

    Returns
    -------
    bool
    """
    return any(_is_granularity(p) for p in parameters)
