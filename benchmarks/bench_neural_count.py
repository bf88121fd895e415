"""Neural superpixels: the number of segments against the requested N, with and without the count limit.

Usage (from the repository root)::

    python benchmarks/bench_neural_count.py --limit 50 --n 200 -o out/neural_count
    python benchmarks/bench_neural_count.py --limit 50 --n 200 -o out/neural_count --table

For each of the first ``--limit`` BSDS500 test images the network is optimised
once (``segment_result(..., "neural_superpixels", n_segments=N,
limit_count=False)`` at the defaults otherwise); its labels are scored as they
are (the paper's output: argmax, connected components, size merge) and again
after :func:`napari_deepsuperpixel.postprocess.enforce_connectivity` with
``max_segments=N`` — exactly the step ``limit_count=True`` (the default) adds,
so both rows come from the same optimisation. SNIC at ``n_segments=N`` on the
same image is the classical reference. Metrics: ASA and boundary recall
(r = 2 px, square window, annotators averaged), as in the method page.

One JSON line per (image, N) goes to ``OUT/rows.jsonl`` (``OUT/rows-K.jsonl``
with ``--shard K/M``: every M-th image from the K-th, so M processes can share
the images); a rerun skips the rows already in any of them, so an interrupted
run resumes. ``--table`` prints the
Markdown table of what is there (means, and the count ratio's median and
range).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def _score(labels, item) -> dict:
    from napari_deepsuperpixel.metrics.superpixel import superpixel_metrics

    m = superpixel_metrics(labels, item.segmentations, None, r=2, window="square", reduce="mean")
    return {"segments": int(labels.max()), "asa": float(m["asa"]), "br": float(m["br"])}


def _rows(out: Path) -> list:
    rows = []
    for path in sorted(out.glob("rows*.jsonl")):
        rows += [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return rows


def run(limit: int, ns: list, out: Path, shard=(0, 1)) -> None:
    from napari_deepsuperpixel import segment_result
    from napari_deepsuperpixel.bench.data import load_items
    from napari_deepsuperpixel.io.prepare import prepare_image
    from napari_deepsuperpixel.postprocess import enforce_connectivity

    out.mkdir(parents=True, exist_ok=True)
    k, m = shard
    rows_path = out / ("rows.jsonl" if m == 1 else f"rows-{k}.jsonl")
    done = {(r["image"], r["n"]) for r in _rows(out)}
    _, items = load_items("bsds", split="test", limit=limit)
    for n in ns:
        for i, item in enumerate(items):
            if i % m != k or (item.name, n) in done:
                continue
            t0 = time.perf_counter()
            res = segment_result(item.image, "neural_superpixels", n_segments=n, limit_count=False)
            seconds = time.perf_counter() - t0
            feats = prepare_image(item.image).slice(0)  # the runner's merge features
            capped = enforce_connectivity(res.labels, features=feats, max_segments=n)
            snic = segment_result(item.image, "snic", n_segments=n).labels
            row = {"image": item.name, "n": n, "seconds": seconds, "preset": res.extras.get("preset"),
                   "paper": _score(res.labels, item), "limited": _score(capped, item),
                   "snic": _score(snic, item)}
            with open(rows_path, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"{item.name} N={n}: {row['paper']['segments']} -> {row['limited']['segments']} "
                  f"segments, {seconds:.1f} s", flush=True)


def table(out: Path) -> str:
    from napari_deepsuperpixel.bench.tables import markdown_table, paired_difference

    rows = _rows(out)
    counts, diffs = [], []
    for n in sorted({r["n"] for r in rows}):
        sel = [r for r in rows if r["n"] == n]
        for key, name in (("paper", "argmax + size merge (`limit_count=False`)"),
                          ("limited", "with the count limit (default)"), ("snic", "SNIC, n_segments = N")):
            seg = np.array([r[key]["segments"] for r in sel], float)
            ratio = seg / n
            counts.append([n, len(sel), name, f"{seg.mean():.1f}",
                           f"{np.median(ratio):.2f} [{ratio.min():.2f}, {ratio.max():.2f}]",
                           f"{np.mean([r[key]['asa'] for r in sel]):.4f}",
                           f"{np.mean([r[key]['br'] for r in sel]):.4f}"])
        for a, b, name in (("limited", "paper", "count limit − paper output"),
                           ("limited", "snic", "count limit − SNIC")):
            diffs.append([n, len(sel), name] + [paired_difference([r[a][m] for r in sel], [r[b][m] for r in sel])
                                                for m in ("asa", "br")])
    return "\n".join([
        markdown_table(["N", "images", "output", "segments (mean)", "segments / N: median [min, max]", "ASA",
                        "BR (r = 2)"], counts, "rrlrlrr"), "",
        markdown_table(["N", "images", "paired difference (95 % interval)", "ASA", "BR (r = 2)"], diffs, "rrlrr")])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=50, help="first LIMIT BSDS500 test images")
    ap.add_argument("--n", default="200", help="comma-separated N values")
    ap.add_argument("-o", "--out", type=Path, required=True)
    ap.add_argument("--shard", default="0/1", help="K/M: only every M-th image from the K-th")
    ap.add_argument("--table", action="store_true", help="print the table of the rows in OUT")
    a = ap.parse_args(argv)
    if a.table:
        print(table(a.out))
        return 0
    k, m = (int(v) for v in a.shard.split("/"))
    if not 0 <= k < m:
        raise SystemExit(f"--shard K/M needs 0 <= K < M, got {a.shard}")
    run(a.limit, [int(v) for v in a.n.split(",")], a.out, (k, m))
    print(table(a.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
