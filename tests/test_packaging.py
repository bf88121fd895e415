"""The built wheel works on its own: installed (not editable) into a fresh venv.

What a user gets from ``pip install napari-deepsuperpixel`` is the wheel, not this
source tree, so this test builds the wheel from a copy of the tree and checks, in a
new virtual environment and with ``PYTHONPATH`` removed, that

* ``import napari_deepsuperpixel`` imports the copy inside that venv;
* the shipped weights (``weights/*.pt``, byte for byte) and ``napari.yaml`` are there;
* the ``deepsuperpixel`` command the wheel installs runs (``deepsuperpixel methods``);
* npe2 finds the plugin through the wheel's entry point, and napari opens the
  three widgets from it (a ``Viewer(show=False)`` on the test's Xvfb display).

Installing torch, napari and Qt again into every fresh venv would take minutes, so
the wheel is installed with ``--no-deps`` and the venv borrows the dependencies of
the environment running the tests: a ``.pth`` file puts a folder on its ``sys.path``
that mirrors (symbolic links) this environment's ``site-packages`` *minus* any
installation of this package (its editable finder, ``.pth`` hook, ``dist-info`` and
package folder), so the only napari-deepsuperpixel the venv can import or whose
metadata it can see is the wheel's. Every check asserts that what it used lies
inside the new venv.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SRC_PKG = ROOT / "src" / "napari_deepsuperpixel"
DIST = "napari_deepsuperpixel"
WIDGETS = ("Superpixels & segmentation", "Segmentation metrics", "Train SuperAE / SEN")


def _run(cmd, *, env=None, timeout=600, cwd=None):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=cwd)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _is_this_package(name: str) -> bool:
    n = name.lower().replace("-", "_")
    return n.startswith(DIST) or n.startswith("__editable__") and DIST in n


def _build_wheel(tmp: Path) -> Path:
    """``pip wheel --no-deps`` of a copy of the tree (leaves no build/ here)."""
    tree = tmp / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist")]
    try:   # the build backend of this environment, when it has one: no download
        import setuptools

        if tuple(int(x) for x in setuptools.__version__.split(".")[:2]) >= (70, 1):
            cmd.append("--no-build-isolation")
    except ImportError:
        pass
    _run(cmd + [str(tree)], cwd=tmp)
    [wheel] = (tmp / "dist").glob("napari_deepsuperpixel-*.whl")
    return wheel


def _venv_with_borrowed_dependencies(tmp: Path) -> Path:
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
                     ).stdout.strip())
    base = Path(sysconfig.get_paths()["purelib"])        # this environment's site-packages
    mirror = tmp / "borrowed-site-packages"
    mirror.mkdir()
    for entry in base.iterdir():
        if not _is_this_package(entry.name):
            (mirror / entry.name).symlink_to(entry)
    # appended after the venv's own site-packages, so the wheel's copy comes first
    (site / "zz_borrowed_dependencies.pth").write_text(f"{mirror}\n")
    return env_dir


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("packaging")
    wheel = _build_wheel(tmp)
    env_dir = _venv_with_borrowed_dependencies(tmp)
    py = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # pip of this environment, installing into the new one (pip >= 22.3)
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
          "--no-index", str(wheel)], env=env, cwd=tmp)
    return env_dir, py, env, wheel


def test_wheel_installs_the_package_data_not_editable(installed):
    env_dir, py, env, wheel = installed
    code = (
        "import json, importlib.metadata as md, napari_deepsuperpixel as m, pathlib\n"
        "p = pathlib.Path(m.__file__).parent\n"
        "d = md.distribution('napari-deepsuperpixel')\n"
        "print(json.dumps({'file': str(p), 'version': m.__version__,\n"
        "  'dist_version': d.version, 'dists': len([x for x in md.distributions()\n"
        "    if (x.metadata['Name'] or '').lower() == 'napari-deepsuperpixel']),\n"
        "  'weights': {w.name: w.stat().st_size for w in (p / 'weights').glob('*.pt')},\n"
        "  'yaml': (p / 'napari.yaml').is_file(),\n"
        "  'entry_points': [e.value for e in d.entry_points if e.group == 'napari.manifest']}))"
    )
    info = json.loads(_run([str(py), "-c", code], env=env, cwd=env_dir).stdout)
    assert Path(info["file"]).resolve().is_relative_to(env_dir.resolve()), info["file"]
    assert info["dists"] == 1, "the venv sees another napari-deepsuperpixel installation"
    assert info["version"] == info["dist_version"]
    assert wheel.name.startswith(f"napari_deepsuperpixel-{info['version']}-")
    shipped = {w.name: w.stat().st_size for w in (SRC_PKG / "weights").glob("*.pt")}
    assert shipped and info["weights"] == shipped
    assert info["yaml"]
    assert info["entry_points"] == ["napari_deepsuperpixel:napari.yaml"]


def test_the_installed_command_runs(installed):
    env_dir, py, env, _ = installed
    exe = env_dir / "bin" / "deepsuperpixel"
    assert exe.is_file()
    out = _run([str(exe), "methods"], env=env, cwd=env_dir, timeout=300).stdout
    for name in ("slic", "snic", "backprop", "sen", "dsc"):
        assert name in out, out


WIDGET_SCRIPT = r"""
import json, sys
import npe2, napari

pm = npe2.PluginManager.instance()
pm.discover()
manifest = pm.get_manifest("napari-deepsuperpixel")
viewer = napari.Viewer(show=False)
opened = {}
try:
    for name in json.loads(sys.argv[1]):
        dock, widget = viewer.window.add_plugin_dock_widget("napari-deepsuperpixel", name)
        opened[name] = sys.modules[type(widget).__module__].__file__
finally:
    viewer.close()
print(json.dumps({"manifest": str(manifest.display_name), "widgets": opened}))
"""


def test_napari_finds_the_manifest_and_opens_the_widgets(installed):
    pytest.importorskip("napari")
    pytest.importorskip("qtpy")
    env_dir, py, env, _ = installed
    if not env.get("DISPLAY"):
        pytest.skip("no X display (pytest-xvfb provides one)")
    proc = _run([str(py), "-c", WIDGET_SCRIPT, json.dumps(WIDGETS)], env=env, cwd=env_dir,
                timeout=600)
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["manifest"] == "Deep Superpixels"
    assert set(info["widgets"]) == set(WIDGETS)
    for name, path in info["widgets"].items():
        assert Path(path).resolve().is_relative_to(env_dir.resolve()), (name, path)


def test_readme_links_work_on_the_hub():
    """The napari hub shows README.md out of the repository: its pictures and links must be
    absolute addresses, and each must name a file that exists here."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    text = (root / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    assert targets
    prefixes = ("https://raw.githubusercontent.com/napari-deepsuperpixel/napari-deepsuperpixel/main/",
                "https://github.com/napari-deepsuperpixel/napari-deepsuperpixel/blob/main/")
    for t in targets:
        assert t.startswith(("http://", "https://", "#")), f"relative link in README.md: {t}"
        for prefix in prefixes:
            if t.startswith(prefix):
                assert (root / t[len(prefix):].split("#")[0]).exists(), f"README.md links a missing file: {t}"
