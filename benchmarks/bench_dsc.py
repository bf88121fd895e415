"""Quality and speed of SuperAE / Deep Superpixel Cut (Lin et al., ICPR 2020) on BSDS500.

Quality (``quality``): on the first ``--n-images`` BSDS500 *test* images
(sorted by id; the shipped SuperAE never saw the test split) it computes

* IMG: Felzenszwalb-Huttenlocher (EGB) superpixels of the original image,
* SuperAE: the same superpixel method on the SuperAE reconstruction,
* DSC: Deep Superpixel Cut of the SuperAE superpixels,

each at every superpixel setting of ``--fh-scales`` (these settings are the
"thresholds" of ODS/OIS, like the paper's multiple MS/EGB settings), and the
Table III baselines (k-means / NCut on mean RGB or mean deep feature) over the
SuperAE superpixels of the middle scale with ``K`` in ``--k-values`` as the
thresholds. Every segmentation is evaluated by
``metrics.evaluate.evaluate_segmentation`` (what ``deepsuperpixel bench``
computes per image); a variant's settings are merged into one multi-threshold
BSDS evaluation per image (``bench.summary.merge_sweep_evals``) and the
Covering / PRI / VI ODS and OIS table is ``bench.report.region_table``. Every
image's rows are cached in ``--cache`` (``bench.cache``, keyed by the image and
ground-truth content, the settings and the package version), so a run that is
interrupted resumes.

Speed (``speed``): wall time of SuperAE inference, of DSC per iteration at
full size and with ``max_side``, of ``dsc`` on astronaut 512x512 with the
settings given, and of one SuperAE training epoch (per image, CPU); medians
of ``--repeats`` runs.

``--superpixels meanshift`` sweeps mean-shift superpixels over ``--ms-counts``
(100, 50, 20, 10: the paper's Table II settings) instead of EGB over
``--fh-scales``: Table IV's DSC runs on MS superpixels. ``--split val`` scores
validation images (for tuning and learning curves); ``--out DIR`` also writes
``curve.json`` (SC/PRI/VI of SuperAE and DSC).

Usage (from the repository root)::

    python benchmarks/bench_dsc.py quality --n-images 10 --dsc-iter 32 --max-side 160
    python benchmarks/bench_dsc.py quality --n-images 10 --superpixels meanshift
    python benchmarks/bench_dsc.py count --split val --scales 100,200,300,400   # EGB superpixels per image
    python benchmarks/bench_dsc.py speed --repeats 3
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from napari_deepsuperpixel.datasets.bsds import find_bsds500

REPO = Path(__file__).resolve().parents[1]


#: bump when the cached rows of an image change meaning
CACHE_VERSION = 1


def _test_images(root: Path, n: int, split: str = "test"):
    from napari_deepsuperpixel.datasets.bsds import BSDS500

    return [(s.name, s.image_path, s.gt_path) for s in BSDS500(root).samples(split)[:n]]


def _rgb01(path):
    from napari_deepsuperpixel.io.files import read_image

    return (read_image(path)[..., :3] / 255.0).astype(np.float32)


def _superpixels(img, setting, args):
    """The superpixels of one sweep setting: EGB at ``scale=setting`` or mean shift at ``n_segments=setting``."""
    from napari_deepsuperpixel import segment

    if args.superpixels == "meanshift":
        return segment(img, "meanshift", normalize="none", channel_axis=-1, device="cpu", n_segments=int(setting))
    return segment(img, "felzenszwalb", normalize="none", channel_axis=-1, device="cpu",
                   scale=setting, sigma=0.5, min_size=args.min_size)


def _connected(lab):
    from napari_deepsuperpixel.postprocess import enforce_connectivity

    return enforce_connectivity(lab, min_size=0)


def quality_image(name, img_path, gt_path, args, model):
    """All segmentations of one image, evaluated: ``{variant: [row per setting]}`` and counts."""
    import torch

    from napari_deepsuperpixel.bench.cache import jsonable
    from napari_deepsuperpixel.datasets.bsds import load_ground_truth
    from napari_deepsuperpixel.methods import dsc, superpixel_clustering
    from napari_deepsuperpixel.metrics.evaluate import evaluate_segmentation
    from napari_deepsuperpixel.nn.optim import image_to_tensor
    from napari_deepsuperpixel.nn.superae import reconstruct

    img = _rgb01(img_path)
    gt = load_ground_truth(gt_path)
    with torch.no_grad():
        rec = reconstruct(model, image_to_tensor(img, "cpu", channels_last=False))[0].permute(1, 2, 0).numpy()
    segs = {"IMG": [], "SuperAE": [], "DSC": []}
    info = {"n_sp_img": [], "n_sp_rec": [], "n_dsc": [], "dsc_seconds": []}
    settings = args.ms_counts if args.superpixels == "meanshift" else args.fh_scales
    for s in settings:
        a = _superpixels(img, s, args)
        b = _superpixels(rec, s, args)
        t0 = time.perf_counter()
        lab, _ = dsc.deep_superpixel_cut(img, b, model, n_classes=args.k, n_iter=args.dsc_iter,
                                         max_side=args.max_side, seed=0,
                                         **_parse_variant(":" + args.dsc_options)[1])
        info["dsc_seconds"].append(time.perf_counter() - t0)
        c = _connected(lab)
        segs["IMG"].append(a)
        segs["SuperAE"].append(b)
        segs["DSC"].append(c)
        info["n_sp_img"].append(int(a.max()))
        info["n_sp_rec"].append(int(b.max()))
        info["n_dsc"].append(int(c.max()))
    mid = segs["SuperAE"][len(settings) // 2]
    for feat in (("rgb", "deep") if args.table_iii else ()):
        idx, feats, centers = superpixel_clustering.superpixel_features(img, mid, feat, args.checkpoint)
        d = 2.0 * np.sqrt(idx.size / feats.shape[0])
        segs[f"k-means, {feat}"] = [_connected(superpixel_clustering.kmeans(feats, k, seed=0)[idx] + 1) for k in args.k_values]
        segs[f"NCut, {feat}"] = [_connected(superpixel_clustering.spectral_ncut(feats, centers, k, d, seed=0)[idx] + 1)
                                 for k in args.k_values]
    rows = {k: [evaluate_segmentation(lab, None, gt.segmentations) for lab in v] for k, v in segs.items()}
    return jsonable({"rows": rows, "info": info})


def cmd_quality(args) -> None:
    from napari_deepsuperpixel.bench.cache import ResultCache, cache_key, file_digest
    from napari_deepsuperpixel.bench.report import region_table
    from napari_deepsuperpixel.bench.summary import merge_sweep_evals
    from napari_deepsuperpixel.methods.dsc import load_superae

    model = load_superae(args.checkpoint)
    cache = ResultCache(args.cache, "json")
    cfg = {k: getattr(args, k) for k in ("fh_scales", "min_size", "k", "dsc_iter", "max_side", "k_values",
                                         "checkpoint")}
    if args.superpixels != "felzenszwalb":  # (keeps the cache keys of the EGB runs made before this option)
        cfg.update(superpixels=args.superpixels, ms_counts=args.ms_counts)
    if not args.table_iii:
        cfg.update(table_iii=False)
    # the DSC options; runs before the logit normalisation and the stop rule became the defaults were
    # made with logit_bn=False, min_labels=0 (cached under the keys without this entry)
    cfg.update(dsc_options=_parse_variant(":" + args.dsc_options)[1] or {"logit_bn": True, "min_labels": 3})
    items = _test_images(find_bsds500(args.bsds), args.n_images, args.split)
    per = {}
    for i, (name, ip, gp) in enumerate(items):
        key = cache_key(cfg, cache_version=CACHE_VERSION, image=file_digest(ip), gt=file_digest(gp))
        res = cache.load(name, key)
        if res is None:
            if args.cached_only or (args.shard and i % args.shard[1] != args.shard[0]):
                continue  # another process computes this image (or: table of the cached images only)
            t0 = time.perf_counter()
            res = quality_image(name, ip, gp, args, model)
            cache.save(name, key, res, image=name)
            info = res["info"]
            print(f"[{i + 1}/{len(items)}] {name}: {time.perf_counter() - t0:.0f} s, superpixels "
                  f"img {info['n_sp_img']} rec {info['n_sp_rec']}, dsc segments {info['n_dsc']}", flush=True)
        per[name] = res
    if args.cached_only:
        items = [it for it in items if it[0] in per]
    if len(per) < len(items) or not per:
        print(f"{len(per)}/{len(items)} images done in this shard; run again without --shard for the table")
        return
    variants = list(next(iter(per.values()))["rows"])
    print(f"\nBSDS500 {args.split}, first {len(items)} images ({', '.join(n for n, _, _ in items)}); config {cfg}\n")
    evals = {v: [merge_sweep_evals(n, p["rows"][v]) for n, p in per.items()] for v in variants}
    print(region_table(evals))
    if args.out:
        import json

        from napari_deepsuperpixel.metrics.bsds import collect

        curve = {}
        for v in ("SuperAE", "DSC"):
            r = collect(evals[v]).region
            curve.update({f"{v} SC ODS": r.cover_ods, f"{v} PRI ODS": r.pri_ods, f"{v} VI ODS": r.voi_ods,
                          f"{v} SC OIS": r.cover_ois, f"{v} PRI OIS": r.pri_ois, f"{v} VI OIS": r.voi_ois})
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "curve.json").write_text(json.dumps(curve, indent=1))
    nsp = np.array([p["info"]["n_sp_rec"] for p in per.values()])
    ndsc = np.array([p["info"]["n_dsc"] for p in per.values()])
    secs = np.array([p["info"]["dsc_seconds"] for p in per.values()])
    print(f"\nmedian SuperAE superpixels per scale {np.median(nsp, 0).tolist()}, median DSC segments "
          f"{np.median(ndsc, 0).tolist()}, median DSC seconds/run {float(np.median(secs)):.1f}")


def _parse_variant(text: str):
    """``"name:key=value,key=value"`` -> ``(name, {key: value})`` (values through the package's parser)."""
    import ast

    from napari_deepsuperpixel.keyvalues import parse_key_values

    def value(v: str):
        if v.lower() in ("true", "false"):
            return v.lower() == "true"
        try:
            return ast.literal_eval(v)
        except (ValueError, SyntaxError):
            return v  # a word, e.g. cut=ncut

    name, _, kv = text.partition(":")
    return name, {k: value(v) for k, v in (parse_key_values(kv, "variant") if kv else {}).items()}


def cmd_screen(args) -> None:
    """DSC variants (keyword arguments of ``deep_superpixel_cut``) on the same SuperAE superpixels.

    Every ``--sp-params`` setting of ``--sp-method`` on ``--sp-on`` (the reconstruction or the image) is one threshold of ODS / OIS,
    as the paper's Table IV reads "MS with multiple parameter settings" (one setting: ODS = OIS); each
    variant's segmentation is split into 4-connected regions as ``segment`` does. Prints SC / PRI / VI
    (ODS and OIS) and the number of final regions (median, range, over images and settings) per
    variant. Rows are cached per image, setting and variant in ``--cache``.
    """
    import torch

    from napari_deepsuperpixel.bench.cache import ResultCache, cache_key, file_digest, jsonable
    from napari_deepsuperpixel.bench.summary import merge_sweep_evals
    from napari_deepsuperpixel.datasets.bsds import load_ground_truth
    from napari_deepsuperpixel.methods import dsc
    from napari_deepsuperpixel.metrics.bsds import collect
    from napari_deepsuperpixel.metrics.evaluate import evaluate_segmentation

    torch.set_num_threads(1)
    model = dsc.load_superae(args.checkpoint)
    variants = [_parse_variant(v) for v in args.variant]
    settings = args.sp_params or [dsc.default_superpixel_params(args.sp_method, args.sp_on)]
    cache = ResultCache(args.cache, "json")
    items = _test_images(find_bsds500(args.bsds), args.n_images, args.split)[args.skip:]
    per = {name: {} for name, _ in variants}
    for i, (img_name, ip, gp) in enumerate(items):
        img = gt = None
        sps = {}
        for name, kw in variants:
            rows = []
            for sp_params in settings:
                cfg = dict(kw=kw, sp_method=args.sp_method, sp_params=sp_params, checkpoint=args.checkpoint,
                           k=args.k, dsc_iter=args.dsc_iter, max_side=args.max_side)
                if args.sp_on != "reconstruction":  # (keeps the keys of the earlier cached rows)
                    cfg["sp_on"] = args.sp_on
                if name == "superpixels":
                    cfg = dict(cfg, superpixels_only=True)
                key = cache_key(cfg, cache_version=CACHE_VERSION, image=file_digest(ip), gt=file_digest(gp))
                res = cache.load(img_name + "_screen", key)
                if res is None:
                    if img is None:
                        img = _rgb01(ip)
                        gt = load_ground_truth(gp)
                    if sp_params not in sps:
                        sps[sp_params], _ = dsc.superae_superpixels(img, checkpoint=args.checkpoint,
                                                                    superpixel_method=args.sp_method,
                                                                    superpixel_params=sp_params,
                                                                    superpixels_on=args.sp_on)
                    sp = sps[sp_params]
                    opts = dict(n_classes=args.k, n_iter=args.dsc_iter, max_side=args.max_side, seed=0)
                    opts.update(kw)
                    t0 = time.perf_counter()
                    if name == "superpixels":  # the SuperAE superpixels themselves, as a reference row
                        lab, hist = sp, []
                    else:
                        lab, hist = dsc.deep_superpixel_cut(img, sp, model, **opts)
                    secs = time.perf_counter() - t0
                    c = _connected(lab)
                    res = jsonable({"row": evaluate_segmentation(c, None, gt.segmentations),
                                    "n_classes": int(np.unique(lab).size), "n_regions": int(c.max()),
                                    "n_sp": int(np.unique(sp).size), "iters": len(hist), "seconds": secs})
                    cache.save(img_name + "_screen", key, res, image=img_name)
                    print(f"[{i + 1}/{len(items)}] {img_name} {name} {sp_params}: {res['n_classes']} classes, "
                          f"{res['n_regions']} regions, {res['iters']} iterations, {secs:.1f} s", flush=True)
                rows.append(res)
            per[name][img_name] = rows
    print(f"\nBSDS500 {args.split}, images {args.skip + 1}-{args.skip + len(items)}, superpixels {args.sp_method} "
          f"{' | '.join(settings)} on the {args.sp_on} (the thresholds of ODS / OIS), K={args.k}, "
          f"{args.dsc_iter} iterations, max_side {args.max_side}\n")
    print("| variant | SC ODS | SC OIS | PRI ODS | PRI OIS | VI ODS | VI OIS | classes (median) | "
          "regions median [range] | iterations (median) | s / run |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, _ in variants:
        rs = per[name]
        r = collect([merge_sweep_evals(n, [v["row"] for v in rows]) for n, rows in rs.items()]).region
        flat = [v for rows in rs.values() for v in rows]
        ncls = [v["n_classes"] for v in flat]
        nreg = [v["n_regions"] for v in flat]
        its = [v["iters"] for v in flat]
        secs = [v["seconds"] for v in flat]
        print(f"| {name} | {r.cover_ods:.3f} | {r.cover_ois:.3f} | {r.pri_ods:.3f} | {r.pri_ois:.3f} | "
              f"{r.voi_ods:.3f} | {r.voi_ois:.3f} | {np.median(ncls):.0f} | "
              f"{np.median(nreg):.0f} [{min(nreg)}, {max(nreg)}] | {np.median(its):.0f} | {np.median(secs):.1f} |")


def cmd_table(args) -> None:
    """SC / PRI / VI (ODS, OIS) and final regions per image of ``deepsuperpixel bench`` output folders.

    A run with a ``--sweep`` gets one row per value (SC / PRI / VI of that value alone: each image
    scored at that value, so ODS = OIS) and one row with the values as the thresholds of ODS / OIS.
    """
    import csv
    import json

    print("| run | SC ODS | SC OIS | PRI ODS | PRI OIS | VI ODS | VI OIS | regions median [range] | s / image |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for item in args.runs:
        name, _, folder = item.rpartition("=")
        folder = Path(folder)
        name = name or folder.name
        s = json.loads((folder / "summary.json").read_text())["summary"]
        with open(folder / "per_image.csv") as f:
            rows = list(csv.DictReader(f))
        col = next((c for c in rows[0] if c.startswith("param_")), "setting")
        values = list(dict.fromkeys(r.get(col, "") for r in rows))

        def line(label, sel, sc, pri, vi):
            n = [int(float(r["n_segments"])) for r in sel]
            secs = float(np.median([float(r["time_s"]) for r in sel]))
            print(f"| {label} | {sc[0]:.3f} | {sc[1]:.3f} | {pri[0]:.3f} | {pri[1]:.3f} | {vi[0]:.3f} | "
                  f"{vi[1]:.3f} | {np.median(n):.0f} [{min(n)}, {max(n)}] | {secs:.1f} |")

        if len(values) > 1:
            with open(folder / "per_value.csv") as f:
                pv = {r[col]: r for r in csv.DictReader(f)}
            for v in values:
                r = pv[v]
                m = [float(r[k]) for k in ("covering", "pri", "vi")]
                line(f"{name}, {col.removeprefix('param_')}={v}", [x for x in rows if x.get(col, "") == v],
                     (m[0], m[0]), (m[1], m[1]), (m[2], m[2]))
            name = f"{name}, all values as thresholds"
        line(name, rows, (s["covering_ods"], s["covering_ois"]), (s["pri_ods"], s["pri_ois"]),
             (s["vi_ods"], s["vi_ois"]))


def cmd_count(args) -> None:
    """Superpixels per image on the SuperAE reconstruction against the EGB scale (to set the default)."""
    import torch

    from napari_deepsuperpixel.methods import dsc
    from napari_deepsuperpixel.nn.optim import image_to_tensor
    from napari_deepsuperpixel.nn.superae import reconstruct

    model = dsc.load_superae(args.checkpoint)
    items = _test_images(find_bsds500(args.bsds), args.n_images, args.split)
    counts = {s: [] for s in args.scales}
    for _name, ip, _ in items:
        img = _rgb01(ip)
        with torch.no_grad():
            rec = reconstruct(model, image_to_tensor(img, "cpu", channels_last=False))[0].permute(1, 2, 0).numpy()
        for s in args.scales:
            counts[s].append(int(_superpixels(rec, s, args).max()))
    print(f"EGB superpixels on the SuperAE reconstruction, {len(items)} {args.split} images, min_size "
          f"{args.min_size}, checkpoint {args.checkpoint or 'shipped'}:")
    print("| scale | median | mean | min | max |\n|---:|---:|---:|---:|---:|")
    for s, v in counts.items():
        print(f"| {s:g} | {np.median(v):.0f} | {np.mean(v):.0f} | {min(v)} | {max(v)} |")


def _median_time(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), ts


def cmd_speed(args) -> None:
    import torch
    from skimage import data

    import napari_deepsuperpixel as nds
    from napari_deepsuperpixel.methods import dsc
    from napari_deepsuperpixel.training.superae import train_superae

    print(f"CPU: {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}, "
          f"repeats {args.repeats} (median)")
    items = _test_images(find_bsds500(args.bsds), 1)
    img = _rgb01(items[0][1])
    model = dsc.load_superae(args.checkpoint)
    nds.segment(img, "superae", checkpoint=args.checkpoint)  # warm-up
    t, _ = _median_time(lambda: nds.segment(img, "superae", checkpoint=args.checkpoint), args.repeats)
    print(f"superae (reconstruction + felzenszwalb) on {img.shape[1]}x{img.shape[0]}: {t:.2f} s")
    sp = nds.segment(img, "superae", checkpoint=args.checkpoint)
    for ms in (0, args.max_side):
        # per-iteration cost = (time of 1 + n iterations - time of 1 iteration) / n: excludes the set-up
        t1, _ = _median_time(lambda ms=ms: dsc.deep_superpixel_cut(img, sp, model, n_iter=1, max_side=ms),
                             args.repeats)
        tn, _ = _median_time(lambda ms=ms: dsc.deep_superpixel_cut(img, sp, model, n_iter=1 + args.iters,
                                                                   max_side=ms), args.repeats)
        per = (tn - t1) / args.iters
        print(f"dsc on {img.shape[1]}x{img.shape[0]}, max_side={ms}: set-up + 1 iteration {t1:.2f} s, "
              f"{per:.3f} s/iteration (-> {t1 + 127 * per:.0f} s for the paper's 128 iterations)")
    astro = data.astronaut()
    demo = dict(max_iter=args.demo_iter, max_side=args.max_side)
    t, _ = _median_time(lambda: nds.segment(astro, "dsc", checkpoint=args.checkpoint, **demo), args.repeats)
    print(f"segment(astronaut 512x512, 'dsc', {demo}): {t:.1f} s")
    for crop in (128, 300):
        t, _ = _median_time(lambda crop=crop: train_superae("bsds", split=("train",), epochs=1, crop=crop,
                                                            max_images=args.train_images, device="cpu"), 1)
        print(f"SuperAE training, crop {crop}, batch 10: {t / args.train_images:.2f} s per image "
              f"(incl. loading) -> {300 * t / args.train_images / 60:.1f} min per epoch of BSDS train+val")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bsds", default="bsds", help="BSDS500 folder (default: $NDS_BSDS500 or ../shared/BSDS500)")
    p.add_argument("--checkpoint", default="", help="SuperAE checkpoint (default: shipped)")
    p.add_argument("--max-side", type=int, default=160)
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--n-images", type=int, default=10)
    q.add_argument("--split", default="test", help="BSDS500 split (tune on val, report on test)")
    q.add_argument("--out", default="", help="also write curve.json (SC/PRI/VI of SuperAE and DSC) here")
    q.add_argument("--fh-scales", type=lambda s: [float(v) for v in s.split(",")], default=[50.0, 100.0, 200.0])
    q.add_argument("--min-size", type=int, default=50)
    q.add_argument("--superpixels", choices=("felzenszwalb", "meanshift"), default="felzenszwalb",
                   help="EGB swept over --fh-scales, or mean shift (Table IV's MS) over --ms-counts")
    q.add_argument("--ms-counts", type=lambda s: [int(v) for v in s.split(",")], default=[100, 50, 20, 10],
                   help="mean-shift superpixel counts (the paper's Table II settings)")
    q.add_argument("--no-table-iii", dest="table_iii", action="store_false",
                   help="skip the k-means / NCut baselines (Table III), e.g. for learning curves")
    q.add_argument("--k", type=int, default=32)
    q.add_argument("--dsc-iter", type=int, default=32)
    q.add_argument("--dsc-options", default="",
                   help="key=value,... more keywords of deep_superpixel_cut, e.g. 'logit_bn=false,min_labels=0' "
                        "(Alg. 2 as written, the settings of the tables measured before they changed)")
    q.add_argument("--k-values", type=lambda s: [int(v) for v in s.split(",")], default=[8, 16, 32, 64])
    q.add_argument("--cache", default="/tmp/bench_dsc_cache")
    q.add_argument("--cached-only", action="store_true", help="table of the already computed images only")
    q.add_argument("--shard", type=lambda s: tuple(int(v) for v in s.split("/")), default=None,
                   help="I/N: compute only images with index %% N == I (run N processes, then once without)")
    q.set_defaults(func=cmd_quality)
    sc = sub.add_parser("screen", help="DSC variants on the same superpixels (tuning on val)")
    sc.add_argument("--n-images", type=int, default=5)
    sc.add_argument("--skip", type=int, default=0, help="leave out the first N of those images")
    sc.add_argument("--split", default="val", help="BSDS500 split (tune on val, report on test)")
    sc.add_argument("--variant", action="append", required=True,
                    help="NAME:key=value,... keyword arguments of deep_superpixel_cut (repeatable); "
                         "the name 'superpixels' scores the SuperAE superpixels themselves")
    sc.add_argument("--sp-method", default="felzenszwalb")
    sc.add_argument("--sp-params", action="append", default=[],
                    help="superpixel settings, one per flag; several = the thresholds of ODS / OIS (default: "
                         "the method's default on --sp-on, for EGB the ~100-superpixel scale)")
    sc.add_argument("--sp-on", choices=("reconstruction", "image"), default="reconstruction",
                    help="what the superpixels are computed on (dsc's superpixels_on)")
    sc.add_argument("--k", type=int, default=32)
    sc.add_argument("--dsc-iter", type=int, default=32)
    sc.add_argument("--cache", default="/tmp/bench_dsc_cache")
    sc.set_defaults(func=cmd_screen)
    tb = sub.add_parser("table", help="SC/PRI/VI and region counts of `deepsuperpixel bench` folders")
    tb.add_argument("runs", nargs="+", help="NAME=FOLDER (or FOLDER) of `deepsuperpixel bench -o FOLDER`")
    tb.set_defaults(func=cmd_table)
    c = sub.add_parser("count")
    c.add_argument("--n-images", type=int, default=20)
    c.add_argument("--split", default="val")
    c.add_argument("--scales", type=lambda s: [float(v) for v in s.split(",")], default=[100, 200, 300, 400])
    c.add_argument("--min-size", type=int, default=50)
    c.set_defaults(func=cmd_count, superpixels="felzenszwalb")
    s = sub.add_parser("speed")
    s.add_argument("--repeats", type=int, default=3)
    s.add_argument("--iters", type=int, default=4)
    s.add_argument("--demo-iter", type=int, default=32)
    s.add_argument("--train-images", type=int, default=10)
    s.set_defaults(func=cmd_speed)
    args = p.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
