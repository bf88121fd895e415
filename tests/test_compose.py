"""Parameter roles, renamed parameters, and methods that run other methods (methods/compose.py)."""

import warnings

import numpy as np
import pytest

from napari_deepsuperpixel import Cancelled, list_methods, segment, segment_result
from napari_deepsuperpixel._types import ROLES, build_params, param, params_with_role
from napari_deepsuperpixel.methods import get_method
from napari_deepsuperpixel.methods.compose import run_method
from napari_deepsuperpixel.postprocess import split_components


def test_every_count_parameter_is_declared_and_no_name_carries_behaviour():
    """Every method's output count has role "count"; helper counts (backprop's K) do not."""
    counts = {m.name: [p.name for p in m.parameters if p.role == "count"] for m in list_methods()}
    for name in ("slic", "snic", "watershed", "neural_superpixels", "sen", "sen_contours",
                 "kmeans_superpixels", "ncut_superpixels"):
        assert counts[name] == ["n_segments"], name
    assert counts["backprop"] == [] and "superpixel_count" in {p.name for p in get_method("backprop").parameters}
    for m in list_methods():
        for p in m.parameters:
            assert p.role is None or p.role in ROLES
        # one name per concept: no method uses the former names any more
        names = {p.name for p in m.parameters}
        assert not names & {"n_superpixels", "n_iter", "max_num_iter", "superpixels"}, m.name


def test_min_size_role_drives_the_connectivity_merge(rgb_image):
    lab = segment(rgb_image, "slic", n_segments=200, min_size=150)
    assert np.bincount(lab.ravel())[1:].min() >= 150


def test_count_role_is_checked_whatever_the_name():
    img = np.random.default_rng(0).random((8, 8))
    with pytest.raises(ValueError, match="n_segments=65 exceeds the number of pixels"):
        segment(img, "neural_superpixels", n_segments=65)


@pytest.mark.parametrize("method, old, new, value", [
    ("neural_superpixels", "n_superpixels", "n_segments", 7),
    ("sen", "n_superpixels", "n_segments", 7),
    ("backprop", "n_superpixels", "superpixel_count", 50),
    ("dsc", "n_iter", "max_iter", 3),
    ("dsc", "superpixels", "superpixel_method", "slic"),
    ("slic", "max_num_iter", "max_iter", 4),
])
def test_former_names_still_work_with_a_deprecation_warning(method, old, new, value):
    info = get_method(method)
    with pytest.warns(DeprecationWarning, match=f"{old!r} of {method!r} is now called {new!r}"):
        p = build_params(info.params_cls, method, {old: value})
    assert getattr(p, new) == value
    with pytest.raises(ValueError, match="give only one of them"):
        build_params(info.params_cls, method, {old: value, new: value})


def test_params_with_role_rejects_unknown_roles():
    with pytest.raises(ValueError, match="unknown parameter role"):
        params_with_role(get_method("slic").params_cls, "size")
    with pytest.raises(ValueError, match="unknown parameter role"):
        param(1, "x", role="size")


def test_run_method_equals_the_public_api_on_a_prepared_image(rgb_image):
    """A method run inside another one gives what a user gets from segment() on the same image."""
    img = rgb_image.astype(np.float32) / 255.0
    for name, kw in (("slic", {"n_segments": 50}), ("felzenszwalb", {"scale": 50}), ("snic", {"n_segments": 40})):
        inner = run_method(img, name, kw).labels
        outer = segment(img, name, normalize="none", channel_axis=-1, **kw)
        assert np.array_equal(inner, outer), name
        assert inner.dtype == np.int32 and inner.min() == 1
        assert split_components(inner).max() == inner.max() == np.unique(inner).size  # one region per label


def test_run_method_forwards_progress_and_cancel(rgb_image):
    img = rgb_image.astype(np.float32) / 255.0
    events = []

    def progress(step, total, stage="", **info):
        events.append(stage)

    progress.check = lambda: None
    run_method(img, "snic", {"n_segments": 30}, progress=progress)
    assert events and all(s.startswith("snic") for s in events)

    def cancel():
        raise Cancelled("stop")

    progress.check = cancel

    def reporting(step, total, stage="", **info):
        cancel()

    reporting.check = cancel
    with pytest.raises(Cancelled):
        run_method(img, "snic", {"n_segments": 30}, progress=reporting)


def test_backprop_refinement_superpixels_are_cancelled_with_backprop(rgb_image):
    """Cancel pressed while backprop computes its fine superpixels stops the whole run."""
    calls = []

    def progress(ev):
        calls.append(ev.stage)
        if ev.stage.startswith("snic"):
            raise Cancelled("stop")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Cancelled):
            segment_result(rgb_image[:48, :48], "backprop", n_channels=8, max_iter=2, precision="fp32",
                           superpixel_method="snic", superpixel_count=30, progress=progress)
    assert any(s.startswith("snic") for s in calls)
