"""The npe2 manifest is valid and every command points at a real callable."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

npe2 = pytest.importorskip("npe2")

PLUGIN = "napari-deepsuperpixel"


@pytest.fixture(scope="module")
def manifest():
    return npe2.PluginManifest.from_distribution(PLUGIN)


def test_npe2_validate_passes():
    proc = subprocess.run([sys.executable, "-m", "npe2", "validate", PLUGIN],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "valid" in proc.stdout.lower()


def test_npe2_validate_imports_the_source_manifest():
    """``npe2 validate --imports`` of this tree's napari.yaml (not whichever copy is installed)."""
    src = Path(__file__).resolve().parents[1] / "src"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(src)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run([sys.executable, "-m", "npe2", "validate", "--imports",
                           str(src / "napari_deepsuperpixel" / "napari.yaml")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "valid" in proc.stdout.lower()


def test_every_command_resolves_to_a_python_callable(manifest):
    commands = manifest.contributions.commands
    assert commands, "the manifest declares no commands"
    for cmd in commands:
        assert cmd.python_name, f"command {cmd.id} has no python_name"
        module, _, attr = cmd.python_name.partition(":")
        obj = getattr(importlib.import_module(module), attr)
        assert callable(obj), f"{cmd.python_name} is not callable"


def test_contributions_reference_declared_commands(manifest):
    ids = {c.id for c in manifest.contributions.commands}
    c = manifest.contributions
    used = ([w.command for w in c.widgets] + [r.command for r in c.readers]
            + [w.command for w in c.writers] + [s.command for s in c.sample_data]
            + [m.command for items in c.menus.values() for m in items])
    assert set(used) <= ids, set(used) - ids
    assert {"napari/layers/segment", "napari/layers/measure"} <= set(c.menus)
    assert {w.filename_extensions[0] for w in c.writers} == {".mat", ".csv"}
    assert len(c.sample_data) >= 4


def test_reader_patterns_claim_bsds_files_but_not_every_photo():
    from fnmatch import fnmatch

    [reader] = npe2.PluginManifest.from_distribution(PLUGIN).contributions.readers
    pats = reader.filename_patterns

    def claims(name):
        return any(fnmatch(name, p) for p in pats)

    assert claims("100007.mat") and claims("100007.jpg") and claims("2018.jpg")
    assert not claims("holiday.jpg") and not claims("cells.tif") and not claims("img.png")
