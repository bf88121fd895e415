"""Learning curves: quality on a fixed validation subset against the training budget (SEN, SuperAE + DSC).

``train`` runs ONE training run and keeps a copy of its checkpoint at every
budget, so the points of the curve are the same run seen at growing budgets
(each point resumes the run with a larger ``--epochs``; an interrupted
``train`` resumes where it stopped, finished budgets are skipped)::

    python benchmarks/learning_curve.py train sen --budgets 30,60,150,300 --work runs/sen_curve
    python benchmarks/learning_curve.py train superae --budgets 17,34,85,170 --work runs/ae_curve -p crop=128

Budgets are epochs (SEN: ``steps_per_epoch`` 20 mini-batches of 2 crops
256 x 256 by default, the shipped weights used 4 of 96 x 96; SuperAE: one
pass over BSDS500 train + val). ``-p key=value`` settings go to the trainer. Then ``eval`` scores every kept
checkpoint on the validation split (never test) with the benchmark scripts
of the method and ``table`` prints the curve with the budget in pixels seen::

    python benchmarks/learning_curve.py eval sen --work runs/sen_curve --limit 20
    python benchmarks/learning_curve.py eval superae --work runs/ae_curve --limit 10
    python benchmarks/learning_curve.py table sen --work runs/sen_curve
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


#: the curve's metrics (keys of curve.json): SEN's official boundary F at 50 superpixels and ASA at 200 (as
#: the issue and the paper's Table I / Fig. 8), DSC's region metrics (Table IV)
DEFAULT_METRICS = {
    "sen": "sen bsds_f @50,snic bsds_f @50,sen asa @200,snic asa @200,sen f1 @50",
    "superae": "DSC SC ODS,DSC PRI ODS,DSC VI ODS,DSC SC OIS,SuperAE SC ODS,SuperAE VI ODS",
}


def _pixels_per_epoch(method, hp, n_images):
    if method == "sen":
        return int(hp["steps_per_epoch"]) * int(hp["batch_size"]) * int(hp["crop"]) ** 2
    return int(n_images) * int(hp["crop"]) ** 2


def cmd_train(a) -> int:
    from napari_deepsuperpixel.bench.settings import parse_settings
    from napari_deepsuperpixel.training.sen import train_sen
    from napari_deepsuperpixel.training.superae import train_superae

    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    run = work / f"{a.method}_run.pt"
    kw = dict(data=a.data, split=a.split, seed=a.seed, device="cpu")
    kw.update(parse_settings(a.param, "-p"))  # e.g. device=cuda, crop=300
    fn = train_sen if a.method == "sen" else train_superae
    log = work / "train_log.jsonl"
    for b in sorted(int(v) for v in a.budgets.split(",")):
        dst = work / f"{a.method}_e{b:04d}.pt"
        if dst.exists():
            print(f"budget {b} epochs: {dst} exists, skipped", flush=True)
            continue
        t0 = time.perf_counter()

        def progress(ev, b=b):  # called during this budget's run only
            if ev.stage == "epoch":
                with log.open("a") as f:
                    f.write(json.dumps({"epoch": ev.info["epoch"], "loss": ev.info["loss"],
                                        "seconds": ev.info["seconds"]}) + "\n")
                print(f"epoch {ev.info['epoch']}/{b}: loss {ev.info['loss']:.5f}, {ev.info['seconds']:.1f} s",
                      flush=True)

        fn(out=run, epochs=b, resume=run.exists(), progress=progress, **kw)
        shutil.copyfile(run, dst)
        print(f"budget {b} epochs done in {time.perf_counter() - t0:.0f} s -> {dst}", flush=True)
    return 0


def _checkpoints(work: Path, method: str):
    return sorted(work.glob(f"{method}_e[0-9][0-9][0-9][0-9].pt"))


def cmd_eval(a) -> int:
    work = Path(a.work)
    if a.method == "sen" and not (work / "eval_baselines" / "done").exists():
        # the shipped weights and SNIC / SLIC at the same counts on the same images: the reference rows
        subprocess.run([sys.executable, str(HERE / "bench_sen.py"), "quality", "--split", a.split, "--limit",
                        str(a.limit), "-o", str(work / "eval_baselines"), "--overwrite", "--counts", "50,200",
                        "--baselines", "snic,slic", "--no-contours"], check=True)
        (work / "eval_baselines" / "done").write_text("ok")
    for ck in _checkpoints(work, a.method):
        out = work / f"eval_{ck.stem}"
        if (out / "done").exists():
            continue
        if a.method == "sen":
            cmd = [sys.executable, str(HERE / "bench_sen.py"), "quality", "--split", a.split, "--limit",
                   str(a.limit), "--checkpoint", str(ck), "-o", str(out), "--overwrite", "--counts", "50,200",
                   "--baselines", "", "--no-contours"]
        else:
            cmd = [sys.executable, str(HERE / "bench_dsc.py"), "--checkpoint", str(ck), "quality", "--split",
                   a.split, "--n-images", str(a.limit), "--cache", str(work / "dsc_cache"), "--out", str(out),
                   "--no-table-iii"]
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        (out / "done").write_text("ok")
    return cmd_table(a)


def cmd_table(a) -> int:
    from napari_deepsuperpixel.bench.tables import markdown_table
    from napari_deepsuperpixel.nn.checkpoint import load_checkpoint

    work = Path(a.work)
    rows = []
    for ck in _checkpoints(work, a.method):
        c = load_checkpoint(ck)
        hp = c.hyperparameters
        ep = int((c.training_state or {}).get("epoch", hp.get("epochs", 0)))
        px = ep * _pixels_per_epoch(a.method, hp, hp.get("n_images", 0))
        res = work / f"eval_{ck.stem}" / "curve.json"
        vals = json.loads(res.read_text()) if res.exists() else {}
        rows.append((ep, px, vals))
    if not rows:
        print(f"no {a.method} checkpoints in {work}")
        return 1
    base = work / "eval_baselines" / "curve.json"
    if base.exists():  # shipped weights ("sen ...") and the classical methods at the same counts
        rows.append(("shipped", 0, {k: v for k, v in json.loads(base.read_text()).items()}))
    keys = [k.strip() for k in (a.metrics or DEFAULT_METRICS[a.method]).split(",")]
    print(markdown_table(["epochs", "pixels seen"] + keys,
                         [[ep, f"{px / 1e6:,.0f} M" if px else ""] + [f"{v[k]:.4f}" if k in v else "" for k in keys]
                          for ep, px, v in rows], "r" * (2 + len(keys))))
    return 0


def cmd_plot(a) -> int:
    """The curve as a PNG: one panel per metric, the classical baselines as lines."""
    from napari_deepsuperpixel.bench.plots import plot_learning_curve
    from napari_deepsuperpixel.nn.checkpoint import load_checkpoint

    work = Path(a.work)
    pts = []
    for ck in _checkpoints(work, a.method):
        res = work / f"eval_{ck.stem}" / "curve.json"
        if not res.exists():
            continue
        c = load_checkpoint(ck)
        ep = int((c.training_state or {}).get("epoch", 0))
        pts.append((ep * _pixels_per_epoch(a.method, c.hyperparameters, c.hyperparameters.get("n_images", 0)),
                    json.loads(res.read_text())))
    if not pts:
        print("nothing evaluated yet; run `eval` first")
        return 1
    metrics = [m.strip() for m in a.metrics.split(",")]
    series = {m: [v[m] for _, v in pts] for m in metrics}
    refs = {}
    base = work / "eval_baselines" / "curve.json"
    if base.exists():
        b = json.loads(base.read_text())
        for m in metrics:
            _, _, rest = m.partition(" ")  # "sen bsds_f @50" -> "bsds_f @50"
            refs[m] = {f"{name.upper()} (classical)": b[f"{name} {rest}"] for name in ("snic", "slic")
                       if f"{name} {rest}" in b}
    for r in a.ref or []:  # "METRIC|LABEL=VALUE", e.g. a paper's number
        key, _, value = r.partition("=")
        metric, _, label = key.partition("|")
        refs.setdefault(metric, {})[label] = float(value)
    print(plot_learning_curve([p for p, _ in pts], series, a.output, references=refs,
                              paper_pixels=a.paper_pixels, title=a.title))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("train", "eval", "table", "plot"):
        p = sub.add_parser(name)
        p.add_argument("method", choices=("sen", "superae"))
        p.add_argument("--work", required=True, help="folder of the run, its kept checkpoints and evaluations")
    t = sub.choices["train"]
    t.add_argument("--budgets", required=True, help="epochs at which a copy is kept, e.g. 30,60,150,300")
    t.add_argument("--data", default="bsds")
    t.add_argument("--split", default="train,val")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("-p", "--param", action="append", metavar="KEY=VALUE")
    e = sub.choices["eval"]
    e.add_argument("--split", default="val")
    e.add_argument("--limit", type=int, default=20)
    sub.choices["table"].add_argument("--metrics", default=None, help="curve.json keys (comma-separated)")
    sub.choices["eval"].add_argument("--metrics", default=None, help="curve.json keys of the table printed")
    pl = sub.choices["plot"]
    pl.add_argument("--metrics", required=True, help="curve.json keys, e.g. 'sen bsds_f @50,sen asa @200'")
    pl.add_argument("-o", "--output", required=True, help="the PNG to write")
    pl.add_argument("--ref", action="append", metavar="METRIC|LABEL=VALUE", help="an extra horizontal line")
    pl.add_argument("--paper-pixels", type=float, default=None, help="the paper's budget (pixels seen)")
    pl.add_argument("--title", default="")
    a = ap.parse_args(argv)
    return {"train": cmd_train, "eval": cmd_eval, "table": cmd_table, "plot": cmd_plot}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
