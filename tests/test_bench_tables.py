"""The one home of benchmark tables, paired intervals and memory measurement (``bench.tables``, ``bench.memory``)."""

import json
import math
import subprocess
import sys
import time

import numpy as np
import pytest

from napari_deepsuperpixel.bench.memory import ChildPeakRss, cpu_seconds, peak_rss_mb
from napari_deepsuperpixel.bench.tables import format_difference, markdown_table, paired_difference


def test_markdown_table_aligns_escapes_and_checks_its_shape():
    text = markdown_table(["method", "ASA", "note"], [["snic", "0.9512", None], ["a|b", 3, "x"]], align="lrc")
    assert text.splitlines() == ["| method | ASA | note |", "|---|---:|:---:|", "| snic | 0.9512 |  |",
                                 "| a\\|b | 3 | x |"]
    assert markdown_table(["a", "b"], []).splitlines()[1] == "|---|---|"  # left by default
    with pytest.raises(ValueError, match="row 0 has 1 cells for 2 columns"):
        markdown_table(["a", "b"], [["x"]])
    with pytest.raises(ValueError, match="align"):
        markdown_table(["a", "b"], [], align="l")
    with pytest.raises(ValueError, match="align"):
        markdown_table(["a"], [], align="x")


def test_paired_difference_is_the_normal_interval_of_the_per_image_differences():
    a, b = [0.9, 0.8, 0.7, 0.95], [0.85, 0.8, 0.6, 0.9]
    d = np.subtract(a, b)
    res = paired_difference(a, b)
    assert res.n == 4
    assert res.mean == pytest.approx(d.mean())
    assert res.half_width == pytest.approx(1.96 * d.std(ddof=1) / math.sqrt(4))
    assert paired_difference(d).mean == pytest.approx(res.mean)  # differences given directly
    assert paired_difference(a, b, z=2.0).half_width == pytest.approx(res.half_width * 2.0 / 1.96)
    one = paired_difference([0.5], [0.25])
    assert one.mean == 0.25 and math.isnan(one.half_width)  # no interval from one image
    with pytest.raises(ValueError, match="same images"):
        paired_difference([1, 2], [1])
    with pytest.raises(ValueError, match="at least one"):
        paired_difference([])


def test_one_notation_for_a_difference():
    assert format_difference(0.01234, 0.0045) == "+0.0123 ± 0.0045"
    assert format_difference(-0.5, 0.25, ".3g", ".2g") == "-0.5 ± 0.25"
    assert paired_difference([0.3, 0.1]).format(".2f") == "+0.20 ± 0.20"
    assert str(paired_difference([0.3, 0.1])) == "+0.2000 ± 0.1960"


def test_peak_memory_grows_with_an_allocation_and_cpu_time_is_counted():
    before = peak_rss_mb()
    block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
    assert peak_rss_mb() >= before
    assert peak_rss_mb() >= block.nbytes / 2**20 * 0.9
    t0 = cpu_seconds()
    deadline = time.perf_counter() + 10  # the CPU clock ticks in 10 ms steps: work until it moves
    while cpu_seconds() <= t0 and time.perf_counter() < deadline:
        sum(i * i for i in range(200_000))
    assert cpu_seconds() > t0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and wait4 are Linux's")
def test_a_childs_own_peak_and_a_sampled_peak_per_phase():
    code = "import numpy as np, time; a = np.ones(200 * 2**20 // 8); time.sleep(0.3); print(a.sum() > 0)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    with ChildPeakRss(proc, interval=0.02) as child:
        out = proc.stdout.read()
        assert proc.wait() == 0 and out.strip() == "True"
    assert 200 <= child.mb < 400  # the child's own peak: its 200 MiB array and numpy
    # another child reports its own peak, not the largest so far nor this process's
    small = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2)"])
    with ChildPeakRss(small, interval=0.02) as small_child:
        small.wait()
    assert small_child.mb < 100 < child.mb
    # the per-phase sampler, in a fresh process: in a long test session the garbage of earlier
    # tests can be freed while the block is filled and hide part of it from an absolute reading
    sampler_code = (
        "import json, time, numpy as np\n"
        "from napari_deepsuperpixel.bench.memory import RssSampler\n"
        "phase = ['small']\n"
        "with RssSampler(lambda: phase[0], interval=0.01) as sampler:\n"
        "    time.sleep(0.05)\n"
        "    phase[0] = 'large'\n"
        "    block = np.ones(96 * 2**20 // 8)\n"
        "    time.sleep(0.1)\n"
        "print(json.dumps(sampler.peaks))\n"
    )
    out = subprocess.run([sys.executable, "-c", sampler_code], capture_output=True, text=True, check=True).stdout
    peaks = json.loads(out)
    assert set(peaks) == {"small", "large"}
    assert peaks["large"] >= peaks["small"] + 0.5 * 96
