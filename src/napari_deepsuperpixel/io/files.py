"""Reading images and writing labels / overlays (no napari imports)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Optional

import numpy as np

from .writes import atomic_write, check_writable  # noqa: F401  (check_writable: re-exported)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


class ImageReadError(OSError):
    """An image file exists but cannot be decoded (empty, truncated, or not the format its suffix says)."""


#: the first bytes of each format (a file whose start matches none of its suffix's is mislabelled)
_MAGIC = {".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
          ".tif": (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"), ".tiff": (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
          ".bmp": (b"BM",)}
_NAMES = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"BM": "BMP",
          b"GIF8": "GIF", b"RIFF": "WEBP/RIFF", b"PK\x03\x04": "ZIP"}


def _actual_format(head: bytes) -> str:
    for magic, name in _NAMES.items():
        if head.startswith(magic):
            return f"a {name} file"
    try:
        head.decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "of an unknown format"


@contextlib.contextmanager
def quiet_tifffile():
    """Silence tifffile's log lines about damaged files (the error that follows says what is wrong)."""
    import logging

    log = logging.getLogger("tifffile")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def check_image_file(path) -> Path:
    """Cheap checks of an image file before any work: it exists, its suffix is supported, it is not empty
    and its first bytes are those of its format (a mislabelled file is refused).

    Raises
    ------
    FileNotFoundError, ValueError, ImageReadError
        As :func:`read_image`.
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
    with open(path, "rb") as f:
        head = f.read(16)
    if not head.startswith(_MAGIC[suf]):
        raise ImageReadError(f"cannot read image {path}: it is not a {suf[1:].upper()} image (it is "
                             f"{_actual_format(head)}); re-export it or give it the right suffix")
    return path


#: tifffile's axis letters that name one of ours (S: samples, the colour channels of a pixel)
_TIFF_AXES = {"T": "T", "Z": "Z", "Y": "Y", "X": "X", "C": "C", "S": "C"}


def file_axes(path) -> Optional[str]:
    """The axes an OME-TIFF or ImageJ TIFF file states (``"CZYX"``, ``"TZCYX"``...), or ``None``.

    Only files whose metadata names the axes answer (plain TIFFs, PNGs... return
    ``None``: their axes are guessed from the shape); an axis letter that is not
    one of T, Z, Y, X, C (or S, samples, taken as C) also gives ``None``.
    """
    from .axes import parse_axes

    path = Path(path)
    if path.suffix.lower() not in (".tif", ".tiff") or not path.is_file():
        return None
    import tifffile

    try:
        with quiet_tifffile(), tifffile.TiffFile(path) as tif:
            if not (tif.is_ome or tif.is_imagej):
                return None
            series = tif.series[0]
            letters = series.axes.upper()
            shape = tuple(series.shape)
    except Exception:  # noqa: BLE001 - unreadable: reading the image says why
        return None
    if any(a not in _TIFF_AXES for a in letters):
        return None
    axes = "".join(_TIFF_AXES[a] for a in letters)
    try:
        return parse_axes(axes, len(shape))
    except ValueError:
        return None


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
    path = check_image_file(path)
    suf = path.suffix.lower()
    try:
        if suf in (".tif", ".tiff"):
            import tifffile

            with quiet_tifffile():
                arr = tifffile.imread(path)
        else:
            import imageio.v3 as iio

            arr = iio.imread(path)
        arr = np.asarray(arr)
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001  (the decoders raise many kinds for damaged files)
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


def overlay_boundaries(image: np.ndarray, labels: np.ndarray, color=(1.0, 0.9, 0.0), *,
                       axes=None) -> np.ndarray:
    """Return an RGB uint8 picture of ``labels`` boundaries drawn over ``image``.

    ``image`` may be any dtype/channels (it goes through the normal preparation,
    with ``axes`` as in :func:`~napari_deepsuperpixel.io.prepare_image`);
    a stack or time-lapse shows its middle 2D slice.
    """
    from skimage.segmentation import find_boundaries

    from .prepare import prepare_image

    prep = prepare_image(image, axes=axes)
    z = prep.n_slices // 2
    lab = np.asarray(labels).reshape((-1,) + prep.data.shape[1:3])[z]
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
