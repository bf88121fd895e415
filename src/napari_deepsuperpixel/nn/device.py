"""Device choice shared by every torch method: cuda -> mps -> cpu; and torch's CPU thread count.

Threads (:func:`cpu_threads`): torch's own default is one thread per core, and
a thread that waits for a core another process holds stalls every parallel
operation. Measured on a 2-core CPU with one other busy process (BSDS test/100007,
1 and 2 threads alternated in one process; docs/methods/backprop.md, "Threads"):
backprop 2 threads 8.9 s vs 1 thread 2.1 s, sen 1.6 s vs 0.6 s. So by default (``NDS_THREADS`` unset or ``auto``) a run on
the CPU uses as many threads as there are idle cores when it starts (at least
one), measured from ``/proc/stat`` over 50 ms (Linux) or from the 1-minute load
average (other Unix); where neither exists torch's own default is kept.
``NDS_THREADS=N`` fixes the count; an ``OMP_NUM_THREADS`` set in the
environment (the batch's worker processes set it to 1) is left to torch.
"""

from __future__ import annotations

import os
import time

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")

#: the environment variable that sets torch's CPU threads ("auto" or a positive integer)
THREADS_ENV = "NDS_THREADS"


def available_devices() -> list[str]:
    """Devices usable on this machine, best first (``"cpu"`` is always last).

    Imports torch; returns ``["cpu"]`` if torch reports no accelerator.
    """
    import torch

    out = []
    if torch.cuda.is_available():
        out.append("cuda")
        out.extend(f"cuda:{i}" for i in range(1, torch.cuda.device_count()))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    out.append("cpu")
    return out


def resolve_device(device: str = "auto"):
    """Turn ``"auto"``, ``"cpu"``, ``"cuda[:i]"`` or ``"mps"`` into a ``torch.device``.

    ``"auto"`` picks cuda, then mps, then cpu. An explicit device that is not
    available raises ``ValueError`` naming the devices that are. Resolving to
    the CPU sets torch's thread count (:func:`configure_threads`).
    """
    import torch

    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise ValueError(f"device must be a string such as 'auto', 'cpu', 'cuda', got {device!r}")
    name = device.strip().lower()
    avail = available_devices()
    if name == "auto":
        if avail[0] == "cpu":
            configure_threads()
        return torch.device(avail[0])
    base = name.split(":")[0]
    if base not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unknown device {device!r}; use one of {DEVICE_CHOICES}")
    if base == "cpu":
        configure_threads()
        return torch.device("cpu")
    if name not in avail and not (name == "cuda:0" and "cuda" in avail):
        raise ValueError(
            f"device {device!r} is not available on this machine; available: {', '.join(avail)} "
            "(or 'auto')"
        )
    return torch.device(name)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _proc_stat_busy(interval: float = 0.05):
    """Busy cores (a float) over ``interval`` seconds from ``/proc/stat``, or ``None`` without it."""
    def read():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
        return sum(v[:8]), idle

    try:
        t0, i0 = read()
        time.sleep(interval)
        t1, i1 = read()
    except (OSError, ValueError, IndexError):
        return None
    if t1 <= t0:
        return None
    return (1.0 - (i1 - i0) / (t1 - t0)) * (os.cpu_count() or 1)


def _busy_cores():
    busy = _proc_stat_busy()
    if busy is None and hasattr(os, "getloadavg"):
        busy = os.getloadavg()[0]
    return busy


def cpu_threads(env=None, busy_cores=_busy_cores) -> "int | None":
    """The number of torch CPU threads a run should use (``None``: leave torch's setting).

    Parameters
    ----------
    env : mapping, optional
        The environment (default ``os.environ``): ``NDS_THREADS`` is ``"auto"``
        (default) or a positive integer; with ``OMP_NUM_THREADS`` set and
        ``NDS_THREADS`` not, ``None``.
    busy_cores : callable
        Returns the cores other processes keep busy now (a float), or ``None``
        when this platform cannot tell.

    Returns
    -------
    int or None
        ``auto``: the idle cores (``cores - round(busy)``), at least 1.

    Raises
    ------
    ValueError
        ``NDS_THREADS`` is neither ``auto`` nor a positive integer.
    """
    env = os.environ if env is None else env
    raw = str(env.get(THREADS_ENV, "")).strip().lower()
    if raw and raw != "auto":
        try:
            n = int(raw)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"{THREADS_ENV}={env.get(THREADS_ENV)!r}: give 'auto' or a positive number of threads")
        return n
    if not raw and env.get("OMP_NUM_THREADS"):
        return None
    busy = busy_cores()
    if busy is None:
        return None
    cores = _cpu_count()
    return max(1, min(cores, cores - int(round(busy))))


_LAST = [-1e9]


def configure_threads(max_age: float = 1.0) -> int:
    """Set torch's CPU thread count by :func:`cpu_threads`; return the count torch now uses.

    Called by :func:`resolve_device` whenever it resolves to the CPU, so every
    torch method from every front end (Python, the command line, the batch, the
    widgets) starts with the count; a decision younger than ``max_age`` seconds
    is kept (nested runs and repeated calls do not sample the cores again).
    """
    import torch

    now = time.monotonic()
    if now - _LAST[0] < max_age:
        return torch.get_num_threads()
    _LAST[0] = now
    n = cpu_threads()
    if n is not None and n != torch.get_num_threads():
        torch.set_num_threads(n)
    return torch.get_num_threads()
