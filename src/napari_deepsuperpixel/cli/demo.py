"""``deepsuperpixel demo``: every method on a scikit-image sample (see :mod:`napari_deepsuperpixel.demo`)."""

from __future__ import annotations


def _cmd_demo(args) -> int:
    from ..demo import run_demo

    run_demo(args.output, image=args.image, methods=args.method, overwrite=args.overwrite, quiet=args.quiet)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="run every method on a scikit-image sample; write overlays, labels, table")
    p.add_argument("-o", "--output", default="demo_out", help="output folder (default demo_out)")
    p.add_argument("--image", default="astronaut", help="scikit-image sample name (default astronaut)")
    p.add_argument("-m", "--method", action="append", help="only these methods (repeatable)")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=_cmd_demo)
