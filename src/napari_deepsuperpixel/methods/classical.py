"""Classical superpixel methods, wrapping scikit-image's public functions.

Every runner receives one prepared ``(Y, X, C)`` float32 slice in the
registry's ``input_space`` (CIELAB for colour, [0, 100] for other channels,
except Felzenszwalb which gets [0, 1] values) and returns a
:class:`~napari_deepsuperpixel.Result`; :func:`napari_deepsuperpixel.segment`
then enforces connectivity. ``slic`` and ``watershed`` also have volume
runners (``run_slic_volume``, ``run_watershed_volume``) for ``(Z, Y, X, C)``
volumes with a physical voxel ``spacing``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._types import NO_PROGRESS, Result, param

#: SLIC's smallest ``compactness``: below it the space term vanishes (1e-320 is a denormal) and SLIC
#: gives one segment; m = 0.001 is already a pure colour clustering on [0, 100] CIELAB values
MIN_COMPACTNESS = 1e-3
#: SLIC's most k-means iterations: scikit-image's loop cannot be interrupted (Ctrl-C, Cancel), so its
#: length is bounded (the paper: 10 suffice)
MAX_SLIC_ITER = 100
#: SLIC warns when it makes fewer than this share of the segments asked for
FEW_SEGMENTS = 0.5


def warn_few_segments(method: str, asked: int, got: int) -> None:
    """A ``UserWarning`` naming the count asked for and made, and what to change, when far fewer came out."""
    if asked >= 4 and got < FEW_SEGMENTS * asked:
        import warnings

        warnings.warn(f"{method} made {got} segments of the n_segments={asked} asked for: on a noisy image the "
                      "colour term splits the superpixels into pieces that the connectivity step merges; raise "
                      "compactness (e.g. 100) or smooth first (sigma=1)", UserWarning, stacklevel=3)


@dataclass
class SlicParams:
    """SLIC (Achanta et al., TPAMI 2012) via :func:`skimage.segmentation.slic`."""

    n_segments: int = param(400, "Approximate number of superpixels", min=1, role="count")
    compactness: float = param(10.0, "Balance of colour (low) and space (high) proximity (at least 0.001)",
                               min=MIN_COMPACTNESS, max=1e6)
    max_iter: int = param(10, "k-means iterations (at most 100: scikit-image's loop cannot be interrupted)",
                          min=1, max=MAX_SLIC_ITER, aliases=("max_num_iter",))
    sigma: float = param(0.0, "Gaussian pre-smoothing width (pixels)", min=0.0, max=1000.0)
    min_size: int = param(0, "Merge segments smaller than this (pixels) into their most similar neighbour", min=0, role="min_size")


def run_slic(image, *, params: SlicParams, seed=0, device="cpu", progress=NO_PROGRESS) -> Result:
    """Run SLIC with the paper's distance in CIELAB units.

    scikit-image rescales any input to [0, 1] (over all channels) before
    clustering; with our CIELAB input that would make ``compactness`` act on a
    colour range ~100 times smaller than SLIC's (whose m = 10 assumes L in
    [0, 100]) and give a regular grid. Dividing ``compactness`` by the same
    range undoes the rescaling exactly, so ``compactness`` is SLIC's m.
    """
    from skimage.segmentation import slic

    value_range = float(image.max() - image.min())
    labels = slic(
        image,
        n_segments=params.n_segments,
        compactness=params.compactness / value_range if value_range > 0 else params.compactness,
        max_num_iter=params.max_iter,
        sigma=params.sigma,
        channel_axis=-1,
        convert2lab=False,  # already in CIELAB (see input_space)
        enforce_connectivity=True,
        start_label=1,
    )
    warn_few_segments("slic", params.n_segments, int(labels.max()))
    return Result(labels)


def run_slic_volume(volume, *, params: SlicParams, spacing=(1.0, 1.0, 1.0), seed=0, device="cpu",
                    progress=NO_PROGRESS) -> Result:
    """Volume runner of ``slic``: scikit-image's SLIC in 3D on a ``(Z, Y, X, C)`` volume.

    scikit-image places the seeds on a grid in voxels and measures the space
    distance in physical units (``spacing``); ``sigma`` is then in physical
    units too (scikit-image divides it by the spacing). ``compactness`` is
    SLIC's m as in 2D (see :func:`run_slic`).
    """
    from skimage.segmentation import slic

    progress(0, 1, "slic 3d")
    value_range = float(volume.max() - volume.min())
    labels = slic(volume, n_segments=params.n_segments,
                  compactness=params.compactness / value_range if value_range > 0 else params.compactness,
                  max_num_iter=params.max_iter, sigma=params.sigma, spacing=np.asarray(spacing, float),
                  channel_axis=-1, convert2lab=False, enforce_connectivity=True, start_label=1)
    progress(1, 1, "slic 3d")
    return Result(labels)


@dataclass
class FelzenszwalbParams:
    """Felzenszwalb & Huttenlocher (IJCV 2004) via :func:`skimage.segmentation.felzenszwalb`.

    Defaults follow scikit-image's segmentation comparison example
    (scale 100, sigma 0.5, min_size 50) rather than the function's own
    (scale 1), which over-segments natural images into thousands of pieces.
    """

    scale: float = param(100.0, "Observation scale k: higher means larger segments", min=0.0, role="scale")
    sigma: float = param(0.5, "Gaussian pre-smoothing width (pixels)", min=0.0, max=1000.0)
    min_size: int = param(50, "Minimum segment size (pixels), enforced in post-processing", min=0,
                           role="min_size")


def run_felzenszwalb(image, *, params: FelzenszwalbParams, seed=0, device="cpu", progress=NO_PROGRESS) -> Result:
    from skimage.segmentation import felzenszwalb

    labels = felzenszwalb(
        image, scale=params.scale, sigma=params.sigma, min_size=params.min_size, channel_axis=-1
    )
    return Result(labels + 1)


@dataclass
class QuickshiftParams:
    """Quickshift (Vedaldi & Soatto, ECCV 2008) via :func:`skimage.segmentation.quickshift`.

    Defaults from scikit-image's segmentation comparison example.
    """

    kernel_size: float = param(3.0, "Width of the Gaussian density kernel (pixels; at most 10: scikit-image's "
                                    "loop, which cannot be interrupted, grows with its square)", min=0.5, max=10.0)
    max_dist: float = param(6.0, "Cut-off distance for the data tree: higher means fewer segments", min=0.0,
                            role="scale")
    ratio: float = param(0.5, "Balance of colour (high) and space (low) proximity", min=0.0, max=1.0)
    sigma: float = param(0.0, "Gaussian pre-smoothing width (pixels)", min=0.0, max=1000.0)
    min_size: int = param(0, "Merge segments smaller than this (pixels) into their most similar neighbour", min=0, role="min_size")


def run_quickshift(image, *, params: QuickshiftParams, seed=0, device="cpu", progress=NO_PROGRESS) -> Result:
    from skimage.segmentation import quickshift

    labels = quickshift(
        image.astype(np.float64),
        ratio=params.ratio,
        kernel_size=params.kernel_size,
        max_dist=params.max_dist,
        sigma=params.sigma,
        convert2lab=False,  # already in CIELAB (see input_space)
        rng=seed,
        channel_axis=-1,
    )
    return Result(labels + 1)


@dataclass
class WatershedParams:
    """Compact watershed (Neubert & Protzel, ICPR 2014) via :func:`skimage.segmentation.watershed`.

    The relief is the Sobel gradient magnitude (summed over channels) and the
    markers are ``n_segments`` points on a regular grid.
    """

    n_segments: int = param(400, "Approximate number of superpixels (grid markers)", min=1, role="count")
    compactness: float = param(0.01, "Compactness: higher gives more regular shapes", min=0.0)
    min_size: int = param(0, "Merge segments smaller than this (pixels) into their most similar neighbour", min=0, role="min_size")


def watershed_relief(image: np.ndarray) -> np.ndarray:
    """The relief the watershed floods: the Sobel gradient magnitude of a ``(Y, X, C)`` image, over channels."""
    from skimage.filters import sobel

    return np.sqrt(sum(sobel(image[..., c]) ** 2 for c in range(image.shape[-1])))


def run_watershed(image, *, params: WatershedParams, seed=0, device="cpu", progress=NO_PROGRESS) -> Result:
    from skimage.segmentation import watershed

    labels = watershed(watershed_relief(image), markers=int(params.n_segments), compactness=params.compactness)
    return Result(labels)


def run_watershed_block(features, *, params: WatershedParams, seeds, cell_area: float) -> np.ndarray:
    """Block runner of ``watershed`` (:mod:`napari_deepsuperpixel.tiled`): the whole image's grid as markers.

    ``cell_area`` is not needed: the flooding's compactness does not depend on the seed spacing.
    """
    from skimage.segmentation import watershed

    markers = np.zeros(features.shape[:2], np.int32)
    markers.flat[np.asarray(seeds)] = np.arange(1, np.size(seeds) + 1)
    return watershed(watershed_relief(features), markers=markers, compactness=params.compactness)


def run_watershed_volume(volume, *, params: WatershedParams, spacing=(1.0, 1.0, 1.0), seed=0, device="cpu",
                         progress=NO_PROGRESS) -> Result:
    """Volume runner of ``watershed``: compact watershed in 3D on a ``(Z, Y, X, C)`` volume.

    The relief is the Sobel gradient with each axis's derivative divided by
    its ``spacing`` (a physical gradient); the markers are the centres of
    :func:`~napari_deepsuperpixel.methods.snic3d.grid_shape_3d`'s grid, whose
    cells are close to cubes in physical units. The compactness term of
    scikit-image's watershed counts voxels (it has no spacing), so for very
    anisotropic data the shapes are a little longer along the coarse axis.
    The flooding is 6-connected.
    """
    from skimage.filters import sobel
    from skimage.segmentation import watershed

    from .snic3d import grid_seeds_3d

    progress(0, 1, "watershed 3d")
    sq = np.zeros(volume.shape[:3], np.float64)
    for c in range(volume.shape[-1]):
        for axis, d in enumerate(spacing):
            sq += (sobel(volume[..., c], axis=axis) / d) ** 2
    seeds = grid_seeds_3d(volume.shape[:3], int(params.n_segments), spacing)
    markers = np.zeros(sq.size, np.int32)
    markers[seeds] = np.arange(1, seeds.size + 1, dtype=np.int32)
    labels = watershed(np.sqrt(sq), markers=markers.reshape(sq.shape), compactness=params.compactness,
                       connectivity=1)
    progress(1, 1, "watershed 3d")
    return Result(labels)
