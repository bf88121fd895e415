"""Classical wrappers behave like the algorithms they wrap."""

import numpy as np
from skimage import data, segmentation

from napari_deepsuperpixel import segment


def _agreement(a, b):
    """Fraction of pixels whose segment in ``a`` is mostly covered by the same segment of ``b``."""
    k = a.astype(np.int64) * (b.max() + 1) + b
    counts = np.bincount(k.ravel())
    best = np.zeros(a.max() + 1, np.int64)
    np.maximum.at(best, np.arange(counts.size) // (b.max() + 1), counts)
    return best.sum() / a.size


def test_slic_matches_scikit_image_on_rgb():
    # our path (RGB/255 -> Lab -> compactness in Lab units) must give SLIC's
    # clustering, not the regular grid a rescaled Lab input would give
    img = data.astronaut()[::2, ::2]
    ours = segment(img, "slic", n_segments=300, compactness=10)
    ref = segmentation.slic(img, n_segments=300, compactness=10, start_label=1)
    assert _agreement(ours, ref) > 0.97
    # irregular segments: not all the same size
    sizes = np.bincount(ours.ravel())[1:]
    assert sizes.std() / sizes.mean() > 0.3


def test_slic_compactness_is_in_lab_units_for_gray():
    gray = data.camera()[::2, ::2]
    loose = segment(gray, "slic", n_segments=200, compactness=1)
    tight = segment(gray, "slic", n_segments=200, compactness=100)
    cv = [np.bincount(x.ravel())[1:].std() / np.bincount(x.ravel())[1:].mean() for x in (loose, tight)]
    assert cv[0] > cv[1]
