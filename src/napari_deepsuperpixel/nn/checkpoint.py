"""Model checkpoints: atomic save, verified load, no silent overwrite.

A checkpoint is one file written with :func:`torch.save` holding a plain
dictionary::

    {
        "format": "napari-deepsuperpixel-checkpoint",
        "format_version": 1,
        "method": "superae",            # which model/method the weights are for
        "package_version": "0.1.0",     # napari_deepsuperpixel.__version__ at save time
        "hyperparameters": {...},       # JSON-serialisable (architecture + training settings)
        "state_dict": {...},            # model weights (tensors)
        "training_state": {...} | None, # optimizer state, epoch, loss history (for --resume)
        "content_hash": "sha256:...",   # over method, hyperparameters and weights
    }

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

FORMAT = "napari-deepsuperpixel-checkpoint"
FORMAT_VERSION = 1

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "FORMAT",
    "FORMAT_VERSION",
    "content_hash",
    "export_weights",
    "load_checkpoint",
    "save_checkpoint",
    "shipped_weights_path",
]


class CheckpointError(ValueError):
    """A file is not a valid checkpoint, is corrupt, or is for another method."""


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


def content_hash(method: str, hyperparameters: dict, state_dict: dict) -> str:
    """SHA-256 over the method name, the hyperparameters and every weight tensor.

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

    from .._util import atomic_write

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
        Anything ``torch.load(weights_only=True)`` accepts (tensors, numbers,
        strings, lists, dicts), e.g. optimizer state and the finished epoch.
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
        raise FileExistsError(f"checkpoint {path} already exists; pass overwrite=True (--overwrite) to replace it")
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
        "content_hash": content_hash(method, hp, sd),
    }
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
        The file is not a napari-deepsuperpixel checkpoint, cannot be read
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
    if not isinstance(fv, int) or fv > FORMAT_VERSION:
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
    expect = content_hash(got, obj["hyperparameters"], obj["state_dict"])
    if expect != obj["content_hash"]:
        raise CheckpointError(
            f"{path} is corrupt: its content hash does not match its weights "
            f"(stored {obj['content_hash'][:19]}..., computed {expect[:19]}...)"
        )
    return Checkpoint(
        method=got,
        state_dict=obj["state_dict"],
        hyperparameters=obj["hyperparameters"],
        package_version=str(obj.get("package_version", "")),
        content_hash=obj["content_hash"],
        training_state=obj.get("training_state"),
        path=path,
    )


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
        A checkpoint written by ``deepsuperpixel train METHOD``; empty for
        the shipped weights.
    method : str
        The checkpoint's method (``"sen"``, ``"superae"``); a checkpoint of
        another method is refused.
    shipped : str
        File name of the shipped weights (see :func:`shipped_weights_path`).
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
    p = Path(checkpoint) if checkpoint else shipped_weights_path(shipped)
    if not p.is_file():
        raise FileNotFoundError(f"{method} checkpoint not found: {p}")
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
    except (TypeError, RuntimeError) as e:
        raise CheckpointError(f"{path}: weights do not fit the {method} architecture ({e})") from None
    model.eval()
    return model
