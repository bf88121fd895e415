"""Seconds per iteration and peak memory of the per-image deep methods.

Usage (from the repository root)::

    python benchmarks/bench_per_image.py                       # all configurations
    python benchmarks/bench_per_image.py --threads 1 --iters 3 -o docs/methods/per_image_speed.md

Each configuration runs in its own Python process (so that the peak resident
memory, :func:`napari_deepsuperpixel.bench.memory.peak_rss_mb`, is its own) on
BSDS500 ``test/100007.jpg`` (481 x 321). The authors' scripts report none; their
peak is read from outside while they run (:class:`~napari_deepsuperpixel.bench.memory.ChildPeakRss`).
The time per iteration is the median over ``--iters`` iterations after one
warm-up iteration, taken from the progress callback's timestamps.

Configurations:

``backprop_reference``
    Our re-implementation of the per-iteration work of Kanezaki's official
    ``demo.py`` (fp32, NCHW tensors, labels copied to the host every iteration,
    majority vote by a Python loop over the superpixels with ``np.unique``),
    at the paper settings (p = q = 100, M = 2, SLIC K = 10000). It is the
    same-machine, same-load stand-in for the official code.
``backprop_paper``, ``backprop_paper_bf16``, ``backprop_fast``
    ``segment(..., "backprop", preset=...)``.
``rim_reference``
    Suzuki's RIM network and losses at his settings (32 filters, 4 blocks,
    N = 100, fp32, NCHW) in a plain loop: the stand-in for the official RIM code.
``rim_ours``
    ``neural_superpixels`` with the four ablation switches off (the same
    network and losses) through our runner (channels-last, fp32).
``neural_paper``, ``neural_fast``
    ``neural_superpixels`` with ``preset="paper"`` / ``"fast"``.

``backprop_official``, ``rim_official`` (only with ``--official-kanezaki DIR`` /
``--official-rim DIR``)
    The authors' own scripts, unmodified, from a checkout you provide
    (github.com/kanezaki/pytorch-unsupervised-segmentation ``demo.py`` with
    ``--visualize 0 --minLabels 0``; github.com/DensoITLab/ss-with-RIM
    ``spix_rim.py``), run in a temporary folder so that their output files
    land there. Each iteration's time is the interval between two of the
    lines they print per iteration. ``demo.py`` needs OpenCV
    (``pip install opencv-python-headless``) and imports torchvision without
    using it; when torchvision is missing, an empty stand-in module is put on
    the child's path. Speed-ups are then given against these rows.

Nothing of the official code is part of this project; the checkouts stay
where you put them.

Quality tables of ``deepsuperpixel bench`` runs (formerly ``--tables`` and
``--paired`` here) are ``deepsuperpixel bench-report tables`` and
``deepsuperpixel bench-report paired``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def _bsds_image() -> Path:
    from napari_deepsuperpixel.datasets.bsds import find_bsds500

    try:
        return find_bsds500() / "data" / "images" / "test" / "100007.jpg"
    except FileNotFoundError:
        return Path("BSDS500-not-found") / "100007.jpg"


IMAGE = _bsds_image()
#: the issue's numbers for the official code "on this machine" (load unknown), for reference only
ISSUE_OFFICIAL = {"backprop": (3.26, 0.94), "rim": (8.5, 1.8)}

CONFIGS = {
    "backprop_reference": ("reference_backprop", {}),
    "backprop_paper": ("backprop", {"preset": "paper"}),
    "backprop_paper_bf16": ("backprop", {"preset": "paper", "precision": "bf16"}),
    "backprop_fast": ("backprop", {"preset": "fast"}),
    "rim_reference": ("reference_rim", {}),
    "rim_ours": ("neural_superpixels", {"preset": "paper", "use_aspp": False, "use_laplacian": False,
                                        "use_soft_image_loss": False, "use_edge_loss": False}),
    "rim_ours_bf16": ("neural_superpixels", {"preset": "paper", "use_aspp": False, "use_laplacian": False,
                                             "use_soft_image_loss": False, "use_edge_loss": False,
                                             "precision": "bf16"}),
    "neural_paper": ("neural_superpixels", {"preset": "paper"}),
    "neural_fast": ("neural_superpixels", {"preset": "fast"}),
}


def _median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def _reference_backprop(img, n_iter):
    """Per-iteration work of the official demo, re-implemented (not copied)."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from skimage.segmentation import slic

    from napari_deepsuperpixel.methods.backprop import build_network

    torch.manual_seed(0)
    sp = slic(img, n_segments=10000, compactness=100, start_label=0)
    groups = [np.flatnonzero(sp.ravel() == k) for k in np.unique(sp)]
    x = torch.from_numpy(img.transpose(2, 0, 1)[None].astype(np.float32) / 255.0).contiguous()
    net = build_network(3, 100, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    times = []
    for _ in range(n_iter):
        t0 = time.perf_counter()
        opt.zero_grad()
        out = net(x)[0].permute(1, 2, 0).reshape(-1, 100)
        target = out.argmax(1).cpu().numpy()  # host round trip
        for g in groups:  # Python loop over superpixels
            u, c = np.unique(target[g], return_counts=True)
            target[g] = u[np.argmax(c)]
        loss = F.cross_entropy(out, torch.from_numpy(target))
        loss.backward()
        opt.step()
        loss.item()
        times.append(time.perf_counter() - t0)
    return times


def _reference_rim(img, n_iter):
    """Suzuki's RIM network and losses, fp32 NCHW, plain loop."""
    import numpy as np
    import torch

    from napari_deepsuperpixel.methods import neural_superpixels as ns
    from napari_deepsuperpixel.nn import superpixel_losses as spl

    torch.manual_seed(0)
    x = torch.from_numpy(ns.standardized_input(img.astype(np.float32) / 255.0).transpose(2, 0, 1)[None].copy())
    net = ns.build_network(5, 100, 3, n_filters=32, n_blocks=4, use_aspp=False, use_laplacian=False)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    tgt = x[:, :3]
    times = []
    for _ in range(n_iter):
        t0 = time.perf_counter()
        opt.zero_grad()
        logits, recon = net(x)
        prob = logits.softmax(1)
        loss = spl.rim_loss(logits, 2.0) + 2.0 * spl.smoothness_loss(prob, tgt) + 10.0 * spl.reconstruction_loss(tgt, recon)
        loss.backward()
        opt.step()
        loss.item()
        times.append(time.perf_counter() - t0)
    return times


def _official(name: str, checkout: Path, iters: int, threads: int) -> dict:
    """Time the authors' unmodified script from ``checkout`` (see the module docstring)."""
    import importlib.util
    import tempfile

    from napari_deepsuperpixel.bench.memory import ChildPeakRss

    env = os.environ.copy()
    env["PYTHONUNBUFFERED"] = "1"
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    n = iters + 1
    with tempfile.TemporaryDirectory() as tmp:
        if importlib.util.find_spec("torchvision") is None:  # demo.py imports it without using it
            stub = Path(tmp) / "stub" / "torchvision"
            stub.mkdir(parents=True)
            (stub / "__init__.py").write_text("datasets = transforms = None\n")
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(stub.parent), env.get("PYTHONPATH")]))
        if name == "backprop_official":
            cmd = [sys.executable, str(checkout / "demo.py"), "--input", str(IMAGE), "--maxIter", str(n),
                   "--minLabels", "0", "--visualize", "0"]
        else:
            cmd = [sys.executable, str(checkout / "spix_rim.py"), "--image", str(IMAGE), "--n_iter", str(n),
                   "--out_dir", tmp]
        stamps = []
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with ChildPeakRss(proc) as child_peak:
            for line in proc.stdout:
                if line.strip():
                    stamps.append(time.perf_counter())
            err = proc.stderr.read()
            rc = proc.wait()
        if rc != 0:
            raise RuntimeError(f"{name} failed:\n{err[-2000:]}")
    times = [b - a for a, b in zip(stamps, stamps[1:])][-iters:]
    peak = child_peak.mb / 1024
    return {"config": name, "s_per_iter": _median(times), "times": [round(t, 3) for t in times],
            "peak_rss_gb": round(peak, 3), "threads": threads or "default"}


def child(name: str, iters: int, threads: int, cancel: bool = False) -> dict:
    import numpy as np
    import torch
    from skimage import io

    from napari_deepsuperpixel.bench.memory import peak_rss_mb

    if threads:
        os.environ["NDS_THREADS"] = str(threads)  # the package sets torch's threads from it on the first run
        torch.set_num_threads(threads)
    img = io.imread(IMAGE)
    method, params = CONFIGS[name]
    n = iters + 1
    if method == "reference_backprop":
        times = _reference_backprop(img, n)[1:]
    elif method == "reference_rim":
        times = _reference_rim(img, n)[1:]
    else:
        from napari_deepsuperpixel import segment_result

        stamps = []

        def cb(ev):
            if ev.stage == "iterate":
                stamps.append(time.perf_counter())

        extra = {"min_labels": 0, "patience": 0} if method == "backprop" else {}
        segment_result(img, method, progress=cb, max_iter=n, **params, **extra)
        times = list(np.diff(stamps)[1:])
    row = {"config": name, "s_per_iter": _median(times), "times": [round(t, 3) for t in times],
           "peak_rss_gb": round(peak_rss_mb() / 1024, 3), "threads": torch.get_num_threads()}
    if cancel and not method.startswith("reference"):
        row["cancel_delay_s"] = round(_cancel_delay(img, method, {**params, **extra}, row["s_per_iter"]), 3)
    return row


def _cancel_delay(img, method: str, params: dict, s_per_iter: float) -> float:
    """Seconds from a Cancel pressed in the middle of the second iteration to the run's end."""
    from napari_deepsuperpixel import Cancelled, segment_result

    when = {"t": float("inf")}

    def cb(ev):
        if ev.stage == "iterate" and ev.step == 1:  # the first iteration just finished
            when["t"] = time.perf_counter() + 0.5 * s_per_iter

    try:
        segment_result(img, method, progress=cb, cancel_check=lambda: time.perf_counter() >= when["t"],
                       max_iter=5, **params)
    except Cancelled:
        return time.perf_counter() - when["t"]
    raise RuntimeError(f"{method} was not cancelled")


#: settings suggested for ``deepsuperpixel demo`` (each method < 60 s on astronaut 512 x 512 on a CPU)
DEMO_SETTINGS = {
    "backprop": {"preset": "fast", "max_iter": 100},
    "neural_superpixels": {"preset": "fast", "max_iter": 100, "n_segments": 200},
}


def overlays(outdir: Path, overwrite: bool, threads: int) -> list:
    """Run both methods with DEMO_SETTINGS on astronaut and on a BSDS image; write overlays; time them."""
    import numpy as np
    import torch
    from skimage import data, io

    from napari_deepsuperpixel import segment_result
    from napari_deepsuperpixel.io.files import overlay_boundaries, write_png

    if threads:
        torch.set_num_threads(threads)
    rows = []
    images = {"astronaut": data.astronaut(), "bsds100007": io.imread(IMAGE)}
    for method, params in DEMO_SETTINGS.items():
        for name, img in images.items():
            t0 = time.perf_counter()
            res = segment_result(img, method, **params)
            dt = time.perf_counter() - t0
            write_png(outdir / f"{method}_{name}.png", overlay_boundaries(img, res.labels), overwrite=overwrite)
            rows.append({"method": method, "image": name, "seconds": round(dt, 1),
                         "segments": res.n_segments, "iterations": res.extras.get("n_iter"),
                         "threads": torch.get_num_threads()})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    _ = np
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iters", type=int, default=3, help="measured iterations per configuration (default 3)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's default)")
    ap.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("-o", "--output", help="also write the Markdown table here")
    ap.add_argument("--overwrite", action="store_true", help="replace an existing --output file")
    ap.add_argument("--overlays", metavar="DIR",
                    help="instead: run DEMO_SETTINGS on astronaut and BSDS 100007, write overlays to DIR")
    ap.add_argument("--official-kanezaki", metavar="DIR", type=Path,
                    help="also time demo.py from this checkout of kanezaki/pytorch-unsupervised-segmentation")
    ap.add_argument("--official-rim", metavar="DIR", type=Path,
                    help="also time spix_rim.py from this checkout of DensoITLab/ss-with-RIM")
    ap.add_argument("--cancel", action="store_true",
                    help="also measure the delay of a Cancel pressed in the middle of an iteration")
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    from napari_deepsuperpixel.bench.tables import markdown_table

    if a.overlays:
        rows = overlays(Path(a.overlays), a.overwrite, a.threads)
        print(markdown_table(["method", "image", "seconds", "segments", "iterations", "threads"],
                             [[r[k] for k in ("method", "image", "seconds", "segments", "iterations", "threads")]
                              for r in rows], "llrrrr"))
        return 0
    if a._child:
        print(json.dumps(child(a._child, a.iters, a.threads, a.cancel)))
        return 0
    if not IMAGE.exists():
        print(f"BSDS500 image not found at {IMAGE}", file=sys.stderr)
        return 2
    if a.output and Path(a.output).exists() and not a.overwrite:
        print(f"{a.output} exists; pass --overwrite to replace it", file=sys.stderr)
        return 2
    official = {"backprop_official": a.official_kanezaki, "rim_official": a.official_rim}
    for name, path in official.items():
        script = "demo.py" if name == "backprop_official" else "spix_rim.py"
        if path is not None and not (path / script).is_file():
            print(f"{path / script} not found; pass the folder of a checkout that has {script}", file=sys.stderr)
            return 2
    rows = []
    names = [n for n, path in official.items() if path is not None] + list(a.configs)
    for name in names:
        if name in official:
            try:
                row = _official(name, official[name], a.iters, a.threads)
            except RuntimeError as exc:
                print(str(exc), file=sys.stderr)
                continue
        else:
            cmd = [sys.executable, __file__, "--_child", name, "--iters", str(a.iters), "--threads", str(a.threads)]
            cmd += ["--cancel"] if a.cancel else []
            r = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
            if r.returncode != 0:
                print(f"{name} failed:\n{r.stderr[-2000:]}", file=sys.stderr)
                continue
            row = json.loads(r.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{name:<22} {row['s_per_iter']:7.3f} s/it  {row['peak_rss_gb']:.2f} GB  "
              f"threads {row['threads']}  {row['times']}", file=sys.stderr, flush=True)
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    by_name = {r["config"]: r["s_per_iter"] for r in rows}
    cells = []
    for r in rows:
        fam = r["config"].split("_")[0]  # neural_* rows have no official counterpart
        base_name = next((b for b in (f"{fam}_official", f"{fam}_reference") if b in by_name), None)
        sp = f"{by_name[base_name] / r['s_per_iter']:.2f}x" if base_name else "-"
        cells.append([r["config"], f"{r['s_per_iter']:.3f}", f"{r['peak_rss_gb']:.2f}", sp, base_name or ""]
                     + ([r.get("cancel_delay_s", "-")] if a.cancel else []))
    lines = [
        f"Image: BSDS500 test/100007.jpg (481 x 321). Median of {a.iters} iterations after 1 warm-up; "
        f"torch threads {rows[0]['threads'] if rows else '?'}; load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min).", "",
        markdown_table(["configuration", "s / iteration", "peak RSS (GB)", "speed-up", "against"]
                       + (["cancel delay (s)"] if a.cancel else []), cells, "lrrrl" + ("r" if a.cancel else "")),
    ]
    lines += ["", "The issue quoted, for the official code on this machine: "
              + "; ".join(f"{k} {v[0]} s / it, {v[1]} GB" for k, v in ISSUE_OFFICIAL.items()) + "."]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.output:
        Path(a.output).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
