"""Generic image/mask folder datasets."""

import numpy as np
import pytest

from napari_deepsuperpixel.datasets.folder import FolderDataset, Sample


def _write(path, arr):
    import imageio.v3 as iio

    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, arr)


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("b", "a", "c"):
        _write(tmp_path / "images" / f"{name}.png", rng.integers(0, 255, (12, 16, 3), dtype=np.uint8))
        mask = np.zeros((12, 16), np.uint16)
        mask[2:6, 3:9] = 1
        mask[7:11, 10:15] = 300  # uint16 values survive
        _write(tmp_path / "masks" / f"{name}.png", mask)
    return tmp_path


def test_pairs_sorted_and_read(folder):
    ds = FolderDataset(folder)
    assert len(ds) == 3
    assert ds.names == ["a", "b", "c"]
    items = list(ds)
    assert all(isinstance(s, Sample) for s in items)
    name, image, masks = items[0]
    assert name == "a" and image.shape == (12, 16, 3) and len(masks) == 1
    assert masks[0].dtype == np.uint16
    assert sorted(np.unique(masks[0])) == [0, 1, 300]
    assert ds[-1].name == "c"


def test_limit_and_names(folder):
    assert FolderDataset(folder, limit=2).names == ["a", "b"]
    assert FolderDataset(folder, names=["c", "a"]).names == ["c", "a"]
    with pytest.raises(ValueError, match="not in"):
        FolderDataset(folder, names=["zzz"])
    with pytest.raises(ValueError, match="limit"):
        FolderDataset(folder, limit=0)


def test_unpaired_files_are_listed(folder):
    (folder / "masks" / "b.png").unlink()
    _write(folder / "masks" / "orphan.png", np.zeros((4, 4), np.uint16))
    with pytest.raises(ValueError, match=r"image\(s\) without a mask.*b.*mask\(s\) without an image.*orphan"):
        FolderDataset(folder)


def test_missing_folders_and_empty(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        FolderDataset(tmp_path / "nope")
    (tmp_path / "images").mkdir()
    with pytest.raises(FileNotFoundError, match="masks/"):
        FolderDataset(tmp_path)
    (tmp_path / "masks").mkdir()
    with pytest.raises(ValueError, match="no image/mask pairs"):
        FolderDataset(tmp_path)


def test_shape_mismatch_and_bad_mask(folder):
    _write(folder / "masks" / "a.png", np.zeros((5, 5), np.uint16))
    ds = FolderDataset(folder)
    with pytest.raises(ValueError, match="must match"):
        ds[0]
    _write(folder / "masks" / "b.png", np.random.default_rng(0).integers(0, 255, (12, 16, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="2D label images"):
        ds[1]


def test_duplicate_stems(folder):
    import tifffile

    tifffile.imwrite(folder / "masks" / "a.tif", np.zeros((12, 16), np.uint16))
    with pytest.raises(ValueError, match="share the name 'a'"):
        FolderDataset(folder)


def test_microscopy_subset(microscopy_dir):
    ds = FolderDataset(microscopy_dir)
    assert len(ds) == 100
    name, image, (mask,) = ds[0]
    assert mask.dtype == np.uint16 and mask.shape == image.shape[:2]
    assert mask.min() == 0 and mask.max() >= 1
