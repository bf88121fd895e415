"""Quality and speed of the Superpixel Embedding Network (SEN) on BSDS500.

Sub-commands (all CPU; numbers for docs/methods/sen.md)::

    # quality on the first N test images (sorted by id): SEN vs SNIC vs SLIC at 50..500
    # superpixels (boundary F1 r=2, ASA, corrected undersegmentation error) and
    # sen_contours boundary ODS/OIS/AP (official BSDS aggregation, 99 thresholds)
    python benchmarks/bench_sen.py quality --limit 20 -o /tmp/sen_bench

    # compactness m of Eq. 7 on validation images (never on test)
    python benchmarks/bench_sen.py tune --split val --limit 10

    # inference time per image (embedding, GBMS, SNIC, contours) and training time per epoch
    python benchmarks/bench_sen.py speed --repeats 3

    # the same contour recipe on SNIC-on-CIELAB superpixels (baseline for sen_contours)
    python benchmarks/bench_sen.py contour_baseline --limit 20 -o /tmp/sen_bench

    # the figure of docs/methods/sen.md
    python benchmarks/bench_sen.py figure --image 100007 -o docs/images/sen_overlay.png

    # the cheap screening proxy of a checkpoint on a few val images (never test): how well the
    # cosine distance of neighbouring embeddings detects ground-truth boundaries (ROC AUC; raw
    # CIELAB distance is the bar to beat) and the official boundary P / R / F at K = 50
    python benchmarks/bench_sen.py proxy --limit 5 --checkpoint run.pt --label "my change"

``--checkpoint PATH`` evaluates another checkpoint than the shipped weights.
The script writes ``quality.md`` / ``quality.csv`` (and ``speed.md``) into
``-o`` and refuses to replace them without ``--overwrite``. ``quality`` also
writes the ``sen_contours`` maps as 8-bit pngs to ``-o/contours`` and scores
them with ``deepsuperpixel eval`` (boundary benchmark, ground truth linked
into ``-o/gt``), i.e. exactly as a user scores any boundary map.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

import numpy as np

COUNTS = (50, 100, 200, 300, 400, 500)


def _bsds(split, limit):
    from napari_deepsuperpixel.datasets.bsds import BSDS500, find_bsds500

    try:
        root = find_bsds500()
    except FileNotFoundError as e:
        sys.exit(str(e))
    ds = BSDS500(root)
    return ds.samples(split)[:limit]


#: quality.csv column -> key of ``metrics.evaluate.evaluate_segmentation`` (the file keeps its columns)
CSV_KEYS = {"f1": "bf1", "asa": "asa", "cue": "ue", "n": "n_segments", "cntR": "bdry_cntR", "sumR": "bdry_sumR",
            "cntP": "bdry_cntP", "sumP": "bdry_sumP"}


def _sp_metrics(labels, gt, official: bool = False):
    """Boundary F1 (r = 2), ASA, corrected UE, segments and, with ``official``, the BSDS boundary counts."""
    from napari_deepsuperpixel.metrics.evaluate import evaluate_segmentation

    m = evaluate_segmentation(labels, None, gt.segmentations, gt.boundaries if official else None)
    return {c: m[k] for c, k in CSV_KEYS.items() if k in m}


def _check_out(out: Path, names, overwrite):
    out.mkdir(parents=True, exist_ok=True)
    for n in names:
        if (out / n).exists() and not overwrite:
            sys.exit(f"{out / n} exists; pass --overwrite")


def cmd_quality(args):
    from napari_deepsuperpixel import segment
    from napari_deepsuperpixel.methods.sen import CONTOUR_COUNTS, boundary_strength, embed, snap_superpixels
    from napari_deepsuperpixel.methods.snic import snic

    out = Path(args.output)
    _check_out(out, ["quality.md", "quality.csv"], args.overwrite)
    from napari_deepsuperpixel.io.files import write_png

    rows, t_embed = [], []
    counts = tuple(int(v) for v in args.counts.split(","))
    baselines = [m for m in args.baselines.split(",") if m]
    samples = _bsds(args.split, args.limit)
    cdir, gdir = out / "contours", out / "gt"
    cdir.mkdir(exist_ok=True)
    gdir.mkdir(exist_ok=True)
    for i, s in enumerate(samples):
        img = s.load_image()
        gt = s.load_ground_truth()
        t0 = time.perf_counter()
        emb = embed(img.astype(np.float32) / 255.0, checkpoint=args.checkpoint, device="cpu",
                    clustering=not args.no_clustering, gbms_anchors=args.gbms_anchors or None)
        t_embed.append(time.perf_counter() - t0)
        for k in counts:
            lab = snic(emb, k, args.compactness, distance="cosine")
            if args.icm_passes:  # the edge refinement of `sen` (the method's default unless --icm-passes 0)
                lab = snap_superpixels(lab, img.astype(np.float32) / 255.0, args.icm_passes)
            rows.append({"image": s.name, "method": "sen", "K": k, **_sp_metrics(lab, gt, True)})
            for m in baselines:  # the package's defaults (snic, slic: compactness 20 and 10 on CIELAB)
                lab = segment(img, m, n_segments=k)
                rows.append({"image": s.name, "method": m, "K": k, **_sp_metrics(lab, gt, True)})
        if not args.no_contours:
            cmap, _ = boundary_strength(emb, CONTOUR_COUNTS, args.compactness)
            # the contour map as an 8-bit png, scored below by `deepsuperpixel eval` (as a pb map)
            write_png(cdir / f"{s.name}.png", np.round(cmap * 255).astype(np.uint8), overwrite=True)
        link = gdir / s.gt_path.name
        if not link.exists():
            link.symlink_to(s.gt_path.resolve())
        print(f"[{i + 1}/{len(samples)}] {s.name} embed {t_embed[-1]:.2f}s", file=sys.stderr, flush=True)
    with open(out / "quality.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    from napari_deepsuperpixel.bench.evaluate import evaluate_folder
    from napari_deepsuperpixel.bench.tables import markdown_table

    summ = None if args.no_contours else evaluate_folder(gdir, cdir, out / "contours_eval", nthresh=99,
                                                         benchmark="boundary", overwrite=True, cache=False).boundary
    methods = ["sen"] + baselines
    curve, table = {}, []
    for metric in ("bsds_f", "f1", "asa", "cue", "n"):
        for k in counts:
            vals = []
            for m in methods:
                sel = [r for r in rows if r["method"] == m and r["K"] == k]
                if metric == "bsds_f":  # official matching, counts summed over images (dataset F)
                    rr = sum(r["cntR"] for r in sel) / max(sum(r["sumR"] for r in sel), 1)
                    pp = sum(r["cntP"] for r in sel) / max(sum(r["sumP"] for r in sel), 1)
                    v = 2 * pp * rr / max(pp + rr, 1e-12)
                else:
                    v = float(np.mean([r[metric] for r in sel]))
                curve[f"{m} {metric} @{k}"] = v
                vals.append(f"{v:.4f}" if metric != "n" else f"{v:.1f}")
            table.append([metric, k] + vals)
    lines = [f"Quality on the first {len(samples)} BSDS500 {args.split} images (sorted ids {samples[0].name} .. "
             f"{samples[-1].name}); mean over images of the mean over annotators; r = 2 px square window.",
             "", markdown_table(["metric", "K"] + methods, table, "lr" + "r" * len(methods))]
    if summ is not None:
        curve["sen_contours ODS F"] = summ.ods_f
        lines += ["", f"sen_contours (13 sizes {CONTOUR_COUNTS[0]}..{CONTOUR_COUNTS[-1]}, official BSDS boundary "
                      f"benchmark, 99 thresholds): ODS F {summ.ods_f:.4f} (R {summ.ods_r:.4f}, P {summ.ods_p:.4f}, "
                      f"t {summ.ods_t:.2f}), OIS F {summ.ois_f:.4f}, AP {summ.ap:.4f}"]
    lines += ["", f"SEN embedding time per image (U-Net + GBMS, CPU): median {statistics.median(t_embed):.2f} s",
              f"compactness m = {args.compactness}; checkpoint: {args.checkpoint or 'shipped sen_bsds.pt'}; "
              f"clustering module: {'off (ablation)' if args.no_clustering else 'on'}; GBMS anchors "
              f"{args.gbms_anchors or 'of the checkpoint'}; edge refinement sweeps {args.icm_passes}"]
    (out / "quality.md").write_text("\n".join(lines) + "\n")
    import json

    (out / "curve.json").write_text(json.dumps(curve, indent=1))
    print("\n".join(lines))


def neighbour_pairs(shape):
    """Index pairs ``(a, b)`` (flat, 1-D) of every horizontally and vertically neighbouring pixel pair."""
    h, w = shape
    idx = np.arange(h * w).reshape(h, w)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:].ravel()])
    return a, b


def gt_boundary_pairs(segmentations, a, b):
    """True where more than half of the annotators put the two pixels of a pair in different segments."""
    votes = np.zeros(a.shape, np.float32)
    for g in segmentations:
        g = np.asarray(g).ravel()
        votes += g[a] != g[b]
    return votes > 0.5 * len(segmentations)


def neighbour_auc(features, segmentations, *, cosine: bool = True) -> float:
    """ROC AUC of the neighbour distance as a detector of ground-truth boundaries.

    Every pair of 4-neighbouring pixels is scored by the distance of its two
    feature vectors (the cosine distance of Eq. 2 for embeddings, Euclidean for
    colours) and labelled positive when more than half of the annotators put a
    boundary between the two pixels. 0.5 is chance; raw CIELAB scores about
    0.88 on BSDS500 val images, the bar a learned embedding has to beat.

    Parameters
    ----------
    features : numpy.ndarray
        ``(Y, X, D)`` per-pixel features.
    segmentations : list of numpy.ndarray
        The annotators' ``(Y, X)`` label maps.
    cosine : bool
        Cosine distance (embeddings) or Euclidean (colours).

    Returns
    -------
    float
        The AUC over all neighbour pairs of the image.
    """
    from sklearn.metrics import roc_auc_score

    f = np.asarray(features, np.float32).reshape(-1, features.shape[-1])
    a, b = neighbour_pairs(features.shape[:2])
    y = gt_boundary_pairs(segmentations, a, b)
    if cosine:
        fn = f / np.linalg.norm(f, axis=1, keepdims=True).clip(1e-12)
        d = 0.5 - 0.5 * np.einsum("ij,ij->i", fn[a], fn[b])
    else:
        d = np.linalg.norm(f[a] - f[b], axis=1)
    return float(roc_auc_score(y, d))


def proxy_scores(checkpoint: str = "", *, split: str = "val", limit: int = 5, k: int = 50,
                 compactness: float = 0.5, gbms_anchors=256, baselines: bool = False) -> dict:
    """The screening proxy of a SEN checkpoint on the first ``limit`` images of ``split``.

    Returns a dict with ``auc_unet`` and ``auc_gbms`` (mean over images of
    :func:`neighbour_auc` of the U-Net embedding and after the GBMS module),
    ``spread_unet`` / ``spread_gbms`` (mean cosine distance of 4,096 random
    pixel pairs per image: GBMS that clusters pulls it down), ``kappa``, and
    ``P``, ``R``, ``F``: the official BSDS boundary precision, recall and F of
    SEN's SNIC superpixels at ``k`` (counts summed over the images), and
    ``P_unet``, ``R_unet``, ``F_unet`` the same without the GBMS module (its
    ablation). With
    ``baselines`` also ``auc_lab`` (raw CIELAB) and ``snic_P/R/F``.
    """
    from skimage.color import rgb2lab

    from napari_deepsuperpixel import segment
    from napari_deepsuperpixel.methods.sen import embed, load_sen
    from napari_deepsuperpixel.methods.snic import snic

    samples = _bsds(split, limit)
    acc = {"auc_unet": [], "auc_gbms": [], "spread_unet": [], "spread_gbms": [], "auc_lab": []}
    counts = {"sen": np.zeros(4), "sen_unet": np.zeros(4), "snic": np.zeros(4)}
    rng = np.random.default_rng(0)
    for s in samples:
        img = s.load_image()
        gt = s.load_ground_truth()
        x = img.astype(np.float32) / 255.0
        e0 = embed(x, checkpoint=checkpoint, clustering=False)
        e = embed(x, checkpoint=checkpoint, gbms_anchors=gbms_anchors)
        acc["auc_unet"].append(neighbour_auc(e0, gt.segmentations))
        acc["auc_gbms"].append(neighbour_auc(e, gt.segmentations))
        i, j = rng.integers(e.shape[0] * e.shape[1], size=(2, 4096))
        for name, f in (("spread_unet", e0), ("spread_gbms", e)):
            f = f.reshape(-1, f.shape[-1])
            acc[name].append(float(np.mean(0.5 - 0.5 * np.einsum("ij,ij->i", f[i], f[j]))))
        lab = snic(e, k, compactness, distance="cosine")
        m = _sp_metrics(lab, gt, True)
        counts["sen"] += [m["cntR"], m["sumR"], m["cntP"], m["sumP"]]
        m = _sp_metrics(snic(e0, k, compactness, distance="cosine"), gt, True)
        counts["sen_unet"] += [m["cntR"], m["sumR"], m["cntP"], m["sumP"]]
        if baselines:
            acc["auc_lab"].append(neighbour_auc(rgb2lab(img), gt.segmentations, cosine=False))
            m = _sp_metrics(segment(img, "snic", n_segments=k), gt, True)
            counts["snic"] += [m["cntR"], m["sumR"], m["cntP"], m["sumP"]]
    out = {key: float(np.mean(v)) for key, v in acc.items() if v}
    for name, c in counts.items():
        if name == "snic" and not baselines:
            continue
        r, p = c[0] / max(c[1], 1), c[2] / max(c[3], 1)
        pre, post = {"sen": ("", ""), "sen_unet": ("", "_unet"), "snic": ("snic_", "")}[name]
        out.update({pre + "P" + post: p, pre + "R" + post: r, pre + "F" + post: 2 * p * r / max(p + r, 1e-12)})
    out["kappa"] = float(load_sen(checkpoint).gbms.kappa.detach())
    return out


def cmd_proxy(args):
    import json

    if args.limit <= 0:  # --limit 0 --table FILE: only print the table
        args.append = ""
        res = None
    else:
        res = proxy_scores(args.checkpoint, split=args.split, limit=args.limit, k=args.k,
                           compactness=args.compactness, gbms_anchors=args.gbms_anchors or None,
                           baselines=args.baselines)
        res = {"label": args.label or (args.checkpoint or "shipped sen_bsds.pt"), "split": args.split,
               "limit": args.limit, "K": args.k, **res}
        print(json.dumps(res))
    if args.append:
        with open(args.append, "a") as f:
            f.write(json.dumps(res) + "\n")
    if args.table:
        from napari_deepsuperpixel.bench.tables import markdown_table

        rows = [json.loads(line) for line in open(args.table) if line.strip()]
        cols = ["auc_unet", "auc_gbms", "spread_unet", "spread_gbms", "kappa", "P", "R", "F", "P_unet", "R_unet",
                "F_unet"]
        print(markdown_table(["change"] + cols,
                             [[r["label"]] + [f"{r[c]:.3f}" if c in r else "" for c in cols] for r in rows],
                             "l" + "r" * len(cols)))


def cmd_contour_baseline(args):
    """The contour recipe of ``sen_contours`` (13 SNIC sizes, averaged) on CIELAB instead of embeddings."""
    from skimage.color import rgb2lab

    from napari_deepsuperpixel.bench.evaluate import evaluate_folder
    from napari_deepsuperpixel.io.files import write_png
    from napari_deepsuperpixel.methods.sen import CONTOUR_COUNTS
    from napari_deepsuperpixel.methods.snic import snic

    out = Path(args.output)
    _check_out(out, ["contour_baseline.md"], args.overwrite)
    samples = _bsds("test", args.limit)
    cdir, gdir = out / "contours_snic_lab", out / "gt"
    cdir.mkdir(parents=True, exist_ok=True)
    gdir.mkdir(exist_ok=True)
    for s in samples:
        lab = rgb2lab(s.load_image()).astype(np.float32)
        acc = np.zeros(lab.shape[:2], np.float32)
        for k in CONTOUR_COUNTS:
            lb = snic(lab, k, 20.0)  # the package's SNIC default compactness
            b = np.zeros(acc.shape, bool)  # same boundary convention as sen_contours
            b[:, :-1] = lb[:, :-1] != lb[:, 1:]
            b[:-1] |= lb[:-1] != lb[1:]
            acc += b
        write_png(cdir / f"{s.name}.png", np.round(acc / len(CONTOUR_COUNTS) * 255).astype(np.uint8),
                  overwrite=True)
        link = gdir / s.gt_path.name
        if not link.exists():
            link.symlink_to(s.gt_path.resolve())
    b = evaluate_folder(gdir, cdir, out / "contours_snic_lab_eval", nthresh=99, benchmark="boundary",
                        overwrite=True, cache=False).boundary
    line = (f"SNIC-on-CIELAB contours (same 13 sizes, averaged), first {len(samples)} test images: "
            f"ODS F {b.ods_f:.4f} (R {b.ods_r:.4f}, P {b.ods_p:.4f}), OIS F {b.ois_f:.4f}, AP {b.ap:.4f}")
    (out / "contour_baseline.md").write_text(line + "\n")
    print(line)


def cmd_tune(args):
    from napari_deepsuperpixel.methods.sen import embed
    from napari_deepsuperpixel.methods.snic import snic

    samples = _bsds(args.split, args.limit)
    values = [float(v) for v in args.values.split(",")]
    res = {m: [] for m in values}
    for s in samples:
        img = s.load_image()
        gt = s.load_ground_truth()
        emb = embed(img.astype(np.float32) / 255.0, checkpoint=args.checkpoint, device="cpu",
                    gbms_anchors=args.gbms_anchors or None)
        for m in values:
            for k in (100, 300):
                res[m].append(_sp_metrics(snic(emb, k, m, distance="cosine"), gt))
    print(f"compactness on {len(samples)} {args.split} images, K = 100 and 300:")
    for m in values:
        print(f"m={m:<6} F1 {np.mean([r['f1'] for r in res[m]]):.4f}  ASA {np.mean([r['asa'] for r in res[m]]):.4f}")


def cmd_speed(args):
    import torch

    from napari_deepsuperpixel import segment_result
    from napari_deepsuperpixel.bench.tables import markdown_table
    from napari_deepsuperpixel.methods.sen import CONTOUR_COUNTS, boundary_strength, embed
    from napari_deepsuperpixel.methods.snic import snic
    from napari_deepsuperpixel.training.sen import train_sen

    out = Path(args.output)
    _check_out(out, ["speed.md"], args.overwrite)
    img = _bsds("test", 1)[0].load_image().astype(np.float32) / 255.0
    embed(img, checkpoint=args.checkpoint)  # warm-up (model load, numba compile)
    snic(np.zeros((8, 8, 16), np.float32), 4, 0.5, distance="cosine")
    t = {"unet": [], "unet+gbms": [], "snic K=200": [], "contours (13 SNIC)": [], "segment('sen')": []}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        embed(img, checkpoint=args.checkpoint, clustering=False)
        t["unet"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        emb = embed(img, checkpoint=args.checkpoint)
        t["unet+gbms"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        snic(emb, 200, args.compactness, distance="cosine")
        t["snic K=200"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        boundary_strength(emb, CONTOUR_COUNTS, args.compactness)
        t["contours (13 SNIC)"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        segment_result(img, "sen", n_segments=200, checkpoint=args.checkpoint, device="cpu")
        t["segment('sen')"].append(time.perf_counter() - t0)
    # the `deepsuperpixel demo` image: scikit-image astronaut, 512 x 512, default parameters
    from skimage import data

    astro = data.astronaut()
    demo = {"sen": [], "sen_contours": []}
    for _ in range(args.repeats):
        for m in demo:
            t0 = time.perf_counter()
            segment_result(astro, m, checkpoint=args.checkpoint, device="cpu")
            demo[m].append(time.perf_counter() - t0)
    # training: one short epoch of the shipped settings (10 steps) into a temporary file
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        train_sen("bsds", output=Path(d) / "x.pt", epochs=1, steps_per_epoch=10, device="cpu", max_images=20)
        step_s = (time.perf_counter() - t0) / 10
    stages = [[k, f"{statistics.median(v):.3f}"] for k, v in t.items()]
    stages += [[f"astronaut 512x512 `{m}` (defaults)", f"{statistics.median(v):.3f}"] for m, v in demo.items()]
    lines = [f"CPU times on a 481x321 BSDS500 image (median of {args.repeats}; torch threads "
             f"{torch.get_num_threads()}):", "", markdown_table(["stage", "seconds"], stages, "lr")]
    lines += ["", f"training: {step_s:.2f} s per step of 4 crops 96x96 (incl. image loading of 20 images), "
                  f"i.e. about {20 * step_s:.0f} s per epoch of 20 steps"]
    (out / "speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def cmd_figure(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from napari_deepsuperpixel import segment
    from napari_deepsuperpixel.io.files import overlay_boundaries
    from napari_deepsuperpixel.methods.sen import CONTOUR_COUNTS, boundary_strength, embed
    from napari_deepsuperpixel.methods.snic import snic

    out = Path(args.output)
    if out.exists() and not args.overwrite:
        sys.exit(f"{out} exists; pass --overwrite")
    s = [x for x in _bsds("test", 200) if x.name == args.image][0]
    img = s.load_image()
    emb = embed(img.astype(np.float32) / 255.0, checkpoint=args.checkpoint)
    sen = snic(emb, args.k, args.compactness, distance="cosine")
    sn = segment(img, "snic", n_segments=args.k)
    cmap, _ = boundary_strength(emb, CONTOUR_COUNTS, args.compactness)
    # first 3 principal components of the embedding as colours
    flat = emb.reshape(-1, emb.shape[2]) - emb.reshape(-1, emb.shape[2]).mean(0)
    pcs = flat @ np.linalg.svd(flat[:: 37], full_matrices=False)[2][:3].T
    pcs = (pcs - pcs.min(0)) / np.ptp(pcs, 0).clip(1e-9)
    panels = [(img, "image"), (overlay_boundaries(img, sen), f"SEN, K={args.k}"),
              (overlay_boundaries(img, sn), f"SNIC, K={args.k}"),
              (pcs.reshape(img.shape), "SEN embedding (PCA)"), (cmap, "sen_contours")]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 2.4))
    for ax, (im, title) in zip(axes, panels):
        ax.imshow(im, cmap="magma" if im.ndim == 2 else None)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    print(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("quality", "tune", "speed", "figure", "contour_baseline", "proxy"):
        q = sub.add_parser(name)
        q.add_argument("--checkpoint", default="", help="SEN checkpoint (default: shipped weights)")
        q.add_argument("--compactness", type=float, default=None, help="m of Eq. 7 (default: the method's)")
        q.add_argument("--gbms-anchors", type=int, default=None,
                       help="GBMS anchors at inference (default: the method's, 256; 0: the checkpoint's)")
        q.add_argument("-o", "--output", default="sen_bench")
        q.add_argument("--overwrite", action="store_true")
    sub.choices["quality"].add_argument("--limit", type=int, default=20)
    sub.choices["quality"].add_argument("--split", default="test", help="BSDS500 split (tune on val, report on test)")
    sub.choices["quality"].add_argument("--counts", default=",".join(map(str, COUNTS)), help="superpixel counts K")
    sub.choices["quality"].add_argument("--baselines", default="snic,slic",
                                        help="classical methods scored at the same K ('' for none)")
    sub.choices["quality"].add_argument("--no-contours", action="store_true", help="skip sen_contours")
    sub.choices["quality"].add_argument("--no-clustering", action="store_true",
                                        help="ablation: U-Net embeddings without the GBMS module")
    sub.choices["quality"].add_argument("--icm-passes", type=int, default=None,
                                        help="sweeps of the final edge refinement (default: the method's; 0: the "
                                             "paper's superpixels)")
    sub.choices["tune"].add_argument("--limit", type=int, default=10)
    sub.choices["tune"].add_argument("--split", default="val")
    sub.choices["tune"].add_argument("--values", default="0.2,0.35,0.5,0.7,1.0")
    sub.choices["speed"].add_argument("--repeats", type=int, default=3)
    sub.choices["figure"].add_argument("--image", default="100007", help="BSDS500 test image id")
    sub.choices["contour_baseline"].add_argument("--limit", type=int, default=20)
    pr = sub.choices["proxy"]
    pr.add_argument("--limit", type=int, default=5, help="val images (0: only print --table)")
    pr.add_argument("--split", default="val", help="BSDS500 split (screen on val, never test)")
    pr.add_argument("-k", type=int, default=50, help="superpixels for the boundary P / R / F")
    pr.add_argument("--label", default="", help="name of the row")
    pr.add_argument("--baselines", action="store_true", help="also raw CIELAB's AUC and SNIC's P / R / F")
    pr.add_argument("--append", default="", help="append the result as a JSON line to this file")
    pr.add_argument("--table", default="", help="print the JSON lines of this file as a markdown table")
    sub.choices["figure"].add_argument("-k", type=int, default=200)
    args = p.parse_args(argv)
    if getattr(args, "gbms_anchors", 0) is None:
        from napari_deepsuperpixel.methods.sen import GBMS_ANCHORS

        args.gbms_anchors = GBMS_ANCHORS
    if getattr(args, "icm_passes", 0) is None:
        from napari_deepsuperpixel.methods.sen import ICM_PASSES

        args.icm_passes = ICM_PASSES
    if args.compactness is None:
        from napari_deepsuperpixel.methods.sen import DEFAULT_COMPACTNESS

        args.compactness = DEFAULT_COMPACTNESS
    {"quality": cmd_quality, "tune": cmd_tune, "speed": cmd_speed, "figure": cmd_figure,
     "contour_baseline": cmd_contour_baseline, "proxy": cmd_proxy}[args.cmd](args)


if __name__ == "__main__":
    main()
