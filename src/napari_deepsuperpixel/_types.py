"""Small shared types: results, progress events, cancellation, parameters.

Nothing here imports numpy-heavy or torch code so that the package imports fast.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol, runtime_checkable


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


@runtime_checkable
class Reporter(Protocol):
    """What a running method reports to: the one progress protocol inside the package.

    ``progress(step, total, stage, **info)`` reports (and raises
    :class:`Cancelled` when the user cancelled); ``progress.check()`` only
    checks for cancellation, between the reports of a long step. Every runner
    and helper takes a Reporter (default :data:`NO_PROGRESS`) and calls it
    unconditionally; user callbacks (:data:`ProgressCallback`, receiving
    :class:`ProgressEvent`) are adapted by :class:`Progress` at the entrance.
    """

    def __call__(self, step: int, total: int, stage: str = "", **info) -> None: ...

    def check(self) -> None: ...


class Progress:
    """The Reporter of a run: forwards reports to a user callback and honours cancellation.

    Methods call ``progress(step, total, stage=..., **info)``. A user callback
    receives :class:`ProgressEvent` objects and may raise :class:`Cancelled`.
    ``cancel_check`` (a zero-argument callable returning ``True`` when the run
    should stop) is an alternative to raising from the callback. ``Progress()``
    reports to nobody and never cancels (:data:`NO_PROGRESS`).
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


#: the Reporter that reports to nobody and never cancels
NO_PROGRESS = Progress()


class _CallableReporter:
    """A bare ``fn(step, total, stage, **info)`` as a :class:`Reporter` (its ``check`` does nothing)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, step, total, stage="", **info):
        self.fn(step, total, stage, **info)

    def check(self) -> None:
        pass


def reporter(progress) -> Reporter:
    """``progress`` as a :class:`Reporter`: ``None`` is :data:`NO_PROGRESS`; a callable without
    ``check`` (``fn(step, total, stage, **info)``) gets a ``check`` that does nothing."""
    if progress is None:
        return NO_PROGRESS
    if isinstance(progress, Reporter):
        return progress
    return _CallableReporter(progress)


class PartProgress:
    """The Reporter of part ``index`` of ``count`` (one slice of a stack, one frame, one volume).

    With ``count > 1`` the part's steps are mapped into the whole run's
    (``index * total + step`` of ``count * total``) and the events carry
    ``<unit>`` and ``n_<unit>s``; with one part the events pass unchanged.
    Cancellation is the outer one's.
    """

    def __init__(self, outer, index: int, count: int, unit: str):
        self.outer, self.index, self.count, self.unit = reporter(outer), index, count, unit

    def __call__(self, step, total, stage="", **info):
        if self.count > 1:
            info = {**info, self.unit: self.index, f"n_{self.unit}s": self.count}
            self.outer(self.index * max(total, 1) + step, self.count * max(total, 1), stage or self.unit, **info)
        else:
            self.outer(step, total, stage, **info)

    def check(self) -> None:
        self.outer.check()


def collect_extras(parts: list, part_shape: tuple, spatial_shape: tuple) -> dict:
    """The extras of a run from those of its parts (its slices or volumes), in one shape for any input.

    An image-like extra (an array whose leading axes are the part's
    ``part_shape``: an embedding, a reconstruction, a boundary map, the
    intermediate superpixels) has the labels' shape ``spatial_shape`` (plus
    its own trailing axes), whether the input was one image or a stack: the
    parts' arrays are stacked. Any other extra (a loss history, an iteration
    count) is the part's value for one part, and a list with one value per
    part for several.
    """
    import numpy as np

    extras: dict = {}
    for k in dict.fromkeys(key for part in parts for key in part):
        vals = [part.get(k) for part in parts]
        if len(parts) == 1:
            extras[k] = vals[0]
            continue
        n = len(part_shape)
        if all(isinstance(v, np.ndarray) and v.shape[:n] == tuple(part_shape) for v in vals) and \
                len({v.shape for v in vals}) == 1:
            extras[k] = np.stack(vals).reshape(tuple(spatial_shape) + vals[0].shape[n:])
        else:
            extras[k] = vals
    return extras


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
    connected : bool
        A runner sets this when its labels are already ``1..N`` with one
        4-connected region each, so that the framework does not split them
        again (and does not merge small segments: such a runner does that
        itself). Results returned by :func:`~napari_deepsuperpixel.segment_result`
        are always connected.
    """

    labels: Any
    extras: dict = field(default_factory=dict)
    connected: bool = False

    @property
    def n_segments(self) -> int:
        import numpy as np

        return int(np.unique(self.labels).size)


#: what a parameter is, as far as the framework is concerned:
#: ``"count"`` -- the number of segments the method returns (checked against the
#: number of pixels; the widget's coarse/fine detail levels divide/multiply it);
#: ``"scale"`` -- a segment size or merge scale (coarse multiplies, fine divides);
#: ``"min_size"`` -- the size below which segments are merged into a neighbour
#: (the framework uses it when it enforces connectivity).
ROLES = ("count", "scale", "min_size")


def param(default, help: str, *, min=None, max=None, choices=None, role: Optional[str] = None,
          advanced: bool = False, aliases: tuple = (), min_exclusive: bool = False, allow_inf: bool = False,
          options=None):
    """Declare a method parameter (a dataclass field with UI/CLI metadata).

    Parameters
    ----------
    default : object
        Default value (this is the paper's default for paper methods).
    help : str
        One-line description, used for CLI help and widget tooltips.
    min, max : number, optional
        Valid range, checked by :func:`build_params`.
    choices : sequence, optional
        Valid values for a categorical parameter.
    options : sequence, optional
        Usual values of an open parameter (other values stay valid), e.g. the
        registry methods a method can compose with; the widget offers them
        in a dropdown.
    role : {"count", "scale", "min_size"}, optional
        What the parameter is for the framework (see :data:`ROLES`); behaviour
        is keyed on the role, never on the parameter's name.
    advanced : bool
        Hidden in the napari widget until "advanced" is ticked.
    aliases : tuple of str
        Former names, still accepted by :func:`build_params` with a
        ``DeprecationWarning``.
    min_exclusive : bool
        ``min`` itself is refused (the value must be greater than ``min``),
        e.g. a divisor that must not be 0.
    allow_inf : bool
        A float parameter accepts ``inf``/``-inf`` (NaN is always refused);
        by default every float parameter must be finite.
    """
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown parameter role {role!r}; valid roles: {', '.join(ROLES)}")
    meta = {"help": help, "min": min, "max": max, "choices": tuple(choices) if choices else None,
            "role": role, "advanced": bool(advanced), "aliases": tuple(aliases),
            "min_exclusive": bool(min_exclusive), "allow_inf": bool(allow_inf),
            "options": tuple(options) if options else ()}
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
    role: Optional[str] = None
    advanced: bool = False
    aliases: tuple = ()
    min_exclusive: bool = False
    allow_inf: bool = False
    options: tuple = ()


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
                role=md.get("role"),
                advanced=md.get("advanced", False),
                aliases=md.get("aliases", ()),
                min_exclusive=md.get("min_exclusive", False),
                allow_inf=md.get("allow_inf", False),
                options=md.get("options", ()),
            )
        )
    return out


def params_with_role(params, role: str) -> list:
    """Names of the fields of a parameter dataclass (class or instance) that have ``role``."""
    if role not in ROLES:
        raise ValueError(f"unknown parameter role {role!r}; valid roles: {', '.join(ROLES)}")
    return [f.name for f in dataclasses.fields(params) if (f.metadata or {}).get("role") == role]


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
        import numbers

        if getattr(getattr(value, "dtype", None), "kind", "") == "b" or (
                isinstance(value, numbers.Integral) and int(value) in (0, 1)):  # bool, numpy bool, 0, 1
            return bool(value)
        raise ValueError(f"parameter {name!r} expects true/false, got {value!r}")
    if typ is int:
        if isinstance(value, bool):
            raise ValueError(f"parameter {name!r} expects an integer, got {value!r}")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"parameter {name!r} expects an integer, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"parameter {name!r} expects an integer, got {value!r}")
        try:
            if isinstance(value, str) and "e" in value.lower():
                f = float(value)
                if not f.is_integer():
                    raise ValueError
                return int(f)
            return int(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"parameter {name!r} expects an integer, got {value!r}") from None
    if typ is float:
        if isinstance(value, bool):
            raise ValueError(f"parameter {name!r} expects a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"parameter {name!r} expects a number, got {value!r}") from None
    if typ is str:
        import os

        if not isinstance(value, (str, int, float, os.PathLike)) or isinstance(value, bool):
            raise ValueError(f"parameter {name!r} expects a string, got {value!r}")
        return str(value)
    return value


def _resolve_aliases(infos: dict, method_name: str, overrides: dict) -> dict:
    """Map former parameter names to today's, with a ``DeprecationWarning``."""
    alias_of = {a: p.name for p in infos.values() for a in p.aliases}
    if not set(overrides) & set(alias_of):
        return overrides
    import warnings

    out = {}
    for k, v in overrides.items():
        if k in alias_of:
            new = alias_of[k]
            if new in overrides:
                raise ValueError(f"parameter {k!r} of {method_name!r} is the former name of {new!r}; "
                                 "give only one of them")
            warnings.warn(f"parameter {k!r} of {method_name!r} is now called {new!r}", DeprecationWarning,
                          stacklevel=4)
            k = new
        out[k] = v
    return out


#: the largest integer parameter without a declared ``max`` (what C ``int`` holds)
INT_LIMIT = 2**31 - 1


def build_params(params_cls, method_name: str, overrides: dict):
    """Build and validate a parameter dataclass from keyword overrides.

    Unknown names, values of the wrong type, NaN or infinite floats (unless
    the parameter allows ``inf``) and out-of-range values raise ``ValueError``
    naming the parameter and what is valid.
    """
    infos = {p.name: p for p in param_infos(params_cls)}
    overrides = _resolve_aliases(infos, method_name, overrides)
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
        if isinstance(v, float) and not math.isfinite(v) and (math.isnan(v) or not p.allow_inf):
            raise ValueError(f"parameter {k!r} of {method_name!r} must be a finite number, got {v!r}")
        if v is not None:
            if p.choices is not None and v not in p.choices:
                raise ValueError(
                    f"parameter {k!r} of {method_name!r} must be one of {list(p.choices)}, got {v!r}"
                )
            if p.min is not None and p.min_exclusive and v <= p.min:
                raise ValueError(f"parameter {k!r} of {method_name!r} must be > {p.min}, got {v!r}")
            if p.min is not None and v < p.min:
                raise ValueError(f"parameter {k!r} of {method_name!r} must be >= {p.min}, got {v!r}")
            if p.max is None and isinstance(v, int) and not isinstance(v, bool) and abs(v) > INT_LIMIT:
                raise ValueError(f"parameter {k!r} of {method_name!r} must be between -{INT_LIMIT} and {INT_LIMIT}, got {v!r}")
            if p.max is not None and v > p.max:
                raise ValueError(f"parameter {k!r} of {method_name!r} must be <= {p.max}, got {v!r}")
        kwargs[k] = v
    return params_cls(**kwargs)


#: seeds are integers in [0, SEED_LIMIT)
SEED_LIMIT = 2**32


def check_seed(seed, what: str = "seed") -> int:
    """The one seed rule of the package: an integer in ``[0, 2**32)``.

    Python and NumPy integers (and integral floats such as ``3.0``) are
    accepted; bools, non-integral floats, strings and values out of range are
    refused.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        Naming ``what`` (default ``seed``), the value and the valid range.
    """
    import numbers

    ok = not isinstance(seed, bool) and (
        isinstance(seed, numbers.Integral)
        or (isinstance(seed, float) and math.isfinite(seed) and seed.is_integer()))
    if ok:
        seed = int(seed)
    if not ok or not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"{what} must be an integer in [0, 2**32), got {seed!r}")
    return seed
