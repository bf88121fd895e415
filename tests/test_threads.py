"""torch's CPU thread count: half the cores by default, ``NDS_THREADS`` to override (docs/methods/backprop.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from napari_deepsuperpixel.nn import device
from napari_deepsuperpixel.nn.device import THREADS_ENV, cpu_threads

DOCS = Path(__file__).resolve().parents[1] / "docs" / "methods" / "backprop.md"


def test_the_default_is_half_the_cores_as_the_docs_say(monkeypatch):
    text = DOCS.read_text()
    assert re.search(r"`NDS_THREADS` \(default `auto`\)", text), "docs/methods/backprop.md names the default"
    assert "half the cores" in text and "1 thread on this 2-core machine" in text
    for cores, want in ((1, 1), (2, 1), (8, 4)):
        monkeypatch.setattr(device, "_cpu_count", lambda c=cores: c)
        assert cpu_threads({}) == want
        assert cpu_threads({THREADS_ENV: "auto"}) == want


def test_the_user_overrides_it(monkeypatch):
    monkeypatch.setattr(device, "_cpu_count", lambda: 2)
    assert cpu_threads({THREADS_ENV: "2"}) == 2
    assert cpu_threads({"OMP_NUM_THREADS": "1"}) is None  # left to torch
    assert cpu_threads({THREADS_ENV: "1", "OMP_NUM_THREADS": "4"}) == 1
    with pytest.raises(ValueError, match=THREADS_ENV):
        cpu_threads({THREADS_ENV: "0"})
    with pytest.raises(ValueError, match="positive"):
        cpu_threads({THREADS_ENV: "many"})


def test_a_cpu_run_applies_it(monkeypatch):
    import torch

    before = torch.get_num_threads()
    try:
        monkeypatch.setenv(THREADS_ENV, "1")
        monkeypatch.setattr(device, "_CONFIGURED", [False])
        device.resolve_device("cpu")
        assert torch.get_num_threads() == 1
        torch.set_num_threads(2)  # the user's own setting after the first run is kept
        device.resolve_device("cpu")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
