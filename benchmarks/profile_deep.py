"""Where the time of a deep method at its defaults goes: a torch profile of its iterations.

Usage (from the repository root)::

    python benchmarks/profile_deep.py neural_superpixels --iters 20 -p n_segments=200
    python benchmarks/profile_deep.py backprop --iters 20
    python benchmarks/profile_deep.py superae --iters 0

Runs ``segment_result`` on BSDS500 test/100007 (481 x 321) once to warm up
(a few iterations), then once more under ``torch.profiler`` with ``max_iter``
set to ``--iters`` (``0``: the method's own setting), and prints

* the wall time split into the optimisation loop (first to last progress
  event) and everything else (input preparation, final inference, the
  connectivity step, clustering);
* the operators with the largest self CPU time, grouped into convolutions
  (forward and backward), normalisation, the other tensor work, and the
  share of each.

The shares, not the absolute seconds, are what this is for: they say what a
faster default would have to cut.
"""

from __future__ import annotations

import argparse
import time

GROUPS = (
    ("convolution", ("conv", "mkldnn_convolution", "convolution")),
    ("normalisation", ("batch_norm", "instance_norm", "native_batch_norm", "layer_norm")),
    ("optimizer", ("adam", "_foreach", "addcdiv", "lerp")),
)


def _group(name: str) -> str:
    low = name.lower()
    for g, keys in GROUPS:
        if any(k in low for k in keys):
            return g
    return "other tensor work"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("method")
    ap.add_argument("--iters", type=int, default=20, help="max_iter of the profiled run (0: the default)")
    ap.add_argument("-p", "--param", action="append", default=[], help="KEY=VALUE method parameter")
    ap.add_argument("--top", type=int, default=15)
    a = ap.parse_args(argv)

    import torch
    from torch.profiler import ProfilerActivity, profile

    from napari_deepsuperpixel import segment_result
    from napari_deepsuperpixel.bench.settings import parse_settings
    from napari_deepsuperpixel.bench.tables import markdown_table
    from napari_deepsuperpixel.datasets.bsds import find_bsds500
    from napari_deepsuperpixel.io.files import read_image

    img = read_image(find_bsds500() / "data" / "images" / "test" / "100007.jpg")
    params = parse_settings(a.param, "-p")
    if a.iters:
        params["max_iter"] = a.iters
    segment_result(img, a.method, **{**params, **({"max_iter": 2} if a.iters else {})})
    stamps = []
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        res = segment_result(img, a.method, progress=lambda e: stamps.append(time.perf_counter()), **params)
    total = time.perf_counter() - t0
    loop = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    print(f"{a.method} {params}: {total:.2f} s in all (profiler on), optimisation loop {loop:.2f} s "
          f"({100 * loop / total:.0f} %), the rest {total - loop:.2f} s; {int(res.labels.max())} segments; "
          f"torch threads {torch.get_num_threads()}")
    events = prof.key_averages()
    self_total = sum(e.self_cpu_time_total for e in events) or 1
    groups: dict = {}
    for e in events:
        groups[_group(e.key)] = groups.get(_group(e.key), 0) + e.self_cpu_time_total
    print(markdown_table(["group", "self CPU share"], [[g, f"{100 * v / self_total:.1f} %"] for g, v in
                                                       sorted(groups.items(), key=lambda kv: -kv[1])], "lr"))
    print()
    print(markdown_table(["operator", "calls", "self CPU share"],
                         [[f"`{e.key}`", e.count, f"{100 * e.self_cpu_time_total / self_total:.1f} %"]
                          for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[: a.top]], "lrr"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
