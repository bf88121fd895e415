"""Writing files safely: atomic writes, the refusal to overwrite, writable outputs checked before work.

One home for these rules; every writer of the package (label files, tables,
checkpoints, benchmark outputs, zarr stores) goes through them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
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


def check_output_folder(folder, what: str = "output folder", need_bytes: int = 0) -> Path:
    """Make sure files can be written in ``folder`` (created if needed), before any work starts.

    A temporary file of :data:`PROBE_BYTES` real bytes is written, flushed to
    the disk and removed, so a folder under an existing file, a read-only
    folder or a full disk is found now and not after the computing;
    ``need_bytes``: the space the outputs need, about (refused when the disk
    has less free).

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
    probe = folder / f".write-test-{os.getpid()}-{threading.get_ident()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as f:  # real bytes, flushed to the disk: a full disk fails here
            f.write(b"\0" * PROBE_BYTES)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise type(e)(f"cannot write the {what} {folder}: {e.strerror or e}; choose a writable folder "
                      "(or free space on its disk)") from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    if need_bytes:
        import shutil

        free = shutil.disk_usage(folder).free
        if free < need_bytes:
            raise OSError(errno.ENOSPC, f"cannot write the {what} {folder}: {free / 2**20:.0f} MB free on its "
                                        f"disk, the outputs need about {need_bytes / 2**20:.0f} MB; free space "
                                        "or choose another folder")
    return folder


#: what the write probe of :func:`check_output_folder` writes
PROBE_BYTES = 64 * 1024

_STALE = re.compile(r"^\.(?:write-test-(\d+)-\d+|.+\.(?:tmp|old|run|blocks)(\d+)(?:-\d+)?(?:\.[^.]*)?)$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def remove_stale_temps(folder) -> list:
    """Remove the temporary files and folders that killed runs left in ``folder``.

    They are the names this module and the batch give them (``.<name>.tmp<pid>-<thread>``,
    ``.<name>.old<pid>-<thread>``, ``.<name>.run<pid>``, ``.<name>.blocks<pid>.zarr``,
    ``.write-test-<pid>-<thread>``) whose process is no longer running. Returns the removed paths.
    """
    import shutil

    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        m = _STALE.match(p.name)
        if m is None or _alive(int(m.group(1) or m.group(2))):
            continue
        with contextlib.suppress(OSError):
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            removed.append(p)
    return removed


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
