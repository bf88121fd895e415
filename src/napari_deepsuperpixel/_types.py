"""Small shared types: results, progress events, cancellation, parameters.

Nothing here imports numpy-heavy or torch code so that the package imports fast.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Optional


class Cancelled(Exception):
    """Raised (usually by a progress callback) to stop a running method.

    Every iterative method calls its progress callback at least once per
    iteration, so a callback that raises ``Cancelled`` stops the run at the
    next iteration. Widgets use this for their Cancel button.
    """


@dataclass
class ProgressEvent:
    """One progress report from a running method.

    Attributes
    ----------
    step : int
        Steps done so far (``0 <= step <= total``).
    total : int
        Total number of steps (iterations, slices, epochs...).
    stage : str
        What is running ("iterate", "slice", "refine", ...).
    info : dict
        Extra values, e.g. ``loss`` and ``n_labels`` for deep methods.
    """

    step: int
    total: int
    stage: str = ""
    info: dict = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, self.step / self.total)


ProgressCallback = Callable[[ProgressEvent], Any]


class Progress:
    """Wrapper that methods use to report progress and honour cancellation.

    Methods call ``progress(step, total, stage=..., **info)``. A user callback
    receives :class:`ProgressEvent` objects and may raise :class:`Cancelled`.
    ``cancel_check`` (a zero-argument callable returning ``True`` when the run
    should stop) is an alternative to raising from the callback.
    """

    def __init__(
        self,
        callback: Optional[ProgressCallback] = None,
        *,
        cancel_check: Optional[Callable[[], bool]] = None,
    ):
        self.callback = callback
        self.cancel_check = cancel_check

    def __call__(self, step: int, total: int, stage: str = "", **info) -> None:
        if self.cancel_check is not None and self.cancel_check():
            raise Cancelled("run cancelled")
        if self.callback is not None:
            self.callback(ProgressEvent(int(step), int(total), stage, info))

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancellation was requested."""
        if self.cancel_check is not None and self.cancel_check():
            raise Cancelled("run cancelled")


@dataclass
class Result:
    """What a method returns.

    Attributes
    ----------
    labels : numpy.ndarray
        ``int32`` labels ``1..N`` with the spatial shape of the input image
        (YX, or ZYX for a stack).
    extras : dict
        Method-specific extras: ``loss_history`` (list of floats),
        ``embedding`` (YXD float array), ``reconstruction``, ``contours``...
    """

    labels: Any
    extras: dict = field(default_factory=dict)

    @property
    def n_segments(self) -> int:
        import numpy as np

        return int(np.unique(self.labels).size)


def param(default, help: str, *, min=None, max=None, choices=None, widget: bool = True):
    """Declare a method parameter (a dataclass field with UI/CLI metadata).

    Parameters
    ----------
    default : object
        Default value (this is the paper's default for paper methods).
    help : str
        One-line description, used for CLI help and widget tooltips.
    min, max : number, optional
        Valid range, checked by :func:`validate_params`.
    choices : sequence, optional
        Valid values for a categorical parameter.
    widget : bool
        Whether the napari widget shows this parameter (advanced ones may hide).
    """
    meta = {"help": help, "min": min, "max": max, "choices": tuple(choices) if choices else None,
            "widget": widget}
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class ParamInfo:
    """Description of one method parameter (see :func:`list_methods`)."""

    name: str
    default: Any
    type: type
    help: str
    min: Any = None
    max: Any = None
    choices: Optional[tuple] = None
    widget: bool = True


def param_infos(params_cls) -> list[ParamInfo]:
    """List :class:`ParamInfo` for a parameter dataclass."""
    import typing

    hints = typing.get_type_hints(params_cls)
    out = []
    for f in dataclasses.fields(params_cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        else:
            default = None
        md = f.metadata or {}
        out.append(
            ParamInfo(
                name=f.name,
                default=default,
                type=hints.get(f.name, type(default)),
                help=md.get("help", ""),
                min=md.get("min"),
                max=md.get("max"),
                choices=md.get("choices"),
                widget=md.get("widget", True),
            )
        )
    return out


def _coerce(value, typ, name):
    """Convert CLI strings (or other inputs) to a parameter's declared type."""
    import typing

    origin = typing.get_origin(typ)
    args = typing.get_args(typ)
    if origin is typing.Union:  # Optional[X]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        inner = [a for a in args if a is not type(None)]
        typ = inner[0] if inner else str
    if typ is bool:
        if isinstance(value, str):
            v = value.strip().lower()
            if v in ("1", "true", "yes", "on"):
                return True
            if v in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"parameter {name!r} expects true/false, got {value!r}")
        return bool(value)
    if typ is int:
        if isinstance(value, bool):
            raise ValueError(f"parameter {name!r} expects an integer, got {value!r}")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"parameter {name!r} expects an integer, got {value!r}")
        try:
            return int(float(value)) if isinstance(value, str) and "e" in value.lower() else int(value)
        except (TypeError, ValueError):
            raise ValueError(f"parameter {name!r} expects an integer, got {value!r}") from None
    if typ is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"parameter {name!r} expects a number, got {value!r}") from None
    if typ is str:
        return str(value)
    return value


def build_params(params_cls, method_name: str, overrides: dict):
    """Build and validate a parameter dataclass from keyword overrides.

    Unknown names and out-of-range values raise ``ValueError`` listing what is
    valid.
    """
    infos = {p.name: p for p in param_infos(params_cls)}
    unknown = sorted(set(overrides) - set(infos))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for method {method_name!r}; "
            f"valid parameters: {', '.join(infos) or '(none)'}"
        )
    kwargs = {}
    for k, v in overrides.items():
        p = infos[k]
        v = _coerce(v, p.type, k)
        if v is not None:
            if p.choices is not None and v not in p.choices:
                raise ValueError(
                    f"parameter {k!r} of {method_name!r} must be one of {list(p.choices)}, got {v!r}"
                )
            if p.min is not None and v < p.min:
                raise ValueError(f"parameter {k!r} of {method_name!r} must be >= {p.min}, got {v!r}")
            if p.max is not None and v > p.max:
                raise ValueError(f"parameter {k!r} of {method_name!r} must be <= {p.max}, got {v!r}")
        kwargs[k] = v
    return params_cls(**kwargs)
