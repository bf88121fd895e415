"""The benchmark runner: a registry method over a dataset split -> tables and plots.

:func:`run_benchmark` segments every image of a split with a registered
method (through :func:`napari_deepsuperpixel.segment_result`, so preparation
and connectivity are those of the library), once per value of an optional
parameter sweep, evaluates each result against the ground truth, and writes
tables, a per-image CSV and plots.

The sweep plays the role of the official BSDS benchmark's thresholds (a
hierarchy's scales): every sweep value gives one segmentation per image, the
dataset-scale optimum over sweep values is the ODS, the per-image optimum the
OIS, and the boundary precision-recall points of the sweep values give the
boundary AP.

Every (image, sweep value) evaluation is one task. Tasks run in local
processes (:class:`concurrent.futures.ProcessPoolExecutor`, default), in this
process (``workers=1``), or on an existing Dask distributed cluster
(``scheduler="tcp://..."``, through :meth:`distributed.Client.get_executor`,
the same ``concurrent.futures`` interface). Each finished task is cached as
JSON under ``OUT/cache``, keyed by a hash of the method, its full parameters,
the seed, the image and ground-truth content, the metric settings and the
package version; a rerun reuses exactly the unchanged tasks.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from .._util import atomic_write, atomic_write_json, atomic_write_text

#: metric columns of the per-image table (superpixel metrics)
SP_COLUMNS = ("n_segments", "asa", "ue", "ue_np", "br", "bp", "bf1", "ev", "co")
#: region metric columns (official BSDS definitions)
REGION_COLUMNS = ("covering", "pri", "vi")
#: boundary columns (official BSDS matching)
BOUNDARY_COLUMNS = ("bdry_p", "bdry_r", "bdry_f")
#: Kanezaki segment F-measure columns
SEGF_COLUMNS = ("segf_p50", "segf_r50", "segf_f50", "segf_f70")

CACHE_VERSION = 1


# ---------------------------------------------------------------- data sets
@dataclass
class _Item:
    name: str
    image: np.ndarray
    segmentations: list
    boundaries: Optional[list]  # None: no official boundary benchmark (folder datasets)


def load_items(data=None, *, split: str = "test", limit: Optional[int] = None) -> tuple:
    """The images and ground truth a benchmark runs on.

    Parameters
    ----------
    data : None, "bsds", str or Path
        ``None`` or ``"bsds"``: the BSDS500 folder next to the repository
        (``../shared/BSDS500``). A folder with ``images/`` and ``masks/``: a
        :class:`~napari_deepsuperpixel.datasets.folder.FolderDataset` (mask
        value 0 becomes a ground-truth segment of its own). A BSDS500 folder
        (with ``data/images`` and ``data/groundTruth``): that copy of BSDS500.
    split : {"train", "val", "test"}
        BSDS500 split (ignored for folder datasets).
    limit : int, optional
        Only the first ``limit`` images (sorted by name).

    Returns
    -------
    (description, list of items)
    """
    if limit is not None and int(limit) < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if data is None or (isinstance(data, str) and data.lower() == "bsds"):
        from ..datasets.bsds import find_bsds500

        return _bsds_items(find_bsds500(), split, limit)
    root = Path(data)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root}")
    if (root / "images").is_dir() and (root / "masks").is_dir():
        from ..datasets.folder import FolderDataset

        ds = FolderDataset(root, limit=limit)
        items = []
        for name, image, masks in ds:
            # shift so that the background (0) is a segment for covering/PRI/VI too
            segs = [np.asarray(m).astype(np.int64) - int(np.min(m)) + 1 for m in masks]
            items.append(_Item(name, image, segs, None))
        return f"folder {root}", items
    return _bsds_items(root, split, limit)


def _bsds_items(root, split, limit):
    from ..datasets.bsds import BSDS500

    ds = BSDS500(root)
    ids = ds.ids(split)
    if not ids:
        raise ValueError(f"no images in split {split!r} of {root}")
    if limit is not None:
        ids = ids[: int(limit)]
    items = []
    for i in ids:
        s = ds.sample(split, i)
        gt = s.load_ground_truth()
        items.append(_Item(i, s.load_image(), list(gt.segmentations), list(gt.boundaries)))
    return f"BSDS500 {split} ({root})", items


# ------------------------------------------------------------------- hashing
def _array_digest(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    h = hashlib.sha256()
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def _task_key(spec: dict, image_digest: str, gt_digest: str) -> str:
    from .. import __version__

    payload = json.dumps({"spec": spec, "image": image_digest, "gt": gt_digest, "version": __version__,
                          "cache_version": CACHE_VERSION}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


# --------------------------------------------------------------- evaluation
def evaluate_segmentation(labels, image, segmentations, boundaries=None, *, r: float = 2,
                          window: str = "square", reduce: str = "mean") -> dict:
    """Every benchmark metric of one segmentation of one image.

    Parameters
    ----------
    labels : (Y, X) int array
        The segmentation.
    image : array
        The image (for explained variation).
    segmentations : list of (Y, X) int arrays
        Ground-truth label maps, one per annotator.
    boundaries : list of (Y, X) bool arrays, optional
        The annotators' stored boundary maps; when given, the official BSDS
        boundary counts of the segmentation's boundaries are computed too.
    r, window, reduce
        Superpixel metric settings (see
        :func:`~napari_deepsuperpixel.metrics.superpixel.superpixel_metrics`).

    Returns
    -------
    dict
        Superpixel metrics, region metrics and their covering counts, boundary
        counts (with ``boundaries``), and the Kanezaki segment matching
        (``segment_matches``, a dict).
    """
    from ..metrics.segment_f import match_segments, segment_f_measure
    from ..metrics.superpixel import superpixel_metrics

    labels = np.asarray(labels)
    row: dict[str, Any] = superpixel_metrics(labels, segmentations, _ev_image(image), r=r, window=window,
                                             reduce=reduce)
    row.update(_bsds_counts(labels, segmentations, boundaries))
    m = match_segments(labels, segmentations)
    f50, f70 = segment_f_measure(m, threshold=0.5), segment_f_measure(m, threshold=0.7)
    row.update(segf_p50=f50["precision"], segf_r50=f50["recall"], segf_f50=f50["f"], segf_f70=f70["f"])
    row["segment_matches"] = m.to_dict()
    return row


def _bsds_counts(labels, segmentations, boundaries) -> dict:
    """Official BSDS per-image counts of one segmentation (one "threshold").

    Uses :func:`napari_deepsuperpixel.metrics.bsds.evaluate_image` (covering,
    PRI, VI and, with ``boundaries``, the boundary counts of ``seg2bdry``), and
    keeps each ground-truth region's best IoU so that the "best covering" over
    a sweep can be formed later.
    """
    from ..datasets.bsds import GroundTruth
    from ..metrics.bsds import evaluate_image
    from ..metrics.region import contingency_table, covering_from_tables

    if boundaries is not None:
        gt = GroundTruth([np.asarray(s) for s in segmentations], [np.asarray(b, bool) for b in boundaries])
    else:
        gt = GroundTruth.from_segmentations(segmentations)
    ev = evaluate_image(labels, gt, kind="labels", boundary=boundaries is not None, region=True)
    out: dict[str, Any] = {"bsds_eval": {k: v for k, v in ev.to_dict().items() if k not in ("name", "kind")}}
    rc = ev.region
    out.update(covering=float(rc.covering[0]), pri=float(rc.ri[0]), vi=float(rc.voi[0]))
    tables, gls, su = [], [], None
    for g in segmentations:
        t, su, gl = contingency_table(labels, g)
        tables.append(t)
        gls.append(gl)
    c = covering_from_tables(tables, su, gls)
    out["cover_matches_gt"] = c.matches_gt
    out["cover_gt_areas"] = c.gt_areas
    if ev.boundary is not None:
        bc = ev.boundary
        out.update(bdry_r=float(bc.recall[0]), bdry_p=float(bc.precision[0]), bdry_f=float(bc.f[0]),
                   bdry_cntR=float(bc.cntR[0]), bdry_sumR=float(bc.sumR[0]), bdry_cntP=float(bc.cntP[0]),
                   bdry_sumP=float(bc.sumP[0]))
    return out


def _ev_image(image):
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[-1] == 4:
        a = a[..., :3]
    return a.astype(np.float64)


def _run_task(task: dict) -> dict:
    """One (image, parameter set): segment, evaluate, return a JSON-able row."""
    from .. import segment_result

    t0 = time.perf_counter()
    res = segment_result(task["image"], task["method"], seed=task["seed"], device=task["device"],
                         **task["params"])
    seconds = time.perf_counter() - t0
    row = evaluate_segmentation(res.labels, task["image"], task["segmentations"], task["boundaries"],
                                r=task["r"], window=task["window"], reduce=task["reduce"])
    row["time_s"] = seconds
    return _jsonable(row)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


# ---------------------------------------------------------------- executors
class SerialExecutor(cf.Executor):
    """Runs each task in this process at submit time (``workers=1``)."""

    def submit(self, fn, /, *args, **kwargs):
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(e)
        return fut


def _completed(executor, keys, make_task):
    """Yield ``(key, future)`` for ``_run_task(make_task(key))`` over ``keys`` as they finish.

    A :class:`SerialExecutor` runs a task when it is submitted, so its tasks
    are submitted one at a time and each is handed back before the next one
    starts: results are cached (and the progress bar moves) image by image,
    and an interrupted serial run keeps what it finished.
    """
    if isinstance(executor, SerialExecutor):
        for k in keys:
            yield k, executor.submit(_run_task, make_task(k))
        return
    futs = {executor.submit(_run_task, make_task(k)): k for k in keys}
    for fut in cf.as_completed(futs):
        yield futs[fut], fut


def _limit_threads():
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def make_executor(workers: Optional[int] = None, scheduler: Optional[str] = None):
    """A ``concurrent.futures`` executor and a function that releases it.

    Parameters
    ----------
    workers : int, optional
        Local worker processes (default: the number of CPUs); 1 runs in this
        process. Ignored with ``scheduler``.
    scheduler : str, optional
        Address of a running Dask distributed scheduler (``tcp://host:8786``)
        or a :class:`distributed.Client`; tasks then run on its workers.

    Returns
    -------
    (executor, close)
    """
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError:
            raise ValueError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
        if isinstance(scheduler, Client):
            return scheduler.get_executor(pure=False), lambda: None
        client = Client(scheduler)
        return client.get_executor(pure=False), client.close
    if workers is None:
        workers = os.cpu_count() or 1
    workers = int(workers)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if workers == 1:
        return SerialExecutor(), lambda: None
    import multiprocessing as mp

    ex = cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                initializer=_limit_threads)
    return ex, lambda: ex.shutdown(wait=True, cancel_futures=True)


# ------------------------------------------------------------------- runner
@dataclass
class BenchResult:
    """What :func:`run_benchmark` returns.

    Attributes
    ----------
    rows : list of dict
        One per (image, sweep value): ``image``, ``sweep`` value, and the metrics.
    per_value : list of dict
        Dataset means per sweep value (the first table).
    summary : dict
        ODS/OIS/AP over the sweep (the second table) and Kanezaki AP.
    files : dict
        Written files by kind.
    n_computed, n_cached : int
        Tasks computed in this run and reused from the cache.
    """

    rows: list
    per_value: list
    summary: dict
    files: dict = field(default_factory=dict)
    n_computed: int = 0
    n_cached: int = 0


def _parse_sweep(sweep) -> tuple:
    if sweep is None:
        return None, [None]
    if isinstance(sweep, dict):
        if len(sweep) != 1:
            raise ValueError(f"sweep one parameter at a time; got {list(sweep)}")
        (name, values), = sweep.items()
    else:
        name, values = sweep
    if isinstance(values, str):
        values = [v for v in values.split(",") if v.strip()]
    values = list(values)
    if not values:
        raise ValueError(f"sweep of {name!r} has no values")
    if len(set(map(str, values))) != len(values):
        raise ValueError(f"sweep of {name!r} repeats a value: {values}")
    return str(name).replace("-", "_"), values


def run_benchmark(method: str, *, params: Optional[dict] = None, sweep=None, split: str = "test",
                  limit: Optional[int] = None, data=None, out=None, workers: Optional[int] = None,
                  scheduler=None, seed: int = 0, device: str = "cpu", r: float = 2,
                  window: str = "square", reduce: str = "mean", progress: bool = True,
                  overwrite: bool = False, plots: bool = True) -> BenchResult:
    """Run a registered method over a dataset split and evaluate it.

    Parameters
    ----------
    method : str
        A registry name (see ``deepsuperpixel methods``).
    params : dict, optional
        Fixed method parameters (strings are converted like CLI values).
    sweep : dict or (name, values), optional
        One parameter and its values, e.g. ``{"n_segments": [100, 200, 400]}``;
        each value is one "threshold" of the ODS/OIS/AP aggregation.
    split : {"train", "val", "test"}
        BSDS500 split (default ``"test"``, as the papers report).
    limit : int, optional
        Only the first ``limit`` images of the split.
    data : None, "bsds" or path
        See :func:`load_items`. With a folder dataset only the superpixel,
        region (covering/PRI/VI against the single mask) and segment-F
        metrics are computed; the BSDS boundary benchmark needs BSDS500.
    out : str or Path
        Output folder (tables, plots, ``cache/``). Required.
    workers : int, optional
        Local processes (default: CPU count; 1 = in this process).
    scheduler : str or distributed.Client, optional
        Run on this Dask distributed cluster instead of local processes.
    seed : int
        Method seed.
    device : str
        Device for torch methods (default ``"cpu"``).
    r, window, reduce
        Superpixel metric settings: boundary tolerance in pixels (default 2),
        tolerance window (``"square"``/``"disk"``), annotator reduction
        (``"mean"``/``"worst"``/``"best"``).
    progress : bool
        Show a tqdm progress bar.
    overwrite : bool
        Replace the tables of a *different* earlier run in ``out``. Rerunning
        the same configuration (to resume or refresh) needs no flag.
    plots : bool
        Write the PNG plots.

    Returns
    -------
    BenchResult

    Raises
    ------
    ValueError
        Unknown method/parameter, bad sweep, missing data.
    FileExistsError
        ``out`` holds results of another configuration and ``overwrite`` is False.
    """
    from .._types import build_params
    from ..api import get_method
    from ..metrics.superpixel import REDUCE_CHOICES, WINDOW_CHOICES

    if out is None:
        raise ValueError("an output folder is required (out=... / -o OUT)")
    if window not in WINDOW_CHOICES:
        raise ValueError(f"window must be one of {WINDOW_CHOICES}, got {window!r}")
    if reduce not in REDUCE_CHOICES or reduce == "none":
        raise ValueError(f"reduce must be 'mean', 'worst' or 'best', got {reduce!r}")
    info = get_method(method)
    params = dict(params or {})
    sweep_name, sweep_values = _parse_sweep(sweep)
    if sweep_name is not None and sweep_name in params:
        raise ValueError(f"parameter {sweep_name!r} is both fixed and swept; give it once")
    # validate every parameter set up front and resolve defaults (the cache keys on the full set)
    param_sets = []
    for v in sweep_values:
        p = dict(params)
        if sweep_name is not None:
            p[sweep_name] = v
        param_sets.append(dataclasses.asdict(build_params(info.params_cls, method, p)))
    if sweep_name is not None:
        sweep_values = [ps[sweep_name] for ps in param_sets]

    out = Path(out)
    config = {"method": method, "params": param_sets[0] if sweep_name is None else
              {k: v for k, v in param_sets[0].items() if k != sweep_name},
              "sweep": {sweep_name: sweep_values} if sweep_name else None, "split": split, "limit": limit,
              "data": str(data) if data is not None else "bsds", "seed": seed, "r": r, "window": window,
              "reduce": reduce}
    _claim_output(out, config, overwrite)

    description, items = load_items(data, split=split, limit=limit)
    is_bsds = items[0].boundaries is not None
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)

    tasks = []  # (index, name, value, key)
    for it in items:
        img_d = _array_digest(np.asarray(it.image))
        gt_d = hashlib.sha256("".join(_array_digest(np.asarray(s)) for s in it.segmentations).encode()
                              + (b"b" if it.boundaries is not None else b"-")
                              + "".join(_array_digest(np.asarray(b)) for b in (it.boundaries or [])).encode()
                              ).hexdigest()
        for v, ps in zip(sweep_values, param_sets):
            spec = {"method": method, "params": ps, "seed": seed, "device": device if info.uses_torch else "cpu",
                    "r": r, "window": window, "reduce": reduce}
            tasks.append((it, v, ps, _task_key(spec, img_d, gt_d)))

    results: dict = {}
    todo = []
    for k, (it, v, ps, key) in enumerate(tasks):
        path = cache / f"{it.name}-{key[:20]}.json"
        if path.is_file():
            try:
                results[k] = json.loads(path.read_text())["row"]
                continue
            except (ValueError, KeyError):
                pass  # a damaged cache file is recomputed
        todo.append(k)
    n_cached = len(results)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), initial=n_cached, desc=f"bench {method}", unit="task")
    try:
        if todo:
            executor, close = make_executor(workers, scheduler)
            def task(k):
                it, v, ps, key = tasks[k]
                return {"image": it.image, "segmentations": it.segmentations, "boundaries": it.boundaries,
                        "method": method, "params": ps, "seed": seed, "device": device, "r": r,
                        "window": window, "reduce": reduce}

            try:
                for k, fut in _completed(executor, todo, task):
                    it, v, ps, key = tasks[k]
                    try:
                        row = fut.result()
                    except Exception as e:
                        where = f"{method} on image {it.name}" + (f" ({sweep_name}={v})" if sweep_name else "")
                        if isinstance(e, ValueError):  # bad input: keep the type so the CLI prints it cleanly
                            raise ValueError(f"{where}: {e}") from e
                        raise RuntimeError(f"{where} failed: {e}") from e
                    results[k] = row
                    atomic_write_json(cache / f"{it.name}-{key[:20]}.json",
                                 {"image": it.name, "method": method, "params": ps, "seed": seed, "row": row})
                    if bar is not None:
                        bar.update(1)
            finally:
                close()
    finally:
        if bar is not None:
            bar.close()

    rows = []
    for k, (it, v, ps, key) in enumerate(tasks):
        rows.append({"image": it.name, "sweep": v, **results[k]})
    from . import plots as _plots

    per_value, summary = summarise(rows, sweep_values, is_bsds=is_bsds)
    summary.update(method=method, sweep_param=sweep_name, data=description, n_images=len(items))
    res = BenchResult(rows, per_value, summary, n_computed=len(todo), n_cached=n_cached)
    res.files = _write_outputs(out, res, config, sweep_name, is_bsds, plots, _plots)
    return res


# ------------------------------------------------------------------ outputs
def _claim_output(out: Path, config: dict, overwrite: bool) -> None:
    manifest = out / "bench.json"
    if manifest.is_file() and not overwrite:
        try:
            old = json.loads(manifest.read_text()).get("config")
        except ValueError:
            old = None
        if old != json.loads(json.dumps(config, default=str)):
            raise FileExistsError(
                f"{out} holds the results of another benchmark configuration ({manifest}); "
                "use another output folder or pass --overwrite / overwrite=True to replace its tables "
                "(the per-image cache is kept and reused where it matches)"
            )
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(manifest, {"config": config})


# ---------------------------------------------------------------- summaries
def _by_value(rows, sweep_values):
    groups = {i: [] for i in range(len(sweep_values))}
    index = {json.dumps(v, default=str): i for i, v in enumerate(sweep_values)}
    for row in rows:
        groups[index[json.dumps(row["sweep"], default=str)]].append(row)
    return [groups[i] for i in range(len(sweep_values))]


def summarise(rows: list, sweep_values: Sequence, *, is_bsds: bool) -> tuple:
    """Aggregate per-image rows into the two benchmark tables.

    Parameters
    ----------
    rows : list of dict
        One per (image, sweep value), as in :attr:`BenchResult.rows`, in the
        same image order for every sweep value.
    sweep_values : sequence
        The sweep values (``[None]`` without a sweep).
    is_bsds : bool
        Whether the rows carry BSDS boundary counts.

    Returns
    -------
    per_value : list of dict
        For each sweep value: means over images of the superpixel metrics,
        covering/PRI/VI and segment F; the dataset boundary P/R/F; Kanezaki's
        segment AP (IoU 0.5 and 0.7); mean seconds per image.
    summary : dict
        ODS/OIS of covering, PRI and VI and ODS/OIS/AP of the boundaries with
        the sweep values as thresholds (official BSDS aggregation), plus the
        best Kanezaki AP over the sweep.
    """
    from ..metrics.segment_f import SegmentMatches, segment_average_precision, segment_pr_curve

    groups = _by_value(rows, sweep_values)
    per_value = []
    for v, grp in zip(sweep_values, groups):
        d: dict[str, Any] = {"sweep": v, "n_images": len(grp)}
        for c in SP_COLUMNS + REGION_COLUMNS + SEGF_COLUMNS + ("time_s",):
            vals = [g[c] for g in grp if c in g]
            if vals:
                d[c] = float(np.mean(vals))
        if is_bsds:
            cnt = {k: float(sum(g[k] for g in grp)) for k in ("bdry_cntR", "bdry_sumR", "bdry_cntP", "bdry_sumP")}
            rr = cnt["bdry_cntR"] / cnt["bdry_sumR"] if cnt["bdry_sumR"] else 0.0
            pp = cnt["bdry_cntP"] / cnt["bdry_sumP"] if cnt["bdry_sumP"] else 0.0
            d.update(bdry_r=rr, bdry_p=pp, bdry_f=2 * pp * rr / (pp + rr) if pp + rr else 0.0)
        matches = [SegmentMatches.from_dict(g["segment_matches"]) for g in grp]
        d["segf_ap50"] = segment_average_precision(matches, threshold=0.5)
        d["segf_ap70"] = segment_average_precision(matches, threshold=0.7)
        d["_segment_pr50"] = segment_pr_curve(matches, threshold=0.5)
        per_value.append(d)
    summary = _threshold_summary(groups, is_bsds)
    summary["segf_ap50_best"] = max(d["segf_ap50"] for d in per_value)
    summary["segf_ap70_best"] = max(d["segf_ap70"] for d in per_value)
    return per_value, summary


_PER_VALUE_COLS = [  # (key, header, format)
    ("n_segments", "segments", "{:.1f}"), ("asa", "ASA", "{:.4f}"), ("ue", "UE", "{:.4f}"),
    ("ue_np", "UE_NP", "{:.4f}"), ("br", "BR", "{:.4f}"), ("bp", "BP", "{:.4f}"), ("bf1", "BF1", "{:.4f}"),
    ("ev", "EV", "{:.4f}"), ("co", "CO", "{:.4f}"), ("covering", "Covering", "{:.4f}"), ("pri", "PRI", "{:.4f}"),
    ("vi", "VI", "{:.4f}"), ("bdry_p", "Bdry P", "{:.4f}"), ("bdry_r", "Bdry R", "{:.4f}"),
    ("bdry_f", "Bdry F", "{:.4f}"), ("segf_f50", "SegF@0.5", "{:.4f}"), ("segf_ap50", "SegAP@0.5", "{:.4f}"),
    ("segf_ap70", "SegAP@0.7", "{:.4f}"), ("time_s", "s/image", "{:.3f}"),
]
_SUMMARY_COLS = [
    ("covering_ods", "Covering ODS"), ("covering_ois", "Covering OIS"), ("pri_ods", "PRI ODS"),
    ("pri_ois", "PRI OIS"), ("vi_ods", "VI ODS"), ("vi_ois", "VI OIS"), ("bdry_ods", "Bdry ODS"),
    ("bdry_ois", "Bdry OIS"), ("bdry_ap", "Bdry AP"), ("segf_ap50_best", "best SegAP@0.5"),
    ("segf_ap70_best", "best SegAP@0.7"),
]
_ROW_COLS = ["image", "sweep", *SP_COLUMNS, *REGION_COLUMNS, "bdry_p", "bdry_r", "bdry_f", "bdry_cntR",
             "bdry_sumR", "bdry_cntP", "bdry_sumP", *SEGF_COLUMNS, "time_s"]


def _fmt(v, f="{:.4f}"):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if isinstance(v, (float, np.floating)):
        return f.format(v)
    return str(v)


def _write_csv(path: Path, header: list, rows: list) -> None:
    import csv

    def write(tmp):
        with open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            for r in rows:
                w.writerow(["" if x is None else x for x in r])

    atomic_write(path, write)


def _write_outputs(out: Path, res: BenchResult, config: dict, sweep_name, is_bsds, plots, _plots) -> dict:
    from .. import __version__

    files = {}
    sweep_header = f"param_{sweep_name}" if sweep_name else "setting"
    pv_cols = [c for c in _PER_VALUE_COLS if any(c[0] in d for d in res.per_value)]
    sm_cols = [c for c in _SUMMARY_COLS if res.summary.get(c[0]) is not None]
    # per-image CSV
    present = [c for c in _ROW_COLS if any(c in r for r in res.rows)]
    files["per_image"] = out / "per_image.csv"
    _write_csv(files["per_image"], [c if c != "sweep" else sweep_header for c in present],
               [[r.get(c) for c in present] for r in res.rows])
    files["per_value"] = out / "per_value.csv"
    _write_csv(files["per_value"], [sweep_header, "n_images"] + [c[0] for c in pv_cols],
               [[d["sweep"], d["n_images"]] + [d.get(c[0]) for c in pv_cols] for d in res.per_value])
    files["summary_csv"] = out / "summary.csv"
    _write_csv(files["summary_csv"], ["method", "sweep"] + [c[0] for c in sm_cols],
               [[res.summary["method"], sweep_header] + [res.summary[c[0]] for c in sm_cols]])
    # Markdown
    fixed = {k: v for k, v in (config["params"] or {}).items()}
    lines = [f"# Benchmark: {res.summary['method']} on {res.summary['data']}", "",
             f"{res.summary['n_images']} images; seed {config['seed']}; package version {__version__}; "
             f"superpixel metrics: r = {config['r']:g} px ({config['window']} window), annotators reduced by "
             f"{config['reduce']}.", "",
             "Parameters: " + ", ".join(f"{k}={v!r}" for k, v in fixed.items()), ""]
    if sweep_name:
        lines += [f"Sweep: {sweep_name} = " + ", ".join(str(v) for v in config["sweep"][sweep_name]), ""]
    lines += ["## Per sweep value (means over images)", "",
              "| " + " | ".join([sweep_header] + [c[1] for c in pv_cols]) + " |",
              "|" + "---|" * (1 + len(pv_cols))]
    for d in res.per_value:
        lines.append("| " + " | ".join([_fmt(d["sweep"], "{:g}")] + [_fmt(d.get(c[0]), c[2]) for c in pv_cols]) + " |")
    lines += ["", "## Sweep values as thresholds (official BSDS aggregation)", "",
              "| " + " | ".join(c[1] for c in sm_cols) + " |", "|" + "---|" * len(sm_cols),
              "| " + " | ".join(_fmt(res.summary[c[0]]) for c in sm_cols) + " |", ""]
    if not is_bsds:
        lines += ["(Folder dataset: no BSDS boundary benchmark; covering/PRI/VI compare with the single mask, "
                  "its background being one segment.)", ""]
    files["markdown"] = out / "summary.md"
    atomic_write_text(files["markdown"], "\n".join(lines))
    summary_json = {k: v for k, v in res.summary.items() if not k.startswith("_")}
    atomic_write_json(out / "summary.json", {"config": config, "summary": summary_json,
                                        "per_value": [{k: v for k, v in d.items() if not k.startswith("_")}
                                                      for d in res.per_value]})
    files["json"] = out / "summary.json"
    if plots:
        title = f"{res.summary['method']} ({res.summary['n_images']} images)"
        labels = [d["sweep"] for d in res.per_value]
        if is_bsds:
            ods = res.summary.get("_bdry_ods_point")
            files["boundary_pr"] = _plots.plot_boundary_pr(
                [d["bdry_r"] for d in res.per_value], [d["bdry_p"] for d in res.per_value], labels,
                out / "boundary_pr.png", title=f"Boundary PR: {title}", ods=ods)
        files["vs_segments"] = _plots.plot_vs_segments(
            [d["n_segments"] for d in res.per_value],
            {"ASA": [d["asa"] for d in res.per_value], "BR": [d["br"] for d in res.per_value]},
            out / "asa_br_vs_segments.png", title=title)
        curves = {f"{sweep_header}={d['sweep']}" if sweep_name else res.summary["method"]:
                  (d["_segment_pr50"][0], d["_segment_pr50"][1], d["segf_ap50"]) for d in res.per_value}
        files["segment_pr"] = _plots.plot_segment_pr(curves, out / "segment_pr.png",
                                                     title=f"Segment PR (IoU > 0.5): {title}")
    return files


def merge_sweep_evals(name: str, rows: list):
    """One image's per-value BSDS evaluations as one multi-threshold evaluation.

    The sweep values become the thresholds ``1..n`` (in sweep order), exactly
    as the official benchmark treats a list of segmentations (``segs``).

    Parameters
    ----------
    name : str
        Image id.
    rows : list of dict
        The image's rows (one per sweep value, in sweep order), each with the
        ``bsds_eval``, ``cover_matches_gt`` and ``cover_gt_areas`` entries
        written by :func:`evaluate_segmentation`.

    Returns
    -------
    napari_deepsuperpixel.metrics.bsds.ImageEval
    """
    from ..metrics.bsds import ImageEval

    n = len(rows)
    d: dict[str, Any] = {"name": name, "kind": "segs"}
    for key in rows[0]["bsds_eval"]:
        if key in ("bdry_thresh", "reg_thresh"):
            d[key] = np.arange(1, n + 1, dtype=np.float64)
        elif key == "reg_best_cntR":
            best = np.max(np.stack([np.asarray(r["cover_matches_gt"], float) for r in rows]), axis=0)
            d[key] = float(np.sum(np.asarray(rows[0]["cover_gt_areas"], float) * best))
        else:
            d[key] = np.concatenate([np.atleast_1d(np.asarray(r["bsds_eval"][key], float)) for r in rows])
    return ImageEval.from_dict(d)


def _threshold_summary(groups, is_bsds) -> dict:
    """ODS/OIS/AP with the sweep values as thresholds (``metrics.bsds.collect``)."""
    from ..metrics.bsds import collect

    n_img = len(groups[0])
    evals = [merge_sweep_evals(groups[0][i]["image"], [g[i] for g in groups]) for i in range(n_img)]
    s = collect(evals)
    out: dict[str, Any] = {}
    r = s.region
    out.update(covering_ods=r.cover_ods, covering_ois=r.cover_ois, covering_best=r.cover_best,
               pri_ods=r.pri_ods, pri_ois=r.pri_ois, vi_ods=r.voi_ods, vi_ois=r.voi_ois)
    if is_bsds and s.boundary is not None:
        b = s.boundary
        out.update(bdry_ods=b.ods_f, bdry_ods_r=b.ods_r, bdry_ods_p=b.ods_p, bdry_ois=b.ois_f,
                   bdry_ap=b.ap, _bdry_ods_point=(b.ods_r, b.ods_p, b.ods_f))
    return out
