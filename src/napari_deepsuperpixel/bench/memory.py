"""Peak memory and CPU time of benchmark runs: one way to measure them.

* :func:`peak_rss_mb`: this process's peak resident memory so far. On Linux it
  is ``VmHWM`` of ``/proc/self/status``, the high-water mark of this process's
  own address space. ``getrusage``'s ``ru_maxrss`` would not do for a process
  started by ``subprocess``: Linux carries the parent's peak over the fork (or
  vfork) and the exec into it, so a small child of a large parent would report
  the parent's memory. Elsewhere ``ru_maxrss`` is the fallback.
* :class:`ChildPeakRss`: the peak resident memory of a child process that
  cannot report its own (a program that is not this package's), read from its
  ``VmHWM`` while it runs. Neither ``ru_maxrss`` from ``wait4`` (carries the
  parent's peak, as above) nor ``RUSAGE_CHILDREN`` (the maximum over every
  child waited for so far) is that child's own.
* :class:`RssSampler`: the resident memory sampled in a thread, its maximum per
  phase of a run (e.g. per progress stage).
* :func:`cpu_seconds`: user + system CPU time of this process.

The benchmark scripts run each configuration in its own process and report
:func:`peak_rss_mb` from inside it.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Callable, Optional


def _maxrss_mb(ru_maxrss: int) -> float:
    return ru_maxrss / 2**20 if sys.platform == "darwin" else ru_maxrss / 1024  # bytes on macOS, KiB elsewhere


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB (``VmHWM`` on Linux, else ``ru_maxrss``)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    import resource

    return _maxrss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def current_rss_mb() -> float:
    """This process's resident memory now, in MiB (``/proc/self/statm``; Linux only).

    Raises
    ------
    OSError
        Where ``/proc/self/statm`` does not exist.
    """
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _vm_hwm_mb(pid) -> Optional[float]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None  # a process that has released its memory (exiting)


class ChildPeakRss:
    """The peak resident memory of a running child process, in MiB (Linux; ``nan`` elsewhere).

    ``VmHWM`` (a high-water mark, so a sample misses nothing that happened
    before it) is read every ``interval`` seconds until the context exits; only
    growth in the child's last ``interval`` before it ends can be missed.

    Examples
    --------
    >>> import subprocess, sys
    >>> proc = subprocess.Popen([sys.executable, "-c", "pass"])
    >>> with ChildPeakRss(proc) as child:
    ...     _ = proc.wait()
    >>> child.mb > 0 or child.mb != child.mb  # nan where /proc does not exist
    True
    """

    def __init__(self, proc, interval: float = 0.05):
        self.pid, self.interval = proc.pid, float(interval)
        self._peak: Optional[float] = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        v = _vm_hwm_mb(self.pid)
        if v is not None:
            self._peak = max(self._peak or 0.0, v)

    def _run(self) -> None:
        self._sample()
        while not self._stop.wait(self.interval):
            self._sample()

    @property
    def mb(self) -> float:
        """The largest ``VmHWM`` read so far (``nan`` if none could be read)."""
        return float("nan") if self._peak is None else self._peak

    def __enter__(self) -> "ChildPeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far (its threads included)."""
    t = os.times()
    return t.user + t.system


class RssSampler:
    """Samples the resident memory every ``interval`` seconds and keeps its maximum per phase.

    Parameters
    ----------
    phase : callable
        Returns the name of the current phase (read at every sample), e.g.
        the stage of the last progress report.
    interval : float
        Seconds between samples (default 0.1).

    Attributes
    ----------
    peaks : dict
        ``{phase: peak MiB}`` of the samples taken so far.

    Examples
    --------
    >>> stage = ["start"]
    >>> with RssSampler(lambda: stage[0]) as sampler:
    ...     stage[0] = "work"
    >>> isinstance(sampler.peaks, dict)
    True
    """

    def __init__(self, phase: Callable[[], str], interval: float = 0.1):
        self.phase, self.interval = phase, float(interval)
        self.peaks: dict = {}
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def _sample(self) -> None:
        name = self.phase()
        self.peaks[name] = max(self.peaks.get(name, 0.0), current_rss_mb())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> "RssSampler":
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
