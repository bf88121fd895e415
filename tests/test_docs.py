"""The documentation site builds: ``mkdocs build --strict`` (mkdocs.yml, docs/).

Strict mode fails on a broken link or anchor, a page missing from the navigation,
and a docstring mkdocstrings cannot parse. Needs the ``docs`` extra
(``pip install -e ".[docs]"``, which scripts/setup.sh installs); skipped with a
message where those packages are absent.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NEEDED = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")


def _missing():
    out = []
    for name in NEEDED:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            out.append(name)
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    missing = _missing()
    if missing:
        pytest.skip(f"docs packages not installed ({', '.join(missing)}): "
                    'pip install -e ".[docs]" to build the documentation site')
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f",
                           str(ROOT / "mkdocs.yml"), "-d", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_docs_build_strict(site):
    assert (site / "index.html").is_file()
    for page in ("installation", "usage", "methods", "methods/snic", "metrics", "bench",
                 "benchmarks", "training", "api", "architecture"):
        assert (site / page / "index.html").is_file(), page


def test_api_reference_is_generated_from_the_docstrings(site):
    html = (site / "api" / "index.html").read_text()
    for name in ("segment", "segment_result", "list_methods", "io.prepare_image",
                 "metrics.segmentation_covering"):
        assert f'id="napari_deepsuperpixel.{name}"' in html, name
    assert "Segment an image with a registered method." in html
    assert ":func:" not in html          # the Sphinx roles are rendered as code (docs/hooks.py)


def test_screenshots_are_in_the_site(site):
    images = sorted(p.name for p in (ROOT / "docs" / "images").glob("*.png"))
    assert images
    for name in images:
        assert (site / "images" / name).is_file(), name
    assert not (site / "scripts").exists() and not (site / "hooks.py").exists()
