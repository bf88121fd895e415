"""The three docks on a laptop screen: sizes, names, defaults, docs links, dropdowns."""

from pathlib import Path

import numpy as np
import pytest

napari = pytest.importorskip("napari")
from magicgui.widgets import ComboBox  # noqa: E402

from napari_deepsuperpixel._napari import _layout  # noqa: E402
from napari_deepsuperpixel._napari._metrics_widget import MetricsWidget  # noqa: E402
from napari_deepsuperpixel._napari._param_panel import OptionalField  # noqa: E402
from napari_deepsuperpixel._napari._segment_widget import SegmentWidget  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LONG_NAME = "nuclei_" + "very_long_acquisition_name_from_the_microscope_export_" * 3 + "ch0"
#: napari's own rows around the docks: menu bar, status bar, a dock title per dock
CHROME = 60


def _settle(qtbot):
    qtbot.wait(50)


def _pred_and_gt():
    gt = np.zeros((48, 48), np.int32)
    gt[5:20, 5:20], gt[25:40, 8:22], gt[10:30, 28:44] = 1, 2, 3
    pred = gt.copy()
    pred[25:40, 8:22] = 0
    return pred, gt


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer(show=True)


def _docked(viewer, widget):
    """``widget`` in a dock of ``viewer`` (as napari shows it)."""
    viewer.window.add_dock_widget(widget)
    return widget


def _docks(viewer, qtbot):
    from napari_deepsuperpixel._napari._training_widget import TrainingWidget

    viewer.add_image(np.random.default_rng(0).random((6, 48, 48)), name=LONG_NAME)
    pred, gt = _pred_and_gt()
    viewer.add_labels(gt, name=LONG_NAME + " ground truth")
    viewer.add_labels(pred, name=LONG_NAME + " snic", metadata={"method": "snic"})
    seg, met, tra = SegmentWidget(viewer), MetricsWidget(viewer), TrainingWidget(viewer)
    seg.method.value = "neural_superpixels"  # the longest parameter list
    seg.advanced.value = True
    docks = [viewer.window.add_dock_widget(w) for w in (seg, met, tra)]
    met.ground_truth.value = [viewer.layers[LONG_NAME + " ground truth"]]
    met.objects.value = True
    met.compute()
    qtbot.waitUntil(lambda: not met.running, timeout=60_000)
    _settle(qtbot)
    return (seg, met, tra), docks


def test_all_three_docks_fit_a_1920x1080_screen(viewer, qtbot):
    (seg, met, tra), docks = _docks(viewer, qtbot)
    heights = [d.minimumSizeHint().height() for d in docks]
    widths = [d.minimumSizeHint().width() for d in docks]
    assert sum(heights) + CHROME <= 1080, heights
    assert max(widths) <= 480, widths  # long layer names elide instead of widening the docks
    window = seg.native.window()
    window.resize(1920, 1080)
    _settle(qtbot)
    assert window.height() <= 1080 and window.width() <= 1920
    # the action buttons are outside the scrolling inputs: visible without scrolling
    for w, button in ((seg, seg.run_button), (met, met.compute_button), (met, met.save_button)):
        assert not w.body.native.isAncestorOf(button.native)
        assert button.native.isVisible()


def test_segmentation_dock_fits_1366x768(viewer, qtbot):
    viewer.add_image(np.zeros((32, 32)), name=LONG_NAME)
    w = SegmentWidget(viewer)
    dock = viewer.window.add_dock_widget(w)
    for method, advanced in (("slic", False), ("neural_superpixels", True), ("backprop", True)):
        w.method.value = method
        w.advanced.value = advanced
        _settle(qtbot)
        hint = dock.minimumSizeHint()
        assert hint.height() + CHROME <= 768 and hint.width() <= 1366 // 3, (method, hint)
    window = w.native.window()
    window.resize(1366, 768)
    _settle(qtbot)
    assert window.height() <= 768


def _cut_labels(widget) -> list:
    """The shown one-line labels of ``widget`` too narrow for their whole text in the font they are drawn in.

    A QLabel draws its text inside its frame and margins, after its indent (by
    default half an "x" beside a frame); rich text and wrapping labels are left out.
    """
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QLabel

    cut = []
    for label in widget.native.findChildren(QLabel):
        text = label.text()
        if not text or not label.isVisible() or label.wordWrap() or Qt.mightBeRichText(text):
            continue
        fm = label.fontMetrics()
        indent = label.indent()
        if indent < 0:
            indent = fm.horizontalAdvance("x") // 2 if label.frameWidth() else 0
        room = label.contentsRect().width() - 2 * label.margin() - indent
        if label.width() < fm.horizontalAdvance(text) or room < fm.horizontalAdvance(text):
            cut.append((text, label.width(), fm.horizontalAdvance(text)))
    return cut


def test_parameter_names_are_never_cut(viewer, qtbot):
    """magicgui sizes a label column with the application's font; napari draws labels a point larger."""
    from napari_deepsuperpixel._napari._batch_widget import BatchWidget
    from napari_deepsuperpixel._napari._training_widget import TrainingWidget

    viewer.add_image(np.zeros((32, 32, 3), np.uint8), name="img", rgb=True)
    seg = SegmentWidget(viewer)
    viewer.window.add_dock_widget(seg)
    seg.native.window().resize(1920, 1080)
    for method in [*seg.method.choices, "dsc"]:  # the rows change with the method, and back
        for advanced in (False, True):
            seg.method.value = method
            seg.advanced.value = advanced
            _settle(qtbot)
            assert not _cut_labels(seg), (method, advanced, _cut_labels(seg))
    assert seg.native.parentWidget().width() <= 1920 // 4  # and the dock stays narrow
    for dock, choice in ((BatchWidget(viewer), "method"), (TrainingWidget(viewer), "trainer")):
        viewer.window.add_dock_widget(dock)
        for value in getattr(dock, choice).choices:
            getattr(dock, choice).value = value
            dock.advanced.value = True
            _settle(qtbot)
            assert not _cut_labels(dock), (type(dock).__name__, value, _cut_labels(dock))


def test_long_layer_names_do_not_widen_the_dock(viewer, qtbot):
    viewer.add_image(np.zeros((32, 32)), name="a")
    w = SegmentWidget(viewer)
    viewer.window.add_dock_widget(w)
    _settle(qtbot)
    narrow = w.native.minimumSizeHint().width()
    viewer.add_image(np.zeros((32, 32)), name=LONG_NAME)
    w.image.value = viewer.layers[LONG_NAME]
    w.status.value = LONG_NAME + ": 12 segments"
    _settle(qtbot)
    assert w.native.minimumSizeHint().width() <= narrow + 5


def test_metric_names_tooltips_and_format(viewer, qtbot):
    from napari_deepsuperpixel.metrics.info import METRIC_INFO

    (_, met, _), _ = _docks(viewer, qtbot)
    t = met.table.native
    names = {" ".join(t.item(i, 0).text().split()): t.item(i, 0).toolTip() for i in range(t.rowCount())}
    for key in ("covering", "pri", "vi", "asa", "ue", "br", "bp", "obj_p50", "obj_r50", "obj_f50", "obj_ap50"):
        m = METRIC_INFO[key]
        assert m.label in names, m.label
        assert m.definition in names[m.label] and "is better" in names[m.label]
    col = {" ".join(row[0].split()): row[1] for row in met.table.data}
    assert col["ground truth"] == LONG_NAME + " ground truth"
    assert col["background (label 0)"] == "a segment"  # the convention is stated in the table
    assert col[METRIC_INFO["obj_r50"].label] == "0.667"  # 2 of 3 nuclei found, 3 decimals
    for key in ("pri", "vi", "ue"):
        text = col[METRIC_INFO[key].label]
        assert len(text.split(".")[1]) == 3 and "e" not in text  # never 2.750e-02
    assert "label 0" in met.ignore_background.tooltip.lower()


def test_default_prediction_is_the_newest_result(viewer):
    pred, gt = _pred_and_gt()
    viewer.add_labels(gt, name="annotator 1", metadata={"bsds_boundaries": gt > 0})
    viewer.add_labels(gt, name="annotator 2", metadata={"bsds_boundaries": gt > 0})
    w = _docked(viewer, MetricsWidget(viewer))
    viewer.add_labels(pred, name="img slic", metadata={"method": "slic"})
    assert w.prediction.value is viewer.layers["img slic"]
    viewer.add_labels(pred, name="img snic", metadata={"method": "snic"})
    assert w.prediction.value is viewer.layers["img snic"]
    viewer.add_labels(gt, name="annotator 3", metadata={"bsds_boundaries": gt > 0})
    assert w.prediction.value is viewer.layers["img snic"]  # ground truth does not take over
    assert _docked(viewer, MetricsWidget(viewer)).prediction.value is viewer.layers["img snic"]


def test_first_compute_says_it_compiles(viewer, qtbot, monkeypatch):
    import threading

    import napari_deepsuperpixel.metrics as metrics

    compiled = threading.Event()  # the kernels "compile" until the test says so
    monkeypatch.setattr(metrics, "warm_kernels", lambda: compiled.wait(60))
    pred, gt = _pred_and_gt()
    viewer.add_labels(gt, name="gt")
    viewer.add_labels(pred, name="pred", metadata={"method": "x"})
    w = _docked(viewer, MetricsWidget(viewer))
    w.ground_truth.value = [viewer.layers["gt"]]
    w.compute_button.clicked.emit()
    assert "compiling" in w.status.value and "first run only" in w.status.value
    assert not w.progress.native.isHidden()  # a busy bar: a sign of life
    compiled.set()
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)
    assert w.progress.native.isHidden()
    w.compute_button.clicked.emit()  # compiled now: no such note
    assert w.status.value == "computing..."
    qtbot.waitUntil(lambda: not w.running, timeout=60_000)


def test_choice_parameters_are_dropdowns_and_optional_ones_optional_fields(viewer):
    from napari_deepsuperpixel import get_method
    from napari_deepsuperpixel._types import build_params

    w = _docked(viewer, SegmentWidget(viewer))
    w.method.value = "backprop"
    sp = w.params.superpixel_method
    assert isinstance(sp, ComboBox) and {"slic", "snic", "felzenszwalb", "none"} <= set(sp.choices)
    assert isinstance(w.params.precision, ComboBox)  # declared choices
    w.method.value = "neural_superpixels"
    nf = w.params.n_filters
    assert isinstance(nf, OptionalField) and nf.value is None  # no "None" text box
    nf.value = 24
    assert w.params.values()["n_filters"] == 24
    nf.value = None
    assert w.params.values()["n_filters"] is None
    w.method.value = "dsc"  # a free-text field whose empty value is the default says so and how to fill it
    assert w.params.superpixel_params.value == ""
    assert w.params.superpixel_params.native.placeholderText().startswith("empty = defaults")
    assert "k=v,k=v" in w.params.superpixel_params.native.placeholderText()
    for name in w.method.choices:  # every panel's values are valid parameters
        w.method.value = name
        info = get_method(name)
        build_params(info.params_cls, name, w.params.values())


def test_training_choices(make_napari_viewer, tmp_path):
    pytest.importorskip("napari_deepsuperpixel.training.superae")
    from napari_deepsuperpixel._napari._training_widget import DATA_CHOICES, TrainingWidget

    viewer = make_napari_viewer()
    w = _docked(viewer, TrainingWidget(viewer))
    w.trainer.value = "superae"
    assert list(w.data_kind.choices) == list(DATA_CHOICES)
    assert "bsds" not in str(w.data.value)  # no magic string in a path field
    tpl = w.params.template
    assert isinstance(tpl, ComboBox) and "felzenszwalb" in tpl.choices
    w.params.set_values({"template": "slic:n_segments=50"})  # a value from elsewhere is shown
    assert tpl.value == "slic:n_segments=50"
    folder = tmp_path / "imgs"
    folder.mkdir()
    w.data.value = folder
    assert w.data_kind.value == "image folder"
    w.params.set_values({"template": "ucm2:0.05"})
    w.output.value = tmp_path / "m.pt"
    with pytest.raises(ValueError, match="'template'"):
        w.make_kwargs()
    (tmp_path / "m.pt").write_bytes(b"x")
    w.params.set_values({"template": "felzenszwalb"})
    with pytest.raises(ValueError, match="tick 'overwrite existing checkpoint'"):
        w.make_kwargs()
    w.overwrite.value = True
    kw = w.make_kwargs()
    assert kw["data"] == str(folder) and kw["template"] == "felzenszwalb"


def test_error_texts_name_widget_fields(tmp_path):
    """A library error carries its remedies as options; the dock names them by its check boxes (the command
    line says --overwrite, Python overwrite=True)."""
    from napari_deepsuperpixel._napari._workers import gui_message
    from napari_deepsuperpixel.cli import error_message
    from napari_deepsuperpixel.errors import OutputExistsError
    from napari_deepsuperpixel.training.loop import CHECKPOINT_REMEDIES

    err = OutputExistsError([tmp_path / "a.pt"], what="checkpoint", remedies=CHECKPOINT_REMEDIES)
    msg = gui_message(err, {"overwrite": "overwrite existing checkpoint", "resume": "resume this checkpoint"})
    assert "--" not in msg and "=True" not in msg and "a.pt" in msg
    assert "tick 'overwrite existing checkpoint'" in msg and "tick 'resume this checkpoint'" in msg
    assert "--overwrite" in error_message(err) and "--resume" in error_message(err)
    assert "overwrite=True" in str(err) and "--" not in str(err)


def test_docs_links_open_the_right_page(viewer, monkeypatch):
    from napari_deepsuperpixel import get_method, list_methods
    from napari_deepsuperpixel._napari._training_widget import TrainingWidget

    opened = []
    monkeypatch.setattr(_layout, "open_url", opened.append)  # no browser in tests
    for m in list_methods():  # every method has a page in docs/
        assert (ROOT / "docs" / m.docs_page).is_file(), m.name
    w = _docked(viewer, SegmentWidget(viewer))
    w.method.value = "snic"
    w.docs_button.clicked.emit()
    w.method.value = "slic"
    w.docs_button.clicked.emit()
    _docked(viewer, MetricsWidget(viewer)).docs_button.clicked.emit()
    _docked(viewer, TrainingWidget(viewer)).docs_button.clicked.emit()
    assert opened == [_layout.docs_url(p) for p in
                      ("methods/snic.md", get_method("slic").docs_page, "metrics.md", "training.md")]
    assert get_method("slic").docs_page == "methods/classical.md"
    # the base address is the project's documented one
    import tomllib

    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert _layout.DOCS_URL.split("/blob/")[0] == urls["Documentation"].split("/tree/")[0]


def test_restore_defaults(viewer):
    from napari_deepsuperpixel import get_method

    w = _docked(viewer, SegmentWidget(viewer))
    w.method.value = "slic"
    w.params.set_values({"n_segments": 17, "compactness": 3.0})
    w.seed.value, w.keep.value = 5, True
    w.defaults_button.clicked.emit()
    defaults = {p.name: p.default for p in get_method("slic").parameters}
    assert w.params.values() == defaults and w.seed.value == 0 and not w.keep.value
    m = _docked(viewer, MetricsWidget(viewer))
    m.r.value, m.ignore_background.value = 7.0, True
    m.defaults_button.clicked.emit()
    assert m.r.value == 2.0 and not m.ignore_background.value


def test_image_field_follows_the_selected_layer(viewer):
    w = _docked(viewer, SegmentWidget(viewer))
    a = viewer.add_image(np.zeros((16, 16)), name="a")
    b = viewer.add_image(np.ones((16, 16)), name="b")
    viewer.layers.selection.active = a
    assert w.image.value is a
    viewer.layers.selection.active = b
    assert w.image.value is b
    viewer.add_labels(np.zeros((16, 16), np.int32), name="lab")  # a Labels layer becomes active
    assert w.image.value is b
