"""A magicgui panel generated from a method's parameters (``MethodInfo.parameters``)."""

from __future__ import annotations

import math
import typing

from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, LineEdit, SpinBox

_INT_LIMIT = 2**31 - 1


def _label(name: str) -> str:
    return name.replace("_", " ")


def make_param_widget(p):
    """Create the magicgui widget for one :class:`~napari_deepsuperpixel._types.ParamInfo`.

    Parameters
    ----------
    p : ParamInfo
        Name, default, type, help (becomes the tooltip), min/max, choices.

    Returns
    -------
    magicgui.widgets.Widget
        ComboBox for choices, CheckBox for bool, SpinBox for int,
        FloatSpinBox for float (enough decimals for the default), and a
        LineEdit (text parsed by ``build_params``) for optional or other types.
    """
    common = {"name": p.name, "label": _label(p.name), "tooltip": p.help or None}
    typ = p.type
    optional = typing.get_origin(typ) is typing.Union
    if p.choices:
        nullable = optional or p.default is None
        return ComboBox(choices=list(p.choices), value=p.default, nullable=nullable, **common)
    if typ is bool and not optional:
        return CheckBox(value=bool(p.default), **common)
    if typ is int and not optional and p.default is not None:
        lo = p.min if p.min is not None else -_INT_LIMIT
        hi = p.max if p.max is not None else _INT_LIMIT
        return SpinBox(value=int(p.default), min=int(lo), max=int(min(hi, _INT_LIMIT)), **common)
    if typ is float and not optional and p.default is not None:
        d = float(p.default)
        mag = 10 ** math.floor(math.log10(abs(d))) if d else 1.0
        step = mag / 10 if d else 0.1
        decimals = min(8, max(2, -math.floor(math.log10(abs(d))) + 2)) if d else 2
        lo = p.min if p.min is not None else -1e12
        hi = p.max if p.max is not None else 1e12
        w = FloatSpinBox(value=d, min=float(lo), max=float(hi), step=step, **common)
        w.native.setDecimals(decimals)
        w.value = d
        return w
    return LineEdit(value="None" if p.default is None else str(p.default), **common)


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
            :func:`~napari_deepsuperpixel._types.build_params` converts.
        """
        return {w.name: w.value for w in self}

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
                w.value = ("None" if v is None else str(v)) if isinstance(w, LineEdit) else v
