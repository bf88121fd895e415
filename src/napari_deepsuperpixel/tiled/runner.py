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


def _shared(obj, what: str):
    """``obj`` as one node of a task graph, named without hashing its data (an image-sized array)."""
    import uuid

    import dask

    return dask.delayed(obj, name=f"{what}-{uuid.uuid4().hex}", traverse=False)


