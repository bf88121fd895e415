"""Large 2D images block by block (napari_deepsuperpixel.tiled): no seams, unique connected labels,
lazy input read block by block, zarr output, Cancel between blocks."""

from pathlib import Path

import numpy as np
import pytest

da = pytest.importorskip("dask.array")

import napari_deepsuperpixel as nds  # noqa: E402
from napari_deepsuperpixel import Cancelled, segment, segment_result  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "microscopy" / "dsb2018_stage1_subset"


def _connected_and_unique(labels):
    from skimage.measure import label

    labels = np.asarray(labels)
    n = int(labels.max())
    assert labels.min() == 1 and np.unique(labels).size == n  # 1..N, no gaps
    assert label(labels, background=-1, connectivity=1).max() == n  # each label one 4-connected region


@pytest.fixture(scope="module")
def big():
    """A 700 x 900 grey image with structure (coins, tiled and mirrored)."""
    from skimage import data

    c = data.coins()
    img = np.block([[c, c[:, ::-1]], [c[::-1], c]])[:700, :900]
    return np.ascontiguousarray(img)


def test_an_image_smaller_than_a_block_gives_the_untiled_labels(big):
    small = big[:300, :400]
    for m in ("snic", "watershed"):
        whole = segment(small, m, n_segments=300, block_size=None)
        np.testing.assert_array_equal(segment(small, m, n_segments=300, block_size=512), whole)


@pytest.mark.parametrize("method", ["snic", "watershed"])
def test_blocks_give_unique_connected_labels_without_seams(big, method):
    whole = segment(big, method, n_segments=1500, block_size=None)
    res = segment_result(big, method, n_segments=1500, block_size=256)
    assert res.extras["blocks"] == (3, 3)
    _connected_and_unique(res.labels)
    assert res.labels.dtype == np.int32 and res.labels.shape == big.shape
    # the number of superpixels is the grid's, as in the untiled run (no extra pieces at borders)
    if method == "snic":
        assert res.n_segments == whole.max()
        # the seeds are the same: most pixels get the very same label as in the untiled run
        assert (res.labels == whole).mean() > 0.97


def test_superpixels_crossing_a_block_border_are_not_cut(big):
    """A superpixel on a block border has one label on both sides: as many border-crossing
    superpixels as the untiled run has."""
    tile = 256
    res = segment(big, "snic", n_segments=1500, block_size=tile)
    whole = segment(big, "snic", n_segments=1500, block_size=None)

    def crossing(lab):
        left, right = lab[:, tile - 1], lab[:, tile]
        return np.unique(left[left == right]).size

    assert crossing(res) >= 0.9 * crossing(whole) > 0


@pytest.mark.parametrize("n_segments", [1500, 60000])
def test_stitching_joins_the_pieces_of_a_too_small_halo(big, monkeypatch, n_segments):
    """With a halo of 2 pixels the blocks disagree at their borders; the stitching still gives
    labels 1..N, each one connected, and reports the pieces it joined (also with more than
    46,341 pieces, whose pair numbers do not fit in int32)."""
    from napari_deepsuperpixel.tiled import blocks, policy

    for module in (blocks, policy):
        monkeypatch.setattr(module, "halo_for", lambda ny, nx, k: 2)
    res = segment_result(big, "snic", n_segments=n_segments, compactness=2.0, block_size=128)
    _connected_and_unique(res.labels)
    assert res.extras["fragments"] > 0


@pytest.mark.shared
def test_asa_of_blocks_is_within_half_a_point_of_the_untiled_run():
    """On real microscopy (a DSB2018 image tiled 2 x 2) tiled SNIC and watershed lose at most
    0.005 ASA against the nucleus masks (the tolerance docs/large_images.md states)."""
    if not SHARED.is_dir():
        pytest.skip(f"DSB2018 subset not found at {SHARED}")
    import imageio.v3 as iio

    from napari_deepsuperpixel.metrics.superpixel import achievable_segmentation_accuracy as asa

    name = sorted((SHARED / "images").glob("fluorescence_*.png"))[0].name
    img, gt = iio.imread(SHARED / "images" / name), iio.imread(SHARED / "masks" / name)
    img, gt = np.tile(img, (2, 2)), np.tile(gt, (2, 2))
    for m in ("snic", "watershed"):
        k = img.size // 400
        whole = segment(img, m, n_segments=k, block_size=None)
        blocks = segment(img, m, n_segments=k, block_size=max(img.shape) // 2 - 8)
        assert asa(blocks, gt) >= asa(whole, gt) - 0.005, m


class _Guarded:
    """An array-like that refuses to be read more than a block at a time."""

    def __init__(self, data, limit):
        self.data, self.limit = data, limit
        self.shape, self.dtype, self.ndim = data.shape, data.dtype, data.ndim
        self.reads = 0

    def __getitem__(self, key):
        part = self.data[key]
        if part.size > self.limit:
            raise AssertionError(f"read {part.shape} at once")
        self.reads += 1
        return part


def test_a_dask_image_is_read_block_by_block_never_whole(big, monkeypatch):
    guarded = _Guarded(big, limit=big.size // 3)
    lazy = da.from_array(guarded, chunks=(128, 128), asarray=True)

    def refuse(self, *a, **k):
        if self.shape == big.shape:
            raise AssertionError("the whole dask array was computed")
        return np.asarray(self.compute(scheduler="sync"))

    monkeypatch.setattr(da.Array, "__array__", refuse)
    labels = segment(lazy, "snic", n_segments=1500, block_size=256)
    monkeypatch.undo()
    assert guarded.reads > 0
    np.testing.assert_array_equal(labels, segment(big, "snic", n_segments=1500, block_size=256))


def test_zarr_in_and_out(big, tmp_path):
    zarr = pytest.importorskip("zarr")
    src = zarr.create_array(str(tmp_path / "in.zarr"), shape=big.shape, chunks=(200, 200), dtype=big.dtype)
    src[:] = big
    out = segment(zarr.open_array(str(tmp_path / "in.zarr"), mode="r"), "snic", n_segments=1500,
                  block_size=256, out=tmp_path / "labels.zarr")
    expected = segment(big, "snic", n_segments=1500, block_size=256)
    np.testing.assert_array_equal(np.asarray(zarr.open_array(str(tmp_path / "labels.zarr"))[:]), expected)
    assert out.shape == big.shape
    with pytest.raises(FileExistsError, match="overwrite"):
        segment(big, "snic", n_segments=1500, block_size=256, out=tmp_path / "labels.zarr")


def test_a_tiled_tiff_is_opened_lazily(big, tmp_path, monkeypatch):
    pytest.importorskip("zarr")
    import tifffile

    from napari_deepsuperpixel.io import lazy

    tifffile.imwrite(tmp_path / "big.tif", big, tile=(128, 128))
    monkeypatch.setattr(lazy, "LAZY_FILE_BYTES", 1000)
    img = lazy.open_image(tmp_path / "big.tif")
    assert isinstance(img, da.Array) and img.shape == big.shape
    np.testing.assert_array_equal(segment(img, "snic", n_segments=1500, block_size=256),
                                  segment(big, "snic", n_segments=1500, block_size=256))


def test_progress_per_block_and_cancel_between_blocks(big, tmp_path):
    pytest.importorskip("zarr")
    events = []
    segment(big, "snic", n_segments=1500, block_size=256, progress=events.append)
    blocks = [e for e in events if e.stage == "blocks"]
    assert [e.step for e in blocks][-1] == 9 and all(e.total == 9 for e in blocks)

    seen = []

    def cancel_after_two(ev):
        seen.append(ev)
        if len([e for e in seen if e.stage == "blocks"]) >= 2:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        segment(big, "snic", n_segments=1500, block_size=256, progress=cancel_after_two,
                out=tmp_path / "cancelled.zarr")
    assert len([e for e in seen if e.stage == "blocks"]) < 9
    assert not (tmp_path / "cancelled.zarr").exists()  # no half-written result is left


def test_clear_errors_before_any_work(big):
    with pytest.raises(ValueError, match="cannot run in blocks"):
        segment(big, "slic", block_size=256)
    with pytest.raises(ValueError, match="n_segments of at least"):
        segment(big, "snic", n_segments=20, block_size=128)
    with pytest.raises(ValueError, match="min_size"):
        segment(big, "snic", n_segments=1500, min_size=20, block_size=256)
    with pytest.raises(ValueError, match="2D"):
        segment(np.stack([big, big]), "snic", n_segments=1500, block_size=256)
    with pytest.raises(ValueError, match="block_size"):
        segment(big, "snic", block_size="big")


def test_large_images_are_tiled_automatically(monkeypatch, big):
    from napari_deepsuperpixel.tiled import policy

    monkeypatch.setattr(policy, "AUTO_PIXELS", 500 * 500)
    monkeypatch.setattr(policy, "DEFAULT_BLOCK", 256)
    res = nds.segment_result(big, "snic", n_segments=1500)
    assert res.extras["blocks"] == (3, 3)
    assert "blocks" not in nds.segment_result(big, "slic", n_segments=100).extras  # SLIC: whole


def test_stitching_memory_is_bounded_by_the_blocks_not_the_image():
    """Stitching keeps only the edges of each block: its peak allocation on a 2048 x 2048 label
    image in 64 blocks stays below the labels' own 16 MB (it held every block's component image,
    12 bytes a pixel, until the end)."""
    import tracemalloc

    from napari_deepsuperpixel import tiled
    from napari_deepsuperpixel._types import Progress

    rng = np.random.default_rng(0)
    side, tile = 2048, 256
    grid = rng.integers(1, 10**6, size=(side // 16, side // 16)).astype(np.int32)
    labels = np.kron(grid, np.ones((16, 16), np.int32))  # squares of 16 x 16 pixels
    chunks = (tile,) * (side // tile)
    runner = tiled.runner._Runner(Progress(), threads=1)
    tiled.stitch._stitch_table(labels[:512, :512], (tile, tile), (tile, tile), runner)  # imports
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        tiled.stitch._stitch_table(labels, chunks, chunks, runner)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < labels.nbytes, f"stitching peaked at {peak / 2**20:.0f} MB"


def test_blocks_on_a_dask_cluster_give_the_labels_of_the_threaded_run(big, tmp_path):
    """With scheduler= the blocks, the stitching and the relabelling run on the workers of a
    dask cluster (worker processes: everything they get is pickled), which read a lazily opened
    TIFF and write the zarr store themselves; the labels are those of the run on threads here,
    and progress comes per block."""
    distributed = pytest.importorskip("distributed")
    import tifffile

    from napari_deepsuperpixel.io.lazy import open_tiff_lazy

    path = tmp_path / "big.tif"
    tifffile.imwrite(path, big, tile=(128, 128))
    here = segment(big, "snic", n_segments=1500, block_size=256)
    events = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        res = segment_result(open_tiff_lazy(path), "snic", n_segments=1500, block_size=256,
                             out=tmp_path / "labels.zarr", scheduler=client, progress=events.append)
        np.testing.assert_array_equal(np.asarray(res.labels[:]), here)
        assert [e.step for e in events if e.stage == "blocks"] == list(range(1, 10))
        # Cancel between blocks: the blocks still queued are cancelled and the half-written store removed
        # (a block already running writes nothing once the store is gone)

        def cancel_after_the_first_block(ev):
            if ev.stage == "blocks":
                raise Cancelled("stop")

        with pytest.raises(Cancelled):
            segment_result(open_tiff_lazy(path), "snic", n_segments=1500, block_size=256,
                           out=tmp_path / "cancelled.zarr", scheduler=client, progress=cancel_after_the_first_block)
        assert not (tmp_path / "cancelled.zarr").exists()
        with pytest.raises(ValueError, match="written by its workers: give out='labels.zarr'"):
            segment(big, "snic", n_segments=1500, block_size=256, scheduler=client)
        with pytest.raises(ValueError, match="this image is segmented whole: give block_size="):
            segment(big, "slic", n_segments=100, scheduler=client)


def test_a_block_finishing_after_cancel_does_not_recreate_the_removed_store(tmp_path):
    """A cancelled run removes its zarr store while blocks may still be running (on dask's
    threads or a cluster's workers); zarr would recreate the folders of a chunk it writes, leaving
    a broken store behind, so a block writes nothing once the run has closed its writes, nor (on a
    cluster's workers, where only the path travels) once the store is gone."""
    import pickle
    import shutil

    from napari_deepsuperpixel import tiled
    from napari_deepsuperpixel.io.lazy import create_labels_zarr

    path = tmp_path / "labels.zarr"
    target = create_labels_zarr(path, (64, 64), chunks=32)
    writes = tiled.runner._Writes(path)
    tiled.stitch._write_block(np.ones((32, 32), np.int32), target, 0, 32, 0, 32, writes)
    assert int(target[0, 0]) == 1
    on_a_worker = pickle.loads(pickle.dumps(writes))
    writes.close()
    shutil.rmtree(path)
    tiled.stitch._write_block(np.ones((32, 32), np.int32), target, 32, 64, 0, 32, writes)
    tiled.stitch._relabel_block(target, np.arange(10, dtype=np.int32), 0, 0, 32, 0, 32, writes)
    assert not path.exists()
    assert not on_a_worker.put(target, 32, 64, 32, 64, np.ones((32, 32), np.int32))  # the store is gone
    assert not path.exists()


@pytest.mark.parametrize("how", ["cancel", "error"])
def test_a_block_writing_at_cancel_does_not_recreate_the_removed_temporary_store(big, tmp_path, monkeypatch,
                                                                                   how):
    """out='x.zarr' is written to a temporary store beside it, removed when the run is cancelled or
    fails. A block whose write is under way on the other thread at that moment (held here until the run
    has begun to close its writes, then 0.2 s more) must end before the store is removed, or zarr would
    recreate the store's folders when it goes on; and nothing of the run is left."""
    import threading
    import time

    from napari_deepsuperpixel.methods import snic
    from napari_deepsuperpixel.tiled import blocks as tiled_blocks
    from napari_deepsuperpixel.tiled import runner as tiled_runner

    real_runner, real_write, real_close = snic.run_snic_block, tiled_blocks._write_block, tiled_runner._Writes.close
    held, closing, finished = threading.Event(), threading.Event(), threading.Event()
    first = []
    lock = threading.Lock()

    class Held:  # the first block's target: its write is under way (past the checks) and held
        def __init__(self, target):
            self.target = target

        def __setitem__(self, key, value):
            held.set()
            assert closing.wait(30)
            time.sleep(0.2)  # the store would be removed now if close() did not wait
            self.target[key] = value

    def write_block(labels, target, *args):
        with lock:
            me = not first
            first.append(1)
        try:
            return real_write(labels, Held(target) if me else target, *args)
        finally:
            if me:
                finished.set()

    def runner(feats, **kw):  # "error": a block started while the first write is held fails
        if how == "error" and held.is_set():
            raise RuntimeError("a block failed")
        return real_runner(feats, **kw)

    def close(self):
        closing.set()
        real_close(self)

    monkeypatch.setattr(snic, "run_snic_block", runner)
    monkeypatch.setattr(tiled_blocks, "_write_block", write_block)
    monkeypatch.setattr(tiled_runner._Writes, "close", close)

    def cancel_check():  # Cancel once the first write is under way (checked before every other block)
        return how == "cancel" and held.is_set()

    out = tmp_path / "labels.zarr"
    with pytest.raises(Cancelled if how == "cancel" else RuntimeError):
        segment_result(big, "snic", n_segments=1500, block_size=256, out=out, cancel_check=cancel_check)
    assert finished.wait(30)  # the held write had ended when the run returned
    time.sleep(0.1)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no store, temporary or final, recreated


def test_closing_the_writes_waits_for_a_write_under_way():
    """_Writes.close() returns only after a write already under way has ended (then the store can go)."""
    import threading

    from napari_deepsuperpixel import tiled

    inside, release = threading.Event(), threading.Event()

    class SlowTarget:
        def __setitem__(self, key, value):
            inside.set()
            assert release.wait(30)

    writes = tiled.runner._Writes()
    writer = threading.Thread(target=writes.put, args=(SlowTarget(), 0, 1, 0, 1, 1))
    writer.start()
    assert inside.wait(30)
    closer = threading.Thread(target=writes.close)
    closer.start()
    closer.join(0.3)
    assert closer.is_alive()  # still waiting for the write
    release.set()
    closer.join(30)
    writer.join(30)
    assert not closer.is_alive()
    assert not writes.put(SlowTarget(), 0, 1, 0, 1, 1)  # refused after close, never reaching the target


def test_auto_blocks_are_sized_to_the_block_memory():
    """block_size='auto' takes blocks whose threads hold at most BLOCK_MEMORY (the method's declared memory per
    pixel), so that an image in memory peaks near its input + its labels + the blocks (16384 x 16384 uint16, 100,000
    SNIC superpixels: blocks of 1792 instead of 4096)."""
    from napari_deepsuperpixel._types import build_params
    from napari_deepsuperpixel.io.layout import describe_image
    from napari_deepsuperpixel.tiled import policy

    info = nds.get_method("snic")
    layout = describe_image(np.broadcast_to(np.zeros(1, np.uint16), (16384, 16384)))
    params = build_params(info.params_cls, "snic", {"n_segments": 100_000})
    halo = policy.halo_for(16384, 16384, 100_000)
    tile = policy.choose_tile(layout, info, params, "auto")
    assert tile == policy.memory_tile(info, 1, halo) == 1792
    assert policy.BLOCK_THREADS * (tile + 2 * halo) ** 2 * (info.bytes_per_pixel + 4) <= policy.BLOCK_MEMORY
    assert tile >= 4 * halo


@pytest.mark.parametrize("kind", ["numpy", "memmap"])
def test_an_array_in_memory_or_a_memory_map_is_not_copied_for_blocks(tmp_path, kind):
    """The blocks read an array in memory or a memory map region by region: wrapping it for dask
    allocates nothing of its size (dask.array.from_array copies an array with a copy method, and reads
    a memory map whole), and it is wrapped in the blocks' own chunks (no rechunk step whose pieces dask
    would hold)."""
    import tracemalloc

    from napari_deepsuperpixel.io.layout import describe_image
    from napari_deepsuperpixel.io.lazy import as_dask
    from napari_deepsuperpixel.tiled.blocks import _channels

    side = 2048
    img = (np.arange(side * side, dtype=np.uint32).reshape(side, side) % 251).astype(np.uint16)
    if kind == "memmap":
        np.save(tmp_path / "img.npy", img)
        img = np.load(tmp_path / "img.npy", mmap_mode="r")
    tracemalloc.start()
    try:
        arr = as_dask(img)
        wrapped = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert wrapped < img.nbytes / 8, f"as_dask allocated {wrapped / 2**20:.1f} MB"
    np.testing.assert_array_equal(arr[100:900, 1500:].compute(), np.asarray(img[100:900, 1500:]))
    chans = _channels(img, describe_image(img), ((1024, 1024), (512,) * 4))
    assert chans[0].chunks == ((1024, 1024), (512,) * 4) and chans[0].npartitions == 8  # no rechunk step
