"""Reading images and writing labels / overlays (no napari imports)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._util import atomic_write, check_writable  # noqa: F401  (check_writable: re-exported)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


class ImageReadError(OSError):
    """An image file exists but cannot be decoded (empty, truncated, or not the format its suffix says)."""


def read_image(path) -> np.ndarray:
    """Read an image file (TIFF via tifffile, others via imageio) as a numpy array.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        An unsupported suffix.
    ImageReadError
        (an ``OSError``) The file is a folder, empty, truncated, damaged or not
        an image of its suffix's format; the message names the file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such image file: {path}")
    suf = path.suffix.lower()
    if suf not in IMAGE_SUFFIXES:
        raise ValueError(f"unsupported image format {suf!r} for {path}; supported: {', '.join(IMAGE_SUFFIXES)}")
    if path.is_dir():
        raise ImageReadError(f"cannot read image {path}: it is a folder, not an image file")
    if path.stat().st_size == 0:
        raise ImageReadError(f"cannot read image {path}: the file is empty (0 bytes); re-export or replace it")
    try:
        if suf in (".tif", ".tiff"):
            import tifffile

            arr = tifffile.imread(path)
        else:
            import imageio.v3 as iio

            arr = iio.imread(path)
        arr = np.asarray(arr)
    except MemoryError:
        raise
    except Exception as e:  # the decoders raise many kinds for damaged files
        reason = " ".join(str(e).split()) or type(e).__name__
        raise ImageReadError(f"cannot read image {path}: {reason} -- the file is damaged, truncated or not a "
                             f"{suf[1:].upper()} image; re-export or replace it") from None
    if arr.dtype == object or arr.size == 0:
        raise ImageReadError(f"cannot read image {path}: it holds no pixel data; re-export or replace it")
    return arr




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
