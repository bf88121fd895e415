"""Painting whole superpixels into a Labels layer through napari's mouse callbacks (no Qt).

A click or a drag on the target layer fills every superpixel under the
pointer (and under the straight path between two mouse events, so a fast
drag skips none) with the layer's ``selected_label``; in ``"erase"`` mode
with 0. The edits go through :meth:`napari.layers.Labels.data_setitem`
inside :meth:`~napari.layers.Labels.block_history`, so one drag is one step
of napari's own undo (Ctrl+Z). In ``"select"`` mode a click toggles
superpixels in a selection (shown in a separate layer) that
:meth:`SuperpixelPainter.merge_selected` writes as one new object.
"""

from __future__ import annotations

import numpy as np

MODES = ("off", "paint", "erase", "select")


class SuperpixelPainter:
    """Mouse handling for one (superpixel layer, target layer) pair.

    Parameters
    ----------
    superpixels : napari.layers.Labels
        The superpixels (its data is indexed once).
    target : napari.layers.Labels
        Where superpixels are painted; must have the superpixels' shape.
    selection : napari.layers.Labels, optional
        Shows the selected superpixels (data set to 1 there); needed for ``"select"``.
    """

    def __init__(self, superpixels, target, selection=None):
        from ..annotate import SuperpixelIndex

        sp = np.asarray(superpixels.data)
        if tuple(target.data.shape) != sp.shape:
            raise ValueError(f"target layer {target.name!r} has shape {tuple(target.data.shape)} but the "
                             f"superpixels have shape {sp.shape}; press 'new target layer' for a matching one")
        self.superpixels, self.target, self.selection_layer = superpixels, target, selection
        self.index = SuperpixelIndex(sp)
        self.mode = "off"
        self.selected: set = set()
        self._attached = False

    # -- attaching to the layer ------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        """Switch to ``"off"``, ``"paint"``, ``"erase"`` or ``"select"``."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if mode == "select" and self.selection_layer is None:
            raise ValueError("select mode needs a selection layer")
        self.mode = mode
        if mode == "off":
            self.detach()
        elif not self._attached:
            self.target.mode = "pan_zoom"  # napari's own brush must not paint as well
            self.target.mouse_drag_callbacks.append(self.on_drag)
            self._attached = True
        if self._attached:
            self.target.mouse_pan = False  # a drag paints instead of moving the view

    def detach(self) -> None:
        """Remove the mouse callback and give the layer its panning back."""
        if self._attached:
            if self.on_drag in self.target.mouse_drag_callbacks:
                self.target.mouse_drag_callbacks.remove(self.on_drag)
            self.target.mouse_pan = True
            self._attached = False
        self.mode = "off"

    # -- mouse -------------------------------------------------------------------------------
    def _data_position(self, event) -> np.ndarray:
        world = np.asarray(event.position, float)[-self.superpixels.ndim:]
        return np.asarray(self.superpixels.world_to_data(world), float)

    def on_drag(self, layer, event):
        """napari drag callback: press, moves, release."""
        if self.mode == "off":
            return
        last = self._data_position(event)
        done: set = set()
        if self.mode == "select":
            self._toggle(self.index.labels_along(last, last))
            return
        with self.target.block_history():  # the whole drag is one undo step
            done |= self._fill(self.index.labels_along(last, last), done)
            yield
            while event.type == "mouse_move":
                pos = self._data_position(event)
                done |= self._fill(self.index.labels_along(last, pos), done)
                last = pos
                yield

    def _fill(self, labels, done: set) -> set:
        new = [lab for lab in labels if lab not in done]
        if new:
            value = 0 if self.mode == "erase" else int(self.target.selected_label)
            self.target.data_setitem(self.index.pixels(new), value)
        return set(new)

    def fill(self, labels, value: int) -> None:
        """Fill superpixels ``labels`` with ``value`` in the target, as one undo step."""
        with self.target.block_history():
            self.target.data_setitem(self.index.pixels(labels), int(value))

    # -- selection and merging ------------------------------------------------------------------
    def _toggle(self, labels) -> None:
        for lab in labels:
            self.selected.symmetric_difference_update({lab})
            self.selection_layer.data[self.index.pixels([lab])] = 1 if lab in self.selected else 0
        self.selection_layer.refresh()

    def clear_selection(self) -> None:
        self.selected.clear()
        if self.selection_layer is not None:
            self.selection_layer.data[...] = 0
            self.selection_layer.refresh()

    def merge_selected(self) -> int:
        """Write the selected superpixels into the target as one new object (one undo step).

        Returns
        -------
        int
            The new label (the target's largest label + 1), or 0 with nothing selected.
        """
        if not self.selected:
            return 0
        label = int(np.max(self.target.data)) + 1
        self.fill(sorted(self.selected), label)
        self.clear_selection()
        return label
