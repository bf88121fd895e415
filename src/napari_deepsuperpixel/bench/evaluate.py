"""The BSDS500 benchmark on a folder of results (what ``deepsuperpixel eval`` runs).

A drop-in replacement for the official MATLAB ``allBench`` /
``boundaryBench`` / ``regionBench``: every image with a ground-truth file in
``--gt`` is evaluated from its result in ``--results`` and the official output
files are written to ``-o``.

Result files (looked up by image id, in this order): ``<id>.mat`` (``ucm2`` or
``segs``), ``<id>.png`` (boundary map, /255), ``<id>.tif`` / ``<id>.tiff``
(our label maps), or a single ``<id>_*.tif`` (the ``deepsuperpixel segment``
output ``<id>_<method>.tif``).

Per-image results are cached in ``OUT/.eval_cache/<id>.npz`` together with a
key made of the SHA-256 of the result and ground-truth files, every setting
and the package version; a cached result is reused only when the key matches (the MATLAB code
silently reuses stale ``*_ev1.txt`` files; this does not).
"""

from __future__ import annotations

from pathlib import Path

from ..io.writes import check_output_folder
from ..metrics.boundary import MAX_DIST
from ..metrics.bsds import OFFICIAL_FILES
from ..parallel import completed, executor_for
from .cache import ResultCache, cache_key, file_digest

#: bump when per-image results change meaning (invalidates caches)
CACHE_VERSION = "1"
CACHE_DIR = ".eval_cache"
BENCHMARKS = ("all", "boundary", "region")
RESULT_SUFFIXES = (".mat", ".png", ".tif", ".tiff")

#: the official files of boundaryBench and of regionBench
_BDRY_FILES = tuple(f for f in OFFICIAL_FILES if f.startswith("eval_bdry"))
_REG_FILES = tuple(f for f in OFFICIAL_FILES if not f.startswith("eval_bdry"))


def find_result_file(results_dir: Path, name: str):
    """The result file of image ``name`` in ``results_dir`` (``None`` if there is none).

    Raises ``ValueError`` when several ``<name>_*.tif`` files make the choice ambiguous.
    """
    for suf in RESULT_SUFFIXES:
        p = results_dir / f"{name}{suf}"
        if p.is_file():
            return p
    cands = sorted(p for p in results_dir.glob(f"{name}_*.tif") if p.is_file())
    if len(cands) > 1:
        raise ValueError(f"several result files for image {name}: {[c.name for c in cands]}; "
                         "keep one per image in --results (or name it <id>.tif)")
    return cands[0] if cands else None


def _cache_key(result_path, gt_path, settings: dict) -> str:
    return cache_key(settings, cache_version=CACHE_VERSION, result=file_digest(result_path), gt=file_digest(gt_path))


def named_input_error(files: str, error: BaseException):
    """An :class:`~napari_deepsuperpixel.errors.InputError` of one line: ``files`` (the files a check
    was made on, e.g. ``"result file a.tif (ground truth a.mat)"``), then what the check found.

    ``deepsuperpixel eval`` and ``deepsuperpixel bench`` name the files of a size mismatch, negative
    labels or a result that is no label map this way.
    """
    from ..errors import InputError

    return InputError(f"{files}: {' '.join(str(error).split())}")


def read_input(read, path, what: str, fix: str):
    """``read(path)``; a damaged file is one clear error naming it (``ValueError`` stays as is with the path).

    ``deepsuperpixel eval`` reads its result and ground-truth files, ``deepsuperpixel bench`` its
    BSDS500 images and ground truth, through this."""
    from ..io.files import quiet_tifffile

    try:
        with quiet_tifffile():
            return read(path)
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001  (the readers raise many kinds for damaged files)
        reason = " ".join(str(e).split()) or type(e).__name__
        if str(path) in reason:
            raise ValueError(f"{reason}; {fix}") from None
        raise ValueError(f"cannot read the {what} {path}: {reason}; {fix}") from None


def _evaluate_one(job):
    """Worker: evaluate one image (top-level so that process pools can pickle it)."""
    from ..datasets.bsds import load_ground_truth
    from ..metrics.bsds import evaluate_image, load_result

    name, result_path, gt_path, settings = job
    result, kind = read_input(load_result, result_path, "result file", "re-create it (or remove it)")
    gt = read_input(load_ground_truth, gt_path, "ground-truth file", "restore it from BSDS500")
    bench = settings["benchmark"]
    try:
        ev = evaluate_image(result, gt, nthresh=settings["nthresh"], kind=kind, max_dist=settings["max_dist"],
                            thin=settings["thin"], matcher=settings["matcher"], name=name,
                            boundary=bench in ("all", "boundary"),
                            region=bench in ("all", "region") and kind != "pb")
    except (ValueError, FloatingPointError) as e:  # a size mismatch, negative labels...: name both files
        raise named_input_error(f"result file {result_path} (ground truth {gt_path})", e) from e
    return name, ev


def evaluate_folder(gt_dir, results_dir, outdir, *, nthresh: int = 99, workers: int = 1,
                    benchmark: str = "all", max_dist: float = MAX_DIST, thin: bool = True,
                    matcher: str = "exact", overwrite: bool = False, cache: bool = True,
                    progress: bool = False):
    """Evaluate a folder of results against a folder of BSDS ground truth.

    Parameters
    ----------
    gt_dir : str or Path
        Folder of ``<id>.mat`` ground-truth files; every one is evaluated.
    results_dir : str or Path
        Folder of result files (see the module docstring for names and formats).
    outdir : str or Path
        Where the official files (and the per-image cache) go.
    nthresh : int
        Thresholds for ucm2 and boundary maps (segs use their own count).
    workers : int
        Worker processes (1 = in this process).
    benchmark : {"all", "boundary", "region"}
        Which benchmarks to run ("all": boundary, plus region where the
        format allows; png boundary maps have no regions).
    max_dist, thin, matcher
        See :func:`napari_deepsuperpixel.metrics.bsds.evaluate_image`.
    overwrite : bool
        Replace existing official files in ``outdir``.
    cache : bool
        Reuse (and write) per-image results whose inputs are unchanged.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    Summary
        See :func:`napari_deepsuperpixel.metrics.bsds.collect`.
    """
    from ..datasets.bsds import ground_truth_files
    from ..metrics.bsds import MATCHERS, write_official_files

    if benchmark not in BENCHMARKS:
        raise ValueError(f"benchmark must be one of {list(BENCHMARKS)}, got {benchmark!r}")
    if matcher not in MATCHERS:
        raise ValueError(f"matcher must be one of {list(MATCHERS)}, got {matcher!r}")
    if int(nthresh) != nthresh or nthresh < 1:
        raise ValueError(f"--nthresh must be a positive integer, got {nthresh!r}")
    if int(workers) != workers or workers < 1:
        raise ValueError(f"--workers must be a positive integer, got {workers!r}")
    import math

    if isinstance(max_dist, bool) or not isinstance(max_dist, (int, float)) or not math.isfinite(max_dist) \
            or not 0 < max_dist <= 1:
        from ..errors import InputError

        raise InputError(f"max_dist is the boundary matching tolerance as a fraction of the image diagonal: give "
                         f"a number in (0, 1] (the benchmark's 0.0075), got {max_dist!r}")
    results_dir = Path(results_dir)
    outdir = Path(outdir)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"results folder not found: {results_dir}")
    check_output_folder(outdir)  # before any work (creates it, writes nothing in it)
    gts = ground_truth_files(gt_dir)
    if not gts:
        raise ValueError(f"no ground-truth .mat files in {gt_dir}")
    jobs, missing = [], []
    settings = {"nthresh": int(nthresh), "max_dist": float(max_dist), "thin": bool(thin),
                "matcher": matcher, "benchmark": benchmark}
    for name, gt_path in gts.items():
        rp = find_result_file(results_dir, name)
        if rp is None:
            missing.append(name)
        else:
            jobs.append((name, rp, gt_path, settings))
    if missing:
        raise ValueError(f"{len(missing)} of {len(gts)} images in {gt_dir} have no result file in {results_dir} "
                         f"(e.g. {', '.join(missing[:5])}); expected <id>.mat, <id>.png or <id>.tif")
    from ..io.files import IMAGE_SUFFIXES, check_image_file

    for _, rp, _, _ in jobs:  # a damaged or mislabelled image file is refused before any work
        if rp.suffix.lower() in IMAGE_SUFFIXES:
            try:
                check_image_file(rp)
            except OSError as e:
                raise ValueError(f"result file: {e}") from None
    any_png = any(j[1].suffix.lower() == ".png" for j in jobs)
    if benchmark == "region" and any_png:
        raise ValueError("region benchmarks need segmentations (ucm2, segs or labels), not png boundary maps")
    targets = (list(_BDRY_FILES) if benchmark in ("all", "boundary") else []) + \
              (list(_REG_FILES) if benchmark in ("all", "region") and not any_png else [])
    existing = [str(outdir / f) for f in targets if (outdir / f).exists()]
    if existing and not overwrite:
        raise FileExistsError("refusing to overwrite existing output(s): " + ", ".join(existing)
                              + " (pass --overwrite / overwrite=True to replace them)")

    store = ResultCache(outdir / CACHE_DIR, "npz", enabled=cache)
    done, todo, keys = {}, [], {}
    for k, job in enumerate(jobs):
        name, rp, gp, _ = job
        if cache:
            keys[name] = _cache_key(rp, gp, settings)
            ev = store.load(name, keys[name])
            if ev is not None:
                done[name] = ev
                continue
        todo.append(k)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), initial=len(done), desc="eval", unit="img")
    try:
        if todo:
            with executor_for(len(todo), workers) as executor:
                for _, fut in completed(executor, _evaluate_one, todo, jobs.__getitem__):
                    name, ev = fut.result()
                    done[name] = ev
                    store.save(name, keys.get(name, ""), ev)
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()

    names = [j[0] for j in jobs]
    return write_official_files(outdir, names, [done[n] for n in names], overwrite=overwrite)
