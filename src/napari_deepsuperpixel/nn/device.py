"""Device choice shared by every torch method: cuda -> mps -> cpu; and torch's CPU thread count.

Threads (:func:`cpu_threads`): torch's own default is one thread per core, and
a thread that waits for a core another process holds stalls every parallel
operation. Measured on a 2-core CPU with one other busy process (BSDS test/100007,
1 and 2 threads alternated in one process; docs/methods/backprop.md, "Threads"):
backprop 2 threads 8.9 s vs 1 thread 2.1 s, sen 1.6 s vs 0.6 s. So by default
(``NDS_THREADS`` unset or ``auto``) a run on the CPU uses half the cores (at
least one), which leaves room for the viewer and one other busy program. The
count does not follow the load at run time, because the results of the
optimisation methods depend on it (a seeded run repeats only at the same
thread count). ``NDS_THREADS=N`` fixes the count; an ``OMP_NUM_THREADS`` set in
the environment (the batch's worker processes set it to 1) is left to torch.
"""

from __future__ import annotations

import os

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


def cpu_threads(env=None) -> "int | None":
    """The number of torch CPU threads a run should use (``None``: leave torch's setting).

    Parameters
    ----------
    env : mapping, optional
        The environment (default ``os.environ``): ``NDS_THREADS`` is ``"auto"``
        (default) or a positive integer; with ``OMP_NUM_THREADS`` set and
        ``NDS_THREADS`` not, ``None``.

    Returns
    -------
    int or None
        ``auto``: half the cores this process may use, at least 1.

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
    return max(1, _cpu_count() // 2)


_CONFIGURED = [False]


def configure_threads() -> int:
    """Set torch's CPU thread count by :func:`cpu_threads`, once per process; return the count torch uses.

    Called by :func:`resolve_device` whenever it resolves to the CPU, so the
    first torch run of a process from any front end (Python, the command line,
    the batch, the widgets) sets the count; later calls leave it, so a
    ``torch.set_num_threads`` after the first run is respected (before it, use
    ``NDS_THREADS``).
    """
    import torch

    if _CONFIGURED[0]:
        return torch.get_num_threads()
    _CONFIGURED[0] = True
    n = cpu_threads()
    if n is not None and n != torch.get_num_threads():
        torch.set_num_threads(n)
    return torch.get_num_threads()
