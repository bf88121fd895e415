"""``deepsuperpixel eval``: official files, formats, cache reuse and invalidation, errors."""

import shutil

import numpy as np
import pytest

from napari_deepsuperpixel.bench import evaluate as eval_cli
from napari_deepsuperpixel.cli import main

REGION_FILES = ("eval_cover.txt", "eval_cover_img.txt", "eval_cover_th.txt", "eval_RI_VOI.txt", "eval_RI_VOI_thr.txt")


def _counting(monkeypatch):
    calls = []
    real = eval_cli._evaluate_one

    def wrapped(job):
        calls.append(job[0])
        return real(job)

    monkeypatch.setattr(eval_cli, "_evaluate_one", wrapped)
    return calls


def test_region_bench_on_segs_matches_official(bsds_bench_dir, tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    results = tmp_path / "segs"
    shutil.copytree(bsds_bench_dir / "segs", results)
    out = tmp_path / "out"
    args = ["eval", "--gt", str(bsds_bench_dir / "groundTruth"), "--results", str(results),
            "--benchmark", "region", "-o", str(out), "-q"]
    assert main(args) == 0
    for f in REGION_FILES:  # regionBench = test_5
        assert (out / f).read_text() == (bsds_bench_dir / "test_5" / f).read_text()
    assert not (out / "eval_bdry.txt").exists()
    assert len(calls) == 5

    # existing outputs are kept unless --overwrite
    before = (out / "eval_cover.txt").read_text()
    assert main(args) == 2
    assert (out / "eval_cover.txt").read_text() == before

    # rerun: every image comes from the cache
    calls.clear()
    assert main(args + ["--overwrite"]) == 0
    assert calls == []
    assert (out / "eval_cover.txt").read_text() == before

    # a changed input invalidates its own cache entry only
    import scipy.io as sio

    segs = sio.loadmat(results / "2018.mat")["segs"]
    segs[0, 0] = segs[0, 1]
    sio.savemat(results / "2018.mat", {"segs": segs})
    calls.clear()
    assert main(args + ["--overwrite"]) == 0
    assert calls == ["2018"]
    assert (out / "eval_cover.txt").read_text() != before

    # so does a changed setting (all images)
    calls.clear()
    assert main(args + ["--overwrite", "--no-thin"]) == 0  # thinning is part of the key
    assert len(calls) == 5


def test_png_boundary_bench_and_workers(bsds_bench_dir, tmp_path):
    out = tmp_path / "out"
    assert main(["eval", "--gt", str(bsds_bench_dir / "groundTruth"), "--results", str(bsds_bench_dir / "png"),
                 "--nthresh", "5", "--workers", "2", "-o", str(out), "-q"]) == 0
    got = np.loadtxt(out / "eval_bdry_thr.txt")
    want = np.loadtxt(bsds_bench_dir / "test_2" / "eval_bdry_thr.txt")  # boundaryBench on png = test_2
    np.testing.assert_allclose(got, want, atol=1e-3)
    assert not (out / "eval_cover.txt").exists()  # png maps have no regions


def test_label_tifs(bsds_bench_dir, tmp_path):
    import scipy.io as sio
    import tifffile

    from napari_deepsuperpixel.datasets import load_ground_truth
    from napari_deepsuperpixel.metrics.bsds import collect, evaluate_image

    gt_dir = tmp_path / "gt"
    gt_dir.mkdir()
    res = tmp_path / "res"
    res.mkdir()
    evals = []
    for name in ("2018", "3063"):
        shutil.copy(bsds_bench_dir / "groundTruth" / f"{name}.mat", gt_dir)
        lab = np.asarray(sio.loadmat(bsds_bench_dir / "segs" / f"{name}.mat")["segs"][0, 1]).astype(np.int32)
        tifffile.imwrite(res / f"{name}_slic.tif", lab)  # `deepsuperpixel segment` naming
        evals.append(evaluate_image(lab, load_ground_truth(gt_dir / f"{name}.mat"), name=name))
    out = tmp_path / "out"
    assert main(["eval", "--gt", str(gt_dir), "--results", str(res), "-o", str(out), "-q", "--no-cache"]) == 0
    assert not (out / ".eval_cache").exists()
    s = collect(evals).as_dict()
    cover = np.loadtxt(out / "eval_cover.txt")
    assert cover[1] == pytest.approx(s["cover_ods"], abs=1e-6)
    bdry = np.loadtxt(out / "eval_bdry.txt")
    assert bdry[3] == pytest.approx(s["bdry_ods_f"], abs=1e-6)


def test_errors(bsds_bench_dir, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    gt = str(bsds_bench_dir / "groundTruth")
    assert main(["eval", "--gt", gt, "--results", str(empty), "-o", str(tmp_path / "o")]) == 2
    assert "have no result file" in capsys.readouterr().err
    assert main(["eval", "--gt", str(empty), "--results", str(empty), "-o", str(tmp_path / "o")]) == 2
    assert "no ground-truth" in capsys.readouterr().err
    assert main(["eval", "--gt", gt, "--results", str(bsds_bench_dir / "png"), "--benchmark", "region",
                 "-o", str(tmp_path / "o")]) == 2
    assert "region benchmarks need segmentations" in capsys.readouterr().err
    assert main(["eval", "--gt", gt, "--results", str(bsds_bench_dir / "ucm2"), "--nthresh", "0",
                 "-o", str(tmp_path / "o")]) == 2
