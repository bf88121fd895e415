"""``deepsuperpixel methods`` and ``deepsuperpixel segment``."""

from __future__ import annotations

import sys
from pathlib import Path

from ..keyvalues import parse_key_values as parse_params


def _cmd_methods(args) -> int:
    from .. import list_methods

    for m in list_methods():
        print(f"{m.name:<20} {m.kind:<13} {m.description}")
        if args.verbose:
            for p in m.parameters:
                tags = [t for t in (p.role and f"role: {p.role}", p.advanced and "advanced") if t]
                tag = f"  [{', '.join(tags)}]" if tags else ""
                print(f"    {p.name} = {p.default!r}    {p.help}{tag}")
    return 0


def _tqdm_progress(desc):
    from tqdm.auto import tqdm

    bar = tqdm(total=1, desc=desc, leave=False, unit="step")

    def cb(ev):
        if bar.total != ev.total:
            bar.total = ev.total
        bar.n = ev.step
        if ev.info:
            bar.set_postfix({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in ev.info.items()},
                            refresh=False)
        bar.refresh()

    return bar, cb


from ..batch import DEFAULT_FORMATS, OUTPUTS  # noqa: E402,F401  (the formats of --format)


def _block_size_arg(value: str):
    """``--block-size``: ``auto``, ``none`` (never tile) or a block side in pixels."""
    import argparse

    v = value.strip().lower()
    if v in ("auto", "none", "0"):
        return {"none": None, "0": None}.get(v, "auto")
    try:
        n = int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"block size must be auto, none or a number of pixels, got {value!r}") from None
    if n < 64:
        raise argparse.ArgumentTypeError(f"block size must be at least 64 pixels, got {n}")
    return n


def _spacing(text):
    """``--spacing 2,0.5,0.5`` -> ``(2.0, 0.5, 0.5)``."""
    import argparse

    try:
        return tuple(float(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--spacing takes comma-separated numbers (e.g. 2,0.5,0.5), got {text!r}") from None


def run_options(args):
    """The :class:`~napari_deepsuperpixel.RunOptions` of ``deepsuperpixel segment``'s arguments."""
    from ..options import RunOptions

    return RunOptions(seed=args.seed, device=args.device, axes=args.axes, mode=args.mode, spacing=args.spacing,
                      time_spacing=args.time_spacing, match_time=args.match_time, block_size=args.block_size)


def _cmd_segment(args) -> int:
    from ..batch import plan_batch, run_batch  # run_batch checks every image before the first

    # everything that can be refused is refused here, before the first image is segmented
    options = run_options(args)
    try:
        plan = plan_batch(args.images, args.method, args.output, params=parse_params(args.param),
                          formats=args.format, skip_existing=args.skip_existing, overwrite=args.overwrite,
                          summary=args.summary, options=options)
    except FileExistsError as e:
        from . import error_message

        print(f"error: {error_message(e)}", file=sys.stderr)
        return 3
    if args.mode != "slices":
        from ..methods import check_supports_3d, get_method

        check_supports_3d(get_method(args.method))
    from ..methods._presets import chosen_preset

    params = plan.params
    preset = chosen_preset(args.method, params, args.device)
    if preset and not args.quiet:
        why = ""
        if str(params.get("preset", "auto")) == "auto":
            why = (" (auto: no GPU, the CPU setting; -p preset=paper for the paper's settings)" if preset == "fast"
                   else " (auto: a GPU, the paper's settings)")
        print(f"{args.method}: preset {preset}{why}", file=sys.stderr)
    if plan.skipped and not args.quiet:
        print(f"skipped {len(plan.skipped)} image(s) whose outputs exist in {plan.outdir}, made with the same "
              "settings (--skip-existing)")
    if plan.redone and not args.quiet:
        shown = ", ".join(f"{Path(str(p)).name} ({why})" for p, why in plan.redone[:3])
        more = f" and {len(plan.redone) - 3} more" if len(plan.redone) > 3 else ""
        print(f"redoing {len(plan.redone)} image(s) whose outputs are there but not reusable: {shown}{more}",
              file=sys.stderr)
    parallel = args.scheduler is not None or (args.workers or 1) > 1
    bars = {}

    def image_progress(p):
        if args.quiet:
            return None
        bar, cb = _tqdm_progress(Path(p).name)
        bars[str(p)] = bar
        return cb

    def on_result(row):
        bar = bars.pop(row["image"], None)
        if bar is not None:
            bar.close()
        if not args.quiet:
            print(f"{Path(row['image']).name}: {row['segments']} segments -> {plan.outdir}/ "
                  f"({row['outputs'].replace(';', ', ')})")

    overall = None
    if parallel and not args.quiet and plan.todo:
        from tqdm.auto import tqdm

        overall = tqdm(total=len(plan.todo), desc=f"segment {args.method}", unit="image", leave=False)
    try:
        run_batch(plan, workers=args.workers, scheduler=args.scheduler,
                  image_progress=image_progress, on_result=on_result,
                  progress=(lambda done, total, name: overall.update(1)) if overall is not None else None)
    finally:
        for bar in bars.values():
            bar.close()
        if overall is not None:
            overall.close()
    if args.skip_existing and not args.quiet:
        print(f"{len(plan.todo)} image(s) segmented, {len(plan.skipped)} skipped (outputs already there)")
    if not args.quiet and plan.todo:
        print(f"summary: {plan.summary}")
    return 0


def add_parser(sub) -> None:
    from . import seed_arg

    p = sub.add_parser("methods", help="list the available methods")
    p.add_argument("-v", "--verbose", action="store_true", help="also list parameters and defaults")
    p.set_defaults(func=_cmd_methods)

    p = sub.add_parser("segment", help="segment image files; writes labels .tif and an overlay .png "
                                       "(or BSDS segs .mat / a per-segment .csv: --format)")
    p.add_argument("images", nargs="+",
                   help="image files (png, jpg, tif, .zarr), folders (their images) or glob patterns "
                        "('plate/*.tif', 'screen/**/*.png'; quote them)")
    p.add_argument("-m", "--method", default="slic", help="method name (see `deepsuperpixel methods`)")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="method parameter (repeatable)")
    p.add_argument("-o", "--output", required=True, help="output folder (not the folder of the inputs when an "
                                                         "output would replace one)")
    p.add_argument("--format", action="append", metavar="FORMATS",
                   help="what to write per image, comma-separated or repeated: tif (int32 labels), overlay "
                        "(boundaries on the image, .png), mat (BSDS segs, for `deepsuperpixel eval`), csv "
                        "(one row per segment: area, centroid, mean intensity), zarr (int32 labels as a zarr store, "
                        "written block by block: for images larger than memory); default tif,overlay")
    p.add_argument("--seed", type=seed_arg, default=0, help="random seed, an integer in [0, 2**32) (default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--skip-existing", action="store_true",
                   help="resume: skip images whose outputs exist, intact and made with the same method, parameters "
                        "and options (recorded in <image>_<method>.run.json); redo the others")
    p.add_argument("--workers", type=int, default=1,
                   help="local worker processes segmenting images in parallel (default 1: this process)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="segment on an existing Dask distributed cluster, e.g. tcp://host:8786 (a TIFF or zarr "
                        "image that runs in blocks has its blocks segmented there)")
    p.add_argument("--block-size", type=_block_size_arg, default="auto", metavar="PIXELS",
                   help="segment large 2D images block by block with a halo (snic, watershed): a block side "
                        "in pixels, 'none', or 'auto' (default: blocks of 4096 above 8192 x 8192 pixels)")
    p.add_argument("--axes", default=None, help="one letter per image axis from T, Z, Y, X, C, e.g. ZYX, TYX, YXC, "
                                                "TZYXC (default: guessed from the shape)")
    p.add_argument("--mode", default="slices", choices=["slices", "3d", "spacetime"],
                   help="slices: each 2D slice on its own (default); 3d: 6-connected supervoxels of each volume "
                        "(slic, snic, watershed, backprop, sen); spacetime: a TYX time-lapse as one volume")
    p.add_argument("--spacing", type=_spacing, default=None, metavar="DZ,DY,DX",
                   help="physical voxel size along the Z/Y/X axes of --axes, comma-separated (default 1 each)")
    p.add_argument("--time-spacing", type=float, default=1.0,
                   help="--mode spacetime: the distance between two frames, in --spacing's units (default 1)")
    p.add_argument("--match-time", action="store_true",
                   help="time-lapse: keep labels through time by overlap matching (modes slices and 3d)")
    p.add_argument("--summary", default=None, metavar="CSV",
                   help="the summary table (image, method, parameters, segments, seconds, peak memory); "
                        "default OUTPUT/summary.csv")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=_cmd_segment)
