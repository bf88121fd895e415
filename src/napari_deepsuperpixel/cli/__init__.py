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

from ..keyvalues import parse_key_values as parse_params  # noqa: F401  (the CLI's -p KEY=VALUE)

#: modules with an ``add_parser(subparsers)`` function, in help order
SUBCOMMAND_MODULES = (
    "napari_deepsuperpixel.cli.segment",  # methods, segment
    "napari_deepsuperpixel.cli.demo",  # demo
    "napari_deepsuperpixel.cli.bench",  # bench
    "napari_deepsuperpixel.cli.eval",  # eval (BSDS500 benchmark)
    "napari_deepsuperpixel.cli.train",  # train sen|superae
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line ``error: ...`` (exit code 2)."""

    def error(self, message):
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def seed_arg(value: str) -> int:
    """``--seed``: the package's one seed rule (an integer in [0, 2**32))."""
    from .._types import check_seed

    try:
        v = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be an integer in [0, 2**32), got {value!r}") from None
    try:
        return check_seed(v)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    from .._version import __version__

    parser = _Parser(
        prog="deepsuperpixel",
        description="Unsupervised deep superpixels and segmentation (napari-deepsuperpixel).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an error (also: environment variable NDS_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for modname in SUBCOMMAND_MODULES:
        importlib.import_module(modname).add_parser(sub)
    return parser


#: exceptions that are the user's to fix (bad input, missing or unreadable file, unwritable output,
#: a diverged run): one line ``error: ...`` and exit code 2. A TypeError is a bug (exit 1, "report it").
USER_ERRORS = (ValueError, OSError, FloatingPointError)


def _interrupted(e: BaseException) -> bool:
    """Whether ``e`` is a Ctrl-C, also one that numba wraps in a ``SystemError``."""
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


def error_message(e: BaseException) -> str:
    """One line for a user error: the message with its remedies as flags, the file for OS errors that
    only carry a code."""
    from ..errors import UserError, cli_words

    if isinstance(e, UserError):
        return " ".join(e.render(cli_words).split())
    if isinstance(e, OSError) and e.filename is not None and e.strerror:
        hint = {FileNotFoundError: "check the path", PermissionError: "choose a path you may read/write",
                NotADirectoryError: "a part of the path is a file, not a folder; choose another path",
                IsADirectoryError: "it is a folder; give a file name"}.get(type(e), "check the path")
        return f"{e.filename}: {e.strerror}; {hint}"
    msg = str(e) or type(e).__name__
    return " ".join(msg.split())


def debug_requested(argv=None) -> bool:
    import os

    args = sys.argv[1:] if argv is None else list(argv)
    return "--debug" in args or os.environ.get("NDS_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning on the command line: one line ``warning: ...`` (no source file and line)."""
    print(f"warning: {' '.join(str(message).split())}", file=file or sys.stderr)


def main(argv=None) -> int:
    import warnings

    parser = build_parser()
    debug = debug_requested(argv)
    args = parser.parse_args(argv)  # a usage error: one line and SystemExit(2), like --help/--version
    shown = warnings.showwarning
    if not debug:
        warnings.showwarning = _show_warning
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if debug:
            raise
        print("interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as e:
        if debug:
            raise
        print(f"error: {error_message(e)}", file=sys.stderr)
        return 2
    except MemoryError as e:  # the estimate made before the work was too low: still one line
        if debug:
            raise
        why = f" ({e})" if str(e) else ""
        print(f"error: out of memory{why}; segment a smaller (cropped or downscaled) image, give --block-size for a "
              "method that runs in blocks, or free memory", file=sys.stderr)
        return 2
    except Exception as e:
        if _interrupted(e):
            if debug:
                raise
            print("interrupted", file=sys.stderr)
            return 130
        if debug:
            raise
        print(f"error: {type(e).__name__}: {error_message(e)} (an unexpected error; rerun with --debug for "
              "the traceback and report it)", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = shown
