"""Batch segmentation (napari_deepsuperpixel.batch, `deepsuperpixel segment`): folders and globs,
worker processes, a Dask cluster, the summary table and resuming an interrupted batch."""

import csv
from pathlib import Path

import numpy as np
import pytest

from napari_deepsuperpixel.batch import find_images, plan_batch, run_batch
from napari_deepsuperpixel.cli import main


@pytest.fixture()
def folder(tmp_path):
    from skimage import data

    from napari_deepsuperpixel.io.files import write_png

    d = tmp_path / "images"
    d.mkdir()
    img = data.coins()[:96, :128]
    for i in range(4):
        write_png(d / f"field{i}.png", np.roll(img, 7 * i, axis=1))
    (d / "notes.txt").write_text("not an image")
    return d


def _summary(out):
    with open(out / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_folders_and_globs_are_expanded(folder, tmp_path):
    assert [p.name for p in find_images([folder])] == [f"field{i}.png" for i in range(4)]
    assert [p.name for p in find_images([str(folder / "field[13].png"), folder / "field1.png"])] == \
        ["field1.png", "field3.png"]  # each image once
    with pytest.raises(FileNotFoundError, match=r"no image matches"):
        find_images([str(tmp_path / "*.tif")])


def test_summary_table_has_a_row_per_image(folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["segment", str(folder), "-m", "snic", "-p", "n_segments=30", "-o", str(out), "-q",
                 "--format", "tif"]) == 0
    rows = _summary(out)
    assert [r["image"] for r in rows] == [str(folder / f"field{i}.png") for i in range(4)]
    import tifffile

    for r in rows:
        labels = tifffile.imread(out / r["outputs"])
        assert int(r["segments"]) == np.unique(labels).size
        assert r["method"] == "snic" and '"n_segments": "30"' in r["params"]
        assert float(r["seconds"]) > 0 and float(r["peak_rss_mb"]) > 0


def test_two_workers_give_the_labels_of_one(folder, tmp_path):
    import tifffile

    one, two = tmp_path / "one", tmp_path / "two"
    args = ["segment", str(folder), "-m", "snic", "-p", "n_segments=30", "--format", "tif", "-q"]
    assert main(args + ["-o", str(one)]) == 0
    assert main(args + ["-o", str(two), "--workers", "2"]) == 0
    for i in range(4):
        np.testing.assert_array_equal(tifffile.imread(one / f"field{i}_snic.tif"),
                                      tifffile.imread(two / f"field{i}_snic.tif"))
    assert sorted(r["image"] for r in _summary(two)) == sorted(r["image"] for r in _summary(one))


def test_skip_existing_resumes_an_interrupted_batch_without_recomputing(folder, tmp_path, monkeypatch):
    import napari_deepsuperpixel as nds

    real, calls = nds.segment_result, []

    def interrupted_at_the_third(image, *a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(image, *a, **k)

    out = tmp_path / "out"
    args = ["segment", str(folder), "-m", "snic", "-p", "n_segments=30", "-o", str(out), "-q"]
    monkeypatch.setattr(nds, "segment_result", interrupted_at_the_third)
    assert main(args) == 130
    assert len(_summary(out)) == 2  # what finished is written and summarised
    finished = {p.name: p.stat().st_mtime_ns for p in out.glob("field*") if not p.name.endswith(".run.json")}
    assert len(finished) == 4  # two images, a labels file and an overlay each
    assert len(list(out.glob("field*.run.json"))) == 2  # and the record of what made them

    calls.clear()
    monkeypatch.setattr(nds, "segment_result", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    assert main(args) == 3  # a plain rerun is refused: outputs exist
    assert main(args + ["--skip-existing"]) == 0
    assert len(calls) == 2  # only the two unfinished images were segmented
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("field*") if p.name in finished} == finished
    assert sorted(r["image"] for r in _summary(out)) == [str(folder / f"field{i}.png") for i in range(4)]
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_the_batch_runs_on_a_dask_cluster(folder, tmp_path):
    distributed = pytest.importorskip("distributed")
    import tifffile

    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        out = tmp_path / "out"
        assert main(["segment", str(folder), "-m", "snic", "-p", "n_segments=30", "--format", "tif", "-q",
                     "-o", str(out), "--scheduler", cluster.scheduler_address]) == 0
    assert len(_summary(out)) == 4
    from napari_deepsuperpixel import segment
    from napari_deepsuperpixel.io.files import read_image

    np.testing.assert_array_equal(tifffile.imread(out / "field2_snic.tif"),
                                  segment(read_image(folder / "field2.png"), "snic", n_segments=30))


def test_on_a_cluster_an_image_in_blocks_has_its_blocks_run_by_the_workers(folder, tmp_path, monkeypatch):
    """With --scheduler, a TIFF that runs in blocks is not sent whole to one worker: this process
    runs it with scheduler= (its blocks go to the workers, through a zarr store in the output
    folder that is removed afterwards); the small images still go whole to the workers."""
    distributed = pytest.importorskip("distributed")
    import tifffile
    from skimage import data

    from napari_deepsuperpixel import segment, tiled

    c = data.coins()
    img = np.block([[c, c[:, ::-1]], [c[::-1], c]])[:700, :900]
    tifffile.imwrite(folder / "big.tif", img, tile=(128, 128))
    seen = []
    original = tiled.segment_tiled

    def recording(*a, **kw):
        seen.append(kw.get("scheduler"))
        return original(*a, **kw)

    monkeypatch.setattr(tiled, "segment_tiled", recording)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        out = tmp_path / "out"
        assert main(["segment", str(folder), "-m", "snic", "-p", "n_segments=1500", "--block-size", "256",
                     "--format", "tif", "-q", "-o", str(out), "--scheduler", cluster.scheduler_address]) == 0
    assert seen == [cluster.scheduler_address]  # the one image in blocks, its blocks on the cluster
    np.testing.assert_array_equal(tifffile.imread(out / "big_snic.tif"),
                                  segment(img, "snic", n_segments=1500, block_size=256))
    rows = {Path(r["image"]).name: r for r in _summary(out)}
    assert len(rows) == 5 and rows["big.tif"]["tiled"] == "True"
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # no store left behind


def test_zarr_output_and_the_python_batch(folder, tmp_path):
    zarr = pytest.importorskip("zarr")
    plan = plan_batch([folder], "snic", tmp_path / "out", params={"n_segments": 30}, formats=["zarr"])
    done = []
    rows = run_batch(plan, progress=lambda i, n, name: done.append((i, n)))
    assert done[-1] == (4, 4) and len(rows) == 4
    z = zarr.open_array(str(tmp_path / "out" / "field0_snic.zarr"), mode="r")
    assert z.dtype == np.int32 and z.shape == (96, 128) and int(np.asarray(z[:]).min()) == 1
    with pytest.raises(FileExistsError, match="skip_existing=True"):
        plan_batch([folder], "snic", tmp_path / "out", params={"n_segments": 30}, formats=["zarr"])


def test_block_size_in_the_command_writes_the_tiled_labels_as_zarr_and_tiled_tiff(tmp_path):
    zarr = pytest.importorskip("zarr")
    import tifffile
    from skimage import data

    from napari_deepsuperpixel import segment
    from napari_deepsuperpixel.io.files import write_png

    c = data.coins()
    img = np.block([[c, c[:, ::-1]], [c[::-1], c]])[:700, :900]
    write_png(tmp_path / "big.png", img)
    out = tmp_path / "out"
    assert main(["segment", str(tmp_path / "big.png"), "-m", "snic", "-p", "n_segments=1500", "--block-size", "256",
                 "--format", "zarr,tif", "-o", str(out), "-q"]) == 0
    expected = segment(img, "snic", n_segments=1500, block_size=256)
    np.testing.assert_array_equal(np.asarray(zarr.open_array(str(out / "big_snic.zarr"))[:]), expected)
    with tifffile.TiffFile(out / "big_snic.tif") as tf:
        assert tf.pages[0].is_tiled
        np.testing.assert_array_equal(tf.asarray(), expected)
    row = _summary(out)[0]
    assert row["tiled"] == "True" and int(row["segments"]) == expected.max()
    with pytest.raises(SystemExit, match="2"):  # a usage error, before any work
        main(["segment", str(tmp_path / "big.png"), "--block-size", "12", "-o", str(out)])


def _decode_error(*_a, **_k):
    raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")


def test_a_file_raising_unicode_decode_error_gives_one_clear_line(tmp_path, monkeypatch, capsys):
    """The error of one file names the file and keeps its reason (wrapping it by its own type raised a
    TypeError for exceptions such as UnicodeDecodeError and JSONDecodeError)."""
    from skimage import io as skio

    from napari_deepsuperpixel.batch import plan_batch, run_batch
    from napari_deepsuperpixel.cli import main

    img = tmp_path / "field.png"
    skio.imsave(img, (np.random.default_rng(0).random((40, 50)) * 255).astype(np.uint8), check_contrast=False)
    monkeypatch.setattr("napari_deepsuperpixel.io.lazy.open_image", _decode_error)
    assert main(["segment", str(img), "-m", "slic", "-o", str(tmp_path / "out")]) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "field.png" in lines[0], lines
    assert "can't decode byte 0xff" in lines[0] and "Traceback" not in lines[0]
    plan = plan_batch([img], "slic", tmp_path / "py")
    with pytest.raises(ValueError, match=r"field\.png: 'utf-8' codec can't decode"):
        run_batch(plan)


def test_a_type_error_from_a_bug_is_not_taken_for_a_user_error(tmp_path, monkeypatch, capsys):
    from skimage import io as skio

    from napari_deepsuperpixel.cli import main

    img = tmp_path / "field.png"
    skio.imsave(img, np.zeros((40, 50), np.uint8), check_contrast=False)

    def broken(*_a, **_k):
        raise TypeError("unsupported operand type(s)")

    monkeypatch.setattr("napari_deepsuperpixel.segment_result", broken)
    assert main(["segment", str(img), "-m", "slic", "-o", str(tmp_path / "out")]) == 1
    assert "report it" in capsys.readouterr().err


# --- outputs keyed by what made them, the summary merged, nothing of the user's replaced (issue: batch resume) ---


def _args(folder, out, *extra):
    return ["segment", str(folder), "-m", "snic", "-o", str(out), *extra, "-q", "--format", "tif"]


def test_two_runs_into_one_folder_keep_each_others_summary_rows(folder, tmp_path):
    out = tmp_path / "out"
    imgs = sorted(folder.glob("field*.png"))
    assert main(["segment", *map(str, imgs[:2]), "-m", "snic", "-o", str(out), "-q"]) == 0
    assert main(["segment", *map(str, imgs[2:]), "-m", "snic", "-o", str(out), "-q", "--skip-existing"]) == 0
    assert main(["segment", str(imgs[0]), "-m", "slic", "-o", str(out), "-q"]) == 0  # another method, same folder
    rows = _summary(out)
    assert sorted((Path(r["image"]).name, r["method"]) for r in rows) == \
        sorted([(p.name, "snic") for p in imgs] + [(imgs[0].name, "slic")])
    # redone with --overwrite: its row is updated, the others stay
    assert main(["segment", str(imgs[1]), "-m", "snic", "-p", "n_segments=20", "-o", str(out), "-q",
                 "--overwrite"]) == 0
    rows = _summary(out)
    assert len(rows) == 5 and [r["params"] for r in rows if r["image"] == str(imgs[1])] == ['{"n_segments": "20"}']


def test_skip_existing_redoes_outputs_made_with_other_parameters(folder, tmp_path, monkeypatch, capsys):
    import napari_deepsuperpixel as nds

    out = tmp_path / "out"
    assert main(_args(folder, out, "-p", "n_segments=30")) == 0
    real, calls = nds.segment_result, []
    monkeypatch.setattr(nds, "segment_result", lambda *a, **k: (calls.append(k.get("n_segments")), real(*a, **k))[1])
    assert main(_args(folder, out, "-p", "n_segments=30", "--skip-existing")) == 0
    assert calls == []  # the same settings ("30" and 30 alike): all skipped
    assert main(_args(folder, out, "-p", "n_segments=60", "--skip-existing")[:-3] + ["--format", "tif"]) == 0  # not -q
    assert calls == ["60"] * 4  # other parameters: every image redone
    assert "made with other settings" in capsys.readouterr().err
    rows = _summary(out)
    assert len(rows) == 4 and all(r["params"] == '{"n_segments": "60"}' for r in rows)
    calls.clear()
    assert main(_args(folder, out, "-p", "n_segments=60", "--skip-existing", "--seed", "3")) == 0
    assert len(calls) == 4  # another seed: other labels, redone


def test_skip_existing_redoes_a_zero_byte_or_damaged_output(folder, tmp_path, monkeypatch):
    import napari_deepsuperpixel as nds

    out = tmp_path / "out"
    assert main(_args(folder, out, "-p", "n_segments=30")) == 0
    (out / "field1_snic.tif").write_bytes(b"")  # a 0-byte labels file is not done
    raw = (out / "field2_snic.tif").read_bytes()
    (out / "field2_snic.tif").write_bytes(raw[:100] + b"\0" * (len(raw) - 100))  # same size, damaged
    real, calls = nds.segment_result, []
    monkeypatch.setattr(nds, "segment_result", lambda img, *a, **k: (calls.append(1), real(img, *a, **k))[1])
    assert main(_args(folder, out, "-p", "n_segments=30", "--skip-existing")) == 0
    assert len(calls) == 2
    import tifffile

    assert tifffile.imread(out / "field1_snic.tif").max() > 1


def _children(pid):
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_killed_parent_its_workers_end_and_the_next_run_rebuilds_the_summary(tmp_path):
    """kill -9 of the batch: its worker processes end within seconds; --skip-existing then keeps what
    the workers finished (their records) and the summary has a row for every image."""
    import os
    import signal
    import subprocess
    import sys
    import time

    psutil = pytest.importorskip("psutil")
    from napari_deepsuperpixel.io.files import write_png

    d = tmp_path / "imgs"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        write_png(d / f"n{i}.png", (rng.random((256, 256)) * 255).astype(np.uint8))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "napari_deepsuperpixel.cli", "segment", str(d), "-m", "quickshift", "-o",
           str(out), "-q", "--workers", "2", "--format", "tif"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 120 and not list(out.glob("*.run.json")):
            time.sleep(0.05)
        kids = _children(proc.pid)
        assert kids, "no worker processes"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        gone, alive = psutil.wait_procs(kids, timeout=5)
        assert not alive, f"worker processes outlived their parent: {alive}"
    finally:
        if proc.poll() is None:
            proc.kill()
    done = {p.name: p.stat().st_mtime_ns for p in out.glob("*.run.json")}
    assert 1 <= len(done) < 8
    assert subprocess.run(cmd + ["--skip-existing"], capture_output=True, timeout=600).returncode == 0
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.run.json") if p.name in done} == done
    assert sorted(Path(r["image"]).name for r in _summary(out)) == [f"n{i}.png" for i in range(8)]
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_an_output_that_would_replace_an_input_is_refused_before_any_work(tmp_path, capsys):
    from napari_deepsuperpixel.io.files import write_labels_tif, write_png

    d = tmp_path / "d"
    d.mkdir()
    write_png(d / "x.png", (np.random.default_rng(0).random((40, 50)) * 255).astype(np.uint8))
    write_labels_tif(d / "x_slic.tif", np.ones((40, 50), np.int32))  # the user's file, not a recorded output
    before = (d / "x_slic.tif").read_bytes()
    assert main(["segment", str(d), "-o", str(d), "--overwrite", "-q"]) == 2
    err = capsys.readouterr().err
    assert f"the output {d / 'x_slic.tif'} of {d / 'x.png'} would replace the input" in err
    assert (d / "x_slic.tif").read_bytes() == before and sorted(p.name for p in d.iterdir()) == ["x.png", "x_slic.tif"]
    # outputs that a batch recorded in the folder are not taken for inputs on the next run
    (d / "x_slic.tif").unlink()
    assert main(["segment", str(d), "-o", str(d), "-q"]) == 0
    assert main(["segment", str(d), "-o", str(d), "-q", "--skip-existing"]) == 0
    assert sorted(p.name for p in d.iterdir()) == ["summary.csv", "x.png", "x_slic.run.json", "x_slic.tif",
                                                   "x_slic_overlay.png"]


def test_temporary_files_of_killed_runs_are_removed_by_the_next_run(folder, tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()  # a process id that has ended
    out = tmp_path / "out"
    out.mkdir()
    left = [out / f".field0_snic.tmp{dead}-1.tif", out / f".summary.tmp{dead}-7.csv", out / f".write-test-{dead}-3"]
    for p in left:
        p.write_bytes(b"partial")
    (out / f".field1_snic.zarr.run{dead}").mkdir()
    (out / f".field1_snic.zarr.run{dead}" / "0.0").write_bytes(b"x")
    mine = out / ".notes"  # a hidden file of the user's: kept
    mine.write_text("keep")
    assert main(_args(folder, out, "-p", "n_segments=30")) == 0
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".notes"]


def test_the_batch_refuses_before_any_work(folder, tmp_path, capsys):
    """--format '' / ',', -o '', an unwritable --summary, a full disk and an image that cannot be run as asked:
    one line naming what to change, and nothing written."""
    out = tmp_path / "out"
    for fmt in ("", ","):
        line = _one_line(capsys, ["segment", str(folder), "-o", str(out), "--format", fmt])
        assert "no output format given" in line and "choose one or more of tif" in line
    assert "output folder is an empty name" in _one_line(capsys, ["segment", str(folder), "-o", ""])
    (tmp_path / "file").write_text("x")
    line = _one_line(capsys, ["segment", str(folder), "-o", str(out), "--summary", str(tmp_path / "file" / "s.csv")])
    assert str(tmp_path / "file") in line and "tmp" not in line.replace(str(tmp_path), "")
    line = _one_line(capsys, ["segment", str(folder), "-o", str(out), "--summary", str(tmp_path)])
    assert f"the summary table {tmp_path} is a folder" in line
    # a small image among good ones: refused before the first image is segmented (its count is too large)
    from napari_deepsuperpixel.io.files import write_png

    write_png(folder / "zz_tiny.png", np.zeros((4, 4), np.uint8))
    line = _one_line(capsys, ["segment", str(folder), "-m", "snic", "-p", "n_segments=30", "-o", str(out)])
    assert "zz_tiny.png" in line and "n_segments" in line
    assert not out.exists() or not [p for p in out.iterdir() if p.suffix in (".tif", ".png", ".json")]


def test_a_full_disk_is_found_by_the_write_probe_before_work(folder, tmp_path, monkeypatch, capsys):
    import errno
    import os

    from napari_deepsuperpixel.io import writes

    real = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writes.os, "fsync", full)
    line = _one_line(capsys, ["segment", str(folder), "-o", str(tmp_path / "out")])
    assert f"cannot write the output folder {tmp_path / 'out'}: No space left on device" in line
    monkeypatch.setattr(writes.os, "fsync", real)
    monkeypatch.setattr("shutil.disk_usage", lambda p: type("U", (), {"free": 10})())
    with pytest.raises(OSError, match="10 B|0 MB free"):
        writes.check_output_folder(tmp_path / "o2", need_bytes=1 << 20)
    assert writes.PROBE_BYTES >= 4096


def _one_line(capsys, argv, rc=2):
    got = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert got == rc and len(lines) == 1 and lines[0].startswith("error: "), (got, err)
    return lines[0]


def test_an_ome_tiff_is_segmented_with_the_axes_it_states(tmp_path):
    """A CZYX OME-TIFF (2 channels, 5 slices) is read as channels and slices, not guessed as TZYX."""
    import tifffile

    from napari_deepsuperpixel.io.files import file_axes

    img = (np.random.default_rng(0).random((2, 5, 48, 48)) * 4000).astype(np.uint16)
    path = tmp_path / "cells.ome.tif"
    tifffile.imwrite(path, img, ome=True, metadata={"axes": "CZYX"})
    assert file_axes(path) == "CZYX"
    assert file_axes(tmp_path / "missing.tif") is None
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, img[0])
    assert file_axes(plain) is None  # no stated axes: guessed from the shape as before
    assert main(["segment", str(path), "-m", "slic", "-p", "n_segments=20", "-o", str(tmp_path / "out"), "-q"]) == 0
    labels = tifffile.imread(tmp_path / "out" / "cells.ome_slic.tif")
    assert labels.shape == (5, 48, 48)
