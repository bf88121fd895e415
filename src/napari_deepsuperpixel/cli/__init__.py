"""The ``deepsuperpixel`` command.

One module per group of subcommands in this package; each has a small
function ``add_parser(subparsers)`` that registers its subcommands and sets
``func`` (taking the parsed ``args``, returning an exit code).
:data:`SUBCOMMAND_MODULES` lists them in help order.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: modules with an ``add_parser(subparsers)`` function, in help order
SUBCOMMAND_MODULES = (
    "napari_deepsuperpixel.cli.segment",  # methods, segment
    "napari_deepsuperpixel.cli.demo",  # demo
    "napari_deepsuperpixel.cli.bench",  # bench
    "napari_deepsuperpixel.cli.eval",  # eval (BSDS500 benchmark)
    "napari_deepsuperpixel.cli.train",  # train sen|superae
)


from .._util import parse_key_values as parse_params  # noqa: F401  (the CLI's -p KEY=VALUE)


def build_parser() -> argparse.ArgumentParser:
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="deepsuperpixel",
        description="Unsupervised deep superpixels and segmentation (napari-deepsuperpixel).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for modname in SUBCOMMAND_MODULES:
        importlib.import_module(modname).add_parser(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileExistsError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
