"""``deepsuperpixel bench``: run a method over a dataset split and write tables and plots."""

from __future__ import annotations

import sys

from ..keyvalues import split_values


def _parse_sweep(items):
    if not items:
        return None
    if len(items) > 1:
        raise ValueError("--sweep may be given once (one parameter); fix the others with --param")
    item = items[0]
    if "=" not in item:
        raise ValueError(f"--sweep expects key=v1,v2,..., got {item!r}")
    k, v = item.split("=", 1)
    # values that hold commas themselves (dsc's superpixel_params="n_segments=50,count_merge=ward") are
    # separated by semicolons instead
    values = split_values(v)
    if not k.strip() or not values:
        raise ValueError(f"--sweep expects key=v1,v2,..., got {item!r}")
    return {k.strip().replace("-", "_"): values}


def _cmd_bench(args) -> int:
    from ..bench.runner import run_benchmark
    from ..keyvalues import parse_key_values as parse_params

    res = run_benchmark(
        args.method,
        params=parse_params(args.param),
        sweep=_parse_sweep(args.sweep),
        split=args.split,
        limit=args.limit,
        data=args.data,
        out=args.output,
        workers=args.workers,
        scheduler=args.scheduler,
        seed=args.seed,
        device=args.device,
        r=args.r,
        window=args.window,
        reduce=args.reduce,
        progress=not args.quiet,
        overwrite=args.overwrite,
    )
    if not args.quiet:
        print(res.files["markdown"].read_text())
        print(f"{res.n_computed} task(s) computed, {res.n_cached} reused from the cache; "
              f"tables and plots in {args.output}", file=sys.stderr)
    return 0


def add_command(sub, name: str, func, *, help: str, description: str, output_help: str, workers_help: str,
                workers_default=None):
    """Register subcommand ``name`` with the options every benchmark command has.

    ``-o/--output`` (required), ``--workers``, ``--overwrite`` and ``-q``; the
    caller adds its own options to the returned parser.
    """
    p = sub.add_parser(name, help=help, description=description)
    p.add_argument("-o", "--output", required=True, help=output_help)
    p.add_argument("--workers", type=int, default=workers_default, help=workers_help)
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=func)
    return p


def add_parser(sub) -> None:
    """Register the ``bench`` and ``bench-report`` subcommands."""
    from . import seed_arg

    p = add_command(
        sub, "bench", _cmd_bench,
        help="benchmark a method on BSDS500 or an image/mask folder (tables, per-image CSV, plots)",
        description="Run a method over a dataset split, evaluate it (superpixel metrics, covering/PRI/VI, "
                    "BSDS boundaries, segment F) and write Markdown/CSV tables and plots. Each --sweep value "
                    "is one 'threshold' of the ODS/OIS/AP aggregation. Results are cached per image in "
                    "OUT/cache, so an interrupted or repeated run resumes. Tables across runs: "
                    "`deepsuperpixel bench-report`.",
        output_help="output folder (tables, plots, cache/)",
        workers_help="local worker processes (default: CPU count; 1 = serial)",
    )
    p.add_argument("-m", "--method", required=True, help="method name (see `deepsuperpixel methods`)")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="fixed method parameter (repeatable)")
    p.add_argument("--sweep", action="append", metavar="KEY=V1,V2,...",
                   help="parameter values to sweep (one parameter), e.g. n_segments=100,200,400,800; values "
                        "that hold commas are separated by ';', e.g. "
                        "'superpixel_params=n_segments=50,count_merge=ward;n_segments=20,count_merge=ward'")
    p.add_argument("--split", default="test", choices=["train", "val", "test"], help="BSDS500 split (default test)")
    p.add_argument("--limit", type=int, default=None, help="only the first N images")
    p.add_argument("--data", default=None,
                   help="'bsds' (default: ../shared/BSDS500 next to the repository), a BSDS500 folder, "
                        "or a folder with images/ and masks/")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on an existing Dask distributed cluster, e.g. tcp://host:8786")
    p.add_argument("--seed", type=seed_arg, default=0, help="random seed, an integer in [0, 2**32) (default 0)")
    p.add_argument("--device", default="cpu", help="device for torch methods (auto, cpu, cuda, mps)")
    p.add_argument("--r", type=float, default=2.0, help="boundary recall/precision tolerance in pixels (default 2)")
    p.add_argument("--window", default="square", choices=["square", "disk"],
                   help="tolerance window: square (Chebyshev) or disk (Euclidean)")
    p.add_argument("--reduce", default="mean", choices=["mean", "worst", "best"],
                   help="how superpixel metrics combine several annotators")
    p.add_argument("--overwrite", action="store_true", help="replace the tables of a different earlier run in OUT")
    _add_report_parser(sub)


RUN_HELP = ("LABEL=FOLDER[,FOLDER...]: a label and `deepsuperpixel bench` output folders (several folders join "
            "runs of one method swept in separate runs; FOLDER@VALUE keeps one sweep value)")


def _cmd_report(args) -> int:
    from ..bench import report
    from ..io.writes import check_output_file

    if args.report == "tables" and args.plot:
        from pathlib import Path

        if Path(args.plot).exists() and not args.overwrite:
            raise FileExistsError(f"--plot {args.plot} already exists; pass --overwrite to replace it")
        check_output_file(args.plot, "--plot file")
    if args.report == "tables":
        print(report.quality_tables(args.runs, args.plot, args.overwrite))
    else:
        print(report.paired_table(args.runs))
    return 0


def _add_report_parser(sub) -> None:
    p = sub.add_parser(
        "bench-report",
        help="tables across `deepsuperpixel bench` runs (metric tables, paired per-image differences)",
        description="Markdown tables from `deepsuperpixel bench` output folders (their per_value.csv and "
                    "per_image.csv): `tables` lists every run's metrics per sweep value; `paired` gives "
                    "per-image paired differences of runs on the same images against the first one.",
    )
    rsub = p.add_subparsers(dest="report", required=True, metavar="{tables,paired}")
    t = rsub.add_parser("tables", help="segmentation and superpixel metric tables of several runs",
                        description="Segmentation metrics of every sweep value of every run, and superpixel "
                                    "metrics averaged over the images common to all runs.")
    t.add_argument("runs", nargs="+", metavar="LABEL=FOLDER[,FOLDER...]", help=RUN_HELP)
    t.add_argument("--plot", metavar="PNG", help="also write an ASA / boundary-recall plot here")
    t.add_argument("--overwrite", action="store_true", help="replace an existing --plot file")
    t.set_defaults(func=_cmd_report)
    q = rsub.add_parser("paired", help="per-image paired differences against the first run (95 %% intervals)",
                        description="For each metric: the first run's mean, then each other run's mean and its "
                                    "mean per-image difference with a 95 %% interval (1.96 sd / sqrt(n)); "
                                    "segment AP is dataset-level and given as is.")
    q.add_argument("runs", nargs="+", metavar="LABEL=FOLDER[@VALUE]", help=RUN_HELP)
    q.set_defaults(func=_cmd_report)
