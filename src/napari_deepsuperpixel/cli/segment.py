"""``deepsuperpixel methods`` and ``deepsuperpixel segment``."""

from __future__ import annotations

import sys
from pathlib import Path

from .._util import parse_key_values as parse_params


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


def _write_tif(path, image, labels, overwrite, axes=None):
    from ..io.files import write_labels_tif

    write_labels_tif(path, labels, overwrite=overwrite)


def _write_overlay(path, image, labels, overwrite, axes=None):
    from ..io.files import overlay_boundaries, write_png

    write_png(path, overlay_boundaries(image, labels, axes=axes), overwrite=overwrite)


def _write_mat(path, image, labels, overwrite, axes=None):
    from ..io.bsds_mat import write_segs_mat

    write_segs_mat(path, labels, overwrite=overwrite)


def _write_csv(path, image, labels, overwrite, axes=None):
    from ..io.tables import write_segments_csv

    write_segments_csv(path, labels, image=image, overwrite=overwrite)


#: what ``deepsuperpixel segment --format`` can write per image: name -> (file suffix, writer),
#: where ``writer(path, image, labels, overwrite, axes)`` writes one file (``image`` in ``axes``, T Z Y X C order)
OUTPUTS = {
    "tif": (".tif", _write_tif),
    "overlay": ("_overlay.png", _write_overlay),
    "mat": (".mat", _write_mat),
    "csv": (".csv", _write_csv),
}
DEFAULT_FORMATS = ("tif", "overlay")


def _formats(items) -> list:
    names = [f.strip() for item in (items or DEFAULT_FORMATS) for f in item.split(",") if f.strip()]
    bad = sorted(set(names) - set(OUTPUTS))
    if bad:
        raise ValueError(f"--format {', '.join(bad)}: choose from {', '.join(OUTPUTS)}")
    return list(dict.fromkeys(names))


def _spacing(text):
    """``--spacing 2,0.5,0.5`` -> ``(2.0, 0.5, 0.5)``."""
    import argparse

    try:
        return tuple(float(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--spacing takes comma-separated numbers (e.g. 2,0.5,0.5), got {text!r}")


def _volume_options(args) -> dict:
    """The axes/mode/spacing keywords of :func:`~napari_deepsuperpixel.segment_result` from the arguments."""
    return {"axes": args.axes, "mode": args.mode, "spacing": args.spacing, "time_spacing": args.time_spacing,
            "match_time": args.match_time}


def _cmd_segment(args) -> int:
    from .. import get_method, segment_result
    from .._types import build_params
    from .._util import check_output_folder
    from ..io.files import check_writable, read_image

    # everything that can be refused is refused here, before the first image is segmented
    if args.skip_existing and args.overwrite:
        raise ValueError("give --skip-existing (keep finished images) or --overwrite (replace them), not both")
    params = parse_params(args.param)
    build_params(get_method(args.method).params_cls, args.method, params)
    if args.mode != "slices":
        from ..methods import check_supports_3d

        check_supports_3d(get_method(args.method))
    formats = _formats(args.format)
    outdir = Path(args.output)
    images = [Path(p) for p in args.images]
    missing = [str(p) for p in images if not p.is_file()]
    if missing:
        print(f"error: image file(s) not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    stems = [p.stem for p in images]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        print(f"error: several inputs share the name(s) {dupes}; outputs would collide", file=sys.stderr)
        return 2
    check_output_folder(outdir)

    def targets(p):
        return [outdir / f"{p.stem}_{args.method}{OUTPUTS[fmt][0]}" for fmt in formats]

    todo, skipped = [], 0
    for p in images:
        if args.skip_existing and all(t.is_file() for t in targets(p)):
            skipped += 1
        else:
            todo.append(p)
    if not args.skip_existing:
        try:
            check_writable([t for p in todo for t in targets(p)], args.overwrite)
        except FileExistsError as e:
            print(f"error: {e}; or pass --skip-existing to keep them and segment only the other images",
                  file=sys.stderr)
            return 3
    from ..io.axes import parse_axes, to_canonical

    if args.axes is not None:
        parse_axes(args.axes)
    for p in todo:
        img = read_image(p)  # every input decodes before any work starts
        if args.axes is not None:
            try:
                parse_axes(args.axes, img.ndim)
            except ValueError as e:
                raise ValueError(f"{p}: {e} (shape {img.shape})") from None
    from ..methods._presets import chosen_preset

    preset = chosen_preset(args.method, params, args.device)
    if preset and not args.quiet:
        why = ""
        if str(params.get("preset", "auto")) == "auto":
            why = (" (auto: no GPU, the CPU setting; -p preset=paper for the paper's settings)" if preset == "fast"
                   else " (auto: a GPU, the paper's settings)")
        print(f"{args.method}: preset {preset}{why}", file=sys.stderr)
    if skipped and not args.quiet:
        print(f"skipped {skipped} image(s) whose outputs exist in {outdir} (--skip-existing)")
    # a partial result of an interrupted run (some of the files) is replaced in --skip-existing mode
    replace = args.overwrite or args.skip_existing
    for p in todo:
        img = read_image(p)
        vol = _volume_options(args)
        if args.axes is not None:  # the writers get the image in the labels' axis order (T Z Y X, then C)
            img, vol["axes"] = to_canonical(img, args.axes)
        bar, cb = _tqdm_progress(p.name) if not args.quiet else (None, None)
        try:
            res = segment_result(img, args.method, seed=args.seed, device=args.device, progress=cb, **vol,
                                 **params)
        except (ValueError, TypeError, FloatingPointError) as e:
            raise type(e)(f"{p}: {e}") from e
        finally:
            if bar is not None:
                bar.close()
        for fmt, path in zip(formats, targets(p)):
            OUTPUTS[fmt][1](path, img, res.labels, replace, vol["axes"])
        if not args.quiet:
            written = ", ".join(t.name for t in targets(p))
            print(f"{p.name}: {res.n_segments} segments -> {outdir}/ ({written})")
    if args.skip_existing and not args.quiet:
        print(f"{len(todo)} image(s) segmented, {skipped} skipped (outputs already there)")
    return 0


def add_parser(sub) -> None:
    from . import seed_arg

    p = sub.add_parser("methods", help="list the available methods")
    p.add_argument("-v", "--verbose", action="store_true", help="also list parameters and defaults")
    p.set_defaults(func=_cmd_methods)

    p = sub.add_parser("segment", help="segment image files; writes labels .tif and an overlay .png "
                                       "(or BSDS segs .mat / a per-segment .csv: --format)")
    p.add_argument("images", nargs="+", help="image files (png, jpg, tif)")
    p.add_argument("-m", "--method", default="slic", help="method name (see `deepsuperpixel methods`)")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="method parameter (repeatable)")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--format", action="append", metavar="FORMATS",
                   help="what to write per image, comma-separated or repeated: tif (int32 labels), overlay "
                        "(boundaries on the image, .png), mat (BSDS segs, for `deepsuperpixel eval`), csv "
                        "(one row per segment: area, centroid, mean intensity); default tif,overlay")
    p.add_argument("--seed", type=seed_arg, default=0, help="random seed, an integer in [0, 2**32) (default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--axes", default=None, help="one letter per image axis from T, Z, Y, X, C, e.g. ZYX, TYX, YXC, "
                                                "CZYX (default: guessed from the shape, with a warning when ambiguous)")
    p.add_argument("--mode", default="slices", choices=["slices", "3d", "spacetime"],
                   help="slices: 2D per slice (default); 3d: supervoxels of each ZYX volume "
                        "(slic, snic, watershed, backprop); spacetime: a TYX time-lapse as one volume")
    p.add_argument("--spacing", type=_spacing, default=None, metavar="DZ,DY,DX",
                   help="physical voxel size along the Z/Y/X axes of --axes, comma-separated (default 1 each)")
    p.add_argument("--time-spacing", type=float, default=1.0,
                   help="--mode spacetime: the distance between two frames, in --spacing's units (default 1)")
    p.add_argument("--match-time", action="store_true",
                   help="time-lapse: keep labels through time by overlap matching (modes slices and 3d)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--skip-existing", action="store_true",
                   help="resume: skip images whose outputs all exist (e.g. after a failed or interrupted run)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=_cmd_segment)
