"""The heap setting of the per-image networks' iterations (nn.heap): nothing but time changes."""

import ctypes
import platform
import threading

import pytest

from napari_deepsuperpixel.nn import heap


def test_reuse_heap_reports_whether_it_acts_and_restores_on_error():
    with heap.reuse_heap(False) as active:
        assert active is False
    with heap.reuse_heap(True) as active:
        assert active is (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")
    with pytest.raises(RuntimeError):
        with heap.reuse_heap(True):
            raise RuntimeError("stop")
    assert heap._depth == 0


def test_overlapping_runs_keep_the_setting_until_the_last_ends(monkeypatch):
    calls = []

    class FakeLibc:
        def mallopt(self, param, value):
            calls.append(("mallopt", param, value))
            return 1

        def malloc_trim(self, pad):
            calls.append(("trim", pad))
            return 1

    monkeypatch.setattr(heap, "_libc", FakeLibc())
    first_in, second_done = threading.Event(), threading.Event()

    def other_run():
        with heap.reuse_heap():
            first_in.set()
            second_done.wait(5)

    t = threading.Thread(target=other_run)
    t.start()
    first_in.wait(5)
    with heap.reuse_heap():
        pass
    assert not any(c[0] == "trim" for c in calls)  # the other run still iterates: nothing restored
    second_done.set()
    t.join(5)
    assert calls[-1] == ("trim", 0) and heap._depth == 0
    assert sum(c[0] == "mallopt" for c in calls) == 4  # set once, restored once


def test_without_glibc_nothing_is_loaded(monkeypatch):
    monkeypatch.setattr(heap, "_libc", None)
    monkeypatch.setattr(platform, "libc_ver", lambda *a, **k: ("", ""))
    monkeypatch.setattr(ctypes, "CDLL", lambda *a, **k: pytest.fail("CDLL loaded"))
    with heap.reuse_heap() as active:
        assert active is False
