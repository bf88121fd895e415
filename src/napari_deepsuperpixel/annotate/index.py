"""Where each superpixel's pixels are: filling whole superpixels without scanning the image."""

from __future__ import annotations

import numpy as np

from ._graph import check_superpixels


class SuperpixelIndex:
    """The pixels of every superpixel, sorted once (one ``argsort``), then found by slicing.

    Parameters
    ----------
    superpixels : array_like of int
        ``(Y, X)`` or ``(Z, Y, X)`` labels (0 = none).

    Examples
    --------
    >>> import numpy as np
    >>> idx = SuperpixelIndex(np.array([[1, 1, 2], [3, 3, 2]]))
    >>> idx.label_at((0.2, 2.4)), [a.tolist() for a in idx.pixels([2])]
    (2, [[0, 1], [2, 2]])
    """

    def __init__(self, superpixels):
        self.superpixels = check_superpixels(superpixels)
        flat = self.superpixels.ravel()
        self._order = np.argsort(flat, kind="stable")
        counts = np.bincount(flat.astype(np.int64), minlength=1)
        self._start = np.concatenate([[0], np.cumsum(counts)])

    @property
    def shape(self) -> tuple:
        return self.superpixels.shape

    def label_at(self, position) -> int:
        """The superpixel at a data position (rounded to the nearest pixel); 0 outside the image."""
        pos = np.round(np.asarray(position, float)[-self.superpixels.ndim:]).astype(int)
        if pos.size != self.superpixels.ndim or np.any(pos < 0) or np.any(pos >= self.shape):
            return 0
        return int(self.superpixels[tuple(pos)])

    def labels_along(self, start, stop) -> list:
        """The superpixels under the straight segment from ``start`` to ``stop`` (data positions), in order."""
        a = np.asarray(start, float)[-self.superpixels.ndim:]
        b = np.asarray(stop, float)[-self.superpixels.ndim:]
        steps = int(np.ceil(np.max(np.abs(b - a)))) + 1 if a.size else 1
        out = []
        for p in np.linspace(a, b, max(steps, 1) + 1):
            lab = self.label_at(p)
            if lab and lab not in out:
                out.append(lab)
        return out

    def flat_pixels(self, labels) -> np.ndarray:
        """Flat indices of the pixels of ``labels`` (any iterable of ints; 0 and unknown labels are skipped)."""
        if isinstance(labels, (set, frozenset)):
            labels = sorted(labels)
        parts = [self._order[self._start[i]:self._start[i + 1]]
                 for i in sorted({int(x) for x in np.ravel(labels)}) if 0 < i < self._start.size - 1]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def pixels(self, labels) -> tuple:
        """The pixels of ``labels`` as a tuple of index arrays (for ``array[...]`` or napari's ``data_setitem``)."""
        return np.unravel_index(self.flat_pixels(labels), self.shape)
