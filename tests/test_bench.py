"""The benchmark runner: end to end on BSDS500 and on a folder dataset, cache, executors, CLI."""

import csv
import json

import numpy as np
import pytest

from napari_deepsuperpixel.bench.data import load_items
from napari_deepsuperpixel.bench.runner import run_benchmark


def _write(path, arr):
    import imageio.v3 as iio

    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, arr)


@pytest.fixture
def tiny_folder(tmp_path):
    """Three 40x48 RGB images of coloured discs with their instance masks."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:40, :48]
    root = tmp_path / "data"
    for k in range(3):
        img = np.full((40, 48, 3), 30, np.uint8)
        mask = np.zeros((40, 48), np.uint16)
        for lab, (cy, cx) in enumerate(rng.uniform(8, 32, size=(3, 2)), start=1):
            disc = (yy - cy) ** 2 + (xx - cx) ** 2 < 36
            mask[disc] = lab
            img[disc] = rng.integers(80, 255, 3)
        img = np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)
        _write(root / "images" / f"im{k}.png", img)
        _write(root / "masks" / f"im{k}.png", mask)
    return root


def _read_csv(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def bsds_run(tmp_path_factory, bsds_root):
    out = tmp_path_factory.mktemp("bench_bsds")
    res = run_benchmark("slic", sweep={"n_segments": [60, 120]}, split="test", limit=2, data=bsds_root,
                        out=out, workers=1, progress=False)
    return out, res


@pytest.mark.shared
def test_bsds_end_to_end_files_and_numbers(bsds_run, bsds_root):
    from napari_deepsuperpixel import segment
    from napari_deepsuperpixel.datasets.bsds import BSDS500
    from napari_deepsuperpixel.metrics.boundary import boundary_prf, seg_to_boundaries
    from napari_deepsuperpixel.metrics.region import region_scores
    from napari_deepsuperpixel.metrics.superpixel import superpixel_metrics

    out, res = bsds_run
    for name in ("summary.md", "summary.csv", "per_value.csv", "per_image.csv", "summary.json",
                 "boundary_pr.png", "asa_br_vs_segments.png", "segment_pr.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    rows = _read_csv(out / "per_image.csv")
    assert len(rows) == 4 and {r["n_segments"] for r in rows} != {""}
    assert res.n_computed == 4 and res.n_cached == 0

    # recompute one (image, value) with the library functions
    ds = BSDS500(bsds_root)
    name = ds.ids("test")[1]
    img, gt = ds.image("test", name), ds.ground_truth("test", name)
    labels = segment(img, "slic", n_segments=120)
    assert [int(r["param_n_segments"]) for r in rows if r["image"] == name] == [60, 120]
    rec = next(r for r in res.rows if r["image"] == name and r["sweep"] == 120)
    sp = superpixel_metrics(labels, gt.segmentations, img.astype(float))
    for k in ("asa", "ue", "ue_np", "br", "bp", "ev", "co"):
        assert rec[k] == pytest.approx(sp[k]), k
    assert rec["n_segments"] == sp["n_segments"]
    reg = region_scores(labels, gt)
    for k in ("covering", "pri", "vi"):
        assert rec[k] == pytest.approx(reg[k]), k
    bd = boundary_prf(seg_to_boundaries(labels), gt)
    assert rec["bdry_p"] == pytest.approx(bd["precision"])
    assert rec["bdry_r"] == pytest.approx(bd["recall"])

    # the per-value table holds the means over images
    pv = _read_csv(out / "per_value.csv")
    assert [int(d["param_n_segments"]) for d in pv] == [60, 120]
    asa120 = np.mean([r["asa"] for r in res.rows if r["sweep"] == 120])
    assert float(pv[1]["asa"]) == pytest.approx(asa120)
    md = (out / "summary.md").read_text()
    assert f"{asa120:.4f}" in md and "| param_n_segments |" in md


@pytest.mark.shared
def test_sweep_aggregation_equals_official_segs_evaluation(bsds_run, bsds_root):
    """The sweep values as thresholds give what the official benchmark gives for ``segs``."""
    from napari_deepsuperpixel import segment
    from napari_deepsuperpixel.datasets.bsds import BSDS500
    from napari_deepsuperpixel.metrics.bsds import collect, evaluate_image

    out, res = bsds_run
    ds = BSDS500(bsds_root)
    evals = []
    for name in ds.ids("test")[:2]:
        img, gt = ds.image("test", name), ds.ground_truth("test", name)
        evals.append(evaluate_image([segment(img, "slic", n_segments=n) for n in (60, 120)], gt, name=name))
    ref = collect(evals).as_dict()
    s = res.summary
    for mine, theirs in [("covering_ods", "cover_ods"), ("covering_ois", "cover_ois"),
                         ("covering_best", "cover_best"), ("pri_ods", "pri_ods"), ("pri_ois", "pri_ois"),
                         ("vi_ods", "voi_ods"), ("vi_ois", "voi_ois"), ("bdry_ods", "bdry_ods_f"),
                         ("bdry_ois", "bdry_ois_f"), ("bdry_ap", "bdry_ap")]:
        assert s[mine] == pytest.approx(ref[theirs]), mine
    csv_row = _read_csv(out / "summary.csv")[0]
    assert float(csv_row["bdry_ods"]) == pytest.approx(ref["bdry_ods_f"])


@pytest.mark.shared
def test_cache_is_reused_and_invalidated(bsds_run, bsds_root):
    out, first = bsds_run
    again = run_benchmark("slic", sweep={"n_segments": [60, 120]}, split="test", limit=2, data=bsds_root,
                          out=out, workers=1, progress=False)
    assert (again.n_computed, again.n_cached) == (0, 4)
    assert [r["asa"] for r in again.rows] == [r["asa"] for r in first.rows]
    # another configuration in the same folder needs overwrite
    with pytest.raises(FileExistsError, match="overwrite"):
        run_benchmark("slic", sweep={"n_segments": [60, 90]}, limit=2, data=bsds_root, out=out, workers=1,
                      progress=False)
    changed = run_benchmark("slic", sweep={"n_segments": [60, 90]}, limit=2, data=bsds_root, out=out,
                            workers=1, progress=False, overwrite=True)
    assert (changed.n_computed, changed.n_cached) == (2, 2)  # n_segments=60 reused
    other = run_benchmark("slic", params={"compactness": 20}, sweep={"n_segments": [60]}, limit=1,
                          data=bsds_root, out=out, workers=1, progress=False, overwrite=True)
    assert (other.n_computed, other.n_cached) == (1, 0)
    # a damaged cache file is recomputed, not trusted
    victim = sorted((out / "cache").glob("*.json"))[0]
    victim.write_text("{not json")
    rerun = run_benchmark("slic", params={"compactness": 20}, sweep={"n_segments": [60]}, limit=1,
                          data=bsds_root, out=out, workers=1, progress=False)
    assert rerun.n_computed + rerun.n_cached == 1


def test_folder_dataset_background_is_a_segment(tiny_folder, tmp_path):
    from napari_deepsuperpixel import segment
    from napari_deepsuperpixel.metrics.region import region_scores
    from napari_deepsuperpixel.metrics.superpixel import achievable_segmentation_accuracy

    desc, items = load_items(tiny_folder)
    assert len(items) == 3 and items[0].boundaries is None and items[0].segmentations[0].min() == 1
    res = run_benchmark("slic", sweep={"n_segments": [10, 30]}, data=tiny_folder, out=tmp_path / "o",
                        workers=1, progress=False)
    assert "bdry_f" not in res.rows[0] and "covering" in res.rows[0]
    import imageio.v3 as iio

    img = iio.imread(tiny_folder / "images" / "im0.png")
    mask = iio.imread(tiny_folder / "masks" / "im0.png")
    labels = segment(img, "slic", n_segments=30)
    rec = next(r for r in res.rows if r["image"] == "im0" and r["sweep"] == 30)
    assert rec["asa"] == pytest.approx(achievable_segmentation_accuracy(labels, mask))
    assert rec["covering"] == pytest.approx(region_scores(labels, [mask.astype(int) + 1])["covering"])
    assert not (tmp_path / "o" / "boundary_pr.png").exists()
    assert "Folder dataset" in (tmp_path / "o" / "summary.md").read_text()


def test_dask_cluster_gives_the_same_rows(tiny_folder, tmp_path):
    distributed = pytest.importorskip("distributed")
    serial = run_benchmark("slic", sweep={"n_segments": [12]}, data=tiny_folder, out=tmp_path / "s",
                           workers=1, progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        res = run_benchmark("slic", sweep={"n_segments": [12]}, data=tiny_folder, out=tmp_path / "d",
                            scheduler=cluster.scheduler_address, progress=False)
    assert res.n_computed == 3
    for a, b in zip(serial.rows, res.rows):
        assert a["image"] == b["image"]
        assert a["asa"] == b["asa"] and a["covering"] == b["covering"] and a["n_segments"] == b["n_segments"]


def test_process_pool_gives_the_same_rows(tiny_folder, tmp_path):
    serial = run_benchmark("slic", params={"n_segments": 15}, data=tiny_folder, out=tmp_path / "s",
                           workers=1, progress=False, plots=False)
    pooled = run_benchmark("slic", params={"n_segments": 15}, data=tiny_folder, out=tmp_path / "p",
                           workers=2, progress=False, plots=False)
    assert [r["asa"] for r in pooled.rows] == [r["asa"] for r in serial.rows]
    assert pooled.per_value[0]["sweep"] is None


def test_cli(tiny_folder, tmp_path, capsys):
    from napari_deepsuperpixel.cli import main

    out = tmp_path / "cli"
    rc = main(["bench", "-m", "slic", "--sweep", "n_segments=10,20", "--data", str(tiny_folder), "-o", str(out),
               "--workers", "1", "--window", "disk"])
    assert rc == 0
    assert "| param_n_segments |" in capsys.readouterr().out
    cfg = json.loads((out / "bench.json").read_text())["config"]
    assert cfg["window"] == "disk" and cfg["sweep"] == {"n_segments": [10, 20]}
    assert main(["bench", "-m", "slic", "--sweep", "n_segments", "--data", str(tiny_folder),
                 "-o", str(tmp_path / "x"), "-q"]) == 2
    assert main(["bench", "-m", "slic", "--sweep", "nope=1,2", "--data", str(tiny_folder),
                 "-o", str(tmp_path / "y"), "-q"]) == 2
    assert "nope" in capsys.readouterr().err


def test_bad_arguments(tiny_folder, tmp_path):
    with pytest.raises(ValueError, match="both fixed and swept"):
        run_benchmark("slic", params={"n_segments": 5}, sweep={"n_segments": [5, 6]}, data=tiny_folder,
                      out=tmp_path)
    with pytest.raises(ValueError, match="repeats"):
        run_benchmark("slic", sweep={"n_segments": [5, 5]}, data=tiny_folder, out=tmp_path)
    with pytest.raises(ValueError, match="unknown method"):
        run_benchmark("slick", data=tiny_folder, out=tmp_path)
    with pytest.raises(FileNotFoundError):
        run_benchmark("slic", data=tmp_path / "missing", out=tmp_path / "o")
    with pytest.raises(ValueError, match="output folder"):
        run_benchmark("slic", data=tiny_folder)
    # a value the method rejects on these images names the image and the value
    with pytest.raises(ValueError, match=r"slic on image im\d \(n_segments=5000\).*exceeds"):
        run_benchmark("slic", sweep={"n_segments": [5000]}, data=tiny_folder, out=tmp_path / "big", workers=1,
                      progress=False)


def test_serial_run_caches_each_image_before_the_next_and_keeps_them_when_interrupted(tiny_folder, tmp_path,
                                                                                        monkeypatch):
    from napari_deepsuperpixel.bench import runner

    out = tmp_path / "serial"
    seen = []
    original = runner._run_task

    def run_task(task):
        seen.append(len(list((out / "cache").glob("*.json"))))
        if len(seen) == 3:
            raise KeyboardInterrupt  # the user presses Ctrl-C during the third image
        return original(task)

    monkeypatch.setattr(runner, "_run_task", run_task)
    with pytest.raises(KeyboardInterrupt):
        run_benchmark("slic", params={"n_segments": 10}, data=tiny_folder, out=out, workers=1, progress=False)
    assert seen == [0, 1, 2]  # each finished image was cached before the next one started
    monkeypatch.setattr(runner, "_run_task", original)
    res = run_benchmark("slic", params={"n_segments": 10}, data=tiny_folder, out=out, workers=1, progress=False,
                        overwrite=True)
    assert res.n_cached == 2 and res.n_computed == 1
