"""What made a batch's outputs: a record per output set, the summary table merged from them.

Every image a batch finishes gets a small JSON record next to its outputs,
``<image>_<method>.run.json``, written after the outputs (atomically):

* ``key``: what made them, the method, its parameters as built (``"30"`` and
  ``30`` are the same), the run options that change labels (seed, device,
  axes, mode, spacing, normalisation, block size...) and the input file's size
  and modification time;
* ``outputs``: each output file's name, size and CRC-32;
* ``row``: the image's summary row.

``--skip-existing`` skips an image only when its record exists, its key is
this run's and every output asked for is there with the recorded size and
checksum (:func:`finished`); a 0-byte, damaged or replaced label file, other
parameters or a changed input are redone.

The summary table (``summary.csv``) is never truncated: rows are updated by
(image, method) and rows of other images and methods stay
(:func:`merge_summary`); after a killed run it is rebuilt from the records
(:func:`records_in`), which the workers write themselves. The table is
rewritten under a lock on its folder, so two runs writing into one folder keep each
other's rows.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
from pathlib import Path
from typing import Iterable, Optional

#: the columns of the summary table
SUMMARY_FIELDS = ("image", "method", "params", "segments", "seconds", "peak_rss_mb", "tiled", "outputs")
#: the suffix of an output set's record
RECORD_SUFFIX = ".run.json"
#: the run options that change the labels (``out``, ``scheduler`` do not)
KEY_OPTIONS = ("seed", "device", "channel_axis", "normalize", "axes", "mode", "spacing", "time_spacing",
               "match_time", "block_size")


def record_path(outdir, stem: str, method: str) -> Path:
    return Path(outdir) / f"{stem}_{method}{RECORD_SUFFIX}"


def input_signature(image) -> Optional[list]:
    """The input file's size and modification time (``None`` for an image in memory)."""
    if not isinstance(image, (str, os.PathLike)):
        return None
    try:
        st = os.stat(image)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def run_key(method: str, params, options, image=None) -> dict:
    """What makes an output set: the method, its built parameters, the label-changing run options
    and the input file's signature (JSON values, comparable with a record's)."""
    opts = {k: getattr(options, k) for k in KEY_OPTIONS}
    key = {"method": method, "params": dataclasses.asdict(params) if dataclasses.is_dataclass(params) else params,
           "options": opts, "input": input_signature(image)}
    return json.loads(json.dumps(key, sort_keys=True, default=str))


def _checksum(path: Path) -> str:
    """The CRC-32 of a file's bytes (read in 16 MB pieces)."""
    import zlib

    crc = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(16 << 20), b""):
            crc = zlib.crc32(chunk, crc)
    return f"{crc:08x}"


def _file_record(path: Path):
    """What a record keeps of one output: ``[size, crc32]`` of a file, ``None`` for a folder (zarr)."""
    return None if path.is_dir() else [path.stat().st_size, _checksum(path)]


def _readable(path: Path, recorded, verify: bool = True) -> bool:
    """Whether an output is there as recorded: a file of the recorded size (and, with ``verify``, the
    recorded checksum: a damaged or rewritten file is not), a zarr store whose array opens."""
    if path.is_dir():
        try:
            from .lazy import open_zarr

            open_zarr(path)
            return True
        except Exception:  # noqa: BLE001 - any failure: not a finished output
            return False
    try:
        size = path.stat().st_size
    except OSError:
        return False
    if not isinstance(recorded, list) or len(recorded) != 2 or size == 0 or size != recorded[0]:
        return False
    return not verify or _checksum(path) == recorded[1]


def read_record(path) -> Optional[dict]:
    """A record, or ``None`` when it is missing or damaged."""
    try:
        rec = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and isinstance(rec.get("outputs"), dict) else None


def finished(record_file, key: dict, targets: Iterable) -> Optional[str]:
    """``None`` when the outputs ``targets`` were made with ``key`` and are intact, else why not (a few words)."""
    rec = read_record(record_file)
    if rec is None:
        return "no record of what made them"
    if rec.get("key") != key:
        return "made with other settings"
    for t in targets:
        t = Path(t)
        if t.name not in rec["outputs"]:
            return f"{t.name} not recorded"
        if not _readable(t, rec["outputs"][t.name]):
            return f"{t.name} missing, empty or damaged"
    return None


def write_record(record_file, key: dict, targets: Iterable, row: dict) -> Path:
    """Record the finished outputs ``targets`` (after they are written)."""
    from .writes import atomic_write_text

    outputs = {Path(t).name: _file_record(Path(t)) for t in targets}
    return atomic_write_text(record_file, json.dumps({"key": key, "outputs": outputs, "row": row},
                                                     sort_keys=True, default=str))


def records_in(folder) -> list:
    """The summary rows of the records in ``folder`` whose outputs are still there."""
    rows = []
    folder = Path(folder)
    if not folder.is_dir():
        return rows
    for f in sorted(folder.glob(f"*{RECORD_SUFFIX}")):
        rec = read_record(f)
        if rec is None or not isinstance(rec.get("row"), dict):
            continue
        if all(_readable(folder / name, r, verify=False) for name, r in rec["outputs"].items()):
            rows.append(rec["row"])
    return rows


def recorded_outputs(folder) -> set:
    """The names of the files the records in ``folder`` list as outputs."""
    names = set()
    for f in Path(folder).glob(f"*{RECORD_SUFFIX}"):
        rec = read_record(f)
        if rec is not None:
            names.update(rec["outputs"])
    return names


def read_summary(path) -> list:
    """The rows of a summary table (``[]`` when there is none)."""
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if r.get("image")]


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock on the folder of ``path`` (POSIX ``flock`` on the folder: nothing left behind;
    elsewhere no lock)."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def merge_summary(path, rows: Iterable[dict]) -> Path:
    """Update the summary table with ``rows`` by (image, method); other rows stay, in their order."""
    from .writes import atomic_write_text

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        merged = {(r.get("image"), r.get("method")): r for r in read_summary(path)}
        for r in rows:
            merged[(str(r["image"]), str(r["method"]))] = r
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(merged.values())
        return atomic_write_text(path, buf.getvalue())
