"""What ``deepsuperpixel bench`` writes: the output-folder claim, CSV and Markdown tables, JSON, plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..io.writes import atomic_write, atomic_write_json, atomic_write_text
from ..metrics.evaluate import (
    BOUNDARY_COUNT_KEYS,
    BOUNDARY_KEYS,
    REGION_KEYS,
    SEGF_KEYS,
    SP_KEYS,
)

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
_ROW_COLS = ["image", "sweep", *SP_KEYS, *REGION_KEYS, *BOUNDARY_KEYS, *BOUNDARY_COUNT_KEYS, *SEGF_KEYS, "time_s"]


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


def write_outputs(out: Path, res, config: dict, sweep_name, is_bsds, plots: bool) -> dict:
    """Write the tables (and with ``plots`` the PNG plots) of ``res`` (a :class:`.runner.BenchResult`) to ``out``.

    Returns the written files by kind.
    """
    from .._version import __version__
    from . import plots as _plots
    from .tables import markdown_table

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
              markdown_table([sweep_header] + [c[1] for c in pv_cols],
                             [[_fmt(d["sweep"], "{:g}")] + [_fmt(d.get(c[0]), c[2]) for c in pv_cols]
                              for d in res.per_value]),
              "", "## Sweep values as thresholds (official BSDS aggregation)", "",
              markdown_table([c[1] for c in sm_cols], [[_fmt(res.summary[c[0]]) for c in sm_cols]]), ""]
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


def _recorded_config(path: Path):
    try:
        return json.loads(path.read_text()).get("config")
    except (OSError, ValueError, AttributeError):
        return None


def claim_output(out: Path, config: dict, overwrite: bool) -> None:
    """Record ``config`` in ``out/bench.json``; refuse a folder of another configuration unless ``overwrite``.

    Called once everything is validated, when the run really starts. Only the
    *tables* of a finished run (``summary.json``) of another configuration are
    protected: a run that was refused or failed before its tables were
    written does not block the next command in the same folder (the per-image
    cache is keyed by content, so whatever it computed is reused where it matches).
    """
    from ..io.writes import check_output_folder

    check_output_folder(out, "benchmark output folder")
    manifest = out / "bench.json"
    finished = out / "summary.json"
    if finished.is_file() and not overwrite:
        old = _recorded_config(finished)
        if old is None:
            old = _recorded_config(manifest)
        if old != json.loads(json.dumps(config, default=str)):
            raise FileExistsError(
                f"{out} holds the results of another benchmark configuration ({manifest}); "
                "use another output folder or pass --overwrite / overwrite=True to replace its tables "
                "(the per-image cache is kept and reused where it matches)"
            )
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(manifest, {"config": config})
