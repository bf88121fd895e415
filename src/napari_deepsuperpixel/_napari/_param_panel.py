"""A magicgui panel generated from a method's parameters (``MethodInfo.parameters``).

A field left to the method shows the value the run will use: an unticked
optional number reads ``auto: 200 (fast preset)`` (the preset named by the
``preset`` field, ``auto`` resolved for the dock's device), a field whose
help says what ``None`` means reads that (``auto: 10000, at most a quarter
of the pixels``), and an open field whose default is empty (the weights of
SEN and SuperAE) reads ``auto: bsds — photographs (BSDS500)``, or the set the
dock chose for the image (:attr:`ParamPanel.auto_choices`).
"""

from __future__ import annotations

import math
import re
import typing

from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, Label, LineEdit, SpinBox

_INT_LIMIT = 2**31 - 1
#: what the shipped weight sets hold, for their dropdown (``checkpoint`` of SEN and SuperAE); a set
#: not listed here is shown by its name
WEIGHT_SET_WORDS = {"bsds": "photographs (BSDS500)", "microscopy": "nuclei, fluorescence and brightfield (DSB2018)"}
#: the start of the text of a field left to the method
AUTO = "auto"


def weight_set_text(name: str) -> str:
    """``"bsds — photographs (BSDS500)"``: a weight set's name and what it holds."""
    words = WEIGHT_SET_WORDS.get(name)
    return f"{name} \u2014 {words}" if words else name


def _none_means(help_text: str) -> typing.Optional[str]:
    """What a parameter's help says ``None`` stands for: ``"(None: 10000, ...)"`` -> ``"10000, ..."``."""
    m = re.search(r"\(None(?::| =) ([^()]*(?:\([^()]*\)[^()]*)*)\)\s*$", help_text or "")
    if m is None or m.group(1).startswith("the preset's value"):
        return None
    return m.group(1).strip()


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
        self.enabled_box = CheckBox(text="set", value=default is not None, tooltip="Ticked: the number on the "
                                    "right; unticked: the method (or its preset) decides")
        self.inner = inner
        self.auto = Label(value=AUTO, tooltip=kwargs.get("tooltip"))
        self.auto.native.setWordWrap(True)  # a long "auto: ..." wraps instead of widening the dock
        self.extend([self.enabled_box, self.inner, self.auto])
        self.enabled_box.changed.connect(self._on_box)
        self._on_box(default is not None)

    def _on_box(self, on) -> None:
        self.inner.enabled = self.inner.visible = bool(on)
        self.auto.visible = not on

    def set_auto(self, text: str, value=None) -> None:
        """Show ``text`` while unticked; ``value`` (the value in use) is where the number starts when ticked."""
        self.auto.value = text
        self.enabled_box.tooltip = f"Ticked: the number on the right; unticked: {text}"
        if value is not None and not self.enabled_box.value:
            try:
                self.inner.value = value
            except (TypeError, ValueError):  # outside the field's range: leave the number as it is
                pass

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


#: shown in an empty text field whose empty value is the method's default (``superpixel_params``)
EMPTY_TEXT_PLACEHOLDER = "empty = defaults · k=v,k=v"


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
    if p.options and p.default == "":
        # an open field whose empty default means "the method's default", its first usual value
        # (the weights: the first shipped set); each choice says what it holds
        choices = [(f"{AUTO}: {weight_set_text(p.options[0])}", ""), *[(weight_set_text(o), o) for o in p.options]]
        return ComboBox(choices=choices, value="", **common)
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
    if p.default == "":
        # an empty field would look unfinished: say what empty means and how to fill it in
        w.native.setPlaceholderText(EMPTY_TEXT_PLACEHOLDER)
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
        self._presets: typing.Optional[dict] = None
        #: the device the run will use (decides what the ``auto`` preset is)
        self.device = "auto"
        #: ``field -> (value, why)``: what an empty open field stands for on this input, chosen by the
        #: dock (e.g. ``{"checkpoint": ("microscopy", "single-channel image")}``); default: its first value
        self.auto_choices: dict = {}
        self.set_parameters(parameters)

    def set_parameters(self, parameters, presets: typing.Optional[dict] = None) -> None:
        """Replace the widgets by those of ``parameters``.

        Parameters
        ----------
        parameters : list of ParamInfo
            The new method's parameters.
        presets : dict, optional
            ``{preset name: {field: value}}`` of the method (its unticked fields
            then show the preset's value).
        """
        self.clear()
        self._parameters = list(parameters)
        self._presets = presets
        self._advanced = {p.name for p in parameters if p.advanced}
        for p in parameters:
            w = make_param_widget(p)
            if p.name == "preset":
                w.changed.connect(lambda *_: self.refresh_auto())
            self.append(w)
        self.show_advanced(self._show_advanced)
        self.refresh_auto()

    def preset_in_use(self) -> typing.Optional[str]:
        """The preset a run would use (``auto`` resolved for :attr:`device`), ``None`` without presets."""
        if not self._presets:
            return None
        names = [w for w in self if w.name == "preset"]
        name = str(names[0].value) if names else "auto"
        if name == "auto":
            from ..methods._presets import auto_preset
            from ..nn.device import resolve_device

            try:
                return auto_preset(resolve_device(self.device))
            except (ValueError, RuntimeError):  # a device that went away: what a CPU would use
                return auto_preset("cpu")
        return name

    def auto_value(self, p) -> tuple:
        """``(text, value)`` a field left to the method shows: ``("auto: 200 (fast preset)", 200)``."""
        preset = self.preset_in_use()
        if preset and p.name in self._presets.get(preset, {}):
            v = self._presets[preset][p.name]
            return f"{AUTO}: {v} ({preset} preset)", v
        if p.options and p.default == "":
            value, why = self.auto_choices.get(p.name, (p.options[0], ""))
            return f"{AUTO}: {weight_set_text(value)}" + (f" ({why})" if why else ""), value
        means = _none_means(p.help)
        return (f"{AUTO}: {means}" if means else f"{AUTO}: the method decides"), None

    def refresh_auto(self) -> None:
        """Update what the fields left to the method show (after a preset, device or input change)."""
        by_name = {p.name: p for p in self._parameters}
        for w in self:
            p = by_name.get(w.name)
            if p is None:
                continue
            if isinstance(w, OptionalField):
                text, value = self.auto_value(p)
                w.set_auto(text, value if isinstance(value, (int, float)) else None)
            elif isinstance(w, ComboBox) and (p.default is None or (p.options and p.default == "")):
                text, _ = self.auto_value(p)
                null = None if p.default is None else ""
                for i in range(w.native.count()):
                    if w.native.itemData(i) == null and w.native.itemText(i) != text:
                        w.native.setItemText(i, text)
                if p.default is None:
                    w.null_string = text

    def run_values(self) -> dict:
        """:meth:`values` with the empty open fields the dock chose a value for (:attr:`auto_choices`) filled in."""
        out = self.values()
        for name, (value, _why) in self.auto_choices.items():
            if out.get(name) == "":
                out[name] = value
        return out

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
