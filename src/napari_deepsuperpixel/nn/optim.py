"""Helpers for per-image optimisation loops (Kanezaki 2018, Eliasof et al. 2022, ...).

One place for what every "train a network on this one image" method needs:

- seeding and determinism (:func:`seed_everything`, :func:`deterministic`);
- the speed policy on CPU/GPU: channels-last tensors and bfloat16 autocast
  where the hardware has it (:func:`resolve_precision`, :func:`autocast`,
  :func:`image_to_tensor`);
- input checks (:func:`single_image`, :func:`run_device`);
- processing at a reduced resolution (:func:`processing_shape`);
- the loop itself with a progress call per iteration, cooperative cancel and
  a loss history (:func:`run_loop`).

Importing this module imports torch; import it inside a runner.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F

PRECISION_CHOICES = ("auto", "fp32", "bf16")


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch (CPU and CUDA), NumPy's legacy global generator and :mod:`random`; return a CPU generator.

    The one seeding function of the package (per-image methods and trainers).

    Parameters
    ----------
    seed : int
        An integer in ``[0, 2**32)`` (the package's one seed rule,
        :func:`napari_deepsuperpixel._types.check_seed`).

    Returns
    -------
    torch.Generator
        A CPU generator seeded with ``seed``, for code that prefers an explicit one.

    Notes
    -----
    Network initialisation uses the global generator (``torch.nn.init``), so it
    is seeded too; with the same seed, device and thread count the runs are
    identical on CPU.
    """
    import random

    import numpy as np

    from .._types import check_seed

    s = check_seed(seed)
    random.seed(s)
    np.random.seed(s)
    torch.manual_seed(s)
    g = torch.Generator()
    g.manual_seed(s)
    return g


@contextlib.contextmanager
def deterministic(device: torch.device):
    """Context in which cuDNN picks deterministic kernels (restored afterwards).

    CPU convolutions (oneDNN) are deterministic for a fixed thread count, so
    on CPU nothing changes. On CUDA the benchmark autotuner is switched off and
    ``cudnn.deterministic`` is switched on for the duration of the block only
    (no global state is left changed).
    """
    if torch.device(device).type != "cuda":
        yield
        return
    cudnn = torch.backends.cudnn
    old = (cudnn.deterministic, cudnn.benchmark)
    cudnn.deterministic, cudnn.benchmark = True, False
    try:
        yield
    finally:
        cudnn.deterministic, cudnn.benchmark = old


def cpu_supports_bf16() -> bool:
    """Whether this CPU runs bfloat16 convolutions natively (AVX-512 BF16 or AMX).

    Returns
    -------
    bool
    """
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # pragma: no cover - very old or unusual builds
        return False


def resolve_precision(precision: str, device) -> Optional[torch.dtype]:
    """Turn ``"auto"``, ``"fp32"`` or ``"bf16"`` into an autocast dtype.

    Parameters
    ----------
    precision : {"auto", "fp32", "bf16"}
        ``"fp32"``: no autocast. ``"bf16"``: bfloat16 autocast (convolutions
        and matrix products in bf16, losses and normalisation in fp32).
        ``"auto"``: bf16 where the device has native support (CUDA with bf16,
        or a CPU with AVX-512 BF16/AMX), else fp32.
    device : torch.device or str

    Returns
    -------
    torch.dtype or None
        ``torch.bfloat16``, or ``None`` for plain fp32.

    Raises
    ------
    ValueError
        For an unknown ``precision`` or ``"bf16"`` on a device without it (MPS).
    """
    if precision not in PRECISION_CHOICES:
        raise ValueError(f"precision must be one of {PRECISION_CHOICES}, got {precision!r}")
    dev = torch.device(device)
    if precision == "fp32":
        return None
    if dev.type == "cuda":
        ok = torch.cuda.is_bf16_supported()
    elif dev.type == "cpu":
        ok = cpu_supports_bf16()
    else:
        ok = False
    if precision == "bf16":
        if dev.type not in ("cpu", "cuda"):
            raise ValueError(f"precision='bf16' is not supported on device {dev}; use 'fp32' or 'auto'")
        return torch.bfloat16  # allowed (if slow) on CPUs without native support
    return torch.bfloat16 if ok else None


def autocast(device, dtype: Optional[torch.dtype]):
    """An autocast context for ``device`` (a no-op when ``dtype`` is None)."""
    dev = torch.device(device)
    if dtype is None or dev.type not in ("cpu", "cuda"):
        return contextlib.nullcontext()
    return torch.autocast(device_type=dev.type, dtype=dtype)


def single_image(image, method: str) -> np.ndarray:
    """One image as a float32 ``(Y, X, C)`` array (a ``(Y, X)`` image gets ``C = 1``).

    Parameters
    ----------
    image : array-like
        ``(Y, X)`` or ``(Y, X, C)``.
    method : str
        Name used in the error message.

    Returns
    -------
    numpy.ndarray
        ``(Y, X, C)`` float32.

    Raises
    ------
    ValueError
        ``image`` is neither 2-D nor 3-D.
    """
    img = np.asarray(image, np.float32)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3:
        raise ValueError(f"{method} expects one (Y, X, C) image, got shape {img.shape}")
    return img


def run_device(device) -> torch.device:
    """``device`` as a :class:`torch.device`; strings such as ``"auto"`` go through
    :func:`~napari_deepsuperpixel.nn.device.resolve_device`.

    Parameters
    ----------
    device : str or torch.device

    Returns
    -------
    torch.device
    """
    from .device import resolve_device

    return resolve_device(device) if isinstance(device, str) else torch.device(device)


def image_to_tensor(image: np.ndarray, device, channels_last: bool = True) -> torch.Tensor:
    """``(Y, X, C)`` array -> ``(1, C, Y, X)`` float32 tensor on ``device``.

    With ``channels_last`` the tensor uses the NHWC memory layout (a view of
    the numpy data when possible), which oneDNN convolutions run fastest on.
    """
    arr = np.ascontiguousarray(np.asarray(image, dtype=np.float32))
    if arr.ndim != 3:
        raise ValueError(f"expected a (Y, X, C) image, got shape {arr.shape}")
    t = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0)  # NCHW view of NHWC data
    t = t.to(device)
    if channels_last:
        return t.contiguous(memory_format=torch.channels_last)
    return t.contiguous()


def processing_shape(shape: tuple, max_side: Optional[int]) -> tuple:
    """The ``(Y, X)`` to process at so that the longer side is at most ``max_side``.

    Parameters
    ----------
    shape : (int, int)
        Original ``(Y, X)``.
    max_side : int or None
        ``None`` or 0 keeps the original size; images already small enough
        are never enlarged.

    Returns
    -------
    (int, int)
    """
    ny, nx = int(shape[0]), int(shape[1])
    if not max_side or max(ny, nx) <= max_side:
        return ny, nx
    f = max_side / max(ny, nx)
    return max(2, int(round(ny * f))), max(2, int(round(nx * f)))


def resize_tensor(x: torch.Tensor, shape: tuple, mode: str = "bilinear") -> torch.Tensor:
    """Resize a ``(B, C, H, W)`` tensor to ``shape`` (``"area"`` suits shrinking images).

    Returns ``x`` itself when it already has that size.
    """
    if tuple(x.shape[-2:]) == tuple(shape):
        return x
    kw = {} if mode in ("area", "nearest") else {"align_corners": False}
    return F.interpolate(x, size=tuple(int(s) for s in shape), mode=mode, **kw)


@dataclass
class StepOutcome:
    """What one iteration reports to :func:`run_loop`.

    Attributes
    ----------
    loss : float
        The iteration's loss.
    n_labels : int or None
        Number of distinct labels after this iteration (reported to progress).
    stop : bool
        Whether the method's own stopping rule fired.
    expected_total : int or None
        A method's forecast of the iteration its stopping rule will end the
        run at (reported to progress as ``expected_total``; the widgets' time
        left then counts to it), or ``None`` (no forecast: the time left counts
        to ``n_iter``, an upper bound when a stop rule may end the run earlier).
    """

    loss: float
    n_labels: Optional[int] = None
    stop: bool = False
    expected_total: Optional[int] = None


@dataclass
class LoopResult:
    """Summary of a finished loop: ``loss_history``, ``n_iter`` run, ``stopped_early``."""

    loss_history: list = field(default_factory=list)
    n_iter: int = 0
    stopped_early: bool = False
    seconds_per_iter: float = math.nan


def cancel_points(check: Optional[Callable[[], None]], interval: float = 0.1):
    """A context in which autograd calls ``check()`` while it saves and uses tensors.

    Inside the context, every tensor that an operation saves for its backward
    pass (forward) and every later use of it (backward, even after the
    context is left) calls ``check()``, at most once per ``interval`` seconds.
    ``check`` raises :class:`~napari_deepsuperpixel.Cancelled` to stop; the
    exception propagates out of the forward pass or out of ``backward()``.
    This bounds the delay of a Cancel by the duration of one operation
    instead of one whole iteration (seconds to a minute for the paper
    networks on a CPU).

    Parameters
    ----------
    check : callable or None
        Zero-argument callable; ``None`` gives a no-op context.
    interval : float
        Minimum seconds between two calls (the hooks run for every saved tensor).

    Returns
    -------
    context manager
    """
    if check is None:
        return contextlib.nullcontext()
    import time

    last = [-math.inf]

    def poll(t):
        now = time.monotonic()
        if now - last[0] >= interval:
            last[0] = now
            check()
        return t

    return torch.autograd.graph.saved_tensors_hooks(poll, poll)


def check_finite_loss(loss: float, method: str, iteration: int, fix: str = "lower lr") -> None:
    """Stop a diverged optimisation: ``FloatingPointError`` when ``loss`` is NaN or infinite.

    The message names the method, the iteration (1-based) and what to change.
    """
    if not math.isfinite(loss):
        raise FloatingPointError(
            f"{method or 'the optimisation'} diverged: the loss is {loss} at iteration {iteration}; "
            f"{fix} (or use another seed) and run again")


def run_loop(step: Callable[[int], StepOutcome], n_iter: int, progress=None, *,
             stage: str = "iterate", method: str = "", fix: str = "lower lr",
             may_stop_early: bool = False) -> LoopResult:
    """Run ``step(0) .. step(n_iter - 1)``, reporting progress after each one.

    Parameters
    ----------
    step : callable
        ``step(iteration) -> StepOutcome``.
    n_iter : int
        Maximum number of iterations.
    progress : callable, optional
        Called as ``progress(it, n_iter, stage=stage, loss=..., n_labels=...)``
        once before the first iteration (``it = 0``) and after each iteration.
        Raising :class:`~napari_deepsuperpixel.Cancelled` from it stops the run
        (the exception propagates). When ``progress`` has a ``check()`` method
        (a :class:`~napari_deepsuperpixel._types.Progress`), it is also polled
        inside each step's forward and backward passes (:func:`cancel_points`),
        so a Cancel button acts within about one layer's computation.
    stage : str
        Stage name passed to ``progress``.
    method, fix : str
        Named in the error when the loss becomes NaN or infinite.
    may_stop_early : bool
        The steps have a stop rule (e.g. a label count): every report then says
        ``may_stop_early=True``, so that a time-left estimate to ``n_iter`` is
        shown as an upper bound ("up to").

    Returns
    -------
    LoopResult

    Raises
    ------
    FloatingPointError
        The loss of an iteration is NaN or infinite (the run diverged); no
        result is returned.
    """
    import time

    from .._types import reporter

    res = LoopResult()
    progress = reporter(progress)
    progress(0, n_iter, stage=stage)
    t0 = time.perf_counter()
    for it in range(n_iter):
        with cancel_points(progress.check):
            out = step(it)
        loss = float(out.loss)
        check_finite_loss(loss, method, it + 1, fix)
        res.loss_history.append(loss)
        res.n_iter = it + 1
        info = {"loss": loss}
        if may_stop_early:
            info["may_stop_early"] = True
        if out.n_labels is not None:
            info["n_labels"] = int(out.n_labels)
        if out.expected_total is not None:
            info["expected_total"] = int(min(max(out.expected_total, it + 1), n_iter))
        progress(it + 1, n_iter, stage=stage, **info)
        if out.stop:
            res.stopped_early = it + 1 < n_iter
            break
    if res.n_iter:
        res.seconds_per_iter = (time.perf_counter() - t0) / res.n_iter
    return res
