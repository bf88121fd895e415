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

import dataclasses
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ..metrics.evaluate import evaluate_segmentation
from ..parallel import completed, executor_for
from .cache import ResultCache, array_digest, cache_key, jsonable
from .data import _Item, load_items
from .outputs import claim_output, write_outputs
from .summary import summarise

#: bump when cached rows change meaning (invalidates the ``OUT/cache`` entries)
CACHE_VERSION = 1


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


def _ground_truth_digest(it: _Item) -> str:
    """One digest of an item's annotations (label maps, then boundary maps when there are any)."""
    return hashlib.sha256("".join(array_digest(np.asarray(s)) for s in it.segmentations).encode()
                          + (b"b" if it.boundaries is not None else b"-")
                          + "".join(array_digest(np.asarray(b)) for b in (it.boundaries or [])).encode()
                          ).hexdigest()


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
    from .._types import build_params, check_seed
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
    # everything is validated (data, counts against the image sizes, the output folder) before the
    # configuration is recorded, so that a refused command never blocks its corrected rerun
    from ..io.writes import check_output_folder

    check_output_folder(out, "benchmark output folder")  # (creates it, writes nothing in it)
    description, items = load_items(data, split=split, limit=limit)
    if not items:
        raise ValueError(f"no images in {description}")
    from ..methods.compose import check_count

    smallest = min(items, key=lambda it: int(np.prod(np.shape(it.image)[:2])))
    for v, ps in zip(sweep_values, param_sets):
        try:
            check_count(build_params(info.params_cls, method, ps), int(np.prod(np.shape(smallest.image)[:2])),
                        method)
        except ValueError as e:
            where = f"{method} on image {smallest.name}" + (f" ({sweep_name}={v})" if sweep_name else "")
            raise ValueError(f"{where}: {e}") from None
    check_seed(seed)
    claim_output(out, config, overwrite)
    is_bsds = items[0].boundaries is not None
    cache = ResultCache(out / "cache", "json")
    cache.folder.mkdir(parents=True, exist_ok=True)

    tasks = []  # (item, sweep value, parameters, key)
    for it in items:
        img_d, gt_d = array_digest(np.asarray(it.image)), _ground_truth_digest(it)
        for v, ps in zip(sweep_values, param_sets):
            spec = {"method": method, "params": ps, "seed": seed, "device": device if info.uses_torch else "cpu",
                    "r": r, "window": window, "reduce": reduce}
            tasks.append((it, v, ps, cache_key(spec, cache_version=CACHE_VERSION, image=img_d, gt=gt_d)))

    results: dict = {}
    todo = []
    for k, (it, _, _, key) in enumerate(tasks):
        row = cache.load(it.name, key)
        if isinstance(row, dict) and isinstance(row.get("time_s"), (int, float)):  # else: recompute
            results[k] = row
        else:
            todo.append(k)
    n_cached = len(results)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), initial=n_cached, desc=f"bench {method}", unit="task")
    try:
        if todo:
            def task(k):
                it, v, ps, key = tasks[k]
                return {"image": it.image, "segmentations": it.segmentations, "boundaries": it.boundaries,
                        "method": method, "params": ps, "seed": seed, "device": device, "r": r,
                        "window": window, "reduce": reduce}

            with executor_for(len(todo), workers, scheduler) as executor:
                for k, fut in completed(executor, _run_task, todo, task):
                    it, v, ps, key = tasks[k]
                    try:
                        row = fut.result()
                    except Exception as e:
                        where = f"{method} on image {it.name}" + (f" ({sweep_name}={v})" if sweep_name else "") \
                            + (f" ({it.files})" if it.files else "")
                        if isinstance(e, ValueError):  # bad input: keep the type so the CLI prints it cleanly
                            raise ValueError(f"{where}: {e}") from e
                        raise RuntimeError(f"{where} failed: {e}") from e
                    results[k] = row
                    cache.save(it.name, key, row, image=it.name, method=method, params=ps, seed=seed)
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()

    rows = []
    for k, (it, v, _, _) in enumerate(tasks):
        rows.append({"image": it.name, "sweep": v, **results[k]})
    per_value, summary = summarise(rows, sweep_values, is_bsds=is_bsds)
    summary.update(method=method, sweep_param=sweep_name, data=description, n_images=len(items))
    res = BenchResult(rows, per_value, summary, n_computed=len(todo), n_cached=n_cached)
    res.files = write_outputs(out, res, config, sweep_name, is_bsds, plots)
    return res


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
    return jsonable(row)
