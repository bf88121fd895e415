"""preset="auto": the paper's settings on a GPU, the CPU setting on a CPU, reported with the result."""

import pytest

torch = pytest.importorskip("torch")

from napari_deepsuperpixel import list_methods, segment_result  # noqa: E402
from napari_deepsuperpixel.methods import backprop, dsc, neural_superpixels  # noqa: E402
from napari_deepsuperpixel.methods._presets import auto_preset, chosen_preset, resolve_preset  # noqa: E402

DEEP = {"backprop": (backprop.BackpropParams, backprop.BACKPROP_PRESETS),
        "neural_superpixels": (neural_superpixels.NeuralSuperpixelsParams, neural_superpixels.NEURAL_SP_PRESETS),
        "dsc": (dsc.DscParams, dsc.DSC_PRESETS)}


def test_every_per_image_deep_method_defaults_to_auto():
    methods = {m.name: m for m in list_methods()}
    for name in DEEP:
        p = {q.name: q for q in methods[name].parameters}["preset"]
        assert p.default == "auto" and set(p.choices) == {"auto", "paper", "fast"}


@pytest.mark.parametrize("name", sorted(DEEP))
@pytest.mark.parametrize("device, expected", [("cpu", "fast"), (torch.device("cpu"), "fast"),
                                              ("cuda", "paper"), (torch.device("cuda:1"), "paper"),
                                              ("mps", "paper")])
def test_auto_resolves_by_device(name, device, expected):
    cls, presets = DEEP[name]
    r = resolve_preset(cls(), presets, name, device)
    assert r.preset == expected
    for field, value in presets[expected].items():
        assert getattr(r, field) == value
    # an explicit preset or value always wins over "auto"
    assert resolve_preset(cls(preset="paper"), presets, name, "cpu").preset == "paper"
    assert resolve_preset(cls(max_iter=3), presets, name, device).max_iter == 3


def test_auto_preset_of_devices():
    assert auto_preset("cpu") == "fast" and auto_preset("cuda:0") == "paper" and auto_preset("mps") == "paper"


def test_the_chosen_preset_is_known_before_and_reported_after_a_run(rgb_image):
    assert chosen_preset("slic", {}) is None
    assert chosen_preset("backprop", {}, "cpu") == "fast"
    assert chosen_preset("backprop", {"preset": "paper"}, "cpu") == "paper"
    res = segment_result(rgb_image[:32, :32], "backprop", device="cpu", max_iter=2, superpixel_count=20)
    assert res.extras["preset"] == "fast"
    assert res.extras["resolved_params"]["n_channels"] == backprop.BACKPROP_PRESETS["fast"]["n_channels"]


def test_progress_eta_from_the_first_iterations():
    from napari_deepsuperpixel import ProgressEvent
    from napari_deepsuperpixel._napari._workers import Eta, format_seconds

    t = [0.0]
    eta = Eta(min_steps=2, min_seconds=1.0, clock=lambda: t[0])
    assert eta.update(ProgressEvent(0, 100, "iterate")) is None
    t[0] = 2.0
    assert eta.update(ProgressEvent(4, 100, "iterate")) == pytest.approx((48.0, 50.0))
    t[0] = 3.0
    assert eta.update(ProgressEvent(0, 10, "refine")) is None  # a new stage starts a new estimate
    assert format_seconds(75) == "1 min 15 s" and format_seconds(3720) == "1 h 2 min"
