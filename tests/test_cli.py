"""The deepsuperpixel command: methods, segment (with refusal to overwrite), demo."""

import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from napari_deepsuperpixel.cli import main, parse_params


@pytest.fixture
def image_file(tmp_path, rgb_image):
    p = tmp_path / "in" / "pic.png"
    p.parent.mkdir()
    iio.imwrite(p, rgb_image)
    return p


def test_methods_lists_all(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    for name in ["slic", "snic", "felzenszwalb", "quickshift", "watershed"]:
        assert name in out


def test_methods_verbose_shows_defaults(capsys):
    assert main(["methods", "-v"]) == 0
    assert "n_segments = 400" in capsys.readouterr().out


def test_segment_writes_lossless_labels_and_overlay(tmp_path, image_file, rgb_image):
    out = tmp_path / "out"
    rc = main(["segment", str(image_file), "-m", "slic", "-p", "n_segments=50", "-o", str(out), "-q"])
    assert rc == 0
    labels = tifffile.imread(out / "pic_slic.tif")
    assert labels.dtype == np.int32 and labels.shape == rgb_image.shape[:2]
    from napari_deepsuperpixel import segment

    np.testing.assert_array_equal(labels, segment(rgb_image, "slic", n_segments=50))
    overlay = iio.imread(out / "pic_slic_overlay.png")
    assert overlay.shape == rgb_image.shape and overlay.dtype == np.uint8
    assert not np.array_equal(overlay, rgb_image)  # boundaries are drawn


def test_segment_refuses_to_overwrite(tmp_path, image_file, capsys):
    out = tmp_path / "out"
    assert main(["segment", str(image_file), "-m", "slic", "-o", str(out), "-q"]) == 0
    target = out / "pic_slic.tif"
    target.write_bytes(b"precious")
    rc = main(["segment", str(image_file), "-m", "slic", "-o", str(out), "-q"])
    assert rc != 0
    assert target.read_bytes() == b"precious"
    assert "--overwrite" in capsys.readouterr().err
    assert main(["segment", str(image_file), "-m", "slic", "-o", str(out), "-q", "--overwrite"]) == 0
    assert target.read_bytes() != b"precious"


def test_segment_bad_parameter_is_a_clear_error(tmp_path, image_file, capsys):
    rc = main(["segment", str(image_file), "-m", "slic", "-p", "bogus=1", "-o", str(tmp_path / "o")])
    assert rc == 2
    assert "valid parameters" in capsys.readouterr().err
    assert not (tmp_path / "o" / "pic_slic.tif").exists()


def test_segment_missing_file(tmp_path, capsys):
    assert main(["segment", str(tmp_path / "nope.png"), "-o", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err


def test_parse_params():
    assert parse_params(["n-segments=5", "compactness = 2"]) == {"n_segments": "5", "compactness": "2"}
    with pytest.raises(ValueError, match="key=value"):
        parse_params(["oops"])


def test_sweep_values_holding_commas_are_separated_by_semicolons():
    from napari_deepsuperpixel.cli.bench import _parse_sweep

    assert _parse_sweep(["n_segments=100,200"]) == {"n_segments": ["100", "200"]}
    assert _parse_sweep(["superpixel_params=scale=150,scale=250"]) == {"superpixel_params": ["scale=150", "scale=250"]}
    assert _parse_sweep(["superpixel-params=n_segments=50,count_merge=ward; n_segments=20,count_merge=ward"]) == {
        "superpixel_params": ["n_segments=50,count_merge=ward", "n_segments=20,count_merge=ward"]}
    with pytest.raises(ValueError, match="--sweep expects"):
        _parse_sweep(["superpixel_params=;"])


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "napari_deepsuperpixel.cli", "--version"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "deepsuperpixel" in out.stdout


def test_demo_writes_table(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "-m", "slic", "-m", "watershed", "-q"]) == 0
    table = (out / "summary.md").read_text()
    assert "| slic |" in table and "| watershed |" in table
    assert (out / "astronaut_slic_overlay.png").exists()
    # a second run refuses to overwrite the first one's files
    assert main(["demo", "-o", str(out), "-m", "slic", "-q"]) == 2
    assert (out / "summary.md").read_text() == table


def test_segment_writes_bsds_segs_and_per_segment_csv(tmp_path, capsys):
    """`--format mat,csv` gives files `deepsuperpixel eval` and a spreadsheet can read."""
    import csv

    from skimage import data

    from napari_deepsuperpixel.io.bsds_mat import read_segs
    from napari_deepsuperpixel.io.files import write_png

    img = tmp_path / "coffee.png"
    write_png(img, data.coffee()[:64, :80])
    out = tmp_path / "out"
    assert main(["segment", str(img), "-m", "slic", "-p", "n_segments=20", "--format", "tif,mat",
                 "--format", "csv", "-o", str(out), "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["coffee_slic.csv", "coffee_slic.mat", "coffee_slic.run.json",
                                                     "coffee_slic.tif", "summary.csv"]
    import tifffile

    labels = tifffile.imread(out / "coffee_slic.tif")
    segs = read_segs(out / "coffee_slic.mat")
    assert len(segs) == 1 and np.array_equal(segs[0], labels)
    rows = list(csv.DictReader(open(out / "coffee_slic.csv")))
    assert len(rows) == labels.max() and sum(int(float(r["area"])) for r in rows) == labels.size
    assert main(["segment", str(img), "--format", "png", "-o", str(out)]) == 2
    assert "unknown output format(s) png: choose from tif, overlay, mat, csv, zarr" in capsys.readouterr().err
