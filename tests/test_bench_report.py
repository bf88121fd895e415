"""Reports across bench runs (``bench.report``, ``deepsuperpixel bench-report``) and the shared cache."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from napari_deepsuperpixel.bench import report
from napari_deepsuperpixel.cli import main

METRICS = ("n_segments", "covering", "pri", "vi", "bdry_f", "asa", "br", "time_s")
PER_VALUE = ("n_segments", "covering", "pri", "vi", "bdry_f", "segf_f50", "segf_ap50", "segf_ap70", "time_s")


def _bench_folder(path, per_image, sweep=None):
    """A minimal ``deepsuperpixel bench`` output folder.

    ``per_image``: ``{image: {metric: value}}`` (no sweep) or ``{value: {image: {metric: value}}}``.
    """
    path.mkdir(parents=True)
    head = f"param_{sweep}" if sweep else "setting"
    groups = per_image if sweep else {"": per_image}
    with open(path / "per_image.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", head, *METRICS])
        for v, rows in groups.items():
            for name, m in rows.items():
                w.writerow([name, v, *(m.get(k, 0.5) for k in METRICS)])
    with open(path / "per_value.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([head, "n_images", *PER_VALUE])
        for i, (v, rows) in enumerate(groups.items()):
            means = {k: np.mean([m.get(k, 0.5) for m in rows.values()]) for k in PER_VALUE if k in METRICS}
            w.writerow([v, len(rows), *(means.get(k, 0.1 * (i + 1)) for k in PER_VALUE)])
    return path


@pytest.fixture
def runs(tmp_path):
    a = _bench_folder(tmp_path / "a", {"i1": {"covering": 0.5, "n_segments": 100},
                                       "i2": {"covering": 0.6, "n_segments": 110},
                                       "i3": {"covering": 0.7, "n_segments": 120}})
    b = _bench_folder(tmp_path / "b", {"200": {"i1": {"covering": 0.55, "n_segments": 200},
                                               "i2": {"covering": 0.6, "n_segments": 210},
                                               "i3": {"covering": 0.8, "n_segments": 220},
                                               "i4": {"covering": 0.1, "n_segments": 230}},
                                       "400": {"i1": {"covering": 0.9, "n_segments": 400},
                                               "i2": {"covering": 0.9, "n_segments": 410},
                                               "i3": {"covering": 0.9, "n_segments": 420},
                                               "i4": {"covering": 0.9, "n_segments": 430}}}, sweep="n_segments")
    return a, b


def test_paired_differences_equal_hand_computed_numbers(runs):
    a, b = runs
    images, table = report.paired_differences([f"A={a}", f"N=200={b}@200"])
    assert images == ["i1", "i2", "i3"]  # i4 is not in A
    assert list(table) == ["A", "N=200"]  # the label keeps its "="
    base, other = table["A"]["covering"], table["N=200"]["covering"]
    assert base.mean == pytest.approx(0.6) and base.diff is None
    # per-image differences 0.05, 0, 0.1: mean 0.05, sample sd 0.05
    assert other.mean == pytest.approx(0.65)
    assert other.diff == pytest.approx(0.05)
    assert other.half_width == pytest.approx(1.96 * 0.05 / math.sqrt(3))
    assert table["N=200"]["n_segments"].diff == pytest.approx(100.0)
    assert table["N=200"]["n_segments"].half_width == pytest.approx(0.0)
    assert table["N=200"]["segf_ap50"].mean == pytest.approx(0.1)  # dataset level, as written
    text = report.paired_table([f"A={a}", f"N=200={b}@200"])
    assert "| N=200 | 210 (+100 ± 0) | 0.65 (+0.05 ± 0.057) |" in text
    assert text.startswith("3 images common to all runs; differences are per image against 'A'")


def test_paired_needs_one_sweep_value(runs):
    a, b = runs
    with pytest.raises(ValueError, match="is a sweep"):
        report.paired_differences([f"A={a}", f"B={b}"])
    with pytest.raises(ValueError, match="not a sweep"):
        report.paired_differences([f"A={a}@3", f"B={b}@200"])
    with pytest.raises(ValueError, match="no rows for n_segments=300"):
        report.paired_differences([f"A={a}", f"B={b}@300"])
    with pytest.raises(ValueError, match="LABEL=FOLDER"):
        report.paired_differences([str(a)])


def test_quality_tables_join_folders_and_average_over_common_images(runs, tmp_path):
    a, b = runs
    c = _bench_folder(tmp_path / "c", {"800": {"i1": {"asa": 0.9}, "i2": {"asa": 0.8}}}, sweep="n_segments")
    text = report.quality_tables([f"A={a}", f"B={b},{c}"])
    assert text.startswith("Superpixel metrics over the 2 image(s) common to all runs: i1, i2.")
    seg, sp = text.split("**Superpixel metrics**")
    assert seg.count("| B | n_segments=") == 3  # every sweep value of both folders
    # superpixel table: means over i1, i2 only (n_segments 200/210 -> 205.0 at n_segments=200)
    assert "| B | n_segments=200 | 205.0 |" in sp
    assert "| B | n_segments=800 | 0.5 | 0.8500 |" in sp
    assert "| A |  | 105.0 |" in sp


def test_cli_bench_report(runs, tmp_path, capsys):
    a, b = runs
    assert main(["bench-report", "paired", f"A={a}", f"B={b}@200"]) == 0
    assert "| B | 210 (+100 ± 0) | 0.65 (+0.05 ± 0.057) |" in capsys.readouterr().out
    plot = tmp_path / "p.png"
    assert main(["bench-report", "tables", f"A={a}", f"B={b}", "--plot", str(plot)]) == 0
    assert "**Segmentation metrics**" in capsys.readouterr().out and plot.stat().st_size > 0
    assert main(["bench-report", "tables", f"A={a}", "--plot", str(plot)]) == 2  # exists, no --overwrite
    assert main(["bench-report", "tables", f"A={a}", "--plot", str(plot), "--overwrite"]) == 0
    assert main(["bench-report", "paired", f"A={a}", f"B={b}"]) == 2
    assert "is a sweep" in capsys.readouterr().err


def test_region_table_of_merged_sweep_rows():
    from napari_deepsuperpixel.bench.summary import merge_sweep_evals
    from napari_deepsuperpixel.metrics.bsds import collect, evaluate_image
    from napari_deepsuperpixel.metrics.evaluate import evaluate_segmentation

    rng = np.random.default_rng(1)
    gt = [np.repeat(np.arange(4), 16).reshape(8, 8), (np.arange(64).reshape(8, 8) // 24)]
    segs = [rng.integers(0, k, (8, 8)) for k in (2, 5)]
    merged = merge_sweep_evals("x", [evaluate_segmentation(s, None, gt) for s in segs])
    direct = evaluate_image(segs, gt, kind="segs", boundary=False, name="x")
    r = collect([direct]).region
    assert report.region_table({"v": [merged]}).splitlines()[-1] == (
        f"| v | {r.cover_ods:.3f} | {r.cover_ois:.3f} | {r.pri_ods:.3f} | {r.pri_ois:.3f} | "
        f"{r.voi_ods:.3f} | {r.voi_ois:.3f} |")


def test_result_cache_recomputes_damaged_or_foreign_entries(tmp_path):
    from napari_deepsuperpixel.bench.cache import ResultCache, array_digest, cache_key
    from napari_deepsuperpixel.metrics.bsds import evaluate_image

    key = cache_key({"a": 1}, cache_version=1, image=array_digest(np.zeros(3)))
    assert key != cache_key({"a": 2}, cache_version=1, image=array_digest(np.zeros(3)))
    assert key != cache_key({"a": 1}, cache_version=1, image=array_digest(np.ones(3)))
    js = ResultCache(tmp_path / "j", "json")
    assert js.load("im", key) is None
    js.save("im", key, {"x": 1.5}, image="im")
    assert js.load("im", key) == {"x": 1.5}
    for damaged in ("{not json", "[1, 2]", '{"no_row": 1}'):
        js.path("im", key).write_text(damaged)
        assert js.load("im", key) is None
    gt = [np.repeat(np.arange(4), 16).reshape(8, 8)]
    ev = evaluate_image(gt[0], gt, kind="labels", boundary=False, name="im")
    nz = ResultCache(tmp_path / "n", "npz")
    nz.save("im", key, ev)
    assert nz.load("im", key).to_dict().keys() == ev.to_dict().keys()
    assert nz.load("im", "another key") is None
    np.savez(nz.path("im", key), cache_key=key, something="else")  # right key, wrong structure
    assert nz.load("im", key) is None
    nz.path("im", key).write_bytes(b"garbage")
    assert nz.load("im", key) is None
    off = ResultCache(tmp_path / "off", "npz", enabled=False)
    off.save("im", key, ev)
    assert off.load("im", key) is None and not (tmp_path / "off").exists()


def test_a_sweep_value_may_hold_an_equals_sign(tmp_path):
    """``dsc``'s ``--sweep superpixel_params=scale=350,...`` values hold "=": ``LABEL=FOLDER@scale=350`` keeps one."""
    a = _bench_folder(tmp_path / "a", {"scale=350": {"i1": {"covering": 0.5}, "i2": {"covering": 0.7}},
                                       "scale=500": {"i1": {"covering": 0.9}, "i2": {"covering": 0.9}}},
                      sweep="superpixel_params")
    _, table = report.paired_differences([f"A={a}@scale=350", f"B={a}@scale=500"])
    assert table["A"]["covering"].mean == pytest.approx(0.6)
    assert table["B"]["covering"].diff == pytest.approx(0.3)
    assert report.parse_run("EGB=out/egb@scale=350") == ("EGB", [(Path("out/egb"), "scale=350")])
    assert report.parse_run("N=200=out/b@200") == ("N=200", [(Path("out/b"), "200")])
    assert report.parse_run("L=a@k=1,b@k=2") == ("L", [(Path("a"), "k=1"), (Path("b"), "k=2")])
    # a sweep value that holds commas (``--sweep`` separates such values by ';'): folders by ';' too
    v = "n_segments=50,count_merge=smallest"
    assert report.parse_run(f"L=a@{v};b@{v}") == ("L", [(Path("a"), v), (Path("b"), v)])
    assert report.parse_run(f"L=a@{v};") == ("L", [(Path("a"), v)])
