"""The shared epoch loop used by every trainer (SuperAE, SEN).

A trainer supplies a model, an optimizer and a ``step_fn`` that computes the
loss of one mini-batch; :func:`train_loop` does the rest:

* seeding: at the start of epoch ``e`` torch is seeded from ``(seed, e)`` and
  ``step_fn`` receives a NumPy generator seeded from ``(seed, e)``, so a run
  resumed at epoch ``e`` draws exactly the crops, flips and dropout masks an
  uninterrupted run would have drawn (on the CPU the weights then match);
* device: the model is moved to the resolved device (``"auto"`` -> cuda, mps,
  cpu), the context passed to ``step_fn`` says which;
* progress: a :class:`~napari_deepsuperpixel.ProgressEvent` per step (stage
  ``"train"``, info ``epoch`` and ``loss``) and per epoch (stage ``"epoch"``,
  info ``epoch``, ``loss`` = mean epoch loss, ``seconds``); the callback (or
  ``cancel_check``) may stop the run with :class:`~napari_deepsuperpixel.Cancelled`;
* checkpoints: every ``checkpoint_every`` epochs and at the end, atomically
  (see :mod:`napari_deepsuperpixel.nn.checkpoint`), with model, optimizer,
  scheduler, finished epoch and loss history; an existing file is refused
  up front unless ``overwrite`` or ``resume``;
* resume: continue from the epoch stored in a checkpoint, refusing one made
  with other hyperparameters (except those in ``resume_may_change``, by
  default ``epochs`` and ``precision``, so a finished run can be extended);
* precision: ``ctx.autocast()`` is a bfloat16 autocast context where
  ``precision`` resolves to bf16 (``"auto"``: a GPU with bf16 or a CPU with
  AVX-512 BF16/AMX), a no-op for fp32; trainers wrap their convolution
  trunks in it and compute losses in fp32, and the weights and optimizer
  state stay fp32 (the "master weights");
* prefetch: with a ``batch_fn(ctx)``, the next mini-batch is made in a
  background thread while the current step runs (``step_fn(ctx, batch)``);
  batches are still drawn one after another from the epoch's generator, so
  the run is the same with and without prefetching.

Example (the shape of a trainer)::

    def step(ctx):
        idx = ctx.rng.choice(len(images), size=10)
        x = make_batch(images, idx, ctx.rng).to(ctx.device)
        return torch.nn.functional.mse_loss(model(x), x)

    result = train_loop(model, torch.optim.Adam(model.parameters(), 1e-3), step,
                        epochs=100, steps_per_epoch=50, method="superae",
                        hyperparameters={"lr": 1e-3}, out="superae.pt")
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union

from .._types import Progress, ProgressCallback, check_seed

#: what fixes an existing checkpoint (rendered by each front end: --overwrite, a check box...)
CHECKPOINT_REMEDIES = (("overwrite", "replace it"), ("resume", "continue it"))

__all__ = ["StepContext", "TrainResult", "epoch_rng", "train_loop"]


def epoch_rng(seed: int, epoch: int):
    """The NumPy generator for ``epoch`` of a run seeded with ``seed``.

    Parameters
    ----------
    seed, epoch : int

    Returns
    -------
    numpy.random.Generator
        Seeded from the pair, independent of any other epoch's generator.
    """
    import numpy as np

    return np.random.default_rng([int(seed), int(epoch)])


@dataclass
class StepContext:
    """What ``step_fn`` receives for one optimisation step.

    Attributes
    ----------
    epoch : int
        0-based epoch index.
    step : int
        0-based step within the epoch.
    rng : numpy.random.Generator
        The epoch's generator (shared by all steps of the epoch): use it for
        crops, flips and sampling so that runs are reproducible.
    device : torch.device
        Where the model lives; put batches there.
    amp : torch.dtype or None
        The autocast dtype of the run (``torch.bfloat16``) or None (fp32).
    """

    epoch: int
    step: int
    rng: Any
    device: Any
    amp: Any = None

    def autocast(self):
        """The run's autocast context (bf16 or a no-op); put the network's forward pass in it."""
        from ..nn.optim import autocast

        return autocast(self.device, self.amp)


@dataclass
class TrainResult:
    """Summary of a training run: what every trainer returns.

    It also stands for its checkpoint file where a path is expected
    (``os.PathLike``: ``load_checkpoint(train_sen(...))``, ``Path(result)``).

    Attributes
    ----------
    path : Path or None
        The checkpoint written last (``None`` when ``out`` was ``None``).
    epochs_done : int
        Finished epochs (including those of a resumed run).
    loss_history : list of float
        Mean loss of every finished epoch.
    epoch_seconds : list of float
        Wall time of the epochs run in this call.
    """

    path: Optional[Path]
    epochs_done: int
    loss_history: list = field(default_factory=list)
    epoch_seconds: list = field(default_factory=list)

    def __fspath__(self) -> str:
        if self.path is None:
            raise TypeError("this training run wrote no checkpoint (out=None)")
        return str(self.path)


def _same_data(a, b) -> bool:
    """Whether two ``data`` settings name the same data: the same text, or paths to the same folder
    (``imgs``, ``imgs/`` and ``/abs/imgs`` are one folder)."""
    if a == b:
        return True
    if not (isinstance(a, str) and isinstance(b, str)):
        return False
    try:
        pa, pb = Path(a).expanduser(), Path(b).expanduser()
        return pa.exists() and pb.exists() and pa.resolve() == pb.resolve()
    except (OSError, RuntimeError):
        return False


def _check_resume_hparams(stored: dict, given: dict, may_change, path) -> None:
    diffs = []
    for k in sorted(set(stored) | set(given)):
        if k in may_change:
            continue
        if k == "data" and _same_data(stored.get(k), given.get(k)):
            continue
        if stored.get(k, "<missing>") != given.get(k, "<missing>"):
            diffs.append(f"{k}: checkpoint {stored.get(k, '<missing>')!r} vs now {given.get(k, '<missing>')!r}")
    if diffs:
        raise ValueError(
            f"cannot resume from {path}: it was trained with other settings ({'; '.join(diffs)}). "
            "Use the same settings, or start a new run with another output file"
        )


def train_loop(
    model,
    optimizer,
    step_fn: Callable[[StepContext], Any],
    *,
    epochs: int,
    steps_per_epoch: int,
    method: str,
    hyperparameters: Optional[dict] = None,
    out=None,
    checkpoint_every: int = 1,
    resume: Union[bool, str, Path] = False,
    overwrite: bool = False,
    seed: int = 0,
    device="auto",
    progress: Optional[ProgressCallback] = None,
    cancel_check: Optional[Callable[[], bool]] = None,
    scheduler=None,
    grad_clip: Optional[float] = None,
    resume_may_change=("epochs", "precision"),
    precision: str = "fp32",
    batch_fn: Optional[Callable[[StepContext], Any]] = None,
    prefetch: bool = False,
) -> TrainResult:
    """Run ``epochs`` epochs of ``steps_per_epoch`` optimisation steps.

    Parameters
    ----------
    model : torch.nn.Module
        Moved to ``device`` and put in training mode.
    optimizer : torch.optim.Optimizer
        Built over ``model.parameters()``.
    step_fn : callable
        ``step_fn(ctx: StepContext)`` (or ``step_fn(ctx, batch)`` with
        ``batch_fn``) returns the scalar loss tensor of one mini-batch, or
        ``(loss, info_dict)``; the loop does ``zero_grad``, ``backward``,
        optional gradient clipping and ``optimizer.step``.
    epochs : int
        Total number of epochs (a resumed run continues up to this number).
    steps_per_epoch : int
        Optimisation steps per epoch.
    method : str
        Stored in the checkpoint (``"superae"``, ``"sen"``...).
    hyperparameters : dict, optional
        JSON-serialisable settings stored in the checkpoint; ``epochs``,
        ``steps_per_epoch`` and ``seed`` are added.
    out : str or Path, optional
        Checkpoint file. ``None`` keeps everything in memory.
    checkpoint_every : int
        Save every this many epochs (and always after the last one).
    resume : bool or path
        ``True``: continue from ``out``; a path: continue from that file
        (then ``out`` obeys ``overwrite``). ``False``: start fresh.
    overwrite : bool
        Allow replacing an existing ``out`` when not resuming from it.
    seed : int
        Run seed (see the module docstring).
    device : str or torch.device
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``.
    progress : callable, optional
        Receives :class:`~napari_deepsuperpixel.ProgressEvent`; may raise
        :class:`~napari_deepsuperpixel.Cancelled`.
    cancel_check : callable, optional
        Zero-argument callable; returning True cancels.
    scheduler : torch LR scheduler, optional
        Stepped once per epoch; its state is checkpointed.
    grad_clip : float, optional
        Clip the gradient norm to this value.
    resume_may_change : iterable of str
        Hyperparameters that may differ between the checkpoint and now.
    precision : {"fp32", "bf16", "auto"}
        Arithmetic of ``ctx.autocast()`` (see the module docstring); stored
        in the checkpoint's hyperparameters.
    batch_fn : callable, optional
        ``batch_fn(ctx)`` makes one mini-batch from ``ctx.rng`` (crops, pseudo
        labels...); ``step_fn`` then receives it and must not draw from
        ``ctx.rng`` itself.
    prefetch : bool
        Make the next batch in a background thread while a step runs (only
        with ``batch_fn``).

    Returns
    -------
    TrainResult

    Raises
    ------
    FileExistsError
        ``out`` exists and neither ``overwrite`` nor ``resume=True`` was given
        (checked before any training).
    FileNotFoundError
        ``resume`` names no existing file.
    ValueError
        Invalid counts, or a resume checkpoint with other hyperparameters.
    napari_deepsuperpixel.Cancelled
        The progress callback or ``cancel_check`` stopped the run; the last
        periodic checkpoint stays valid for ``resume``.
    """
    import torch

    from ..nn.checkpoint import load_checkpoint, save_checkpoint
    from ..nn.device import resolve_device
    from ..nn.optim import resolve_precision

    epochs, steps_per_epoch, checkpoint_every = int(epochs), int(steps_per_epoch), int(checkpoint_every)
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    seed = check_seed(seed)
    out = Path(out) if out is not None else None
    hp = dict(hyperparameters or {})
    dev = resolve_device(device)
    amp = resolve_precision(str(precision), dev)
    hp.update(epochs=epochs, steps_per_epoch=steps_per_epoch, seed=seed,
              precision="bf16" if amp is not None else "fp32")

    resume_path = None
    if resume is True:
        if out is None:
            raise ValueError("resume=True needs out= (the checkpoint to continue)")
        resume_path = out
    elif resume not in (False, None):
        resume_path = Path(resume)
    if resume_path is not None and not resume_path.exists():
        raise FileNotFoundError(f"nothing to resume: checkpoint {resume_path} does not exist")
    if out is not None and out.exists() and not overwrite and resume_path != out:
        from ..errors import OutputExistsError

        raise OutputExistsError([out], what="checkpoint", remedies=CHECKPOINT_REMEDIES)

    model.to(dev)
    start_epoch, history = 0, []
    if resume_path is not None:
        ck = load_checkpoint(resume_path, method=method)
        _check_resume_hparams(ck.hyperparameters, hp, set(resume_may_change), resume_path)
        ts = ck.training_state or {}
        if "optimizer" not in ts:
            raise ValueError(
                f"cannot resume from {resume_path}: it holds no optimizer state (an exported weights-only "
                "file); resume from the training checkpoint instead"
            )
        if not ck.training_state_verified:
            raise ValueError(
                f"cannot resume from {resume_path}: it was written by an older version whose content hash does "
                "not cover the optimizer state, so a damaged state would go unnoticed; start a new run "
                "(--overwrite) or use the file as weights only"
            )
        from ..nn.checkpoint import CheckpointError

        try:
            model.load_state_dict(ck.state_dict)
            optimizer.load_state_dict(ts["optimizer"])
            if scheduler is not None and ts.get("scheduler") is not None:
                scheduler.load_state_dict(ts["scheduler"])
        except (TypeError, RuntimeError, ValueError, KeyError, AttributeError, IndexError) as e:
            msg = " ".join(str(e).split())[:300]
            raise CheckpointError(f"cannot resume from {resume_path}: its weights or optimizer state do not fit "
                                  f"this run ({type(e).__name__}: {msg})",
                                  remedies=[("overwrite", "start a new run")]) from None
        start_epoch = int(ts.get("epoch", 0))
        history = [float(v) for v in ts.get("loss_history", [])]

    prog = Progress(progress, cancel_check=cancel_check)
    total = epochs * steps_per_epoch
    written: Optional[Path] = None
    seconds: list = []

    def save(epoch_done: int) -> None:
        nonlocal written
        if out is None:
            return
        ts = {
            "epoch": epoch_done,
            "loss_history": list(history),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "epoch_seconds": list(seconds),
        }
        # the first write obeys `overwrite`/`resume` (checked above); later writes replace our own file
        written = save_checkpoint(out, method=method, state_dict=model.state_dict(), hyperparameters=hp,
                                  training_state=ts, overwrite=True)

    pool = None
    if batch_fn is not None and prefetch:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(1, thread_name_prefix="nds-batch")

    def batches(epoch, rng):
        """The epoch's batches in order; with a pool, batch k + 1 is made while step k runs."""
        ctxs = [StepContext(epoch, k, rng, dev, amp) for k in range(steps_per_epoch)]
        if pool is None:
            for c in ctxs:
                yield c, batch_fn(c)
            return
        pending = pool.submit(batch_fn, ctxs[0])
        try:
            for k, c in enumerate(ctxs):
                batch = pending.result()
                pending = pool.submit(batch_fn, ctxs[k + 1]) if k + 1 < steps_per_epoch else None
                yield c, batch
        finally:
            if pending is not None:  # stopped early: let the running batch finish, drop it
                pending.cancel() or pending.exception()

    model.train()
    try:
        for epoch in range(start_epoch, epochs):
            prog.check()
            torch.manual_seed(int(seed) * 100_003 + epoch)
            rng = epoch_rng(seed, epoch)
            t0 = time.perf_counter()
            running = 0.0
            steps = (batches(epoch, rng) if batch_fn is not None
                     else ((StepContext(epoch, k, rng, dev, amp), None) for k in range(steps_per_epoch)))
            for ctx, batch in steps:
                step = ctx.step
                prog.check()
                res = step_fn(ctx) if batch_fn is None else step_fn(ctx, batch)
                loss, info = (res if isinstance(res, tuple) else (res, {}))
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"training diverged: loss is {loss.item()} at epoch {epoch + 1} step {step + 1}; "
                        "lower the learning rate"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                optimizer.step()
                lv = float(loss.detach())
                running += lv
                prog(epoch * steps_per_epoch + step + 1, total, "train", epoch=epoch + 1, loss=lv,
                     **{k: float(v) for k, v in info.items()})
            if scheduler is not None:
                scheduler.step()
            seconds.append(time.perf_counter() - t0)
            history.append(running / steps_per_epoch)
            if (epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs:
                save(epoch + 1)
            prog(epoch + 1, epochs, "epoch", epoch=epoch + 1, loss=history[-1], seconds=seconds[-1])
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    if written is None and out is not None and start_epoch >= epochs:
        # resumed a run that was already finished: nothing trained; copy it to `out` if that is new
        if resume_path != out:
            save(start_epoch)
        written = out
    model.eval()
    return TrainResult(path=written, epochs_done=max(start_epoch, epochs), loss_history=history,
                       epoch_seconds=seconds)
