"""How to run a method, apart from what the method is asked to do: :class:`RunOptions`.

A run has two kinds of settings. The *method parameters* (``n_segments``,
``compactness``, ...) are declared by each method (:func:`~napari_deepsuperpixel.param`).
The *run options* (seed, device, axes, volume mode, blocks, ...) are the same
for every method and live in one frozen object that travels from the
entrance (:func:`~napari_deepsuperpixel.segment`, the batch, the widgets, the
command line) down to the branch that runs the image. Because the two sets of
names never overlap (:func:`~napari_deepsuperpixel.methods.register` refuses a
method parameter named like a run option), ``segment(image, "snic",
n_segments=400, axes="ZYX")`` can take both as keywords and split them here.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Optional, Union

from ._types import check_seed

#: the ``mode`` values (:mod:`napari_deepsuperpixel.volumes`)
MODES = ("slices", "3d", "spacetime")


@dataclass(frozen=True)
class RunOptions:
    """The options of one run, checked when made (``ValueError`` naming the option and what is valid).

    Attributes
    ----------
    seed : int
        Random seed, an integer in ``[0, 2**32)``. Classical methods give the
        same labels for the same seed everywhere; deep methods on the same
        machine, device and number of torch threads (docs/usage.md, "Reproducibility").
    device : {"auto", "cpu", "cuda", "mps"} or "cuda:<i>"
        Where torch methods run (``"auto"``: cuda, then mps, then cpu).
        Classical methods always run on the CPU.
    channel_axis : int, None or "auto"
        Without ``axes``: the axis holding channels
        (:func:`~napari_deepsuperpixel.io.prepare_image`).
    normalize : {"auto", "percentile", "minmax", "dtype", "none"}
        The intensity normalisation (:func:`~napari_deepsuperpixel.io.prepare_image`).
    axes : str, optional
        One letter per axis of the image from ``T``, ``Z``, ``Y``, ``X``, ``C``
        (e.g. ``"ZYX"``, ``"TYX"``, ``"YXC"``). Without it the axes are guessed
        from the shape and ``channel_axis``, with a ``UserWarning`` when the
        shape is ambiguous.
    mode : {"slices", "3d", "spacetime"}
        Each 2D slice on its own; supervoxels of each ``(Z, Y, X)`` volume; or a
        ``TYX`` time-lapse as one volume (:mod:`napari_deepsuperpixel.volumes`).
    spacing : tuple of float, optional
        The physical voxel size along the Z/Y/X axes of ``axes``, in their order.
    time_spacing : float
        ``mode="spacetime"``: how far apart two frames are, in ``spacing``'s units.
    match_time : bool
        Renumber a time-lapse's labels by overlap so that an object keeps its label.
    block_size : int, "auto" or None
        Segment a large 2D image block by block with a halo
        (:mod:`napari_deepsuperpixel.tiled`): the block side in pixels;
        ``"auto"`` blocks of 4096 above 8192 x 8192 pixels; ``None`` never.
    out : str or Path, optional
        A ``.zarr`` path (it must not exist) the labels are written to.
    scheduler : str or distributed.Client, optional
        For a run in blocks: a Dask distributed scheduler (address or client)
        whose workers segment the blocks.
    """

    seed: int = 0
    device: str = "auto"
    channel_axis: Union[int, str, None] = "auto"
    normalize: str = "auto"
    axes: Optional[str] = None
    mode: str = "slices"
    spacing: Optional[tuple] = None
    time_spacing: float = 1.0
    match_time: bool = False
    block_size: Union[int, str, None] = "auto"
    out: Any = None
    scheduler: Any = None

    def __post_init__(self):
        from .io.axes import parse_axes
        from .io.prepare import NORMALIZE_CHOICES
        from .nn.device import DEVICE_CHOICES

        object.__setattr__(self, "seed", check_seed(self.seed))
        dev = self.device
        if not isinstance(dev, str):  # a torch.device
            dev = str(dev)
        if dev.split(":")[0] not in DEVICE_CHOICES:
            raise ValueError(f"unknown device {self.device!r}; use one of {DEVICE_CHOICES}")
        object.__setattr__(self, "device", dev)
        if self.normalize not in NORMALIZE_CHOICES:
            raise ValueError(f"normalize must be one of {NORMALIZE_CHOICES}, got {self.normalize!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.axes is not None:
            object.__setattr__(self, "axes", parse_axes(self.axes))
            if not (isinstance(self.channel_axis, str) and self.channel_axis == "auto"):
                raise ValueError(f"give axes ({self.axes!r}) or channel_axis ({self.channel_axis!r}), not both; "
                                 "axes names the channel axis with 'C'")
        ts = self.time_spacing
        if isinstance(ts, bool) or not (isinstance(ts, (int, float)) and math.isfinite(ts) and ts > 0):
            raise ValueError(f"time_spacing must be a finite number > 0, got {ts!r}")
        if not isinstance(self.match_time, bool):
            raise ValueError(f"match_time must be True or False, got {self.match_time!r}")
        bs = self.block_size
        if isinstance(bs, str) and bs != "auto":
            raise ValueError(f"block_size must be 'auto', None or a number of pixels, got {bs!r}")
        if not isinstance(bs, str) and bs is not None and bs != 0 and (
                isinstance(bs, bool) or int(bs) != bs or bs < 64):
            raise ValueError(f"block_size must be an integer of at least 64 pixels, got {bs!r}")
        if self.spacing is not None:
            object.__setattr__(self, "spacing", tuple(self.spacing))

    @property
    def slices(self) -> bool:
        """Whether each 2D slice is segmented on its own (``mode="slices"``)."""
        return self.mode == "slices"

    def replace(self, **changes) -> "RunOptions":
        """A copy with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)


#: the names of the run options; no method parameter may take one of them
RUN_OPTION_NAMES = tuple(f.name for f in dataclasses.fields(RunOptions))


def split_keywords(keywords: dict, options: Optional[RunOptions] = None) -> tuple:
    """``(RunOptions, method parameters)`` from the keywords of one call.

    Keywords named like a run option build the options (on top of
    ``options`` when given, which may not be combined with them); every other
    keyword is a method parameter.

    Raises
    ------
    ValueError
        A run option given both in ``options`` and as a keyword, or an invalid option.
    TypeError
        ``options`` that is not a :class:`RunOptions`.
    """
    run = {k: keywords[k] for k in RUN_OPTION_NAMES if k in keywords}
    params = {k: v for k, v in keywords.items() if k not in run}
    if options is None:
        return RunOptions(**run), params
    if not isinstance(options, RunOptions):
        raise TypeError(f"options must be a RunOptions, got {type(options).__name__}")
    if run:
        raise ValueError(f"give {', '.join(sorted(run))} inside options= or as keywords, not both")
    return options, params
