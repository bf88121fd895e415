"""Keep freed memory on the heap while a per-image network iterates (glibc only).

An iteration of ``backprop`` or ``neural_superpixels`` allocates and frees a
dozen tensors of a few megabytes (activations, gradients, the loss's
``N x H x W`` temporaries). glibc's malloc serves blocks above its mmap
threshold with fresh pages from the kernel, gives them back at ``free`` and
trims the top of the heap, so the next iteration pays a page fault (and the
zeroing of a page) per 4 kB again. Measured at the fast presets on BSDS500
test/100007: 5,500 minor faults per iteration for ``backprop`` (180 inside this
context, 0.75x the time) and 19,000 for ``neural_superpixels`` (18 % of its CPU
time was this system time).

Inside :func:`reuse_heap`, blocks of up to 32 MB come from the heap
(``M_MMAP_THRESHOLD``; 32 MB is the largest value glibc accepts on 64-bit
systems, its own ``DEFAULT_MMAP_THRESHOLD_MAX``) and the heap is never trimmed
(``M_TRIM_THRESHOLD``). When the last such context in the process ends the
thresholds are left at 32 MB / 64 MB, the values glibc's own adaptive rule
reaches after freeing large blocks (setting them with ``mallopt`` switches that
adaptation off for the process), and ``malloc_trim(0)`` hands the free memory
back to the system. Contexts may overlap (two runs in two threads): a count
keeps the settings until the last one ends. Arithmetic and results are
unchanged; only the time is. Where the C library is not glibc (macOS, Windows,
musl) the context does nothing and loads no library.

Why by hand: no installed library exposes ``mallopt``; the environment
variables ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` would do the
same but only when set before the process starts, which a napari session or a
user's script does not do.
"""

from __future__ import annotations

import contextlib
import threading

__all__ = ["ENABLED", "reuse_heap"]

#: switch for measurements (``nn.heap.ENABLED = False`` runs without the context's settings)
ENABLED = True

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
_DURING_MMAP = 32 << 20          # the largest mmap threshold glibc accepts on 64-bit systems
_DURING_TRIM = 2**31 - 1         # the largest int: never trim
_AFTER_MMAP, _AFTER_TRIM = 32 << 20, 64 << 20  # where glibc's adaptive thresholds end after large frees

_lock = threading.Lock()
_depth = 0
_libc = None


def _glibc():
    """The C library as a ctypes handle when it is glibc, else None (loaded once)."""
    global _libc
    if _libc is None:
        import platform

        handle = False
        if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
            import ctypes

            try:
                lib = ctypes.CDLL(None)
                lib.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
                lib.malloc_trim.argtypes = [ctypes.c_size_t]
                handle = lib
            except (OSError, AttributeError):
                handle = False
        _libc = handle
    return _libc or None


@contextlib.contextmanager
def reuse_heap(enabled: bool = True):
    """Context in which glibc keeps freed blocks of up to 32 MB for reuse; yields whether it does."""
    global _depth
    libc = _glibc() if (enabled and ENABLED) else None
    if libc is None:
        yield False
        return
    with _lock:
        if _depth == 0:
            libc.mallopt(_M_MMAP_THRESHOLD, _DURING_MMAP)
            libc.mallopt(_M_TRIM_THRESHOLD, _DURING_TRIM)
        _depth += 1
    try:
        yield True
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                libc.mallopt(_M_MMAP_THRESHOLD, _AFTER_MMAP)
                libc.mallopt(_M_TRIM_THRESHOLD, _AFTER_TRIM)
                libc.malloc_trim(0)
