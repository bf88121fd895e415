"""Bad input matrix: every registered method x dtypes x shapes x special values, and every parameter x bad values.

Each case must give valid labels (int32, 1..N, each label one 4-connected region, the
input's spatial shape) or a ``ValueError``/``TypeError`` whose message names the
parameter or the input. The deep methods run on tiny images with their fastest settings
and on a sample of the matrix (one dtype per shape); every dtype for them is marked
``slow``.
"""

import warnings

import numpy as np
import pytest
from scipy import ndimage

import napari_deepsuperpixel as nds
from napari_deepsuperpixel.io.prepare import prepare_image

METHODS = [m.name for m in nds.list_methods()]
DEEP = [m.name for m in nds.list_methods() if m.uses_torch]
CLASSICAL = [m for m in METHODS if m not in DEEP]

#: the fastest settings of each method (tiny counts, one iteration)
FAST = {
    "slic": {"n_segments": 4}, "snic": {"n_segments": 4}, "watershed": {"n_segments": 4},
    "backprop": {"preset": "fast", "max_iter": 1, "superpixel_count": 4, "n_channels": 8, "n_conv": 1},
    "neural_superpixels": {"preset": "fast", "max_iter": 1, "n_segments": 4, "n_filters": 8, "n_blocks": 1,
                           "aspp_channels": 8},
    "dsc": {"max_iter": 1, "n_classes": 2}, "kmeans_superpixels": {"n_segments": 2},
    "ncut_superpixels": {"n_segments": 2}, "sen": {"n_segments": 4}, "sen_contours": {"n_segments": 4},
}

DTYPES = ["bool", "int8", "uint16", "uint32", "int64", "float16", "float64_huge", "complex", "object"]
SHAPES = [(1, 1), (1, 12), (2, 2), (3, 3, 3), (12, 12, 2), (12, 12, 4), (12, 12, 20), (2, 12, 12),
          (2, 12, 12, 3), (2, 2, 12, 12, 3)]
SPECIALS = ["constant", "nan", "inf", "negative", "1e30"]

#: words a message about the input uses
INPUT_WORDS = ("image", "shape", "dtype", "channel", "pixels", "dimension", "complex", "numeric", "nan", "infinite")


def make_image(shape, dtype, special=None, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.random(shape) * 100
    if dtype == "bool":
        a = a > 50
    elif dtype == "complex":
        a = a + 1j * a
    elif dtype == "object":
        a = a.astype(object)
    elif dtype == "float64_huge":
        a = a * 1e300
    else:
        a = (a - (50 if np.dtype(dtype).kind == "i" else 0)).astype(dtype)
    if special == "constant":
        a = np.full(shape, 7.0)
    elif special == "nan":
        a = a.astype(float)
        a.flat[0] = np.nan
    elif special == "inf":
        a = a.astype(float)
        a.flat[-1] = np.inf
    elif special == "negative":
        a = a.astype(float) - 1000.0
    elif special == "1e30":
        a = a.astype(float) * 1e30
    return a


def check_labels(lab, spatial_shape):
    assert isinstance(lab, np.ndarray) and lab.dtype == np.int32
    assert lab.shape == tuple(spatial_shape), (lab.shape, spatial_shape)
    ids = np.unique(lab)
    assert ids[0] == 1 and np.array_equal(ids, np.arange(1, ids[-1] + 1)), "labels are not 1..N"
    for sl in (lab if lab.ndim == 3 else lab[None]):
        objs = ndimage.find_objects(sl)
        for lv, box in enumerate(objs, start=1):
            if box is None:
                continue
            _, ncomp = ndimage.label(sl[box] == lv)
            assert ncomp == 1, f"label {lv} has {ncomp} 4-connected parts"


def outcome(image, method, words=INPUT_WORDS, **params):
    """Run; valid labels or a clear ValueError/TypeError. Returns the labels or the message."""
    kw = {**FAST.get(method, {}), **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ambiguous shapes warn (tested in test_hardening)
        try:
            spatial = prepare_image(image).spatial_shape
        except (ValueError, TypeError):
            spatial = None
        try:
            lab = nds.segment(image, method, seed=0, **kw)
        except (ValueError, TypeError) as e:
            msg = str(e)
            assert any(w in msg.lower() for w in words), f"{method}: unclear message {msg!r}"
            return msg
    assert spatial is not None, "prepare_image refused the image but segment accepted it"
    check_labels(lab, spatial)
    return lab


# --- images ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", CLASSICAL)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_classical_every_dtype_and_shape(method, shape):
    for dtype in DTYPES:
        outcome(make_image(shape, dtype), method)


def _sampled_dtype(shape):
    return DTYPES[SHAPES.index(shape) % len(DTYPES)]


#: (Y, X, 20) is a stack of Y slices by the channel rule (20 > 16): a dozen deep runs, slow
DEEP_SHAPES = [s for s in SHAPES if s != (12, 12, 20)]


@pytest.mark.parametrize("method", DEEP)
def test_deep_one_dtype_per_shape(method):
    for shape in DEEP_SHAPES:
        outcome(make_image(shape, _sampled_dtype(shape)), method)
    for dtype in ("complex", "object"):  # refused before any work
        assert isinstance(outcome(make_image((12, 12, 3), dtype), method), str)


@pytest.mark.slow
@pytest.mark.parametrize("method", DEEP)
def test_deep_every_dtype(method):
    # the dtypes on grey and colour images, and (Y, X, 20) (a stack of Y slices, kept small)
    for shape in ((12, 12), (12, 12, 3)):
        for dtype in DTYPES:
            outcome(make_image(shape, dtype), method)
    outcome(make_image((4, 4, 20), "float64"), method)


@pytest.mark.parametrize("method", METHODS)
def test_special_values(method):
    specials = SPECIALS if method in CLASSICAL else ["constant", "nan", "1e30"]
    for special in specials:
        res = outcome(make_image((12, 12, 3), "float64", special), method)
        if special in ("nan", "inf"):
            assert isinstance(res, str) and "NaN or infinite" in res
        if special == "constant" and not isinstance(res, str) and method in CLASSICAL:
            assert res.max() >= 1


@pytest.mark.parametrize("method", METHODS)
def test_huge_float64_is_not_turned_into_nan(method):
    base = make_image((12, 12, 3), "float64")
    huge = base * 1e300
    a, b = outcome(base, method), outcome(huge, method)
    if method in CLASSICAL:
        # the same picture at another scale: the same segmentation (percentile normalisation)
        assert np.array_equal(a, b)


# --- parameters -----------------------------------------------------------------------------------

BAD_VALUES = [("wrong type", "abc"), ("wrong type", [1]), ("nan", float("nan")), ("+inf", float("inf")),
              ("-inf", float("-inf")), ("zero", 0), ("negative", -1), ("huge", 10**30), ("huge float", 1e30)]


def _params(method):
    return [p.name for p in nds.get_method(method).parameters]


def _validated(method, name, value):
    """build_params alone: the parameters or the ValueError's message (it must name the parameter)."""
    from napari_deepsuperpixel._types import build_params

    info = nds.get_method(method)
    try:
        return build_params(info.params_cls, method, {**FAST.get(method, {}), name: value})
    except (ValueError, TypeError) as e:
        assert name in str(e), f"{method}.{name}={value!r}: {e}"
        return None


@pytest.mark.parametrize("method", METHODS)
def test_unknown_parameter(method):
    with pytest.raises(ValueError, match="unknown parameter.*'nope'.*valid parameters"):
        nds.segment(np.zeros((12, 12)), method, nope=1)


@pytest.mark.parametrize("method", METHODS)
def test_every_parameter_refuses_nan_inf_and_wrong_types(method):
    for name in _params(method):
        for what, value in BAD_VALUES:
            p = _validated(method, name, value)
            if what in ("nan", "+inf", "-inf") or (what == "wrong type" and value == [1]):
                typ = type(getattr(nds.get_method(method).params_cls(), name))
                if typ is not str or what == "wrong type":
                    assert p is None, f"{method}.{name}={value!r} passed validation"


def _run_params(method, names, values):
    img = make_image((12, 12, 3), "float64")
    for name in names:
        for _, value in values:
            if _validated(method, name, value) is None:
                continue  # refused up front, naming the parameter (checked above)
            words = (name, *INPUT_WORDS)
            try:
                outcome(img, method, words=words, **{name: value})
            except FileNotFoundError as e:  # a path parameter naming no file
                assert name in str(e)
            except FloatingPointError as e:  # a value that makes the optimisation diverge
                assert method in str(e) and "diverged" in str(e)


@pytest.mark.parametrize("method", CLASSICAL)
def test_classical_parameters_that_pass_validation_run(method):
    _run_params(method, _params(method), BAD_VALUES)


#: a sample of each deep method's parameters run with the values that pass validation
DEEP_SAMPLE = {
    "backprop": ["min_labels", "superpixel_method", "continuity_weight"],
    "neural_superpixels": ["lam", "sigma", "min_size", "n_filters", "n_blocks"],
    "dsc": ["sigma", "d_factor", "superpixel_params"],
    "superae": ["superpixel_params", "checkpoint"],
    "kmeans_superpixels": ["feature", "superpixel_method"],
    "ncut_superpixels": ["n_segments"],
    "sen": ["compactness", "clustering"],
    "sen_contours": ["checkpoint"],
}


@pytest.mark.parametrize("method", DEEP)
def test_deep_parameters_sampled(method):
    names = DEEP_SAMPLE.get(method) or _params(method)[:2]
    _run_params(method, names, [("zero", 0), ("negative", -1), ("huge float", 1e30), ("wrong type", "abc")])


@pytest.mark.slow
@pytest.mark.parametrize("method", DEEP)
def test_deep_every_parameter(method):
    names = [n for n in _params(method) if n not in ("max_iter", "n_iter", "preset")]
    _run_params(method, names, BAD_VALUES)


# --- benchmark inputs (deepsuperpixel bench) --------------------------------------------------------


def _bsds_layout(root, seg=None, gt_bytes=None, image_bytes=None):
    """A one-image BSDS500 test split: 1.jpg (32 x 32) and its ground truth 1.mat."""
    import imageio.v3 as iio
    from scipy.io import savemat

    for sub in ("images/test", "groundTruth/test"):
        (root / "data" / sub).mkdir(parents=True)
    img, gt = root / "data/images/test/1.jpg", root / "data/groundTruth/test/1.mat"
    iio.imwrite(img, (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8))
    if image_bytes is not None:
        img.write_bytes(image_bytes(img.read_bytes()))
    cell = np.zeros((1, 1), object)
    seg = np.where(np.arange(32) < 16, 1, 2)[None, :].repeat(32, 0).astype(np.uint16) if seg is None else seg
    cell[0, 0] = {"Segmentation": seg, "Boundaries": np.zeros(seg.shape, np.uint8)}
    savemat(gt, {"groundTruth": cell})
    if gt_bytes is not None:
        gt.write_bytes(gt_bytes(gt.read_bytes()))
    return img, gt


def _folder_layout(root, mask):
    import imageio.v3 as iio
    import tifffile

    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    img = root / "images" / "a.png"
    iio.imwrite(img, (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8))
    m = root / "masks" / ("a.tif" if isinstance(mask, np.ndarray) and mask.dtype.kind == "f" else "a.png")
    if isinstance(mask, bytes):
        m.write_bytes(mask)
    elif m.suffix == ".tif":
        tifffile.imwrite(m, mask)
    else:
        iio.imwrite(m, mask)
    return img, m


_HALVES = np.where(np.arange(32) < 16, 1, 2)[None, :].repeat(32, 0)

#: bench input -> (how to make it, the words of the one-line error); the message names the file(s)
BENCH_CASES = {
    "bsds_ground_truth_of_another_size": (lambda r: _bsds_layout(r, seg=np.ones((20, 20), np.uint16)),
                                          ("has shape (20, 20)",), "both"),
    "bsds_ground_truth_negative_labels": (lambda r: _bsds_layout(r, seg=_HALVES.astype(np.int16) - 3),
                                          ("negative labels",), "both"),
    "bsds_ground_truth_not_integer": (lambda r: _bsds_layout(r, seg=_HALVES + 0.5), ("non-integer",), "gt"),
    "bsds_ground_truth_truncated": (lambda r: _bsds_layout(r, gt_bytes=lambda b: b[: len(b) // 2]),
                                    ("cannot read",), "gt"),
    "bsds_image_truncated": (lambda r: _bsds_layout(r, image_bytes=lambda b: b[:100]), ("cannot read",), "image"),
    "folder_mask_of_another_size": (lambda r: _folder_layout(r, np.ones((20, 20), np.uint8)),
                                    ("shape (20, 20)", "a.png"), None),
    "folder_mask_float64": (lambda r: _folder_layout(r, _HALVES + 0.5), ("float64",), "gt"),
    "folder_mask_truncated": (lambda r: _folder_layout(r, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), ("cannot read",), "gt"),
}


@pytest.mark.parametrize("case", list(BENCH_CASES))
def test_bench_refuses_bad_ground_truth_and_images_naming_the_files_before_any_work(case, tmp_path, capsys,
                                                                                   monkeypatch):
    from napari_deepsuperpixel.cli import main

    make, words, named = BENCH_CASES[case]
    img, gt = make(tmp_path / "data")

    def no_work(*a, **k):
        raise AssertionError("segmented before the input was checked")

    monkeypatch.setattr(nds, "segment_result", no_work)
    try:
        rc = main(["bench", "-m", "slic", "-p", "n_segments=4", "--data", str(tmp_path / "data"), "-o",
                   str(tmp_path / "out"), "-q", "--workers", "1"])
    except SystemExit as e:
        rc = e.code
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], lines[0]
    if named in ("both", "gt"):
        assert str(gt) in lines[0], lines[0]
    if named in ("both", "image"):
        assert str(img) in lines[0], lines[0]


@pytest.mark.parametrize("case", ["bsds_ground_truth_float64_integral", "folder_mask_negative_int16"])
def test_bench_takes_ground_truth_that_only_looks_odd(case, tmp_path):
    """Integral float64 BSDS labels are labels; a folder mask's negative values are shifted (0 = a segment)."""
    import tifffile

    from napari_deepsuperpixel.bench.runner import run_benchmark

    if case.startswith("bsds"):
        _bsds_layout(tmp_path / "data", seg=_HALVES.astype(np.float64))
    else:
        _folder_layout(tmp_path / "data", np.zeros((32, 32), np.uint8))
        (tmp_path / "data" / "masks" / "a.png").unlink()
        tifffile.imwrite(tmp_path / "data" / "masks" / "a.tif", _HALVES.astype(np.int16) - 3)
    res = run_benchmark("slic", params={"n_segments": 4}, data=tmp_path / "data", out=tmp_path / "out", workers=1,
                        progress=False, plots=False)
    assert len(res.rows) == 1 and 0 < res.rows[0]["asa"] <= 1


@pytest.mark.parametrize("layout", ["bsds", "folder"])
def test_bench_names_the_files_of_an_image_whose_result_cannot_be_evaluated(layout, tmp_path, capsys, monkeypatch):
    """A result the metrics refuse (here made to be float64) is one line naming the image and its ground truth."""
    from napari_deepsuperpixel.bench import runner
    from napari_deepsuperpixel.cli import main

    img, gt = (_bsds_layout if layout == "bsds" else _folder_layout)(tmp_path / "data", *(
        () if layout == "bsds" else (_HALVES.astype(np.uint8),)))
    real = runner.evaluate_segmentation

    def as_float(labels, *a, **k):
        return real(np.asarray(labels, np.float64) + 0.5, *a, **k)

    monkeypatch.setattr(runner, "evaluate_segmentation", as_float)
    rc = main(["bench", "-m", "slic", "-p", "n_segments=4", "--data", str(tmp_path / "data"), "-o",
               str(tmp_path / "out"), "-q", "--workers", "1"])
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip() and not ln.startswith("warning: ")]
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "float64" in lines[0] and str(img) in lines[0] and str(gt) in lines[0], lines[0]
