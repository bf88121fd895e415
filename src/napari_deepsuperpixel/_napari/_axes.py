"""Axes and voxel size of a napari layer, and the "2D per slice / 3D volume" choice of the segment widget.

The layer decides what it can: an RGB layer's last axis is ``C``; axis labels
that are all axis letters (``("z", "y", "x")``, ``("t", "y", "x")``...) name
the axes; otherwise the core's documented guess
(:func:`napari_deepsuperpixel.io.axes.guess_axes`) fills the field and its
warning, if any, is shown. ``spacing`` comes from the layer's ``scale``.
"""

from __future__ import annotations

import warnings

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, LineEdit

#: the widget's mode names -> the ``mode`` of :func:`napari_deepsuperpixel.segment`
MODES = {"2D per slice": "slices", "3D volume": "3d", "space-time (T as an axis)": "spacetime"}


def layer_axes(data_shape: tuple, *, rgb: bool, labels=None) -> tuple:
    """The axes of a layer's data and a note when they were guessed ambiguously.

    Parameters
    ----------
    data_shape : tuple of int
        The shape of the layer's (full-resolution) data.
    rgb : bool
        Whether the layer is RGB(A) (its last axis holds colour).
    labels : sequence of str, optional
        The layer's ``axis_labels`` (one per displayed dimension, without
        the colour axis); used when every one is an axis letter.

    Returns
    -------
    (str, str)
        The axes (e.g. ``"ZYX"``, ``"YXC"``) and a warning text (``""`` when
        the axes are not a guess from an ambiguous shape).
    """
    from ..io.axes import guess_axes, parse_axes

    ndim = len(data_shape)
    lab = "".join(str(v).upper() for v in (labels or ()))
    if labels is not None and len(lab) == ndim - (1 if rgb else 0):
        try:
            return parse_axes(lab + ("C" if rgb else ""), ndim), ""
        except ValueError:
            pass  # napari's default labels ("-3", "-2", "-1") or others: guess below
    if rgb:
        return "TZYX"[5 - ndim:] + "C" if ndim <= 5 else "", ""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            axes = guess_axes(tuple(data_shape))
        except ValueError as err:  # e.g. 5 dimensions: the user names them
            return "", str(err).replace("axes=", "'axes'")
    note = next((str(w.message) for w in rec if issubclass(w.category, UserWarning)), "")
    return axes, note


def spacing_of(layer, axes: str, rgb: bool) -> tuple:
    """The layer's ``scale`` along the Z/Y/X letters of ``axes`` (its data's axes)."""
    dims = axes[:-1] if rgb else axes  # napari has no dimension for an RGB layer's colour axis
    scale = np.asarray(layer.scale, float)
    return tuple(float(abs(scale[dims.index(a)])) for a in axes if a in "ZYX")


def result_geometry(layer, axes: str, rgb: bool) -> dict:
    """``scale``/``translate`` of a result whose axes are ``axes``'s T, Z, Y, X in that order."""
    from ..io.axes import canonical_order

    dims = axes[:-1] if rgb else axes
    scale, translate = np.asarray(layer.scale, float), np.asarray(layer.translate, float)
    out = [dims.index(axes[i]) for i in canonical_order(axes) if axes[i] != "C"]
    return {"scale": tuple(scale[out]), "translate": tuple(translate[out])}


class VolumeOptions(Container):
    """The segment widget's axes field, "2D per slice / 3D volume" choice and time matching.

    ``update(layer, info, data_shape)`` refills them for a layer and a method;
    ``values(layer, n_layers)`` gives the ``axes``/``mode``/``spacing``/``match_time``
    of the job and the result's ``geometry``.
    """

    def __init__(self):
        self.axes = LineEdit(label="axes", tooltip="One letter per axis of the layer's data: T, Z, Y, X, C "
                                                   "(e.g. ZYX, TYX, YXC); filled from the layer, editable")
        self.mode = ComboBox(label="mode", choices=list(MODES), value="2D per slice",
                             tooltip="2D per slice, or supervoxels of each ZYX volume "
                                     "(slic, snic, watershed, backprop, sen), "
                                     "or a TYX time-lapse as one volume")
        self.match_time = CheckBox(text="match labels through time", value=False,
                                   tooltip="Time-lapse: keep an object's label from frame to frame (overlap)")
        super().__init__(widgets=[self.axes, self.mode, self.match_time], labels=True)
        self.margins = (0, 0, 0, 0)
        self.note = ""

    def update(self, layer, info, data_shape=None) -> None:
        """Refill from ``layer`` (its shape, rgb, axis labels) and what method ``info`` can do."""
        if layer is not None:
            shape = tuple(data_shape if data_shape is not None else layer.data.shape)
            axes, self.note = layer_axes(shape, rgb=bool(layer.rgb), labels=getattr(layer, "axis_labels", None))
            self.axes.value = axes
        able = info is not None and info.supports_3d
        if not able:
            self.mode.value = "2D per slice"
        self.mode.enabled = able
        self.match_time.enabled = "T" in self.axes.value.upper()

    def values(self, layer, n_layers: int = 1) -> dict:
        """``axes`` (of the layer's data), ``mode``, ``spacing``, ``match_time`` and ``geometry`` for the job.

        Raises
        ------
        ValueError
            A bad axes string (the message says what to change).
        """
        from ..io.axes import parse_axes

        ndim = np.ndim(layer.data[0]) if getattr(layer, "multiscale", False) else layer.data.ndim
        if not self.axes.value.strip():
            raise ValueError(self.note or "fill in 'axes': one letter per axis of the layer (T, Z, Y, X, C)")
        axes = parse_axes(self.axes.value.strip(), ndim)
        if n_layers > 1:
            parse_axes(axes + "C")  # several layers stacked as channels: the layers have no C of their own
        return {"axes": axes, "mode": MODES[self.mode.value], "spacing": spacing_of(layer, axes, bool(layer.rgb)),
                "match_time": bool(self.match_time.value and self.match_time.enabled),
                "geometry": result_geometry(layer, axes, bool(layer.rgb))}


def memory_note(info, job) -> str:
    """``" (about 1.2 GB)"`` for a 3D job of a method that declares a memory estimate (``MethodInfo.memory_estimate``)."""
    from .._types import build_params

    est = info.memory_estimate
    if est is None or not job.axes:
        return ""
    shape = np.shape(job.datas[0])
    zyx = tuple(shape[job.axes.index(a)] for a in "ZYX" if a in job.axes)
    if len(zyx) != 3:  # space-time: T takes Z's place
        zyx = (shape[job.axes.index("T")],) + zyx
    n_ch = (shape[job.axes.index("C")] if "C" in job.axes else 1) * len(job.datas)
    params = build_params(info.params_cls, info.name, job.params)
    return f" (about {est(zyx, n_ch, params, job.device) / 2**30:.1f} GB)"
