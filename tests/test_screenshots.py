"""The docs' screenshot script runs against the current code (one small picture, into a temporary folder)."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("napari")
SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "scripts" / "render_screenshots.py"


def _script():
    spec = importlib.util.spec_from_file_location("render_screenshots", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_screenshot_script_renders_a_picture(tmp_path, qapp):
    from PIL import Image

    script = _script()
    assert {"segment", "metrics", "batch", "volume", "demo"} <= set(script.SHOTS)
    assert script.main(["--fast", "--out", str(tmp_path)]) == 0
    pictures = list(tmp_path.glob("*.png"))
    assert [p.name for p in pictures] == ["napari_segment.png"]
    assert Image.open(pictures[0]).size == (1024, 700)
    # an existing picture is kept unless --overwrite is given
    with pytest.raises(FileExistsError):
        script.main(["--fast", "--out", str(tmp_path)])
