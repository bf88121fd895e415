"""Every subcommand on a corrupt file, a missing file and an unwritable output: one line, exit code 2.

"Unwritable" is a path under an existing *file* (as root, chmod does not stop writes).
"""

import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from napari_deepsuperpixel.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_errors")
    good = root / "good.png"
    iio.imwrite(good, (np.random.default_rng(0).random((24, 32, 3)) * 255).astype(np.uint8))
    raw = good.read_bytes()
    (root / "trunc.png").write_bytes(raw[: len(raw) // 2])
    (root / "empty.png").write_bytes(b"")
    (root / "text.png").write_text("hello, not an image")
    (root / "jpeg_named.png").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    (root / "file.txt").write_text("a file, not a folder")
    # a folder dataset (bench) and an image folder (train) whose only image is truncated
    (root / "data" / "images").mkdir(parents=True)
    (root / "data" / "masks").mkdir()
    (root / "data" / "images" / "a.png").write_bytes(raw[: len(raw) // 2])
    iio.imwrite(root / "data" / "masks" / "a.png", np.zeros((24, 32), np.uint8))
    # a damaged bench output folder (bench-report)
    (root / "run").mkdir()
    (root / "run" / "per_value.csv").write_bytes(b"\x00\x01garbage")
    (root / "run" / "per_image.csv").write_text("")
    # eval: a ground truth and a result file that is text named .png
    (root / "gt").mkdir()
    (root / "gt" / "a.mat").write_text("x")
    (root / "res").mkdir()
    (root / "res" / "a.png").write_text("not a png")
    return root


def _run(argv) -> int:
    try:
        return main([str(a) for a in argv])
    except SystemExit as e:  # usage errors end like this (what the console script exits with)
        return e.code


def _check(capsys, argv, rc=2, match=None):
    got = _run(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert got == rc, (argv, err)
    assert "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    if match is not None:
        assert match in lines[0], lines[0]
    return lines[0]


def test_methods(capsys):
    _check(capsys, ["methods", "--nope"], match="unrecognized arguments")


@pytest.mark.parametrize("name, what", [("trunc.png", "truncated"), ("empty.png", "empty (0 bytes)"),
                                        ("text.png", "not a PNG image (it is text)"),
                                        ("jpeg_named.png", "not a PNG image (it is a JPEG file)")])
def test_segment_corrupt(files, capsys, name, what):
    line = _check(capsys, ["segment", files / name, "-o", files / "out_seg", "-q"], match=what)
    assert name in line and not (files / "out_seg" / f"{name[:-4]}_slic.tif").exists()


def test_segment_missing_and_unwritable(files, capsys):
    _check(capsys, ["segment", files / "nope.png", "-o", files / "o", "-q"], match="nope.png")
    _check(capsys, ["segment", files / "good.png", "-o", files / "file.txt" / "out", "-q"],
           match="file.txt is a file, not a folder")
    _check(capsys, ["segment", files / "good.png", "-o", files / "o", "--seed", "-1"], match="seed")
    _check(capsys, ["segment", files / "good.png", "-o", files / "o", "--seed", str(2**70)], match="seed")
    _check(capsys, ["segment", files / "good.png", "-o", files / "o", "-p", "compactness=nan"], match="finite")


def test_segment_bad_input_is_refused_before_any_output(files, capsys):
    out = files / "order"
    _check(capsys, ["segment", files / "good.png", files / "trunc.png", "-o", out, "-q"], match="trunc.png")
    assert not list(out.glob("*.tif")), "the good image was segmented before the bad one was refused"


def test_demo(files, capsys):
    _check(capsys, ["demo", "--image", "__init__", "-o", files / "d", "-q"], match="sample image '__init__'")
    _check(capsys, ["demo", "--image", "nope", "-o", files / "d", "-q"], match="sample image 'nope'")
    _check(capsys, ["demo", "-m", "slic", "-o", files / "file.txt" / "d", "-q"], match="file.txt")
    _check(capsys, ["demo", "-m", "slick", "-o", files / "d", "-q"], match="unknown method")


def test_bench(files, capsys):
    args = ["bench", "-m", "slic", "--workers", "1", "-q"]
    _check(capsys, args + ["--data", files / "data", "-o", files / "b"], match="a.png")
    _check(capsys, args + ["--data", files / "nope", "-o", files / "b"], match="not found")
    _check(capsys, args + ["--data", files / "data", "-o", files / "file.txt" / "b"], match="file.txt")
    _check(capsys, args + ["--data", files / "data", "-o", files / "b", "--limit", "0"], match="limit")
    assert not (files / "b" / "bench.json").exists()


def test_bench_report(files, capsys):
    _check(capsys, ["bench-report", "tables", f"A={files / 'run'}"], match="damaged")
    _check(capsys, ["bench-report", "tables", f"A={files / 'nope'}"], match="not found")
    _check(capsys, ["bench-report", "paired", f"A={files / 'run'}"], match="damaged")
    _check(capsys, ["bench-report", "tables", f"A={files / 'run'}", "--plot", files / "file.txt" / "p.png"],
           match="file.txt")


def test_eval(files, capsys):
    _check(capsys, ["eval", "--gt", files / "gt", "--results", files / "res", "-o", files / "e", "-q"],
           match="a.png")
    _check(capsys, ["eval", "--gt", files / "nope", "--results", files / "res", "-o", files / "e", "-q"],
           match="nope")
    _check(capsys, ["eval", "--gt", files / "gt", "--results", files / "res", "-o", files / "file.txt" / "e",
                    "-q"], match="file.txt")


@pytest.mark.parametrize("model", ["superae", "sen"])
def test_train(files, capsys, model):
    args = ["train", model, "--epochs", "1", "-q"]
    if model == "superae":  # its default template needs BSDS500's ucm2 files (refused first, see below)
        _check(capsys, args + ["--data", files / "data" / "images", "-o", files / "t.pt"], match="ucm2")
        args += ["-p", "template=felzenszwalb"]
    _check(capsys, args + ["--data", files / "data" / "images", "-o", files / "t.pt"], match="a.png")
    _check(capsys, args + ["--data", files / "nope", "-o", files / "t.pt"], match="nope")
    _check(capsys, args + ["--data", files / "data" / "images", "-o", files / "file.txt" / "t.pt"],
           match="file.txt")
    _check(capsys, args + ["--data", files / "data" / "images", "-o", files / "t.pt", "--seed", "abc"],
           match="seed")
    _check(capsys, args + ["--data", files / "data" / "images", "-o", files / "t.pt", "--export",
                           files / "file.txt" / "w.pt"], match="file.txt")


def test_train_export_existing_is_refused_before_training(files, capsys):
    existing = files / "exists.pt"
    existing.write_bytes(b"x")
    line = _check(capsys, ["train", "superae", "--data", files / "data" / "images", "-o", files / "t2.pt",
                           "--export", existing], rc=3, match="--export")
    assert "overwrite" in line and not (files / "t2.pt").exists()


def test_debug_shows_the_traceback(files, capsys, monkeypatch):
    argv = ["segment", str(files / "text.png"), "-o", str(files / "o"), "-q"]
    with pytest.raises(OSError, match="not a PNG"):
        main(["--debug", *argv])
    monkeypatch.setenv("NDS_DEBUG", "1")
    with pytest.raises(OSError, match="not a PNG"):
        main(argv)


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemError("numba kernel")])
def test_interrupt_exits_130(files, capsys, monkeypatch, exc):
    import napari_deepsuperpixel as nds

    def interrupted(*a, **k):
        if isinstance(exc, SystemError):
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as ki:  # how numba reports a Ctrl-C inside a kernel
                raise SystemError("<built-in function> returned a result with an exception set") from ki
        raise exc

    monkeypatch.setattr(nds, "segment_result", interrupted)
    rc = main(["segment", str(files / "good.png"), "-o", str(files / "int"), "-q"])
    err = capsys.readouterr().err
    assert rc == 130 and err.strip() == "interrupted"


def test_unexpected_error_is_one_line_too(files, capsys, monkeypatch):
    import napari_deepsuperpixel as nds

    def boom(*a, **k):
        raise RuntimeError("something broke")

    monkeypatch.setattr(nds, "segment_result", boom)
    line = _check(capsys, ["segment", files / "good.png", "-o", files / "boom", "-q"], rc=1,
                  match="RuntimeError: something broke")
    assert "--debug" in line


def test_segment_skip_existing_resumes_a_failed_batch(tmp_path, files, capsys):
    import shutil

    a, b = tmp_path / "a.png", tmp_path / "b.png"
    shutil.copy(files / "good.png", a)
    shutil.copy(files / "good.png", b)
    out = tmp_path / "out"
    assert main(["segment", str(a), "-o", str(out), "-q", "-p", "n_segments=20"]) == 0
    # the rerun of the whole batch is refused (exit 3) and says how to resume
    assert main(["segment", str(a), str(b), "-o", str(out), "-q", "-p", "n_segments=20"]) == 3
    assert "--skip-existing" in capsys.readouterr().err
    before = (out / "a_slic.tif").stat().st_mtime_ns
    assert main(["segment", str(a), str(b), "-o", str(out), "-p", "n_segments=20", "--skip-existing"]) == 0
    printed = capsys.readouterr().out
    assert "skipped 1 image(s)" in printed and "1 image(s) segmented, 1 skipped" in printed
    assert (out / "b_slic.tif").is_file() and (out / "b_slic_overlay.png").is_file()
    assert (out / "a_slic.tif").stat().st_mtime_ns == before
    # a partial result (overlay missing) is redone, not skipped
    (out / "b_slic_overlay.png").unlink()
    assert main(["segment", str(a), str(b), "-o", str(out), "-q", "--skip-existing", "-p", "n_segments=20"]) == 0
    assert (out / "b_slic_overlay.png").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"
    capsys.readouterr()
    _check(capsys, ["segment", a, "-o", out, "--skip-existing", "--overwrite"], match="not both")


def test_real_command_prints_no_traceback(files):
    env = {**os.environ, "NDS_DEBUG": ""}
    proc = subprocess.run([sys.executable, "-m", "napari_deepsuperpixel.cli", "segment", str(files / "trunc.png"),
                           "-o", str(files / "o"), "-q"], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error: cannot read image")


# --- refusals of the red-team pass (issue: nothing lost, nothing silently wrong) -------------------------


def test_train_max_images_zero_is_refused(files, capsys, tmp_path):
    for model in ("superae", "sen"):
        _check(capsys, ["train", model, "--data", files / "data" / "images", "-o", tmp_path / f"{model}.pt",
                        "-p", "max_images=0", "--epochs", "1", "-q"], match="'max_images'")
        assert not (tmp_path / f"{model}.pt").exists()


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-1", "2"])
def test_eval_max_dist_out_of_range_is_refused(files, capsys, value):
    line = _check(capsys, ["eval", "--gt", files / "gt", "--results", files / "res", "-o", files / "e", "-q",
                           "--max-dist", value], match="max_dist")
    assert "(0, 1]" in line


def test_eval_names_the_files_of_an_image_that_cannot_be_evaluated(tmp_path, capsys):
    import shutil

    from napari_deepsuperpixel.io.files import write_labels_tif

    src = sorted((Path(__file__).resolve().parents[2] / "shared" / "BSDS500" / "data" / "groundTruth" / "test")
                 .glob("*.mat"))
    if not src:
        pytest.skip("no BSDS500 copy")
    gt, res = tmp_path / "gt", tmp_path / "res"
    gt.mkdir()
    res.mkdir()
    shutil.copy(src[0], gt / src[0].name)
    write_labels_tif(res / f"{src[0].stem}.tif", np.ones((20, 20), np.int32))  # the wrong size
    line = _check(capsys, ["eval", "--gt", gt, "--results", res, "-o", tmp_path / "e", "-q"])
    assert f"result file {res / src[0].stem}.tif (ground truth {gt / src[0].name})" in line


def test_bench_on_the_bsds_layout_refuses_an_image_without_ground_truth(tmp_path, capsys):
    root = tmp_path / "bsds"
    for sub in ("images/test", "groundTruth/test"):
        (root / "data" / sub).mkdir(parents=True)
    for name in ("1", "2"):
        iio.imwrite(root / "data" / "images" / "test" / f"{name}.jpg", np.zeros((16, 16, 3), np.uint8))
    from scipy.io import savemat

    savemat(root / "data" / "groundTruth" / "test" / "2.mat", {"groundTruth": np.zeros((1, 1), object)})
    line = _check(capsys, ["bench", "-m", "slic", "--data", root, "--split", "test", "-o", tmp_path / "b", "-q",
                           "--workers", "1"], match="have no ground truth")
    assert "1.jpg" in line and "2.jpg" not in line


def test_bench_report_refuses_a_repeated_label(files, capsys):
    for cmd in ("tables", "paired"):
        line = _check(capsys, ["bench-report", cmd, f"a={files / 'run'}", f"a={files / 'data'}"])
        assert "the run label 'a' is given twice" in line


def test_slic_compactness_below_its_minimum_is_refused(files, capsys):
    _check(capsys, ["segment", files / "good.png", "-o", files / "c", "-p", "compactness=1e-320"],
           match="'compactness' of 'slic' must be >= 0.001")
