"""A magicgui panel generated from a method's parameters (``MethodInfo.parameters``)."""

from __future__ import annotations

import math
import typing

from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, LineEdit, SpinBox

_INT_LIMIT = 2**31 - 1


def _label(name: str) -> str:
    return name.replace("_", " ")


class OptionalField(Container):
    """An optional number: a tick box (unticked = ``None``, the method decides) and the number.

    Parameters
    ----------
    inner : magicgui ValueWidget
        The number field used when the box is ticked.
    default : object
        The parameter's default (``None`` leaves the box unticked).
    **kwargs
        ``name``, ``label``, ``tooltip`` of the whole field.
    """

    def __init__(self, inner, default=None, **kwargs):
        super().__init__(layout="horizontal", labels=False, **kwargs)
        self.margins = (0, 0, 0, 0)
        self.enabled_box = CheckBox(text="set", value=default is not None, tooltip="Unticked: automatic / preset "
                                    "value (None)")
        self.inner = inner
        self.extend([self.enabled_box, self.inner])
        self.enabled_box.changed.connect(lambda on: setattr(self.inner, "enabled", bool(on)))
        self.inner.enabled = default is not None

    @property
    def value(self):
        """``None`` when unticked, else the number."""
        return self.inner.value if self.enabled_box.value else None

    @value.setter
    def value(self, v) -> None:
        if v is None or (isinstance(v, str) and v.strip().lower() in ("", "none")):
            self.enabled_box.value = False
        else:
            self.inner.value = v
            self.enabled_box.value = True


def _number_widget(typ, p, value, **common):
    lo = p.min if p.min is not None else None
    if typ is int:
        lo = -_INT_LIMIT if lo is None else lo
        hi = p.max if p.max is not None else _INT_LIMIT
        v = int(value) if value is not None else int(max(lo, min(hi, 0 if lo <= 0 else lo)))
        if p.min_exclusive and v <= lo:
            v = int(lo) + 1
        return SpinBox(value=v, min=int(lo), max=int(min(hi, _INT_LIMIT)), **common)
    d = float(value) if value is not None else float(lo if lo is not None else 0.0)
    mag = 10 ** math.floor(math.log10(abs(d))) if d else 1.0
    step = mag / 10 if d else 0.1
    decimals = min(8, max(2, -math.floor(math.log10(abs(d))) + 2)) if d else 2
    lo = lo if lo is not None else -1e12
    hi = p.max if p.max is not None else 1e12
    w = FloatSpinBox(value=d, min=float(lo), max=float(hi), step=step, **common)
    w.native.setDecimals(decimals)
    w.value = d
    return w


def make_param_widget(p):
    """Create the magicgui widget for one :class:`~napari_deepsuperpixel._types.ParamInfo`.

    Parameters
    ----------
    p : ParamInfo
        Name, default, type, help (becomes the tooltip), min/max, choices, options.

    Returns
    -------
    magicgui.widgets.Widget
        A dropdown for ``choices`` (with an empty entry when ``None`` is
        valid) and for ``options`` (the usual values of an open parameter),
        CheckBox for bool, SpinBox for int, FloatSpinBox for float (enough
        decimals for the default), an :class:`OptionalField` for an optional
        number, and a LineEdit for other text (empty = ``None`` when optional).
    """
    common = {"name": p.name, "label": _label(p.name), "tooltip": p.help or None}
    typ = p.type
    optional = typing.get_origin(typ) is typing.Union
    if optional:
        inner = [a for a in typing.get_args(typ) if a is not type(None)]
        base = inner[0] if len(inner) == 1 else None
    else:
        base = typ
    if p.choices:
        nullable = optional or p.default is None
        return ComboBox(choices=list(p.choices), value=p.default, nullable=nullable, **common)
    if p.options:
        choices = list(dict.fromkeys([*p.options, *([p.default] if p.default is not None else [])]))
        return ComboBox(choices=choices, value=p.default, nullable=optional or p.default is None, **common)
    if base is bool and not optional:
        return CheckBox(value=bool(p.default), **common)
    if base in (int, float) and not optional and p.default is not None:
        return _number_widget(base, p, p.default, **common)
    if base in (int, float) and optional:
        inner = _number_widget(base, p, p.default, name=f"{p.name}_value", label="", tooltip=p.help or None)
        return OptionalField(inner, p.default, **common)
    w = LineEdit(value="" if p.default is None else str(p.default), **common)
    w._optional = optional or p.default is None  # empty text means None
    return w


def _add_choice(w, v) -> None:
    """Let a dropdown of usual values show a value set from elsewhere (a script, a preset)."""
    if isinstance(w, ComboBox) and v is not None and v not in [c for c in w.choices]:
        w.choices = [*w.choices, v]


class ParamPanel(Container):
    """Parameter widgets of one method; advanced ones (``advanced=True``) hidden until asked.

    Parameters
    ----------
    parameters : list of ParamInfo
        The method's parameters.
    """

    def __init__(self, parameters=(), **kwargs):
        super().__init__(labels=True, **kwargs)
        self.margins = (0, 0, 0, 0)
        self._advanced: set = set()
        self._parameters: list = []
        self._show_advanced = False
        self.set_parameters(parameters)

    def set_parameters(self, parameters) -> None:
        """Replace the widgets by those of ``parameters``.

        Parameters
        ----------
        parameters : list of ParamInfo
            The new method's parameters.
        """
        self.clear()
        self._parameters = list(parameters)
        self._advanced = {p.name for p in parameters if p.advanced}
        for p in parameters:
            self.append(make_param_widget(p))
        self.show_advanced(self._show_advanced)

    @property
    def n_advanced(self) -> int:
        """Number of advanced (initially hidden) parameters."""
        return len(self._advanced)

    def show_advanced(self, show: bool) -> None:
        """Show or hide the advanced parameters.

        Parameters
        ----------
        show : bool
            True shows the parameters declared with ``advanced=True``.
        """
        self._show_advanced = bool(show)
        for w in self:
            if w.name in self._advanced:
                w.visible = self._show_advanced

    def values(self) -> dict:
        """The current values.

        Returns
        -------
        dict
            ``name -> value``; free-text fields give strings, which
            :func:`~napari_deepsuperpixel._types.build_params` converts
            (an empty optional text field gives ``None``).
        """
        out = {}
        for w in self:
            v = w.value
            if isinstance(w, LineEdit) and getattr(w, "_optional", False) and not str(v).strip():
                v = None
            out[w.name] = v
        return out

    def defaults(self) -> dict:
        """The declared defaults, ``name -> value`` (what *Restore defaults* sets)."""
        return {p.name: p.default for p in self._parameters}

    def set_values(self, values: dict) -> None:
        """Set widgets from a ``name -> value`` dict.

        Parameters
        ----------
        values : dict
            New values; names without a widget are ignored.
        """
        for w in self:
            if w.name in values:
                v = values[w.name]
                if isinstance(w, LineEdit):
                    w.value = "" if v is None else str(v)
                else:
                    _add_choice(w, v)
                    w.value = v
