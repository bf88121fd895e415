"""Images larger than memory: lazy (dask) input from zarr, OME-Zarr and TIFF, labels written to zarr.

Nothing here loads a whole image: :func:`open_image` returns a dask array
for a ``.zarr`` folder and for a TIFF above :data:`LAZY_FILE_BYTES` (read
tile by tile through tifffile's zarr store), and :func:`as_dask` wraps any
array-like (zarr array, dask array, memory map) without reading it.
dask and zarr are imported inside the functions (the ``dask`` extra).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .writes import atomic_write_dir, check_writable

#: TIFF files larger than this are opened lazily by :func:`open_image` (smaller ones are read)
LAZY_FILE_BYTES = 256 * 2**20

#: the chunk side of the zarr labels this package writes
ZARR_CHUNK = 1024


def _need(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ValueError(f"large images need {module.split('.')[0]}: pip install 'napari-deepsuperpixel[dask]'") from None


def is_lazy(image) -> bool:
    """Whether ``image`` is an array-like that should not be turned into numpy whole (dask, zarr)."""
    mod = type(image).__module__.split(".")[0]
    return mod in ("dask", "zarr")


class _Uncopied:
    """A numpy array or memory map as ``dask.array.from_array`` sees it without copying it.

    ``from_array`` copies every array that has a ``copy`` method and numpy's
    array protocols before it wraps it (dask 2024.12 and later): a whole
    copy of an image in memory, and a memory map read whole. This view of
    the array has neither, so the chunks are sliced from the array itself
    when a task reads them (views, no copy).
    """

    def __init__(self, array):
        import uuid

        self.array = array
        self.shape, self.dtype, self.ndim = tuple(array.shape), array.dtype, array.ndim
        self.token = uuid.uuid4().hex

    def __getitem__(self, key):
        return self.array[key]

    def __dask_tokenize__(self):  # a name of its own, not the array's bytes (hashing or pickling would read them)
        return self.token


def as_dask(image, chunks=None):
    """A dask array for ``image`` (dask, zarr, numpy, memory map...) without reading or copying it.

    ``chunks``: the chunking of a new dask array (default: the zarr chunks,
    or 1024 x 1024 for numpy).
    """
    da = _need("dask.array")
    if isinstance(image, da.Array):
        return image
    if chunks is None:
        chunks = getattr(image, "chunks", None)
        if not (isinstance(chunks, tuple) and all(isinstance(c, int) for c in chunks)):
            chunks = (ZARR_CHUNK, ZARR_CHUNK) + tuple(np.shape(image)[2:])
    if isinstance(image, np.ndarray):  # numpy and memory maps: sliced when read, never copied whole
        view = _Uncopied(image)
        return da.from_array(view, chunks=chunks, asarray=True, lock=False, name=f"array-{view.token}",
                             meta=np.empty((0,) * image.ndim, image.dtype))
    return da.from_array(image, chunks=chunks, asarray=True, lock=False)


def _zarr_level0(node):
    """The full-resolution array of a zarr array or multiscale group (OME-Zarr ``multiscales``, or ``"0"``)."""
    zarr = _need("zarr")
    if isinstance(node, zarr.Array):
        return node
    attrs = dict(node.attrs)
    ms = attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales")
    if ms:
        return node[ms[0]["datasets"][0]["path"]]
    keys = sorted(node.array_keys())
    if "0" in keys:
        return node["0"]
    if len(keys) == 1:
        return node[keys[0]]
    raise ValueError(f"the zarr group holds several arrays ({', '.join(keys)}); open the one to segment "
                     "with zarr.open and pass it")


def open_zarr(path):
    """The full-resolution level of a zarr or OME-Zarr store, as a dask array (nothing is read)."""
    zarr = _need("zarr")
    node = zarr.open(str(path), mode="r")
    return as_dask(_zarr_level0(node))


class TiffLevel:
    """A (pyramidal) TIFF's full-resolution level as an array read region by region (tifffile's zarr store).

    It holds the file's path, not its open store: pickled to the workers of a
    dask cluster, each opens the file itself (on storage they share).
    """

    def __init__(self, path):
        self.path = str(path)
        self._level = None
        level = self._open()
        self.shape, self.dtype, self.chunks = tuple(level.shape), level.dtype, tuple(level.chunks)
        self.ndim = len(self.shape)

    def _open(self):
        if self._level is None:
            import tifffile

            zarr = _need("zarr")
            self._level = _zarr_level0(zarr.open(tifffile.imread(self.path, aszarr=True), mode="r"))
        return self._level

    def __getitem__(self, key):
        return self._open()[key]

    def __getstate__(self):
        return {**self.__dict__, "_level": None}


def open_tiff_lazy(path):
    """A (pyramidal) TIFF's full-resolution level as a dask array, read tile by tile through tifffile."""
    return as_dask(TiffLevel(path))


def open_image(path):
    """An image file for segmenting: numpy for ordinary files, dask for ``.zarr`` and large TIFFs.

    Raises
    ------
    FileNotFoundError, ValueError, ImageReadError
        As :func:`napari_deepsuperpixel.io.files.read_image`.
    """
    from .files import ImageReadError, check_image_file, read_image

    path = Path(path)
    if path.suffix.lower() == ".zarr":
        if not path.is_dir():
            raise FileNotFoundError(f"no such zarr store: {path}")
        try:
            return open_zarr(path)
        except (ValueError, FileNotFoundError):
            raise
        except Exception as e:  # noqa: BLE001  (zarr raises many kinds for damaged stores)
            raise ImageReadError(f"cannot read zarr store {path}: {e}") from None
    if path.suffix.lower() in (".tif", ".tiff") and path.is_file() and path.stat().st_size > LAZY_FILE_BYTES:
        check_image_file(path)
        try:
            return open_tiff_lazy(path)
        except ValueError:
            raise
        except Exception as e:  # noqa: BLE001
            raise ImageReadError(f"cannot read image {path}: {e}") from None
    return read_image(path)


def write_labels_zarr(path, labels, *, overwrite: bool = False, chunks: int = ZARR_CHUNK) -> Path:
    """Write int32 labels (numpy or dask) to a zarr store, block by block and atomically.

    Parameters
    ----------
    path : str or Path
        The ``.zarr`` folder to write.
    labels : array_like or dask array
        ``(Y, X)`` or ``(Z, Y, X)`` integer labels; a dask array is computed
        chunk by chunk into the store (never whole in memory).
    overwrite : bool
        Replace an existing store.
    chunks : int
        Chunk side in Y and X.
    """
    da = _need("dask.array")
    _need("zarr")
    path = Path(path)
    check_writable([path], overwrite)
    lab = as_dask(labels).astype(np.int32)
    lab = lab.rechunk((1, chunks, chunks) if lab.ndim == 3 else (chunks, chunks))

    def write(tmp):
        da.to_zarr(lab, str(tmp), overwrite=True)
    atomic_write_dir(path, write)
    return path


def create_labels_zarr(path, shape, *, chunks: int = ZARR_CHUNK):
    """An empty int32 zarr array at ``path`` to fill block by block (``path`` must not exist)."""
    zarr = _need("zarr")
    return zarr.create_array(str(path), shape=tuple(shape), chunks=(chunks,) * len(shape), dtype="int32",
                             fill_value=0)


def write_labels_tiled_tif(path, labels, *, overwrite: bool = False, tile: int = 512) -> Path:
    """Write 2D int32 labels (numpy, zarr or dask) as a tiled, zlib-compressed TIFF, tile by tile, atomically."""
    import tifffile

    from .writes import atomic_write

    path = Path(path)
    check_writable([path], overwrite)
    ny, nx = labels.shape

    def tiles():
        for y in range(0, ny, tile):
            for x in range(0, nx, tile):
                part = np.zeros((tile, tile), np.int32)
                block = np.asarray(labels[y:y + tile, x:x + tile], np.int32)
                part[:block.shape[0], :block.shape[1]] = block
                yield part

    atomic_write(path, lambda p: tifffile.imwrite(p, tiles(), shape=(ny, nx), dtype=np.int32, tile=(tile, tile),
                                                  compression="zlib"))
    return path


def labels_pyramid(path, *, min_side: int = 2048) -> list:
    """Dask arrays of the labels at ``path`` and of coarser copies (every other pixel) written next to it.

    The levels halve until the longer side is below ``min_side``: what napari shows
    as a multiscale Labels layer, reading only the level and the part on screen.
    Level ``k`` is stored as ``<path>_<k>.zarr`` and computed block by block from level ``k - 1``.
    """
    da = _need("dask.array")
    path = Path(path)
    levels = [da.from_zarr(str(path))]
    k = 0
    while max(levels[-1].shape[-2:]) >= min_side:
        k += 1
        nxt = levels[-1][..., ::2, ::2].rechunk(ZARR_CHUNK)
        target = path.with_name(f"{path.stem}_{k}.zarr")
        da.to_zarr(nxt, str(target), overwrite=True)
        levels.append(da.from_zarr(str(target)))
    return levels
