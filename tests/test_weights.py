"""Every shipped weight set: loads offline by name, gives deterministic labels, is small, has a model card."""

from pathlib import Path

import numpy as np
import pytest

from napari_deepsuperpixel import segment
from napari_deepsuperpixel.methods import dsc, sen
from napari_deepsuperpixel.nn.checkpoint import load_checkpoint, shipped_weights_path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "training.md"
SETS = [("sen", name) for name in sen.WEIGHT_SETS] + [("superae", name) for name in dsc.WEIGHT_SETS]


def _files(method):
    return (sen if method == "sen" else dsc).WEIGHT_SETS


@pytest.mark.parametrize("method,name", SETS)
def test_weight_set_loads_by_name_and_gives_deterministic_labels(method, name, rgb_image):
    img = rgb_image[:64, :80]
    a = segment(img, method, checkpoint=name, n_segments=30) if method == "sen" else \
        segment(img, method, checkpoint=name)
    b = segment(img, method, checkpoint=name, n_segments=30) if method == "sen" else \
        segment(img, method, checkpoint=name)
    assert a.shape == img.shape[:2] and a.max() >= 2
    assert np.array_equal(a, b)


@pytest.mark.parametrize("method,name", SETS)
def test_weight_file_is_small_verified_and_has_a_model_card(method, name):
    fname = _files(method)[name]
    path = shipped_weights_path(fname)
    assert path.stat().st_size <= 10 * 2**20
    ck = load_checkpoint(path, method=method)  # content hash checked on load
    assert ck.hyperparameters  # the training settings travel with the weights
    text = DOCS.read_text()
    card = text[text.index(f"### `{fname}`"):]
    for field in ("data", "budget", "seed", "commit", "metrics"):
        assert f"**{field}**" in card.split("\n### ")[0].lower(), (fname, field)


def test_unknown_weight_name_is_refused_with_the_names():
    with pytest.raises(FileNotFoundError, match="'bsds'"):
        segment(np.zeros((16, 16, 3)), "sen", checkpoint="no-such-set")
