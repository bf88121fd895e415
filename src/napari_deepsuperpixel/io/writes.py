"""Writing files safely: atomic writes, the refusal to overwrite, writable outputs checked before work.

One home for these rules; every writer of the package (label files, tables,
checkpoints, benchmark outputs, zarr stores) goes through them.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Callable, Iterable


def atomic_write(path, write: Callable[[Path], object]) -> Path:
    """Write a file so that readers never see it half written.

    ``write(tmp)`` writes the content to a temporary path in the same folder
    (with the same suffix, so that writers choosing the format by suffix work);
    it then replaces ``path`` in one :func:`os.replace`. An interrupted or
    failed write leaves ``path`` as it was and removes the temporary file.

    Parameters
    ----------
    path : str or Path
        The final file; its folder is created if needed.
    write : callable
        ``write(tmp_path)`` writes the whole content to ``tmp_path``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}-{threading.get_ident()}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_text(path, text: str) -> Path:
    """:func:`atomic_write` of a text file."""
    return atomic_write(path, lambda p: p.write_text(text))


def atomic_write_json(path, obj) -> Path:
    """:func:`atomic_write` of ``obj`` as JSON (values json cannot encode are written as ``str``)."""
    return atomic_write_text(path, json.dumps(obj, default=str))


def check_writable(paths: Iterable, overwrite: bool, remedies=None) -> None:
    """Raise :class:`~napari_deepsuperpixel.errors.OutputExistsError` (a ``FileExistsError``) listing
    the existing outputs unless ``overwrite``; ``remedies`` as the error's (default: ``overwrite``)."""
    existing = [str(p) for p in paths if Path(p).exists()]
    if existing and not overwrite:
        from ..errors import OutputExistsError

        raise OutputExistsError(existing, remedies=remedies)


def check_output_folder(folder, what: str = "output folder") -> Path:
    """Make sure files can be written in ``folder`` (created if needed), before any work starts.

    A temporary file is created and removed, so a folder under an existing
    file, a read-only folder or a full disk is found now and not after the
    computing.

    Raises
    ------
    NotADirectoryError, PermissionError, OSError
        With a message naming ``folder`` and what to do.
    """
    folder = Path(folder)
    for parent in (folder, *folder.parents):
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(
                    f"cannot write the {what} {folder}: {parent} is a file, not a folder; choose another path")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}-{threading.get_ident()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise type(e)(f"cannot write the {what} {folder}: {e.strerror or e}; choose a writable folder") from None
    return folder


def check_output_file(path, what: str = "output file") -> Path:
    """Make sure ``path`` can be written (its folder writable, ``path`` itself not a folder)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"the {what} {path} is a folder; give a file name")
    check_output_folder(path.parent, f"folder of the {what}")
    return path


def atomic_write_dir(path, write: Callable[[Path], object]) -> Path:
    """:func:`atomic_write` for a folder (e.g. a zarr store).

    ``write(tmp)`` fills a temporary folder next to ``path``, which then takes
    its place by renames; an interrupted or failed write leaves ``path`` as it
    was and removes the temporary folder.
    """
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}-{threading.get_ident()}")
    old = path.with_name(f".{path.name}.old{os.getpid()}-{threading.get_ident()}")
    try:
        write(tmp)
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
    finally:
        for p in (tmp, old):
            if p.exists():
                shutil.rmtree(p) if p.is_dir() else p.unlink()
    return path
