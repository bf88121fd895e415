"""Reading images and writing labels / overlays (no napari imports)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._util import atomic_write, check_writable  # noqa: F401  (check_writable: re-exported)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def read_image(path) -> np.ndarray:
    """Read an image file (TIFF via tifffile, others via imageio) as a numpy array."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such image file: {path}")
    suf = path.suffix.lower()
    if suf in (".tif", ".tiff"):
        import tifffile

        return tifffile.imread(path)
    if suf not in IMAGE_SUFFIXES:
        raise ValueError(f"unsupported image format {suf!r} for {path}; supported: {', '.join(IMAGE_SUFFIXES)}")
    import imageio.v3 as iio

    return np.asarray(iio.imread(path))




def write_labels_tif(path, labels: np.ndarray, *, overwrite: bool = False) -> Path:
    """Write int32 labels losslessly as (zlib-compressed) TIFF."""
    import tifffile

    path = Path(path)
    check_writable([path], overwrite)
    atomic_write(path, lambda p: tifffile.imwrite(p, np.asarray(labels, np.int32), compression="zlib"))
    return path


def overlay_boundaries(image: np.ndarray, labels: np.ndarray, color=(1.0, 0.9, 0.0)) -> np.ndarray:
    """Return an RGB uint8 picture of ``labels`` boundaries drawn over ``image``.

    ``image`` may be any dtype/channels (it goes through the normal preparation);
    a stack shows its middle slice.
    """
    from skimage.segmentation import find_boundaries

    from .prepare import prepare_image

    prep = prepare_image(image)
    lab = np.asarray(labels)
    z = prep.n_slices // 2
    if lab.ndim == 3:
        lab = lab[z]
    rgbimg = prep.slice(z)
    if rgbimg.shape[-1] == 1:
        rgbimg = np.repeat(rgbimg, 3, axis=-1)
    elif rgbimg.shape[-1] != 3:
        rgbimg = np.repeat(rgbimg.mean(-1, keepdims=True), 3, axis=-1)
    out = rgbimg.copy()
    b = find_boundaries(lab, mode="inner")
    out[b] = color
    return (np.clip(out, 0, 1) * 255).round().astype(np.uint8)


def write_png(path, rgb: np.ndarray, *, overwrite: bool = False) -> Path:
    import imageio.v3 as iio

    path = Path(path)
    check_writable([path], overwrite)
    atomic_write(path, lambda p: iio.imwrite(p, rgb, extension=".png"))
    return path
