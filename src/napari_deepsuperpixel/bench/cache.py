"""The per-task result cache of ``deepsuperpixel bench`` and ``deepsuperpixel eval``.

A task's key is the SHA-256 of its settings, the content digests of its
inputs (image, ground truth, result files), the package version and a cache
version (:func:`cache_key`). A :class:`ResultCache` keeps one file per task in
one folder, written atomically; an entry that is damaged, of another
structure or of another key is recomputed, never trusted and never a crash.

Two storage formats (one per command, so that existing caches keep working):

``"json"``
    ``FOLDER/<name>-<key[:20]>.json``, a JSON object whose ``"row"`` is the
    value (``deepsuperpixel bench``: ``OUT/cache``).
``"npz"``
    ``FOLDER/<name>.npz`` with the key stored inside, the value a
    :class:`~napari_deepsuperpixel.metrics.bsds.ImageEval`
    (``deepsuperpixel eval``: ``OUT/.eval_cache``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..io.writes import atomic_write, atomic_write_json

FORMATS = ("json", "npz")


def array_digest(a) -> str:
    """SHA-256 of an array's dtype, shape and bytes."""
    a = np.ascontiguousarray(a)
    h = hashlib.sha256()
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def file_digest(path) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_key(settings: dict, *, cache_version, **digests: str) -> str:
    """The key of one task: its settings, its inputs' content digests and the package version.

    Parameters
    ----------
    settings : dict
        Everything that changes the result besides the inputs (JSON-able;
        other values are keyed by their ``str``).
    cache_version
        Bumped by a command when its cached values change meaning.
    **digests : str
        One content digest per input (:func:`array_digest`, :func:`file_digest`).
    """
    from .._version import __version__

    payload = json.dumps({"spec": settings, **digests, "version": __version__, "cache_version": cache_version},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def jsonable(x):
    """``x`` with numpy arrays and scalars (also inside dicts, lists and tuples) as plain Python values."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


class ResultCache:
    """One folder of cached task results.

    Parameters
    ----------
    folder : str or Path
        Where the entries live (created on the first save).
    fmt : {"json", "npz"}
        Storage format (see the module docstring).
    enabled : bool
        ``False``: :meth:`load` finds nothing and :meth:`save` writes nothing.
    """

    def __init__(self, folder, fmt: str = "json", *, enabled: bool = True):
        if fmt not in FORMATS:
            raise ValueError(f"cache format must be one of {FORMATS}, got {fmt!r}")
        self.folder = Path(folder)
        self.fmt = fmt
        self.enabled = enabled

    def path(self, name: str, key: str) -> Path:
        """The file of task ``name`` with ``key``."""
        if self.fmt == "json":
            return self.folder / f"{name}-{key[:20]}.json"
        return self.folder / f"{name}.npz"

    def load(self, name: str, key: str) -> Optional[Any]:
        """The cached value of task ``name``, or ``None`` (none, damaged, or another key)."""
        if not self.enabled:
            return None
        path = self.path(name, key)
        if not path.is_file():
            return None
        try:
            return _READERS[self.fmt](path, key)
        except Exception:  # damaged, partial or of another structure: recompute
            return None

    def save(self, name: str, key: str, value, **meta) -> None:
        """Store ``value`` (atomically); ``meta`` goes with it in the JSON format."""
        if not self.enabled:
            return
        path = self.path(name, key)
        if self.fmt == "json":
            atomic_write_json(path, {**meta, "row": value})
        else:
            atomic_write(path, lambda tmp: np.savez(tmp, cache_key=key, **value.to_dict()))


def _read_json(path: Path, key: str):
    return json.loads(path.read_text())["row"]


def _read_npz(path: Path, key: str):
    from ..metrics.bsds import ImageEval

    with np.load(path, allow_pickle=False) as z:
        if str(z["cache_key"]) != key:
            return None
        return ImageEval.from_dict({k: z[k] for k in z.files})


_READERS = {"json": _read_json, "npz": _read_npz}
