"""Model checkpoints: atomic save, verified load, no silent overwrite.

A checkpoint is one file written with :func:`torch.save` holding a plain
dictionary::

    {
        "format": "napari-deepsuperpixel-checkpoint",
        "format_version": 2,
        "method": "superae",            # which model/method the weights are for
        "package_version": "0.1.0",     # napari_deepsuperpixel.__version__ at save time
        "hyperparameters": {...},       # JSON-serialisable (architecture + training settings)
        "state_dict": {...},            # model weights (tensors)
        "training_state": {...} | None, # optimizer state, epoch, loss history (for --resume)
        "content_hash": "sha256:...",   # over every other entry (format 2)
    }

The content hash of format 2 covers every entry of the file (format,
version, method, package version, hyperparameters, weights and the whole
training state with the optimizer moments), because :func:`torch.load`
does not check the CRCs of its zip container: without it a bit flip in the
optimizer state would resume silently. Files of format 1 (the shipped
weight files are weights-only exports of that format) hashed method,
hyperparameters and weights only; they still load, and their training state
is used for provenance only (resuming from one is refused).

Files are loaded with ``torch.load(weights_only=True)`` (no arbitrary pickled
code is executed) and the content hash is recomputed, so a truncated,
corrupted or foreign file gives a :class:`CheckpointError` (a ``ValueError``)
that says what is wrong, and a checkpoint for another method says which
method it is for.

Writes go to a temporary file in the destination folder that then replaces
the target with :func:`os.replace`, so an interrupted save never leaves a
half-written checkpoint. An existing file is only replaced with
``overwrite=True``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import InputError

FORMAT = "napari-deepsuperpixel-checkpoint"
FORMAT_VERSION = 2

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "FORMAT",
    "FORMAT_VERSION",
    "checkpoint_hash",
    "content_hash",
    "export_weights",
    "load_checkpoint",
    "save_checkpoint",
    "shipped_weights_path",
]


class CheckpointError(InputError):
    """A file is not a valid checkpoint, is corrupt, or is for another method (a ``ValueError``)."""

    def __init__(self, message: str, *, remedies=()):
        super().__init__(message, remedies=remedies)


@dataclass
class Checkpoint:
    """A loaded checkpoint.

    Attributes
    ----------
    method : str
        The method/model the weights belong to (e.g. ``"superae"``, ``"sen"``).
    state_dict : dict
        Model weights, ready for ``model.load_state_dict``.
    hyperparameters : dict
        Architecture and training settings stored at save time.
    package_version : str
        ``napari_deepsuperpixel.__version__`` of the writer.
    content_hash : str
        ``"sha256:<hex>"`` over method, hyperparameters and weights.
    training_state : dict or None
        Optimizer state, finished epochs, loss history...; ``None`` for
        exported (weights-only) files.
    path : pathlib.Path or None
        Where it was loaded from.
    """

    method: str
    state_dict: dict
    hyperparameters: dict = field(default_factory=dict)
    package_version: str = ""
    content_hash: str = ""
    training_state: Optional[dict] = None
    path: Optional[Path] = None
    format_version: int = FORMAT_VERSION

    @property
    def training_state_verified(self) -> bool:
        """Whether the content hash covers ``training_state`` (format 2 and later)."""
        return self.format_version >= 2

    @property
    def epoch(self) -> int:
        """Number of finished training epochs (0 if unknown)."""
        return int((self.training_state or {}).get("epoch", 0))


def _canonical_json(obj) -> str:
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"checkpoint hyperparameters must be JSON-serialisable (numbers, strings, lists, dicts): {e}"
        ) from None


def _feed(h, obj, where: str = "checkpoint") -> None:
    """Feed a canonical, typed serialisation of ``obj`` (tensors, containers, scalars) to ``h``."""
    import torch

    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(obj, dict):
        items = sorted(obj.items(), key=lambda kv: (type(kv[0]).__name__, repr(kv[0])))
        h.update(f"D{len(items)}|".encode())
        for k, v in items:
            _feed(h, k, where)
            _feed(h, v, f"{where}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        h.update(f"{'L' if isinstance(obj, list) else 'U'}{len(obj)}|".encode())
        for i, v in enumerate(obj):
            _feed(h, v, f"{where}[{i}]")
    elif obj is None or isinstance(obj, (bool, int, float, str)):
        r = repr(obj).encode()
        h.update(f"S{type(obj).__name__}{len(r)}|".encode() + r)
    elif isinstance(obj, (torch.dtype, torch.device, torch.Size)):
        r = repr(obj).encode()
        h.update(f"O{type(obj).__name__}{len(r)}|".encode() + r)
    else:
        raise ValueError(f"{where}: a {type(obj).__name__} cannot be stored in a checkpoint "
                         "(use tensors, numbers, strings, lists and dicts)")


def _hashed_entries(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k != "content_hash"}


def checkpoint_hash(entries: dict) -> str:
    """SHA-256 of every entry of a (format 2) checkpoint except ``content_hash`` itself.

    Returns
    -------
    str
        ``"sha256:<64 hex digits>"``.
    """
    h = hashlib.sha256()
    _feed(h, _hashed_entries(entries))
    return "sha256:" + h.hexdigest()


def content_hash(method: str, hyperparameters: dict, state_dict: dict) -> str:
    """SHA-256 over the method name, the hyperparameters and every weight tensor (checkpoint format 1).

    Format 2 hashes every entry (:func:`checkpoint_hash`); this is kept to
    verify files of format 1, such as the shipped weights.

    Parameters
    ----------
    method : str
        Method name.
    hyperparameters : dict
        JSON-serialisable settings.
    state_dict : dict of str -> torch.Tensor
        Model weights; keys are hashed in sorted order with dtype, shape and
        the raw bytes of each tensor.

    Returns
    -------
    str
        ``"sha256:<64 hex digits>"``.
    """
    import torch

    h = hashlib.sha256()
    h.update(method.encode())
    h.update(b"\0")
    h.update(_canonical_json(hyperparameters).encode())
    for key in sorted(state_dict):
        t = state_dict[key]
        h.update(b"\0" + key.encode() + b"\0")
        if not isinstance(t, torch.Tensor):
            h.update(_canonical_json(t).encode())
            continue
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return "sha256:" + h.hexdigest()


def _atomic_torch_save(obj, path: Path) -> None:
    import torch

    from ..io.writes import atomic_write

    def write(tmp):
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())

    atomic_write(path, write)


def save_checkpoint(
    path,
    *,
    method: str,
    state_dict: dict,
    hyperparameters: Optional[dict] = None,
    training_state: Optional[dict] = None,
    overwrite: bool = False,
) -> Path:
    """Write a checkpoint atomically.

    Parameters
    ----------
    path : str or Path
        Destination file (conventionally ``*.pt``). Parent folders are created.
    method : str
        Method/model name the weights are for; :func:`load_checkpoint` can
        insist on it.
    state_dict : dict
        ``model.state_dict()``; tensors are copied to the CPU.
    hyperparameters : dict, optional
        JSON-serialisable settings needed to rebuild the model and to resume
        training (checked for serialisability here, not at load time).
    training_state : dict, optional
        Tensors, numbers, strings, lists and dicts, e.g. optimizer state and
        the finished epoch (covered by the content hash like everything else).
    overwrite : bool
        Replace an existing file. Without it an existing ``path`` raises
        ``FileExistsError``.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    ValueError
        Empty method name, non-serialisable hyperparameters, or ``path`` is a
        folder.
    """
    import torch

    path = Path(path)
    if not isinstance(method, str) or not method:
        raise ValueError("save_checkpoint needs a non-empty method name, e.g. method='superae'")
    if path.is_dir():
        raise ValueError(f"checkpoint path {path} is a folder; give a file name such as {path / 'model.pt'}")
    if path.exists() and not overwrite:
        from ..errors import OutputExistsError

        raise OutputExistsError([path], what="checkpoint", remedies=[("overwrite", "replace it")])
    hp = dict(hyperparameters or {})
    _canonical_json(hp)
    sd = {k: (v.detach().cpu().clone() if isinstance(v, torch.Tensor) else v) for k, v in state_dict.items()}
    from .._version import __version__

    obj = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "method": method,
        "package_version": __version__,
        "hyperparameters": hp,
        "state_dict": sd,
        "training_state": training_state,
    }
    obj["content_hash"] = checkpoint_hash(obj)
    _atomic_torch_save(obj, path)
    return path


def load_checkpoint(path, *, method: Optional[str] = None, map_location="cpu") -> Checkpoint:
    """Load and verify a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or Path
        Checkpoint file.
    method : str, optional
        If given, the checkpoint must be for this method.
    map_location : str or torch.device
        Passed to :func:`torch.load` (default: CPU).

    Returns
    -------
    Checkpoint

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    CheckpointError
        The path is not a regular file (a named pipe would block), the file is
        not a napari-deepsuperpixel checkpoint, cannot be read
        (truncated/corrupt), its content hash does not match (modified or
        damaged weights), its format version is newer than this package
        understands, or it is for a different ``method``.
    """
    import torch

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    if path.is_dir():
        raise CheckpointError(f"checkpoint path {path} is a folder, not a checkpoint file")
    if not path.is_file():  # a named pipe or a device would block the read (or never end)
        raise CheckpointError(f"checkpoint path {path} is not a regular file (a pipe, socket or device); "
                              "give a checkpoint file")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises many kinds for damaged files
        raise CheckpointError(
            f"{path} is corrupt or not a napari-deepsuperpixel checkpoint (torch.load failed: "
            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); re-create it with "
            "`deepsuperpixel train` or use the shipped weights"
        ) from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a napari-deepsuperpixel checkpoint (no '{FORMAT}' header); "
            "checkpoints are written by `deepsuperpixel train` or nn.checkpoint.save_checkpoint"
        )
    fv = obj.get("format_version")
    if isinstance(fv, bool) or not isinstance(fv, int) or not 1 <= fv <= FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {fv!r}; this package reads up to {FORMAT_VERSION}. "
            "Upgrade napari-deepsuperpixel"
        )
    for key in ("method", "state_dict", "hyperparameters", "content_hash"):
        if key not in obj:
            raise CheckpointError(f"{path} is damaged: the entry {key!r} is missing")
    got = obj["method"]
    if method is not None and got != method:
        raise CheckpointError(
            f"{path} is a checkpoint for method {got!r}, not {method!r}; give a {method!r} checkpoint "
            f"(e.g. from `deepsuperpixel train {method}`) or leave the checkpoint at its default"
        )
    stored = obj["content_hash"]
    try:
        if fv >= 2:
            expect = checkpoint_hash(obj)
        else:
            if not isinstance(got, str) or not isinstance(obj["state_dict"], dict):
                raise TypeError("method or state_dict of the wrong type")
            expect = content_hash(got, obj["hyperparameters"], obj["state_dict"])
    except (TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"{path} is damaged: its entries cannot be hashed ({e})") from None
    if not isinstance(stored, str) or expect != stored:
        what = "its content" if fv >= 2 else "its weights"
        raise CheckpointError(
            f"{path} is corrupt: its content hash does not match {what} "
            f"(stored {str(stored)[:19]}..., computed {expect[:19]}...); re-create it with "
            "`deepsuperpixel train` or use the shipped weights"
        )
    _check_entries(path, obj)
    return Checkpoint(
        method=got,
        state_dict=obj["state_dict"],
        hyperparameters=obj["hyperparameters"],
        package_version=str(obj.get("package_version", "")),
        content_hash=stored,
        training_state=obj.get("training_state"),
        path=path,
        format_version=fv,
    )


def _check_entries(path: Path, obj: dict) -> None:
    """Types and values of a checkpoint whose hash matched (a crafted file can have a valid hash)."""
    import torch

    def bad(what):
        raise CheckpointError(f"{path} is not a valid checkpoint: {what}; re-create it with `deepsuperpixel train`")

    if not isinstance(obj["method"], str) or not obj["method"]:
        bad(f"'method' must be a non-empty string, got {obj['method']!r}")
    if not isinstance(obj["hyperparameters"], dict) or not all(isinstance(k, str) for k in obj["hyperparameters"]):
        bad("'hyperparameters' must be a dict with string keys")
    if not isinstance(obj.get("package_version", ""), str):
        bad("'package_version' must be a string")
    sd = obj["state_dict"]
    if not isinstance(sd, dict) or not sd:
        bad("'state_dict' must be a non-empty dict of tensors")
    for k, v in sd.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            bad(f"'state_dict' entry {k!r} is a {type(v).__name__}, not a tensor")
        if torch.is_floating_point(v) and v.numel() and not bool(torch.isfinite(v).all()):
            n = int((~torch.isfinite(v)).sum())
            raise CheckpointError(
                f"{path} holds NaN or infinite weights ({n} value(s) in {k!r}): the training that wrote it "
                "diverged; retrain with a lower learning rate (or resume from an earlier checkpoint) or use "
                "the shipped weights")
    ts = obj.get("training_state")
    if ts is None:
        return
    if not isinstance(ts, dict):
        bad(f"'training_state' must be a dict or None, got {type(ts).__name__}")
    ep = ts.get("epoch", 0)
    if isinstance(ep, bool) or not isinstance(ep, int) or ep < 0:
        bad(f"training_state 'epoch' must be an integer >= 0, got {ep!r}")
    hist = ts.get("loss_history", [])
    if not isinstance(hist, (list, tuple)) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in hist):
        bad("training_state 'loss_history' must be a list of numbers")
    for key in ("optimizer", "scheduler"):
        if ts.get(key) is not None and not isinstance(ts[key], dict):
            bad(f"training_state {key!r} must be a dict, got {type(ts[key]).__name__}")


def export_weights(src, dst, *, method: Optional[str] = None, overwrite: bool = False,
                   half: Optional[bool] = None) -> Path:
    """Copy a checkpoint without its training state (optimizer moments etc.).

    Used to make the small weight files shipped inside the package; the
    finished epoch count and the loss history are kept in ``training_state``
    for provenance, the optimizer state is dropped.

    Parameters
    ----------
    src, dst : str or Path
        Source checkpoint and destination file.
    method : str, optional
        Required method of ``src``.
    overwrite : bool
        Replace an existing ``dst``.
    half : bool, optional
        ``None`` (default): copy the weights as they are. ``True``: store
        floating-point tensors as float16 and record
        ``training_state["weights_dtype"] = "float16"``; ``False``: copy the
        weights as they are and record ``"float32"``.

    Returns
    -------
    pathlib.Path
        ``dst``.
    """
    import torch

    ck = load_checkpoint(src, method=method)
    sd = ck.state_dict
    if half:
        sd = {k: (v.half() if torch.is_floating_point(v) else v) for k, v in sd.items()}
    ts = dict(ck.training_state or {})
    ts.pop("optimizer", None)
    ts.pop("scheduler", None)
    ts["exported_from"] = ck.content_hash
    if half is not None:
        ts["weights_dtype"] = "float16" if half else "float32"
    return save_checkpoint(
        dst, method=ck.method, state_dict=sd, hyperparameters=ck.hyperparameters,
        training_state=ts, overwrite=overwrite,
    )


def shipped_weights_path(name: str) -> Path:
    """Path of a weight file shipped in ``napari_deepsuperpixel/weights/``.

    Parameters
    ----------
    name : str
        File name, e.g. ``"superae_bsds.pt"``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        The file is not part of this installation.
    """
    p = Path(__file__).resolve().parents[1] / "weights" / name
    if not p.is_file():
        raise FileNotFoundError(
            f"shipped weights {name!r} not found at {p}; reinstall napari-deepsuperpixel or pass "
            "checkpoint=PATH to a file made with `deepsuperpixel train`"
        )
    return p


def load_model(checkpoint, *, method: str, shipped: str, build):
    """Load the model of a checkpoint (or of the shipped weights), cached.

    The one loader of the dataset-trained models (SEN, SuperAE): a file is read
    once per modification time, and every caller shares the model.

    Parameters
    ----------
    checkpoint : str or Path
        A checkpoint written by ``deepsuperpixel train METHOD``, the name of
        a shipped weight set (a key of ``shipped``), or empty for the default
        shipped weights. A name wins over a file of the same name.
    method : str
        The checkpoint's method (``"sen"``, ``"superae"``); a checkpoint of
        another method is refused.
    shipped : str or dict
        File name of the shipped weights (see :func:`shipped_weights_path`),
        or ``{name: file name}`` of the shipped weight sets, the first being
        the default.
    build : callable
        ``build(hyperparameters) -> torch.nn.Module``, a module-level function.

    Returns
    -------
    torch.nn.Module
        In eval mode, on the CPU (callers move it). Do not modify it (it is
        shared); copy it with :func:`copy.deepcopy` to fine-tune.

    Raises
    ------
    FileNotFoundError
        The checkpoint does not exist.
    CheckpointError
        Not a valid checkpoint of ``method``, or weights that do not fit the architecture.
    """
    sets = dict(shipped) if isinstance(shipped, dict) else {"": shipped}
    key = str(checkpoint or "").strip()
    if not key or key in sets:
        p = shipped_weights_path(sets[key] if key else next(iter(sets.values())))
    else:
        p = Path(checkpoint)
    if not p.is_file():
        names = ", ".join(repr(n) for n in sets if n)
        raise FileNotFoundError(f"{method} checkpoint not found: checkpoint={str(checkpoint)!r} names no file "
                                f"({p}); give a file written by `deepsuperpixel train {method}`"
                                + (f", a shipped weight set ({names})" if names else "")
                                + " or leave it empty for the default shipped weights")
    p = p.resolve()
    return _load_model_cached(str(p), p.stat().st_mtime, method, build)


@functools.lru_cache(maxsize=8)
def _load_model_cached(path: str, mtime: float, method: str, build):
    import torch

    ck = load_checkpoint(path, method=method)
    try:
        model = build(ck.hyperparameters)
        model.load_state_dict({k: (v.float() if torch.is_floating_point(v) else v)
                               for k, v in ck.state_dict.items()})
    except (TypeError, RuntimeError, ValueError, KeyError, AttributeError, IndexError) as e:
        msg = " ".join(str(e).split())[:300]
        raise CheckpointError(f"{path}: its hyperparameters or weights do not fit the {method} architecture "
                              f"({type(e).__name__}: {msg}); use a checkpoint written by "
                              f"`deepsuperpixel train {method}`") from None
    model.eval()
    return model
