"""Training throughput of SEN and SuperAE on this machine: steps/s and pixels/s.

Runs the real trainers (``train_sen`` / ``train_superae``) for a few steps on
BSDS500 train images and times every optimisation step from the trainers'
progress events (the first ``--warmup`` steps are dropped: one-off costs such
as oneDNN kernel selection). Each configuration runs in its own process, in
turn, ``--repeats`` times, and the table gives the median step time over all
kept steps, plus the ratio to the first configuration (the reference), which
is measured in the same session. ``--phases`` prints
:func:`napari_deepsuperpixel.bench.phases.sen_step_phases` instead.

Configurations are ``key=value`` lists passed to the trainer, e.g.
``precision=fp32,prefetch=0``. ``--src OLD/src`` runs the configurations with
the package of an older checkout to get "before" numbers (this script's
tables still come from the installed package); options that the older
trainer does not know are dropped and said so.

Usage (from the repository root)::

    python benchmarks/bench_training.py sen --configs precision=fp32,prefetch=0 precision=bf16,prefetch=1
    python benchmarks/bench_training.py superae --configs precision=fp32 precision=bf16 -p crop=128
    python benchmarks/bench_training.py sen --phases --steps 10   # where a SEN step's time goes
    python benchmarks/bench_training.py sen --configs precision=fp32 --src ../old/src   # an older checkout
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_one(method: str, kwargs: dict, steps: int) -> dict:
    """Train for ``steps`` steps in this process; return step times and pixels per step."""
    from napari_deepsuperpixel.training.sen import train_sen
    from napari_deepsuperpixel.training.superae import train_superae

    fn = train_sen if method == "sen" else train_superae
    known = set(inspect.signature(fn).parameters)
    dropped = sorted(k for k in kwargs if k not in known)
    kw = {k: v for k, v in kwargs.items() if k in known}
    stamps, losses = [], []

    def progress(ev):
        if ev.stage == "train":
            stamps.append(time.perf_counter())
            losses.append(float(ev.info.get("loss", float("nan"))))

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ck.pt"
        if method == "sen":
            kw.setdefault("steps_per_epoch", steps)
            kw.setdefault("epochs", 1)
            kw.setdefault("max_images", 40)
            px = int(kw.get("batch_size", 4)) * int(kw.get("crop", 96)) ** 2
        else:
            kw.setdefault("epochs", 1)
            kw.setdefault("max_images", int(kw.get("batch_size", 10)) * steps)
            px = int(kw.get("batch_size", 10)) * int(kw.get("crop", 300)) ** 2
        t0 = time.perf_counter()
        fn("bsds", out=out, split="train", progress=progress, seed=0, **kw)
    steps_t = [b - a for a, b in zip([t0] + stamps[:-1], stamps)]
    return {"step_seconds": steps_t, "pixels_per_step": px, "losses": losses, "dropped": dropped,
            "threads": int(__import__("torch").get_num_threads())}


def phases_sen(steps: int, crop: int = 96, batch_size: int = 4) -> str:
    """Where a SEN training step goes, as a Markdown table (``bench.phases.sen_step_phases``)."""
    import torch

    from napari_deepsuperpixel.bench.phases import sen_step_phases
    from napari_deepsuperpixel.bench.tables import markdown_table

    med = sen_step_phases(steps, crop=crop, batch_size=batch_size)
    tot = sum(med.values())
    rows = [[k, f"{v:.3f}", f"{100 * v / tot:.0f} %"] for k, v in med.items()] + [["total", f"{tot:.3f}", ""]]
    return markdown_table([f"SEN step phase (crop {crop}, batch {batch_size}, {torch.get_num_threads()} threads)",
                           "s (median)", "share"], rows, "lrr")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("method", choices=("sen", "superae"))
    ap.add_argument("--configs", nargs="+", default=["precision=fp32,prefetch=0", "precision=auto,prefetch=1"],
                    help="trainer settings per configuration (the first is the reference)")
    ap.add_argument("-p", "--param", default="", help="settings shared by every configuration, k=v,k=v")
    ap.add_argument("--steps", type=int, default=12, help="optimisation steps per run")
    ap.add_argument("--warmup", type=int, default=2, help="first steps of each run not counted")
    ap.add_argument("--repeats", type=int, default=2, help="runs per configuration, interleaved")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # one run: trainer settings as JSON
    ap.add_argument("--src", default=None, metavar="DIR",
                    help="run the configurations with the package in DIR (e.g. an older checkout's src)")
    ap.add_argument("--phases", action="store_true", help="SEN only: time the phases of a step instead")
    ap.add_argument("--json", default=None, help="also write the raw step times here")
    a = ap.parse_args(argv)
    if a.one is not None:  # a child: only the trainers are imported (they may come from --src)
        print(json.dumps(run_one(a.method, json.loads(a.one), a.steps)))
        return 0
    from napari_deepsuperpixel.bench.settings import parse_settings
    from napari_deepsuperpixel.bench.tables import markdown_table

    shared = parse_settings(a.param, "-p")
    if a.phases:
        print(phases_sen(a.steps, int(shared.get("crop", 96)), int(shared.get("batch_size", 4))))
        return 0
    env = os.environ.copy()
    if a.src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(a.src).resolve()), env.get("PYTHONPATH")]))
    raw = {c: [] for c in a.configs}
    for r in range(a.repeats):
        for c in a.configs:
            settings = {**shared, **parse_settings(c, "--configs")}
            cmd = [sys.executable, __file__, a.method, "--one", json.dumps(settings), "--steps", str(a.steps)]
            res = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if res.returncode:
                print(res.stderr[-2000:], file=sys.stderr)
                return res.returncode
            out = json.loads(res.stdout.strip().splitlines()[-1])
            raw[c].append(out)
            print(f"run {r + 1}/{a.repeats} {c}: median step {statistics.median(out['step_seconds'][a.warmup:]):.3f} s"
                  + (f" (not known to this trainer, dropped: {out['dropped']})" if out["dropped"] else ""),
                  file=sys.stderr, flush=True)
    rows, ref = [], None
    for c in a.configs:
        times = [t for o in raw[c] for t in o["step_seconds"][a.warmup:]]
        med = statistics.median(times)
        ref = med if ref is None else ref
        px = raw[c][0]["pixels_per_step"]
        last = statistics.median(o["losses"][-1] for o in raw[c])
        rows.append([c, f"{med:.3f}", f"{1 / med:.2f}", f"{px / med:,.0f}", f"{ref / med:.2f}x", f"{last:.4f}"])
    print(markdown_table([f"{a.method} configuration ({a.param or 'defaults'})", "s / step (median)", "steps / s",
                          "pixels / s", "vs first", "loss at last step"], rows, "lrrrrr"))
    if a.json:
        Path(a.json).write_text(json.dumps(raw, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
