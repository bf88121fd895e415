"""``deepsuperpixel eval``: the BSDS500 benchmark on a folder of results.

See :func:`napari_deepsuperpixel.bench.evaluate.evaluate_folder` for the
result-file lookup and the per-image cache.
"""

from __future__ import annotations

from ..bench.evaluate import BENCHMARKS
from ..metrics.boundary import MAX_DIST

_HELP = "BSDS500 benchmark of precomputed results (official output files)"
_DESCRIPTION = ("Evaluate results (ucm2/segs .mat, png boundary maps, labels .tif) for every image with a "
                "ground-truth .mat in --gt and write the official BSDS500 benchmark files "
                "(eval_bdry*.txt, eval_cover*.txt, eval_RI_VOI*.txt) to -o.")


def _cmd_eval(args) -> int:
    from ..bench.evaluate import evaluate_folder

    summary = evaluate_folder(args.gt, args.results, args.output, nthresh=args.nthresh, workers=args.workers,
                              benchmark=args.benchmark, max_dist=args.max_dist, thin=not args.no_thin,
                              matcher=args.matcher, overwrite=args.overwrite, cache=not args.no_cache,
                              progress=not args.quiet)
    if not args.quiet:
        d = summary.as_dict()
        print(f"{d['n_images']} images -> {args.output}")
        if summary.boundary is not None:
            print(f"boundary  ODS F {d['bdry_ods_f']:.4f}  OIS F {d['bdry_ois_f']:.4f}  AP {d['bdry_ap']:.4f}")
        if summary.region is not None:
            print(f"covering  ODS {d['cover_ods']:.4f}  OIS {d['cover_ois']:.4f}  best {d['cover_best']:.4f}")
            print(f"PRI       ODS {d['pri_ods']:.4f}  OIS {d['pri_ois']:.4f}")
            print(f"VI        ODS {d['voi_ods']:.4f}  OIS {d['voi_ois']:.4f}")
    return 0


def add_parser(sub) -> None:
    """Register ``deepsuperpixel eval``."""
    from .bench import add_command

    p = add_command(sub, "eval", _cmd_eval, help=_HELP, description=_DESCRIPTION, output_help="output folder",
                    workers_help="worker processes (default 1)", workers_default=1)
    p.add_argument("--gt", required=True, help="folder of ground-truth <id>.mat files")
    p.add_argument("--results", required=True, help="folder of result files <id>.mat / <id>.png / <id>.tif")
    p.add_argument("--nthresh", type=int, default=99, help="thresholds for ucm2 and boundary maps (default 99)")
    p.add_argument("--benchmark", choices=BENCHMARKS, default="all",
                   help="all (default; allBench), boundary (boundaryBench) or region (regionBench)")
    p.add_argument("--max-dist", type=float, default=MAX_DIST,
                   help="boundary matching tolerance, fraction of the image diagonal (default %(default)s)")
    p.add_argument("--no-thin", action="store_true", help="do not thin machine boundaries before matching")
    p.add_argument("--matcher", choices=("exact", "mincost"), default="exact",
                   help="boundary matcher: exact max-cardinality (default, fast) or the official min-cost "
                        "objective solved exactly (slow)")
    p.add_argument("--no-cache", action="store_true", help="neither reuse nor write per-image results")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
