"""Where independent tasks run: this process, local processes or a Dask cluster.

``deepsuperpixel segment`` on many files (:mod:`napari_deepsuperpixel.batch`),
``deepsuperpixel bench`` and ``deepsuperpixel eval`` hand their tasks to
:func:`executor_for` (or :func:`make_executor`) and collect them with
:func:`completed`. This module belongs to none of them: the batch does not
depend on the benchmark package.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from contextlib import contextmanager
from typing import Callable, Iterable, Optional


class SerialExecutor(cf.Executor):
    """Runs each task in this process at submit time (``workers=1``)."""

    def submit(self, fn, /, *args, **kwargs):
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(e)
        return fut


def completed(executor, fn: Callable, keys: Iterable, make_task: Callable):
    """Yield ``(key, future)`` for ``fn(make_task(key))`` over ``keys`` as they finish.

    A :class:`SerialExecutor` runs a task when it is submitted, so its tasks
    are submitted one at a time and each is handed back before the next one
    starts: results are cached (and the progress bar moves) task by task,
    and an interrupted serial run keeps what it finished.
    """
    if isinstance(executor, SerialExecutor):
        for k in keys:
            yield k, executor.submit(fn, make_task(k))
        return
    futs = {executor.submit(fn, make_task(k)): k for k in keys}
    for fut in cf.as_completed(futs):
        yield futs[fut], fut


#: how often a worker process looks whether its parent is still there (seconds)
PARENT_POLL_S = 0.5


def _limit_threads():
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def _exit_with_parent(parent: int) -> None:
    """End this worker process when its parent ends, also by ``kill -9`` (which runs no clean-up there).

    On Linux the kernel sends SIGKILL when the parent dies (``PR_SET_PDEATHSIG``); everywhere a
    daemon thread checks every :data:`PARENT_POLL_S` seconds that the parent is still this
    process's parent and exits at once when it is not (a worker busy in a long computation too).
    """
    import sys
    import threading
    import time

    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):
            pass  # the thread below still ends it
    if os.getppid() != parent:  # the parent ended before this started
        os._exit(1)

    def watch():
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _worker_start(parent: int) -> None:
    """What every local worker process runs first: one thread per library, and ending with its parent."""
    _limit_threads()
    _exit_with_parent(parent)


def make_executor(workers: Optional[int] = None, scheduler: Optional[str] = None):
    """A ``concurrent.futures`` executor and a function that releases it.

    Parameters
    ----------
    workers : int, optional
        Local worker processes (default: the number of CPUs); 1 runs in this
        process. Ignored with ``scheduler``.
    scheduler : str, optional
        Address of a running Dask distributed scheduler (``tcp://host:8786``)
        or a :class:`distributed.Client`; tasks then run on its workers.

    Returns
    -------
    (executor, close)
    """
    if scheduler is not None:
        client, close = connect_dask(scheduler)
        return client.get_executor(pure=False), close
    if workers is None:
        workers = os.cpu_count() or 1
    workers = int(workers)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if workers == 1:
        return SerialExecutor(), lambda: None
    import multiprocessing as mp

    ex = cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                initializer=_worker_start, initargs=(os.getpid(),))
    return ex, lambda: ex.shutdown(wait=True, cancel_futures=True)


@contextmanager
def executor_for(n_tasks: int, workers: Optional[int] = None, scheduler=None):
    """``with executor_for(n, workers, scheduler) as ex:`` an executor for ``n`` tasks, released on exit.

    Without a scheduler, at most ``n_tasks`` local processes start, and fewer
    than two tasks run in this process.
    """
    if scheduler is None and workers is not None and n_tasks >= 1:
        workers = min(int(workers), n_tasks)
    executor, close = make_executor(workers, scheduler)
    try:
        yield executor
    finally:
        close()


def connect_dask(scheduler):
    """A :class:`distributed.Client` for ``scheduler`` (an address or a client) and a function that releases it.

    A client passed in is used as it is and left open.
    """
    try:
        from distributed import Client
    except ImportError:
        raise ValueError("a scheduler needs dask.distributed: pip install 'napari-deepsuperpixel[dask]'") from None
    if isinstance(scheduler, Client):
        return scheduler, lambda: None
    if not isinstance(scheduler, str):
        raise ValueError(f"scheduler must be an address such as 'tcp://host:8786' or a distributed.Client, "
                         f"got {type(scheduler).__name__}")
    client = Client(scheduler)
    return client, client.close
