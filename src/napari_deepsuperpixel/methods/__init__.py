"""Method registry: one module per algorithm, one line per method here.

Each entry names a parameter dataclass and a runner ``"module:function"`` that
is imported only when the method runs (so torch is not imported for SLIC).

A runner has the signature::

    run(image, *, params, seed, device, progress) -> Result

where ``image`` is one prepared ``(Y, X, C)`` float32 slice in the method's
``input_space`` (see :func:`napari_deepsuperpixel.io.to_feature_space`).
``progress(step, total, stage="...", **info)`` reports progress (and raises
:class:`~napari_deepsuperpixel.Cancelled` when the user cancelled);
``progress.check()`` only checks for cancellation, for use between the
reports of a long iteration.

A method that can make supervoxels also names a *volume runner*::

    run_volume(volume, *, params, spacing, seed, device, progress) -> Result

with ``volume`` a prepared ``(Z, Y, X, C)`` float32 volume and ``spacing``
its physical voxel size ``(dz, dy, dx)``; ``segment(..., mode="3d")`` uses it
and refuses methods without one (:func:`check_supports_3d`).

A method whose superpixels grow from seeds that can be placed on the whole
image's grid names a *block runner*, so that a large image can be segmented
block by block (:mod:`napari_deepsuperpixel.tiled`)::

    run_block(features, *, params, seeds, cell_area) -> labels

with ``features`` one block (plus halo) in the method's input space, ``seeds``
the flat indices of the block's seeds, ``cell_area`` the whole image's pixels
per seed, and labels ``1..len(seeds)`` (seed ``i`` grows label ``i + 1``).

Everything else the framework needs of a method is declared here too, never
found by its name: ``memory_estimate_ref`` (what the volume runner needs, for
the widgets' note) and ``warm_ref`` (a zero-argument function that compiles the
method's kernels, which the widgets call in the background when they open).
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import Callable, Optional

from .._types import NO_PROGRESS, ParamInfo, Reporter, Result, param, param_infos

#: the extension API: what a method author needs (docs/architecture.md, "Adding a method"); a method
#: that runs another one composes through :func:`napari_deepsuperpixel.methods.compose.run_method`
__all__ = ["MethodInfo", "ParamInfo", "Result", "Reporter", "NO_PROGRESS", "param", "param_infos", "register",
           "get_method", "list_methods", "check_supports_3d", "REGISTRY"]


@dataclass(frozen=True)
class MethodInfo:
    """A registered method.

    Attributes
    ----------
    name : str
        Registry name used by :func:`~napari_deepsuperpixel.segment`, the CLI and widgets.
    description : str
        One line.
    kind : {"superpixels", "segmentation", "contours"}
        What the labels are: an over-segmentation, a segmentation, or (for
        ``contours``) superpixels plus a boundary-strength map in ``extras``.
    params_ref : str
        ``"module:Class"`` of the parameter dataclass.
    runner_ref : str
        ``"module:function"`` of the runner.
    input_space : {"lab", "rgb01"}
        ``"lab"``: CIELAB for colour, [0, 100] for other channels;
        ``"rgb01"``: the prepared [0, 1] channels.
    uses_torch : bool
        Whether the method needs PyTorch (and honours ``device``).
    docs : str
        Its documentation page under ``docs/`` (default ``methods/<name>.md``).
    volume_runner_ref : str, optional
        ``"module:function"`` of the volume runner (3D supervoxels, 6-connected,
        honouring ``spacing``); ``None``: the method works on 2D slices only.
    block_runner_ref : str, optional
        ``"module:function"`` of the block runner (see the module notes);
        ``None``: the method runs on the whole image.
    memory_estimate_ref : str, optional
        ``"module:function"`` ``estimate(zyx_shape, n_channels, params, device) -> bytes``
        of the volume runner's peak memory.
    warm_ref : str, optional
        ``"module:function"`` of a zero-argument warm-up (numba compilation).
    bytes_per_pixel : float
        The peak memory of a 2D run beyond its input, per pixel, about (measured,
        ``benchmarks/measure_memory.py``): the memory estimate of
        :func:`napari_deepsuperpixel.pipeline.plan_run`, which refuses a run that
        does not fit, or turns it to blocks.
    """

    name: str
    description: str
    kind: str
    params_ref: str
    runner_ref: str
    input_space: str = "lab"
    uses_torch: bool = False
    docs: str = ""
    volume_runner_ref: Optional[str] = None
    block_runner_ref: Optional[str] = None
    memory_estimate_ref: Optional[str] = None
    warm_ref: Optional[str] = None
    bytes_per_pixel: float = 100.0

    @property
    def supports_blocks(self) -> bool:
        """Whether a large image can be segmented block by block (:mod:`napari_deepsuperpixel.tiled`)."""
        return self.block_runner_ref is not None

    @property
    def block_runner(self) -> Callable:
        if self.block_runner_ref is None:
            raise ValueError(f"method {self.name!r} cannot run in blocks")
        return _load(self.block_runner_ref)

    @property
    def memory_estimate(self) -> Optional[Callable]:
        """The volume runner's memory estimate, or ``None`` when the method declares none."""
        return None if self.memory_estimate_ref is None else _load(self.memory_estimate_ref)

    def warm(self) -> None:
        """Compile the method's kernels now (nothing for a method without ``warm_ref``)."""
        if self.warm_ref is not None:
            _load(self.warm_ref)()

    @property
    def docs_page(self) -> str:
        """Path of the method's documentation page under ``docs/``."""
        return self.docs or f"methods/{self.name}.md"

    @property
    def supports_3d(self) -> bool:
        """Whether the method can segment a volume in 3D (``mode="3d"``)."""
        return self.volume_runner_ref is not None

    @property
    def volume_runner(self) -> Callable:
        check_supports_3d(self)
        return _load(self.volume_runner_ref)

    @property
    def params_cls(self):
        return _load(self.params_ref)

    @property
    def runner(self) -> Callable:
        return _load(self.runner_ref)

    @property
    def parameters(self) -> list[ParamInfo]:
        """The method's parameters, with defaults and help."""
        return param_infos(self.params_cls)

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.parameters}

    def __repr__(self) -> str:
        ps = ", ".join(f"{p.name}={p.default!r}" for p in self.parameters)
        return f"MethodInfo({self.name!r}, kind={self.kind!r}: {self.description} [{ps}])"


def _load(ref: str):
    mod, _, attr = ref.partition(":")
    return getattr(importlib.import_module(mod, __name__), attr)


_P = __name__  # "napari_deepsuperpixel.methods"

#: name -> MethodInfo; adding a method is one module plus one line here.
REGISTRY: dict[str, MethodInfo] = {}


def register(info: MethodInfo) -> None:
    """Add a method to the registry (also usable by third-party code).

    Raises
    ------
    ValueError
        A name already registered, or a parameter named like a run option
        (:data:`~napari_deepsuperpixel.options.RUN_OPTION_NAMES`: ``seed``,
        ``device``, ``axes``, ...), which ``segment(image, method, **keywords)``
        could not tell apart.
    """
    from ..options import RUN_OPTION_NAMES

    if info.name in REGISTRY:
        raise ValueError(f"method {info.name!r} is already registered")
    clash = sorted({p.name for p in info.parameters} & set(RUN_OPTION_NAMES))
    if clash:
        raise ValueError(f"method {info.name!r} has parameter(s) {', '.join(clash)} named like run options "
                         f"of segment(); rename them (run options: {', '.join(RUN_OPTION_NAMES)})")
    REGISTRY[info.name] = info


_CLASSICAL, _DSC = "methods/classical.md", "methods/dsc.md"  # pages that document several methods

for _info in [
    MethodInfo("slic", "SLIC superpixels (Achanta et al. 2012, scikit-image)", "superpixels",
               f"{_P}.classical:SlicParams", f"{_P}.classical:run_slic", docs=_CLASSICAL,
               volume_runner_ref=f"{_P}.classical:run_slic_volume", bytes_per_pixel=55),
    MethodInfo("snic", "SNIC superpixels (Achanta & Susstrunk 2017), this package's numba implementation",
               "superpixels", f"{_P}.snic:SnicParams", f"{_P}.snic:run_snic",
               volume_runner_ref=f"{_P}.snic3d:run_snic_volume", block_runner_ref=f"{_P}.snic:run_snic_block",
               warm_ref=f"{_P}.snic:warm_kernels", bytes_per_pixel=56),
    MethodInfo("felzenszwalb", "Felzenszwalb-Huttenlocher graph segmentation (scikit-image)",
               "superpixels", f"{_P}.classical:FelzenszwalbParams", f"{_P}.classical:run_felzenszwalb",
               input_space="rgb01", docs=_CLASSICAL, bytes_per_pixel=360),
    MethodInfo("quickshift", "Quickshift mode seeking (Vedaldi & Soatto 2008, scikit-image)",
               "superpixels", f"{_P}.classical:QuickshiftParams", f"{_P}.classical:run_quickshift",
               docs=_CLASSICAL, bytes_per_pixel=120),
    MethodInfo("meanshift", "Mean-shift segmentation (Comaniciu & Meer 2002), this package's numba implementation",
               "superpixels", f"{_P}.meanshift:MeanShiftParams", f"{_P}.meanshift:run_meanshift",
               docs=_CLASSICAL, bytes_per_pixel=170),
    MethodInfo("watershed", "Compact watershed on the gradient (Neubert & Protzel 2014, scikit-image)",
               "superpixels", f"{_P}.classical:WatershedParams", f"{_P}.classical:run_watershed",
               docs=_CLASSICAL, volume_runner_ref=f"{_P}.classical:run_watershed_volume",
               block_runner_ref=f"{_P}.classical:run_watershed_block", bytes_per_pixel=56),
    MethodInfo("backprop", "Unsupervised segmentation by backpropagation (Kanezaki 2018; + Kim & Kanezaki 2020 continuity loss)",
               "segmentation", f"{_P}.backprop:BackpropParams", f"{_P}.backprop:run_backprop",
               input_space="rgb01", uses_torch=True,
               volume_runner_ref=f"{_P}.backprop3d:run_backprop_volume",
               memory_estimate_ref=f"{_P}.backprop3d:estimate_memory", bytes_per_pixel=290),
    MethodInfo("neural_superpixels", "Per-image CNN superpixels (Eliasof et al. 2022; RIM / edge-aware ablations)",
               "superpixels", f"{_P}.neural_superpixels:NeuralSuperpixelsParams",
               f"{_P}.neural_superpixels:run_neural_superpixels", input_space="rgb01", uses_torch=True,
               bytes_per_pixel=650),
    MethodInfo("dsc", "Deep Superpixel Cut (Lin et al. 2020): soft cut of superpixels with SuperAE features", "segmentation",
               f"{_P}.dsc:DscParams", f"{_P}.dsc:run_dsc", input_space="rgb01", uses_torch=True,
               bytes_per_pixel=1070),
    MethodInfo("superae", "SuperAE reconstruction (Lin et al. 2020) -> superpixels by a registry method",
               "superpixels", f"{_P}.dsc:SuperAEParams", f"{_P}.dsc:run_superae", input_space="rgb01",
               uses_torch=True, docs=_DSC, bytes_per_pixel=1070),
    MethodInfo("kmeans_superpixels", "k-means of DSC's superpixels by colour or deep feature (DSC Table III)",
               "segmentation", f"{_P}.superpixel_clustering:ClusterParams",
               f"{_P}.superpixel_clustering:run_kmeans_superpixels",
               input_space="rgb01", uses_torch=True, docs=_DSC, bytes_per_pixel=1070),
    MethodInfo("ncut_superpixels", "Normalised cut of DSC's superpixels by colour or deep feature (DSC Table III)",
               "segmentation", f"{_P}.superpixel_clustering:ClusterParams",
               f"{_P}.superpixel_clustering:run_ncut_superpixels",
               input_space="rgb01", uses_torch=True, docs=_DSC, bytes_per_pixel=1070),
    MethodInfo("sen", "Superpixel Embedding Network (Gaur & Manjunath 2020): U-Net + GBMS embeddings -> SNIC",
               "superpixels", f"{_P}.sen:SenParams", f"{_P}.sen:run_sen", input_space="rgb01",
               uses_torch=True, volume_runner_ref=f"{_P}.sen:run_sen_volume", warm_ref=f"{_P}.sen:warm",
               bytes_per_pixel=760),
    MethodInfo("sen_contours", "SEN contours: superpixel boundaries averaged over 13 sizes 50..700",
               "contours", f"{_P}.sen:SenContoursParams", f"{_P}.sen:run_sen_contours",
               input_space="rgb01", uses_torch=True, docs="methods/sen.md", warm_ref=f"{_P}.sen:warm",
               bytes_per_pixel=770),
]:
    register(_info)


def list_methods(kind: Optional[str] = None) -> list[MethodInfo]:
    """List the registered methods.

    Parameters
    ----------
    kind : {"superpixels", "segmentation", "contours"}, optional
        Only methods of this output kind.

    Returns
    -------
    list of MethodInfo
        Each has ``name``, ``description``, ``kind`` and ``parameters``
        (a list of :class:`~napari_deepsuperpixel._types.ParamInfo` with
        ``name``, ``default``, ``type``, ``help``).

    Examples
    --------
    >>> from napari_deepsuperpixel import list_methods
    >>> [m.name for m in list_methods("superpixels")][:3]
    ['slic', 'snic', 'felzenszwalb']
    """
    methods = list(REGISTRY.values())
    if kind is not None:
        kinds = sorted({m.kind for m in methods})
        if kind not in kinds:
            raise ValueError(f"unknown kind {kind!r}; valid kinds: {', '.join(kinds)}")
        methods = [m for m in methods if m.kind == kind]
    return methods


def check_supports_3d(info: MethodInfo) -> None:
    """Refuse a method without a volume runner, naming the methods that have one.

    Raises
    ------
    ValueError
        ``method 'felzenszwalb' cannot make 3D supervoxels (mode='3d'); methods that can: slic, snic, ...``
    """
    if not info.supports_3d:
        able = [m.name for m in REGISTRY.values() if m.supports_3d]
        raise ValueError(f"method {info.name!r} cannot make 3D supervoxels (mode='3d'); methods that can: "
                         f"{', '.join(able)}; or use mode='slices' (2D per slice)")


def get_method(name: str) -> MethodInfo:
    """Look up a method by name; ``ValueError`` lists the valid names."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), list(REGISTRY), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown method {name!r}; valid methods: {', '.join(REGISTRY)}.{hint}"
        ) from None
