"""Superpixel Embedding Network (Gaur & Manjunath, IEEE TIP 2020): superpixels and contours.

A U-Net trained on a dataset (BSDS500 train+val for the shipped weights)
maps every pixel to a 16-D unit vector; a recurrent mean-shift (GBMS) module
pulls similar embeddings of the whole image together; SNIC then grows
superpixels with the paper's distance (Eq. 7)

``d(j, k) = ||p_j - p_k||^2 / s + Psi(e_j, e_k) / m'``,  ``s = N / K``,

where ``Psi`` is the cosine distance (Eq. 2). This package's SNIC
(:func:`napari_deepsuperpixel.methods.snic.snic`, ``distance="cosine"``)
evaluates ``Psi + (m^2 / s) ||p_j - p_k||^2`` which is Eq. 7 multiplied by
``m' = m^2`` (same queue order), so ``compactness`` here is ``m = sqrt(m')``.

``sen_contours`` averages the superpixel boundaries of 13 superpixel counts
from 50 to 700 (Sec. VI, "Contour detection") into a boundary-strength map.
The paper then removes weak responses with a threshold and applies
structured-edge non-maximum suppression; we return the plain average (a
``pb`` map in [0, 1]) because the BSDS500 benchmark sweeps the threshold
and thins the thresholded map itself.

Ours, switchable (``icm_passes``; 0 = the paper's superpixels): the returned
superpixels are moved onto the image's colour edges by a few sweeps of
iterated conditional modes (:func:`snap_superpixels`), their count kept. The
embedding's superpixels follow the U-Net's blurred edge map 1-2 pixels off
the colour edges; measured on BSDS500 val and test in docs/methods/sen.md,
"Edge refinement".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .._types import NO_PROGRESS, PartProgress, Result, param, reporter
from ..nn.tiling import DEFAULT_OVERLAP, DEFAULT_TILE

#: the shipped weight sets, selectable by name with ``checkpoint=`` (a name or a file, as cellpose's
#: ``pretrained_model``); the first is the
#: default (model cards: docs/training.md)
WEIGHT_SETS = {"bsds": "sen_bsds.pt", "microscopy": "sen_microscopy.pt"}
SHIPPED_WEIGHTS = WEIGHT_SETS["bsds"]
_WEIGHTS_HELP = ("Weights: a shipped set by name ('bsds': BSDS500 photographs, the default; 'microscopy': "
                 "DSB2018 nuclei, fluorescence and brightfield) or a checkpoint (.pt) from `deepsuperpixel train sen`")

#: superpixel counts averaged by ``sen_contours`` (13 sizes from 50 to 700, Sec. VI)
CONTOUR_COUNTS = tuple(int(round(v)) for v in np.linspace(50, 700, 13))

DEFAULT_COMPACTNESS = 0.5
#: GBMS anchors at inference: 256 instead of the 1024 of training is 2.8x faster per image with the
#: same superpixels within the noise (20 BSDS500 test images, docs/methods/sen.md "Speed")
GBMS_ANCHORS = 256
#: sweeps of the final edge refinement (ours; docs/methods/sen.md "Edge refinement"): chosen on 20 BSDS500 val
#: images among 0, 4, 8, 16, 32 (32 scored higher still but, as numpy sweeps, took SEN past its 0.8 s per image)
ICM_PASSES = 16


@dataclass
class SenParams:
    """Parameters of ``sen``."""

    n_segments: int = param(200, "Approximate number of superpixels K (SNIC seeds on a grid)", min=1,
                            role="count", aliases=("n_superpixels",))
    compactness: float = param(
        DEFAULT_COMPACTNESS,
        "m = sqrt(m') of Eq. 7: larger = more regular superpixels, smaller = follow the embeddings",
        min=0.0,
    )
    clustering: bool = param(True, "Run the GBMS clustering module (off: raw U-Net embeddings, the "
                                   "paper's ablation)", advanced=True)
    gbms_anchors: Optional[int] = param(GBMS_ANCHORS, "Anchor pixels of the sampled GBMS kernel at inference "
                                        "(None: the checkpoint's, 1024 for the shipped weights; fewer = faster)",
                                        min=1, advanced=True)
    tile_size: int = param(DEFAULT_TILE, "Run the U-Net in overlapping tiles of this side on larger images "
                                         "(bounded memory; 0 = never)", min=0, advanced=True)
    checkpoint: str = param("", _WEIGHTS_HELP, options=tuple(WEIGHT_SETS))
    icm_passes: int = param(ICM_PASSES, "Sweeps of a final edge refinement of the superpixels on the image "
                            "(each pixel takes its own or a neighbour's superpixel, whichever colour mean is "
                            "nearer, with a smoothness prior; 0 = off, as the paper)", min=0, max=100)


@dataclass
class SenContoursParams:
    """Parameters of ``sen_contours``."""

    n_segments: int = param(200, "Superpixels returned as labels (the contours use 13 sizes 50..700)",
                            min=1, role="count", aliases=("n_superpixels",))
    compactness: float = param(DEFAULT_COMPACTNESS, "m = sqrt(m') of Eq. 7 (see `sen`)", min=0.0)
    clustering: bool = param(True, "Run the GBMS clustering module", advanced=True)
    gbms_anchors: Optional[int] = param(GBMS_ANCHORS, "Anchor pixels of the sampled GBMS kernel (see `sen`)",
                                        min=1, advanced=True)
    tile_size: int = param(DEFAULT_TILE, "U-Net tile side on larger images (see `sen`)", min=0, advanced=True)
    checkpoint: str = param("", _WEIGHTS_HELP, options=tuple(WEIGHT_SETS))
    icm_passes: int = param(ICM_PASSES, "Sweeps of the final edge refinement of the returned superpixels "
                            "(see `sen`; the contours are those of the unrefined ones)", min=0, max=100)


# ----------------------------------------------------------------------------- model loading
def _build_sen(hyperparameters: dict):
    from ..nn.unet import SENNet

    return SENNet(**dict(hyperparameters.get("model", {})))


def load_sen(checkpoint: str = ""):
    """Load a SEN model (cached), from ``checkpoint`` or the shipped weights.

    Parameters
    ----------
    checkpoint : str or Path
        A ``sen`` checkpoint written by ``deepsuperpixel train sen`` (or
        :func:`napari_deepsuperpixel.training.sen.train_sen`); empty for the
        weights shipped in the package.

    Returns
    -------
    napari_deepsuperpixel.nn.unet.SENNet
        In eval mode, on the CPU (callers move it).

    Raises
    ------
    FileNotFoundError
        The checkpoint does not exist.
    napari_deepsuperpixel.nn.checkpoint.CheckpointError
        Not a valid ``sen`` checkpoint.
    """
    from ..nn.checkpoint import load_model

    return load_model(checkpoint, method="sen", shipped=WEIGHT_SETS, build=_build_sen)


def warm() -> None:
    """Pay what a process's first SEN run pays, now: torch's import, the shipped weights, the kernels.

    Imports torch, loads every shipped weight set into the per-process model
    cache (:func:`load_sen`), runs the U-Net and one GBMS iteration once on a
    small image (oneDNN creates its convolution kernels on first use) and loads
    SNIC's numba kernels (from numba's disk cache when they are there). The
    napari widget calls it in a background thread when it opens
    (``MethodInfo.warm``), so that a user's first SEN run costs about a warm one
    (measured with ``python benchmarks/bench_defaults.py --methods sen``: the first
    call in a new process pays about 2 s of torch import and 1 s of numba cache
    loading on top of the warm run).
    """
    import torch

    from .snic import warm_kernels

    warm_kernels()
    x = torch.zeros(1, 3, 64, 64)
    for name in WEIGHT_SETS:
        model = load_sen(name)
        with torch.inference_mode():
            e = model.unet(x)
            model.gbms(e, n_iter=1)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    from ..nn.optim import single_image

    img = single_image(image, "SEN")
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    if img.shape[2] != 3:
        raise ValueError(
            f"SEN was trained on RGB images and needs 1 or 3 channels, got {img.shape[2]}; "
            "select the channels to use (e.g. an RGB subset) before running it"
        )
    return img


def embed(image, *, checkpoint: str = "", device="cpu", clustering: bool = True,
          gbms_anchors: Optional[int] = None, tile_size: int = DEFAULT_TILE, progress=None) -> np.ndarray:
    """Per-pixel SEN embeddings of one image.

    Parameters
    ----------
    image : numpy.ndarray
        ``(Y, X, 3)`` RGB (or ``(Y, X)`` / ``(Y, X, 1)`` grey) in [0, 1].
    checkpoint : str
        SEN checkpoint; empty = shipped weights.
    device : str or torch.device
        Where the network runs.
    clustering : bool
        Apply the GBMS iterations after the U-Net.
    gbms_anchors : int, optional
        Anchor pixels of the sampled GBMS kernel (default: the checkpoint's).
    tile_size : int
        The U-Net runs in overlapping tiles of this size (blended, see
        :mod:`napari_deepsuperpixel.nn.tiling`) when the image is larger,
        so that its memory is bounded by the tile; 0 = never tile.
    progress : callable, optional
        ``progress(step, total, stage)``: per U-Net tile (``"embed"``) and per
        GBMS iteration (``"cluster"``); its ``check()`` (Cancel) is called
        between tiles and between iterations.

    Returns
    -------
    numpy.ndarray of float32
        ``(Y, X, D)`` unit-norm embeddings.

    References
    ----------
    .. [1] U. Gaur and B. S. Manjunath, "Superpixel Embedding Network",
       IEEE TIP 29, 2020.
    """
    import torch

    from ..nn.blocks import l2_normalize
    from ..nn.tiling import tiled

    img = _as_rgb(image)
    model = load_sen(checkpoint).to(device)
    x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None].to(device)
    progress = reporter(progress)
    with torch.inference_mode():
        if tile_size and max(x.shape[-2:]) > tile_size:
            e = l2_normalize(tiled(model.unet, x, tile=int(tile_size), overlap=DEFAULT_OVERLAP,
                                   progress=progress, stage="embed"), dim=1)
        else:
            e = model.unet(x)
            progress(1, 1, "embed")
        n_iter = model.gbms.n_iter if clustering else 0
        for i in range(n_iter):  # one GBMS iteration at a time: the same as n_iter at once
            progress.check()
            e = model.gbms(e, n_iter=1, n_anchors=gbms_anchors)[-1]
            progress(i + 1, n_iter, "cluster")
    return e[0].permute(1, 2, 0).float().cpu().numpy()


def boundary_strength(emb: np.ndarray, counts=CONTOUR_COUNTS, compactness: float = DEFAULT_COMPACTNESS,
                      progress=None) -> tuple[np.ndarray, dict]:
    """Average the superpixel boundaries of several superpixel counts.

    Parameters
    ----------
    emb : numpy.ndarray
        ``(Y, X, D)`` unit-norm embeddings.
    counts : sequence of int
        Superpixel counts (default: the paper's 13 sizes from 50 to 700).
    compactness : float
        ``m`` of the SNIC distance (see module docstring).
    progress : callable, optional
        ``progress(step, total, stage)``.

    Returns
    -------
    contours : numpy.ndarray of float32
        ``(Y, X)`` fraction of the segmentations in which the pixel is a
        boundary pixel (label differs from the pixel below or to the right).
    labels_by_count : dict
        ``count -> (Y, X) int32`` labels.
    """
    from .snic import snic

    progress = reporter(progress)
    h, w = emb.shape[:2]
    acc = np.zeros((h, w), np.float32)
    out = {}
    counts = [int(c) for c in counts]
    for i, k in enumerate(counts):
        lab = snic(emb, min(k, h * w), compactness, distance="cosine")
        out[k] = lab
        b = np.zeros((h, w), bool)
        b[:-1, :] |= lab[:-1, :] != lab[1:, :]
        b[:, :-1] |= lab[:, :-1] != lab[:, 1:]
        acc += b
        progress(i + 1, len(counts), "contours")
    return acc / max(len(counts), 1), out


def _run(image, params, device, progress, contours: bool) -> Result:
    from .snic import snic

    progress(0, 1, "embed")
    emb = embed(image, checkpoint=params.checkpoint, device=device, clustering=params.clustering,
                gbms_anchors=params.gbms_anchors, tile_size=params.tile_size, progress=progress)
    extras = {"embedding": emb}
    if contours:
        cmap, by_count = boundary_strength(emb, CONTOUR_COUNTS, params.compactness, progress=progress)
        extras["contours"] = cmap
        labels = by_count.get(int(params.n_segments))
    else:
        labels = None
    if labels is None:
        labels = snic(emb, int(params.n_segments), params.compactness, distance="cosine",
                      progress=progress)
    # SNIC labels are 4-connected by construction
    return Result(np.asarray(labels, np.int32), extras, connected=True)


def _snapped(res: Result, image, params) -> Result:
    """``res`` with its labels refined by :func:`snap_superpixels` when ``params.icm_passes`` asks for it."""
    if not params.icm_passes:
        return res
    return Result(snap_superpixels(res.labels, image, int(params.icm_passes)), res.extras, connected=True)


def snap_superpixels(labels, image, passes: int) -> np.ndarray:
    """SEN's superpixels moved onto the image's colour edges, as many as before (ours, not in the paper).

    ``labels``: ``(Y, X)`` (or ``(Z, Y, X)`` supervoxels), ``image``: the prepared
    ``(..., C)`` channels. :func:`napari_deepsuperpixel.postprocess.snap_to_edges` on the image in
    CIELAB (3 channels) or as it is (any other number), ``beta = 1``; pieces
    cut off by the refinement and specks under 16 pixels join their most
    similar neighbour until no more superpixels are left than SNIC made. The
    embedding's superpixels follow a blurred edge map (the U-Net's
    downsampling), 1-2 pixels off the colour edges: on 20 BSDS500 val images
    16 sweeps raised boundary F at K = 50 from 0.472 to 0.507 and ASA at K = 200
    from 0.936 to 0.951 (docs/methods/sen.md, "Edge refinement").
    """
    from ..io.prepare import to_feature_space
    from ..postprocess import snap_to_edges

    img = np.asarray(image, np.float32)
    feats = to_feature_space(img, img.shape[-1] == 3, "lab")
    return snap_to_edges(labels, feats, passes, 1.0, min_size=16, max_segments=int(labels.max()))


def run_sen(image, *, params: SenParams, seed: int = 0, device="cpu", progress=NO_PROGRESS) -> Result:
    """Registry runner of ``sen``: SEN embeddings -> SNIC superpixels (Eq. 7).

    ``image`` is ``(Y, X, C)`` float32 in [0, 1] with C = 1 or 3; ``seed`` is
    unused (inference is deterministic: grid GBMS anchors, eval-mode batch
    norm). Returns the SNIC labels (int32, ``1..K'``, 4-connected) and
    ``extras["embedding"]`` (``(Y, X, 16)`` float32).

    References
    ----------
    .. [1] U. Gaur and B. S. Manjunath, "Superpixel Embedding Network",
       IEEE TIP 29, 2020, Eq. 7.
    .. [2] R. Achanta and S. Susstrunk, "Superpixels and Polygons using
       Simple Non-Iterative Clustering", CVPR 2017.
    """
    return _snapped(_run(image, params, device, progress, contours=False), image, params)


def run_sen_volume(volume, *, params: SenParams, spacing=(1.0, 1.0, 1.0), seed: int = 0, device="cpu",
                   progress=NO_PROGRESS) -> Result:
    """Volume runner of ``sen``: embeddings of each slice, clustered in 3D by SNIC (Eq. 7).

    The network is 2D (it was trained on photographs), so each ``(Y, X)`` slice
    of the prepared ``(Z, Y, X, C)`` volume is embedded on its own, exactly as
    :func:`run_sen` embeds an image; the stacked ``(Z, Y, X, 16)`` unit
    embeddings are then clustered by 3D SNIC
    (:func:`~napari_deepsuperpixel.methods.snic3d.snic3d`) with the cosine
    distance of Eq. 7, 6 neighbours and physical ``spacing``. Neighbouring
    slices' embeddings of one object agree as far as the slices look alike,
    which is what joins them into one supervoxel.

    Returns
    -------
    Result
        ``labels`` (int32 ``(Z, Y, X)``, ``1..N``, each 6-connected) and
        ``extras["embedding"]`` (``(Z, Y, X, 16)`` float32); ``connected=True``.
    """
    from .snic3d import snic3d

    vol = np.asarray(volume)
    nz = vol.shape[0]
    embs = []
    for z in range(nz):
        progress.check()
        embs.append(embed(vol[z], checkpoint=params.checkpoint, device=device, clustering=params.clustering,
                          gbms_anchors=params.gbms_anchors, tile_size=params.tile_size,
                          progress=PartProgress(progress, z, nz, "slice")))
    emb = np.stack(embs)
    labels = snic3d(emb, int(params.n_segments), params.compactness, spacing=tuple(spacing), distance="cosine",
                    progress=progress)
    return _snapped(Result(np.asarray(labels, np.int32), {"embedding": emb}, connected=True), vol, params)


def run_sen_contours(image, *, params: SenContoursParams, seed: int = 0, device="cpu",
                     progress=NO_PROGRESS) -> Result:
    """Registry runner of ``sen_contours``: superpixels plus a boundary-strength map.

    As :func:`run_sen`, with ``extras["contours"]``: ``(Y, X)`` float32 in
    [0, 1], the mean of the boundary maps of the 13 superpixel counts in
    :data:`CONTOUR_COUNTS`; the labels are the SNIC superpixels at ``n_segments``.

    References
    ----------
    .. [1] U. Gaur and B. S. Manjunath, "Superpixel Embedding Network",
       IEEE TIP 29, 2020, Sec. VI (contour detection).
    """
    return _snapped(_run(image, params, device, progress, contours=True), image, params)
