"""Running the block tasks of one phase, in this process's threads or on a Dask cluster."""

from __future__ import annotations

import threading
from typing import Optional


class _Counter:
    """Progress per block from dask's threads, and Cancel checked before each block starts."""

    def __init__(self, progress, total: int, stage: str):
        self.progress, self.total, self.stage = progress, total, stage
        self.done = 0
        self.lock = threading.Lock()

    def start(self):
        self.progress.check()

    def finish(self):
        with self.lock:
            self.done += 1
            self.progress(self.done, self.total, self.stage)


class _Runner:
    """Runs the block tasks of one phase and reports them.

    Without a client: dask's threaded scheduler in this process, ``threads``
    blocks at a time, progress and Cancel from inside the tasks
    (:class:`_Counter`). With a :class:`distributed.Client`: the tasks go to
    its workers; progress is reported as blocks finish and Cancel, checked
    between them, cancels the remaining ones.
    """

    def __init__(self, progress, threads: int, client=None):
        self.progress, self.threads, self.client = progress, threads, client

    def counter(self, total: int, stage: str) -> Optional[_Counter]:
        """The in-task counter of a phase (``None`` on a cluster: its tasks report nothing)."""
        return _Counter(self.progress, total, stage) if self.client is None else None

    def run(self, tasks: list, stage: str) -> list:
        import dask

        if self.client is None:
            return list(dask.compute(*tasks, scheduler="threads", num_workers=self.threads))
        from distributed import as_completed

        futures = self.client.compute(tasks)
        try:
            for done, fut in enumerate(as_completed(futures), 1):
                fut.result()  # a failed block raises here
                self.progress(done, len(tasks), stage)
                self.progress.check()
            return self.client.gather(futures)
        except BaseException:
            self.client.cancel(futures)
            raise


class _Writes:
    """The writes of one run into its labels, refused once the run has ended early.

    When Cancel or an error ends a run, blocks already running on dask's
    threads go on; a block finishing then would write into labels nobody
    wants, and into a zarr store being removed zarr would recreate the folders
    of the chunks it writes (a broken store left behind). :meth:`close`,
    called before the store is removed, waits for the writes under way to end
    and refuses every later one, so nothing is written after it returns.

    Pickled to a cluster's workers (other processes) only the store's path
    travels: there a write is refused once the store's folder is gone (Cancel
    on a cluster cancels the blocks not yet started; a write already past that
    check when the folder goes may still recreate a chunk's folder).
    """

    def __init__(self, zarr_path=None):
        self.zarr_path = None if zarr_path is None else str(zarr_path)
        self._cond = threading.Condition()
        self._open, self._active = True, 0

    def __getstate__(self):
        return {"zarr_path": self.zarr_path}

    def __setstate__(self, state):
        self.__init__(state["zarr_path"])

    def put(self, target, y0: int, y1: int, x0: int, x1: int, values) -> bool:
        """``target[y0:y1, x0:x1] = values`` unless the run has ended (then ``False``)."""
        import os

        with self._cond:
            if not self._open or (self.zarr_path is not None and not os.path.isdir(self.zarr_path)):
                return False
            self._active += 1
        try:
            target[y0:y1, x0:x1] = values
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()
        return True

    def close(self) -> None:
        """Refuse every later write, after the writes under way have ended."""
        with self._cond:
            self._open = False
            self._cond.wait_for(lambda: self._active == 0)


def _shared(obj, what: str):
    """``obj`` as one node of a task graph, named without hashing its data (an image-sized array)."""
    import uuid

    import dask

    return dask.delayed(obj, name=f"{what}-{uuid.uuid4().hex}", traverse=False)


