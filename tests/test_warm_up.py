"""The docks' background warm-up and quitting napari while it runs."""

import subprocess
import sys
import textwrap


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          timeout=300)


def test_exit_waits_for_the_running_warm_up_job_and_starts_no_other(tmp_path):
    res = _run("""
        import pathlib, sys, time
        from napari_deepsuperpixel._napari._workers import warm_in_background
        out = pathlib.Path(sys.argv[1])
        def first():
            time.sleep(1.0)
            (out / "first").write_text("finished")
        def second():
            (out / "second").write_text("started")
        warm_in_background(first, second)
        time.sleep(0.2)  # Python exits while the first job runs
    """, str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "first").read_text() == "finished"
    assert not (tmp_path / "second").exists()


def test_quitting_during_the_real_warm_up_exits_cleanly():
    """Closing napari a moment after the segmentation dock opened aborted Python (exit status 134)."""
    res = _run("""
        import time
        from napari_deepsuperpixel._napari._workers import warm_in_background
        from napari_deepsuperpixel.methods import list_methods
        warm_in_background(*[m.warm for m in list_methods() if m.warm_ref is not None])
        time.sleep(2.0)  # inside torch or numba by now
    """)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "terminate called" not in res.stderr
