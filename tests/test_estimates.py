"""The time-left estimate of the widgets (``_napari._workers.Eta``), with a fake clock.

A run's real duration is replayed from its progress events: each event costs one
tick of the fake clock (an iteration of a per-image method costs the same every
time), so the estimate after the first 10 % of the run can be compared with the
real end without sleeping.
"""

from __future__ import annotations

import numpy as np
import pytest

from napari_deepsuperpixel import ProgressEvent, segment_result
from napari_deepsuperpixel._napari._workers import Eta


def _blobs(seed=0, shape=(64, 64)):
    rng = np.random.default_rng(seed)
    img = rng.normal(40, 8, shape)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    for cy, cx in rng.uniform(8, shape[0] - 8, (6, 2)):
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < 25] += 300
    return np.clip(img, 0, None).astype(np.uint16)


def _replay(events):
    """(fake time, event) pairs: one tick per event, the run ends one tick after the last."""
    return [(float(i), ev) for i, ev in enumerate(events)], float(len(events))


def _worst_error_after(events, fraction=0.1):
    """The largest relative error of (elapsed + time left) against the real end, after ``fraction`` of the run."""
    timed, end = _replay(events)
    now = [0.0]
    eta = Eta(min_steps=2, min_seconds=0.0, clock=lambda: now[0])
    worst, n_checked = 0.0, 0
    for t, ev in timed:
        now[0] = t
        est = eta.update(ev)
        if est is None or t < fraction * end:
            continue
        left, _ = est
        worst = max(worst, abs((t + left) - end) / end)
        n_checked += 1
    return worst, n_checked


def test_eta_counts_to_the_forecast_stop_and_keeps_the_upper_bound():
    t = [0.0]
    eta = Eta(min_steps=2, min_seconds=1.0, clock=lambda: t[0])
    assert eta.update(ProgressEvent(0, 200, "iterate")) is None
    t[0] = 10.0
    left, whole = eta.update(ProgressEvent(10, 200, "iterate", {"expected_total": 40}))
    assert (left, whole) == pytest.approx((30.0, 40.0))
    assert eta.upper == pytest.approx(190.0)
    t[0] = 20.0  # a forecast past the end is cut at the end; one before the current step at the step
    assert eta.update(ProgressEvent(20, 200, "iterate", {"expected_total": 900}))[0] == pytest.approx(180.0)
    assert eta.update(ProgressEvent(20, 200, "iterate", {"expected_total": 5}))[0] == pytest.approx(0.0)


def test_the_time_to_max_iter_bounds_a_run_that_stops_early():
    # backprop's stop rules end a run after 22 to 200 of its 200 iterations (measured on 18
    # images); without a forecast the estimate counts to max_iter, which is an upper bound
    events = []
    res = segment_result(_blobs(), "backprop", progress=events.append, seed=0, max_iter=300)
    assert res.extras["stopped_early"], "the case under test is an early stop"
    timed, end = _replay(events)
    now = [0.0]
    eta = Eta(min_steps=2, min_seconds=0.0, clock=lambda: now[0])
    checked = 0
    for t, ev in timed:
        now[0] = t
        est = eta.update(ev)
        if est is not None:
            assert t + est[0] >= end - 1 and est[0] == pytest.approx(eta.upper)
            assert eta.is_upper_bound  # the dock then says "up to", not "about"
            checked += 1
    assert checked > 10
    from napari_deepsuperpixel._napari._workers import eta_words

    assert eta_words(eta, 75).startswith("up to 1 min 15 s")


def test_a_run_without_a_stop_rule_is_estimated_not_bounded():
    from napari_deepsuperpixel._napari._workers import eta_words

    t = [0.0]
    eta = Eta(min_steps=2, min_seconds=0.0, clock=lambda: t[0])
    eta.update(ProgressEvent(0, 100, "iterate"))
    t[0] = 5.0
    eta.update(ProgressEvent(5, 100, "iterate", {"loss": 1.0}))
    assert not eta.is_upper_bound and eta_words(eta, 12).startswith("about 12 s")


#: every method with an iteration loop, at small settings, without an early stop (the early stop is
#: tested above); the estimate is judged on its iterations
LOOPS = {"backprop": {"min_labels": 0, "patience": 0, "max_iter": 30},
         "neural_superpixels": {"max_iter": 30, "n_segments": 20},
         "dsc": {"min_labels": 0, "max_iter": 20}}


@pytest.mark.parametrize("method", sorted(LOOPS))
def test_every_iteration_loop_is_estimated_within_half_of_its_real_length(method):
    events = []
    segment_result(_blobs(1), method, progress=events.append, seed=0, **LOOPS[method])
    loop = [ev for ev in events if ev.stage == "iterate"]
    assert len(loop) > 10
    worst, _ = _worst_error_after(loop)
    assert worst <= 0.5, f"{method}: estimate off by {worst:.0%} of the real time ({len(loop)} events)"
