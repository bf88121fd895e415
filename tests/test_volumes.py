"""Volumes and time-lapses: axes strings, spacing, 3D supervoxels, time matching, CLI."""

import hashlib
import warnings

import numpy as np
import pytest
from scipy import ndimage as ndi

import napari_deepsuperpixel as nds
from napari_deepsuperpixel.cli import main
from napari_deepsuperpixel.datasets.synthetic import nuclei_volume
from napari_deepsuperpixel.io import prepare_image
from napari_deepsuperpixel.io.axes import guess_axes, parse_axes, resolve_spacing
from napari_deepsuperpixel.volumes import match_labels_through_time

VOLUME_METHODS = ["snic", "slic", "watershed"]


@pytest.fixture(scope="module")
def nuclei():
    return nuclei_volume((12, 64, 72), n_nuclei=12, seed=2)


def assert_6_connected_1_to_n(lab):
    assert lab.dtype == np.int32
    ids = np.unique(lab)
    np.testing.assert_array_equal(ids, np.arange(1, ids[-1] + 1))
    for lv, box in enumerate(ndi.find_objects(lab), start=1):
        _, n = ndi.label(lab[box] == lv)  # the default structure is 6-connectivity in 3D
        assert n == 1, f"label {lv} has {n} 6-connected parts"


# --- axes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("axes, ndim, words", [
    ("ZYXQ", 4, "unknown letter"), ("ZZYX", 4, "repeats"), ("ZY", 2, "both Y and X"),
    ("XY", 2, "X before Y"), ("ZYX", 2, "3 axes but the image has 2"), ("", 2, "string"), (3, 3, "string"),
])
def test_bad_axes_strings_get_a_clear_error(axes, ndim, words):
    with pytest.raises(ValueError, match=words):
        parse_axes(axes, ndim)
    with pytest.raises(ValueError, match="axes"):
        nds.segment(np.zeros((4,) * ndim), "slic", axes=axes)


def test_axes_are_case_insensitive_and_reordered():
    assert parse_axes("tzyxc", 5) == "TZYXC"
    img = np.random.default_rng(0).random((2, 5, 20, 30))  # C, Z, Y, X
    p = prepare_image(img, axes="CZYX")
    assert p.axes == "ZYX" and p.spatial_shape == (5, 20, 30) and p.n_channels == 2
    np.testing.assert_allclose(p.data[..., 1], prepare_image(img[1], axes="ZYX").data[..., 0])


def test_two_channel_yx2_is_channels_when_the_axes_say_so():
    img = np.random.default_rng(0).random((52, 69, 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lab = nds.segment(img, "slic", axes="YXC", n_segments=20)
    assert not [w for w in caught if "ambiguous" in str(w.message)]  # explicit axes: no guess, no warning
    assert lab.shape == (52, 69)
    # the same data named as a stack is 52 slices of 69 x 2 pixels
    assert nds.segment(img, "slic", axes="ZYX", n_segments=2).shape == (52, 69, 2)
    assert prepare_image(img, axes="YXC").n_channels == 2


def test_channels_first_and_the_ambiguous_guess_warns():
    img = np.random.default_rng(0).random((2, 40, 50))
    with pytest.warns(UserWarning, match="axes='CYX'"):
        assert guess_axes(img.shape) == "ZYX"
    assert nds.segment(img, "slic", axes="CYX", n_segments=10).shape == (40, 50)
    with pytest.raises(ValueError, match="not both"):
        nds.segment(img, "slic", axes="CYX", channel_axis=0)


def test_spacing_is_validated():
    assert resolve_spacing(None, "TZYX") == (1.0, 1.0, 1.0)
    assert resolve_spacing((2, 0.5, 0.5), "ZYXC") == (2.0, 0.5, 0.5)
    for bad, words in [((1, 1), "3 spatial axes"), ((1, -1, 1), "> 0"), ("ab", "numbers"), ((1, np.nan, 1), "> 0")]:
        with pytest.raises(ValueError, match=words):
            resolve_spacing(bad, "ZYX")


# --- 3D supervoxels -------------------------------------------------------------------------------
@pytest.mark.parametrize("method", VOLUME_METHODS)
def test_3d_labels_are_6_connected_int32_1_to_n(method, nuclei):
    img, _ = nuclei
    lab = nds.segment(img, method, axes="ZYX", mode="3d", spacing=(2, 0.5, 0.5), n_segments=150)
    assert lab.shape == img.shape
    assert_6_connected_1_to_n(lab)
    # supervoxels, not slices: most labels span several slices
    zext = [box[0].stop - box[0].start for box in ndi.find_objects(lab) if box is not None]
    assert np.median(zext) > 1


def test_methods_without_volume_runner_refuse_3d_naming_those_that_can(nuclei):
    img, _ = nuclei
    with pytest.raises(ValueError) as e:
        nds.segment(img, "felzenszwalb", axes="ZYX", mode="3d")
    msg = str(e.value)
    assert "felzenszwalb" in msg and all(m in msg for m in VOLUME_METHODS)
    with pytest.raises(ValueError, match="needs a Z axis"):
        nds.segment(img[0], "snic", mode="3d")
    with pytest.raises(ValueError, match="mode must be"):
        nds.segment(img, "snic", axes="ZYX", mode="volume")
    with pytest.raises(ValueError, match="voxels per volume"):
        nds.segment(img[:2, :4, :4], "snic", axes="ZYX", mode="3d", n_segments=33)


@pytest.mark.parametrize("method", ["snic", "slic"])
def test_a_coarser_z_spacing_gives_supervoxels_fewer_slices_deep(method):
    rng = np.random.default_rng(0)
    vol = ndi.gaussian_filter(rng.random((24, 48, 48)), 1.0)

    def z_over_x(dz):
        lab = nds.segment(vol, method, axes="ZYX", mode="3d", spacing=(dz, 1, 1), n_segments=120)
        boxes = [b for b in ndi.find_objects(lab) if b is not None]
        return np.mean([(b[0].stop - b[0].start) / (b[2].stop - b[2].start) for b in boxes])

    iso, coarse = z_over_x(1.0), z_over_x(3.0)
    assert coarse < 0.7 * iso  # cubes in physical units: fewer voxels along the coarse axis


def test_snic_3d_of_one_slice_is_2d_snic():
    from napari_deepsuperpixel.methods.snic import snic
    from napari_deepsuperpixel.methods.snic3d import snic3d

    f = np.random.default_rng(3).random((40, 50, 2)) * 100
    assert np.mean(snic3d(f[None], 60, 10.0)[0] == snic(f, 60, 10.0)) > 0.99


def test_snic_2d_output_is_unchanged():
    # labels of the 2D kernel before the 3D kernel was added (same machine class: IEEE float64)
    from napari_deepsuperpixel.methods.snic import snic

    rng = np.random.default_rng(7)
    f = rng.random((70, 90, 3)) * 100
    f[:, 40:] += 50
    lab = snic(f, 120, 15.0)
    assert hashlib.sha256(lab.tobytes()).hexdigest() == \
        "d21225b92b29b61653f0988f3fbb5375e6c3eca18a32e1e65912f76c2511f6ff"
    g = rng.normal(size=(50, 64, 4))
    lab2 = snic(g, 40, 2.0, distance="cosine")
    assert hashlib.sha256(lab2.tobytes()).hexdigest() == \
        "0acc85f0c6053050f0b30c73738532feb374e4da191b29c10b0bc38822b751e1"


def test_min_size_and_connectivity_in_3d(nuclei):
    from napari_deepsuperpixel.postprocess import enforce_connectivity

    img, _ = nuclei
    lab = nds.segment(img, "slic", axes="ZYX", mode="3d", n_segments=300, min_size=60)
    assert np.bincount(lab.ravel())[1:].min() >= 60
    assert_6_connected_1_to_n(lab)
    two = np.zeros((3, 4, 4), int)
    two[0], two[2] = 5, 5  # one label in two parts (slices 0 and 2), 7 between
    two[1] = 7
    assert enforce_connectivity(two).max() == 3


def test_3d_supervoxels_on_nuclei_recover_the_ground_truth_better_than_chance(nuclei):
    from napari_deepsuperpixel.metrics.superpixel import achievable_segmentation_accuracy as asa

    img, gt = nuclei
    lab = nds.segment(img, "snic", axes="ZYX", mode="3d", spacing=(2, 0.5, 0.5), n_segments=200)
    grid = nds.segment(np.zeros(img.shape), "snic", axes="ZYX", mode="3d", spacing=(2, 0.5, 0.5),
                       n_segments=200)  # the same number of blind grid cells
    assert asa(lab, gt) > asa(grid, gt)


# --- time-lapses ---------------------------------------------------------------------------------
def test_time_matching_keeps_a_static_objects_label():
    rng = np.random.default_rng(0)
    frame = np.zeros((48, 48))
    frame[14:34, 14:34] = 1.0  # a static square
    movie = np.stack([frame + rng.normal(0, 0.05, frame.shape) for _ in range(5)])
    lab = nds.segment(movie, "felzenszwalb", axes="TYX", match_time=True, scale=200)
    centre = lab[:, 24, 24]
    assert np.all(centre == centre[0])
    unmatched = nds.segment(movie, "felzenszwalb", axes="TYX", scale=200)
    assert len(set(unmatched[:, 24, 24])) == 5  # without matching each frame has its own labels


def test_match_labels_through_time_gives_new_labels_to_new_objects():
    a = np.zeros((3, 1, 6), int)
    a[0, 0] = [1, 1, 1, 2, 2, 2]
    a[1, 0] = [9, 9, 9, 4, 4, 4]
    a[2, 0] = [3, 3, 8, 8, 8, 8]  # the right object grew, the left shrank: IoU 2/3 and 3/4
    out = match_labels_through_time(a)
    assert out[:, 0, 0].tolist() == [1, 1, 1] and out[:, 0, 5].tolist() == [2, 2, 2]
    out = match_labels_through_time(a, min_iou=0.9)
    assert out[:, 0, 0].tolist() == [1, 1, 3] and out[:, 0, 5].tolist() == [2, 2, 4]
    with pytest.raises(ValueError, match="min_iou"):
        match_labels_through_time(a, min_iou=0)


def test_tzyx_3d_per_frame_and_tyx_spacetime(nuclei):
    img, _ = nuclei
    movie = np.stack([img, img])
    lab = nds.segment(movie, "snic", axes="TZYX", mode="3d", n_segments=80, match_time=True)
    np.testing.assert_array_equal(lab[0], lab[1])  # the same volume twice: the same labels
    tyx = img[:, :32, :32]
    st = nds.segment(tyx, "snic", axes="TYX", mode="spacetime", n_segments=40, time_spacing=4.0)
    assert st.shape == tyx.shape
    assert_6_connected_1_to_n(st)
    with pytest.raises(ValueError, match="T axis"):
        nds.segment(img, "snic", axes="ZYX", match_time=True)
    with pytest.raises(ValueError, match="4D supervoxels"):
        nds.segment(movie, "snic", axes="TZYX", mode="spacetime")


# --- metrics and generator ------------------------------------------------------------------------
def test_superpixel_metrics_work_on_volumes(nuclei):
    from napari_deepsuperpixel.metrics import segment_f as sf
    from napari_deepsuperpixel.metrics import superpixel as sp

    img, gt = nuclei
    perfect = sp.superpixel_metrics(gt, gt, image=img)
    assert perfect["asa"] == 1.0 and perfect["ue"] == 0.0 and perfect["br"] == 1.0 and perfect["bp"] == 1.0
    assert "co" not in perfect
    shifted = np.roll(gt, 3, axis=0)
    assert sp.achievable_segmentation_accuracy(shifted, gt) < 1.0
    assert sp.boundary_recall(shifted, gt, r=0) < sp.boundary_recall(shifted, gt, r=3)
    assert sp.explained_variation(gt, img) > sp.explained_variation(np.ones_like(gt), img)
    assert sf.segment_f_measure(gt, gt, connected=False)["f"] == 1.0
    assert sf.segment_f_measure(shifted, gt, connected=False)["f"] < 1.0
    cube = np.zeros((6, 6, 6), int)
    cube[2:4, 2:4, 2:4] = 1
    # a voxel is on a surface when its next voxel along Z, Y or X differs: 7 of the cube's 8 (all but the
    # one whose next voxels are all inside) and the 3 x 4 outside voxels just before its three front faces
    assert sp.boundary_map(cube).sum() == 7 + 3 * 4


def test_nuclei_volume_is_seeded_touching_and_anisotropic():
    a, gt = nuclei_volume((10, 64, 64), n_nuclei=20, seed=4)
    b, gt2 = nuclei_volume((10, 64, 64), n_nuclei=20, seed=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(gt, gt2)
    assert a.dtype == np.uint16 and gt.dtype == np.int32 and 5 <= gt.max() <= 25
    # touching: some voxel of one nucleus has a face neighbour in another
    x, y = gt[:, :, :-1], gt[:, :, 1:]
    assert np.any((x > 0) & (y > 0) & (x != y))
    assert a[gt > 0].mean() > 2 * a[gt == 0].mean()


# --- command line -------------------------------------------------------------------------------
def test_cli_segments_a_volume_in_3d(tmp_path, nuclei):
    import tifffile

    img, _ = nuclei
    src = tmp_path / "vol.tif"
    tifffile.imwrite(src, np.stack([img, img[::-1]]))  # C, Z, Y, X
    rc = main(["segment", str(src), "-m", "snic", "--axes", "CZYX", "--mode", "3d", "--spacing", "2,0.5,0.5",
               "-p", "n_segments=100", "-o", str(tmp_path / "out"), "-q", "--format", "tif,overlay"])
    assert rc == 0
    lab = tifffile.imread(tmp_path / "out" / "vol_snic.tif")
    assert lab.shape == img.shape
    np.testing.assert_array_equal(lab, nds.segment(np.stack([img, img[::-1]]), "snic", axes="CZYX", mode="3d",
                                                   spacing=(2, 0.5, 0.5), n_segments=100))
    assert main(["segment", str(src), "-m", "quickshift", "--mode", "3d", "-o", str(tmp_path / "o2")]) == 2


def test_backprop_in_3d_gives_6_connected_labels_and_checks_its_supervoxel_method(nuclei):
    pytest.importorskip("torch")
    img, _ = nuclei
    small = img[:6, :32, :32]
    kw = dict(axes="ZYX", mode="3d", spacing=(2, 0.5, 0.5), n_channels=8, max_iter=3, superpixel_count=40,
              device="cpu")
    res = nds.segment_result(small, "backprop", **kw)
    assert res.labels.shape == small.shape
    assert_6_connected_1_to_n(res.labels)
    assert res.extras["n_iter"] <= 3 and res.extras["memory_estimate"] > 0
    with pytest.raises(ValueError, match="cannot make 3D supervoxels"):
        nds.segment(small, "backprop", **{**kw, "superpixel_method": "felzenszwalb"})


def test_backprop_3d_upsamples_slab_by_slab_exactly_as_the_whole_volume(monkeypatch):
    """The final labels are the argmax of the trilinearly upsampled responses; done a few slices
    at a time (Z is never scaled) they are the same labels, without q full-size channels."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    from napari_deepsuperpixel.methods import backprop3d

    resp = torch.randn(1, 6, 7, 9, 11, generator=torch.Generator().manual_seed(0))
    whole = F.interpolate(resp, size=(7, 40, 50), mode="trilinear", align_corners=False).argmax(1)[0].numpy()
    np.testing.assert_array_equal(backprop3d._full_resolution_argmax(resp, (7, 40, 50)), whole)
    monkeypatch.setattr(backprop3d, "_SLAB_VALUES", 2 * 6 * 40 * 50)  # two slices a slab: 4 slabs
    np.testing.assert_array_equal(backprop3d._full_resolution_argmax(resp, (7, 40, 50)), whole)


def test_backprop_3d_memory_check_counts_the_reclaimable_page_cache(nuclei, tmp_path, monkeypatch):
    """The free-memory check reads MemAvailable (free memory plus the page cache the kernel
    gives back), not the free pages alone: a machine whose memory sits in the cache of files
    read earlier runs the job; a run needing more than is available is refused before it starts."""
    pytest.importorskip("torch")
    from napari_deepsuperpixel.methods import backprop3d

    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 25000000 kB\nMemFree: 700000 kB\nMemAvailable: 15000000 kB\n")
    monkeypatch.setattr(backprop3d, "_MEMINFO", str(meminfo))
    assert backprop3d._free_memory() == 15000000 * 1024
    img, _ = nuclei
    kw = dict(axes="ZYX", mode="3d", spacing=(2, 0.5, 0.5), n_channels=8, max_iter=1, superpixel_count=40,
              device="cpu")
    assert nds.segment(img[:4, :24, :24], "backprop", **kw).max() >= 1
    meminfo.write_text("MemTotal: 25000000 kB\nMemFree: 1 kB\nMemAvailable: 1 kB\n")
    with pytest.raises(ValueError, match="backprop 3D needs about .* GB here, .* are free; lower max_side"):
        nds.segment(img[:4, :24, :24], "backprop", **kw)


def test_sen_in_3d_clusters_the_slice_embeddings_into_6_connected_supervoxels(nuclei):
    pytest.importorskip("torch")
    img, _ = nuclei
    small = img[:6, :48, :48]
    res = nds.segment_result(small, "sen", axes="ZYX", mode="3d", spacing=(2, 0.5, 0.5), n_segments=60,
                             normalize="dtype")
    assert res.labels.shape == small.shape
    assert_6_connected_1_to_n(res.labels)
    assert res.extras["embedding"].shape == small.shape + (16,)
    # supervoxels cross slices (one nucleus is not six unrelated regions) and the count is about the one asked
    assert any(len(np.unique(np.nonzero(res.labels == v)[0])) > 1 for v in range(1, res.labels.max() + 1))
    assert 30 <= res.labels.max() <= 90
    # each slice's embedding is the 2D method's embedding of that slice (same normalisation)
    one = nds.segment_result(small[2], "sen", n_segments=60, normalize="dtype")
    np.testing.assert_allclose(res.extras["embedding"][2], one.extras["embedding"], atol=1e-5)
