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
    finished = {p.name: p.stat().st_mtime_ns for p in out.glob("field*")}
    assert len(finished) == 4  # two images, a labels file and an overlay each

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
