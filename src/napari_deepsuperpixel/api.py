"""The public Python API: :func:`segment`, :func:`segment_result` and :func:`list_methods`.

Both entrances take the same keywords, split into run options
(:class:`~napari_deepsuperpixel.RunOptions`) and method parameters, and go
down the one path of :mod:`napari_deepsuperpixel.pipeline`.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ._types import Progress, ProgressCallback, Result
from .methods import MethodInfo, get_method, list_methods  # noqa: F401  (the public API)
from .options import RunOptions, split_keywords


def segment_result(image, method: str = "slic", *, options: Optional[RunOptions] = None,
                   progress: Optional[ProgressCallback] = None, cancel_check=None, **keywords) -> Result:
    """Like :func:`segment` but return a :class:`~napari_deepsuperpixel.Result` with extras.

    ``cancel_check`` is an optional zero-argument callable; when it returns
    True the run stops with :class:`~napari_deepsuperpixel.Cancelled`.
    ``extras`` holds ``method`` and ``params`` (the parameters used) and the
    method's extras, in one shape for any input: an image-like extra (an
    ``embedding``, a ``reconstruction``, ``contours``, the intermediate
    ``superpixels``) has the labels' shape plus its own trailing axes, also
    for a stack (``(Z, Y, X, 16)`` for a ZYX stack's SEN embedding, slice by
    slice or in 3D); any other extra (``loss_history``, ``n_iter``...) is the
    value of the run for one image or volume, and a list with one value per
    slice or volume for a stack.
    """
    from .pipeline import plan_run

    opts, params = split_keywords(keywords, options)
    plan = plan_run(image, method, opts, params)
    return plan.run(image, Progress(progress, cancel_check=cancel_check))


def segment(image, method: str = "slic", *, options: Optional[RunOptions] = None,
            progress: Optional[ProgressCallback] = None, **keywords) -> np.ndarray:
    """Segment an image with a registered method.

    Parameters
    ----------
    image : array_like
        ``(Y, X)`` grayscale, ``(Y, X, C)`` colour/multichannel, ``(Z, Y, X)``
        or ``(Z, Y, X, C)`` stack; with ``axes`` any order of T, Z, Y, X, C
        (up to 5 axes). Any real dtype; see
        :func:`napari_deepsuperpixel.io.prepare_image` for the normalisation.
    method : str
        A name from :func:`list_methods` (default ``"slic"``).
    options : RunOptions, optional
        How to run it: seed, device, axes, mode, spacing, blocks, output...
        (:class:`~napari_deepsuperpixel.RunOptions`, where each is described).
        The same names are also accepted as keywords (``seed=1, axes="ZYX"``),
        but not both ways in one call.
    progress : callable, optional
        Called with :class:`~napari_deepsuperpixel.ProgressEvent`; may raise
        :class:`~napari_deepsuperpixel.Cancelled` to stop the run.
    **keywords
        Method parameters (see ``list_methods()``), e.g. ``n_segments=400``,
        and run options (the fields of :class:`~napari_deepsuperpixel.RunOptions`):
        ``seed`` (an integer in ``[0, 2**32)``), ``device`` (``"auto"``, ``"cpu"``,
        ``"cuda"``, ``"mps"``), ``channel_axis``, ``normalize``, ``axes``
        (``"ZYX"``, ``"TYX"``, ``"YXC"``...), ``mode`` (``"slices"``, ``"3d"``,
        ``"spacetime"``), ``spacing``, ``time_spacing``, ``match_time``,
        ``block_size``, ``out`` (a ``.zarr`` path) and ``scheduler``. A method
        never has a parameter named like a run option.

    Returns
    -------
    labels : numpy.ndarray of int32 (a zarr array with ``out``)
        Labels ``1..N`` with the image's shape without channels, axes in
        ``T Z Y X`` order (YX, ZYX, TYX, TZYX); every label is one 4-connected
        region of one slice (``"slices"``; labels of different slices are
        distinct unless ``match_time``) or one 6-connected region of one
        volume (``"3d"``, ``"spacetime"``).

    Raises
    ------
    ValueError
        Unknown method or parameter (the message lists valid ones), invalid
        image (empty, 1 pixel wide, NaN/inf, >4 dims), a seed outside
        ``[0, 2**32)``, a NaN/infinite parameter, ``n_segments`` < 1 or
        larger than the number of pixels, unavailable device, a bad ``axes``
        string, ``spacing`` or ``mode`` (e.g. ``"3d"`` for a 2D-only method).

    Examples
    --------
    >>> from skimage import data
    >>> from napari_deepsuperpixel import segment
    >>> labels = segment(data.astronaut(), "slic", n_segments=200)
    >>> labels.shape, labels.dtype.name, int(labels.min())
    ((512, 512), 'int32', 1)
    """
    return segment_result(image, method, options=options, progress=progress, **keywords).labels
