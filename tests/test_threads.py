"""torch's CPU thread count: the idle cores by default, ``NDS_THREADS`` to override (docs/methods/backprop.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from napari_deepsuperpixel.nn import device
from napari_deepsuperpixel.nn.device import THREADS_ENV, cpu_threads

DOCS = Path(__file__).resolve().parents[1] / "docs" / "methods" / "backprop.md"


def test_the_default_is_the_idle_cores_as_the_docs_say(monkeypatch):
    text = DOCS.read_text()
    # the documented default: NDS_THREADS unset or auto = the idle cores when the run starts, at least one
    assert re.search(r"`NDS_THREADS`.*default.*`auto`", text), "docs/methods/backprop.md names the default"
    assert "idle cores" in text
    monkeypatch.setattr(device, "_cpu_count", lambda: 2)
    assert cpu_threads({}, busy_cores=lambda: 0.1) == 2  # a quiet machine: both cores
    assert cpu_threads({}, busy_cores=lambda: 1.0) == 1  # another process holds a core
    assert cpu_threads({THREADS_ENV: "auto"}, busy_cores=lambda: 3.0) == 1  # at least one
    assert cpu_threads({}, busy_cores=lambda: None) is None  # the platform cannot tell: torch's own


def test_the_user_overrides_it(monkeypatch):
    monkeypatch.setattr(device, "_cpu_count", lambda: 2)
    assert cpu_threads({THREADS_ENV: "2"}, busy_cores=lambda: 2.0) == 2
    assert cpu_threads({"OMP_NUM_THREADS": "1"}, busy_cores=lambda: 0.0) is None  # left to torch
    assert cpu_threads({THREADS_ENV: "1", "OMP_NUM_THREADS": "4"}, busy_cores=lambda: 0.0) == 1
    with pytest.raises(ValueError, match=THREADS_ENV):
        cpu_threads({THREADS_ENV: "0"}, busy_cores=lambda: 0.0)
    with pytest.raises(ValueError, match="positive"):
        cpu_threads({THREADS_ENV: "many"}, busy_cores=lambda: 0.0)


def test_a_cpu_run_applies_it(monkeypatch):
    import torch

    before = torch.get_num_threads()
    try:
        monkeypatch.setenv(THREADS_ENV, "1")
        monkeypatch.setattr(device, "_LAST", [-1e9])
        device.resolve_device("cpu")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_busy_cores_are_measured_here():
    busy = device._busy_cores()
    assert busy is None or 0.0 <= busy <= 64 * (device._cpu_count() or 1)
