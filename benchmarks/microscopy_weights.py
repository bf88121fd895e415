"""Weights for microscopy: SEN and SuperAE trained on DSB2018 images (no masks), scored on held-out images.

The split is fixed and stratified: within each category of the subset's
``metadata.csv`` (fluorescence, colour brightfield, grey brightfield), images
sorted by name, every fourth one (index 3, 7, 11, ...) is held out; the rest
are the training images. Training never reads a mask: SEN learns from
SLIC or SNIC pseudo labels (``-p pseudo=``) and SuperAE from Felzenszwalb templates (no ucm2
exists for these images).

Sub-commands (from the repository root)::

    python benchmarks/microscopy_weights.py split --work runs/micro
    python benchmarks/microscopy_weights.py train sen --work runs/micro --epochs 60
    python benchmarks/microscopy_weights.py train superae --work runs/micro --epochs 40 -p crop=128
    python benchmarks/microscopy_weights.py eval --work runs/micro --counts 200,800

``eval`` scores, on the held-out images, ASA and boundary recall (r = 2) at
equal segment counts: SNIC and SLIC on the image, SEN with the shipped BSDS and
microscopy weights and with the weights ``train`` left in ``--work`` ("this
run"), and SuperAE (SNIC on the reconstruction) likewise; every method at its
current defaults (SEN with its edge refinement). Ground truth is the nucleus masks, background one segment (see
``napari_deepsuperpixel.datasets.folder``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path

DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "microscopy" / "dsb2018_stage1_subset"


def _root(a) -> Path:
    root = Path(a.root or os.environ.get("NDS_DSB2018", DEFAULT_ROOT))
    if not (root / "metadata.csv").is_file():
        sys.exit(f"no DSB2018 subset at {root} (metadata.csv missing); pass --root")
    return root


def split_names(root: Path):
    """``(train, heldout)`` image stems: every fourth image of each category (sorted) is held out."""
    by_cat: dict = {}
    with open(root / "metadata.csv", newline="") as f:
        for row in csv.DictReader(f):
            by_cat.setdefault(row["category"], []).append(Path(row["image"]).stem)
    train, held = [], []
    for cat in sorted(by_cat):
        for i, name in enumerate(sorted(by_cat[cat])):
            (held if i % 4 == 3 else train).append(name)
    return sorted(train), sorted(held)


def cmd_split(a) -> int:
    root = _root(a)
    work = Path(a.work)
    train, held = split_names(root)
    tdir = work / "train"
    tdir.mkdir(parents=True, exist_ok=True)
    for name in train:
        link = tdir / f"{name}.png"
        if not link.exists():
            link.symlink_to((root / "images" / f"{name}.png").resolve())
    (work / "split.json").write_text(json.dumps({"train": train, "heldout": held}, indent=1))
    print(f"{len(train)} training images linked in {tdir}, {len(held)} held out (split.json)")
    return 0


def cmd_train(a) -> int:
    from napari_deepsuperpixel.training.sen import train_sen
    from napari_deepsuperpixel.training.superae import train_superae

    work = Path(a.work)
    if not (work / "train").is_dir():
        sys.exit("run `split` first")
    from napari_deepsuperpixel.bench.settings import parse_settings

    kw = parse_settings(a.param, "-p")
    out = work / f"{a.method}_microscopy_run.pt"

    def progress(ev):
        if ev.stage == "epoch":
            print(f"epoch {ev.info['epoch']}/{a.epochs}: loss {ev.info['loss']:.5f}, {ev.info['seconds']:.1f} s",
                  flush=True)

    t0 = time.perf_counter()
    if a.method == "sen":
        train_sen(work / "train", out=out, epochs=a.epochs, seed=a.seed, device="cpu", resume=out.exists(),
                  progress=progress, **kw)
    else:
        kw.setdefault("template", "felzenszwalb")
        train_superae(work / "train", out=out, epochs=a.epochs, seed=a.seed, device="cpu", resume=out.exists(),
                      progress=progress, **kw)
    print(f"trained in {time.perf_counter() - t0:.0f} s -> {out}")
    return 0


def _methods(work: Path):
    """Rows of ``eval``: the baselines, each method with the shipped ``bsds`` and ``microscopy`` sets and,
    where ``train`` made one in ``work``, with this run's weights."""
    sen_m = work / "sen_microscopy_run.pt"
    ae_m = work / "superae_microscopy_run.pt"
    out = {"snic": ("snic", {}), "slic": ("slic", {}), "sen (bsds weights)": ("sen", {"checkpoint": "bsds"}),
           "sen (microscopy weights)": ("sen", {"checkpoint": "microscopy"})}
    if sen_m.exists():
        out["sen (this run)"] = ("sen", {"checkpoint": str(sen_m)})
    for name in ("bsds", "microscopy"):
        out[f"superae + snic ({name} weights)"] = ("superae", {"checkpoint": name, "superpixel_method": "snic"})
    if ae_m.exists():
        out["superae + snic (this run)"] = ("superae", {"checkpoint": str(ae_m), "superpixel_method": "snic"})
    return out


#: the paired differences ``eval`` prints (first minus second), where both rows exist
PAIRS = (("sen (microscopy weights)", "sen (bsds weights)"), ("sen (microscopy weights)", "snic"),
         ("sen (this run)", "sen (microscopy weights)"), ("sen (this run)", "sen (bsds weights)"),
         ("sen (this run)", "snic"),
         ("superae + snic (microscopy weights)", "superae + snic (bsds weights)"),
         ("superae + snic (this run)", "superae + snic (microscopy weights)"))


def cmd_eval(a) -> int:
    import numpy as np

    from napari_deepsuperpixel import segment
    from napari_deepsuperpixel.bench.tables import markdown_table, paired_difference
    from napari_deepsuperpixel.datasets.folder import FolderDataset
    from napari_deepsuperpixel.metrics.evaluate import evaluate_segmentation

    root = _root(a)
    work = Path(a.work)
    _, held = split_names(root)
    ds = FolderDataset(root)
    counts = [int(v) for v in a.counts.split(",")]
    methods = _methods(work)
    rows = []
    samples = {x.name: x for x in ds if x.name in set(held)}
    for i, name in enumerate(held):
        s = samples[name]
        img = s.image
        for label, (m, kw) in methods.items():
            for k in counts:
                kk = dict(kw)
                if m == "superae":
                    kk["superpixel_params"] = f"n_segments={k}"
                else:
                    kk["n_segments"] = k
                t0 = time.perf_counter()
                lab = segment(img, m, device="cpu", **kk)
                dt = time.perf_counter() - t0
                ev = evaluate_segmentation(lab, None, s.ground_truths)
                rows.append({"image": name, "method": label, "K": k, "n": int(lab.max()), "asa": ev["asa"],
                             "br": ev["br"], "seconds": dt})
        print(f"[{i + 1}/{len(held)}] {name}", file=sys.stderr, flush=True)
    with open(work / "eval.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    cells = []
    for k in counts:
        for label in methods:
            sel = [r for r in rows if r["method"] == label and r["K"] == k]
            cells.append([label, k, f"{np.mean([r['n'] for r in sel]):.0f}", f"{np.mean([r['asa'] for r in sel]):.4f}",
                          f"{np.mean([r['br'] for r in sel]):.4f}",
                          f"{statistics.median(r['seconds'] for r in sel):.2f}"])
    lines = [f"Held-out DSB2018 images: {len(held)} (every fourth of each category); ASA and boundary recall "
             "(r = 2) against the nucleus masks, background one segment; mean over images.", "",
             markdown_table(["method", "K", "segments (mean)", "ASA", "BR", "s / image (median)"], cells, "lrrrrr")]
    # paired differences of the microscopy weights against the BSDS weights and SNIC (95 % interval)
    for k in counts:
        for a_, b_ in PAIRS:
            A = {r["image"]: r for r in rows if r["method"] == a_ and r["K"] == k}
            B = {r["image"]: r for r in rows if r["method"] == b_ and r["K"] == k}
            common = sorted(set(A) & set(B))
            if len(common) < 2:
                continue
            asa, br = (paired_difference([A[n][key] for n in common], [B[n][key] for n in common])
                       for key in ("asa", "br"))
            lines.append(f"\nK = {k}: {a_} - {b_}: ASA {asa}, BR {br} ({len(common)} images)")
    text = "\n".join(lines) + "\n"
    (work / "eval.md").write_text(text)
    print(text)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for n in ("split", "train", "eval"):
        p = sub.add_parser(n)
        p.add_argument("--work", required=True)
        p.add_argument("--root", default=None, help="the DSB2018 subset (default: ../shared/microscopy/...)")
    t = sub.choices["train"]
    t.add_argument("method", choices=("sen", "superae"))
    t.add_argument("--epochs", type=int, required=True)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("-p", "--param", action="append", metavar="KEY=VALUE")
    sub.choices["eval"].add_argument("--counts", default="200,800")
    a = ap.parse_args(argv)
    return {"split": cmd_split, "train": cmd_train, "eval": cmd_eval}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
