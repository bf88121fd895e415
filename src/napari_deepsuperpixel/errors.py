"""Errors a user can fix, with what would fix them, in words each front end chooses.

A library message says what is wrong; how to fix it is a list of *remedies*,
each an option named by its Python keyword (``overwrite``, ``skip_existing``)
with what it does. The front ends render the remedies in their own words:
the command line as flags (``--overwrite``), the napari widgets as their
check boxes ("tick 'overwrite existing outputs'"), Python as keywords
(``overwrite=True``, the default ``str()``). No library message speaks in one
front end's words.

Every class also derives from the built-in exception a caller would catch
(``ValueError``, ``FileExistsError``), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence


def python_words(option: str) -> str:
    """How Python names a remedy: ``overwrite=True``."""
    return f"{option}=True"


def cli_words(option: str) -> str:
    """How the command line names a remedy: ``--overwrite``."""
    return "--" + option.replace("_", "-")


class UserError(Exception):
    """An error the user can fix (bad input, an existing output, ...).

    Parameters
    ----------
    message : str
        What is wrong, one line, naming the file or parameter.
    remedies : sequence of (option, what it does)
        E.g. ``[("overwrite", "replace them"), ("skip_existing", "keep them")]``.
    """

    def __init__(self, message: str, *, remedies: Sequence[tuple] = ()):
        super().__init__(message)
        self.message = message
        self.remedies = tuple(remedies)

    def render(self, words: Callable[[str], str] = python_words) -> str:
        """The message with its remedies in the words of one front end."""
        if not self.remedies:
            return self.message
        fixes = " or ".join(f"{words(opt)} to {what}" for opt, what in self.remedies)
        return f"{self.message}; {fixes}"

    def __str__(self) -> str:
        return self.render()


class InputError(UserError, ValueError):
    """Bad input: an image, a parameter or an option that cannot be used."""


class InputFileError(InputError):
    """One input file could not be read or segmented; the message names it and says why."""

    def __init__(self, path, cause: BaseException):
        why = str(cause.render() if isinstance(cause, UserError) else cause) or type(cause).__name__
        super().__init__(f"{path}: {' '.join(why.split())}",
                         remedies=cause.remedies if isinstance(cause, UserError) else ())
        self.path = path
        self.cause = cause


class OutputExistsError(UserError, FileExistsError):
    """Outputs exist and would be replaced; nothing was written."""

    def __init__(self, paths: Sequence, *, what: str = "output(s)", remedies: Optional[Sequence[tuple]] = None):
        paths = [str(p) for p in paths]
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        super().__init__(f"refusing to overwrite existing {what}: {shown}",
                         remedies=[("overwrite", "replace them")] if remedies is None else remedies)
        self.paths = paths
