"""Markdown tables and paired differences: how every benchmark report writes its numbers.

The ``deepsuperpixel bench`` tables, ``deepsuperpixel bench-report`` and the
scripts in ``benchmarks/`` all build their tables with :func:`markdown_table`
and compare two methods on the same images with :func:`paired_difference`,
written ``"+0.0123 ± 0.0045"`` (:meth:`PairedDifference.format`).

The interval is the normal approximation, ``mean ± 1.96 sd / sqrt(n)`` with the
sample standard deviation of the per-image differences (``ddof=1``): the
rule the benchmark pages have always quoted. With few images (n < 30) it is
narrower than Student's t interval (n = 10: 1.96 against 2.26); pass ``z`` for
another multiplier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

#: the multiplier of the 95 % normal interval
Z95 = 1.96

_ALIGN = {"l": "---", "r": "---:", "c": ":---:"}


def markdown_table(header: Sequence, rows: Iterable[Sequence], align: Optional[str] = None) -> str:
    """A Markdown (GitHub) table, one line per row, no trailing newline.

    Parameters
    ----------
    header : sequence
        The column titles.
    rows : iterable of sequences
        The cells, one sequence per row, as many as ``header``; each cell is
        written with ``str`` (format numbers before), ``None`` as an empty cell.
    align : str, optional
        One letter per column: ``"l"`` (left, the default), ``"r"`` (right,
        for numbers) or ``"c"`` (centre), e.g. ``"lrr"``.

    Raises
    ------
    ValueError
        ``align`` or a row does not have one entry per column.

    Examples
    --------
    >>> print(markdown_table(["method", "ASA"], [["snic", "0.9512"]], align="lr"))
    | method | ASA |
    |---|---:|
    | snic | 0.9512 |
    """
    header = [str(h) for h in header]
    align = align or "l" * len(header)
    if len(align) != len(header) or set(align) - set(_ALIGN):
        raise ValueError(f"align needs one of l, r, c per column ({len(header)}), got {align!r}")
    lines = [_row(header), "|" + "|".join(_ALIGN[a] for a in align) + "|"]
    for k, row in enumerate(rows):
        row = list(row)
        if len(row) != len(header):
            raise ValueError(f"row {k} has {len(row)} cells for {len(header)} columns: {row!r}")
        lines.append(_row(row))
    return "\n".join(lines)


def _row(cells) -> str:
    return "| " + " | ".join("" if c is None else str(c).replace("|", "\\|") for c in cells) + " |"


@dataclass(frozen=True)
class PairedDifference:
    """The mean per-image difference of two runs and its interval.

    Attributes
    ----------
    mean : float
        Mean of the per-image differences.
    half_width : float
        Half-width of the interval (``nan`` with fewer than two images).
    n : int
        Number of images.
    """

    mean: float
    half_width: float
    n: int

    def format(self, spec: str = ".4f", half_spec: Optional[str] = None) -> str:
        """``"+0.0123 ± 0.0045"``: the signed mean and the half-width (``half_spec``, default ``spec``)."""
        return format_difference(self.mean, self.half_width, spec, half_spec)

    def __str__(self) -> str:
        return self.format()


def format_difference(mean: float, half_width: float, spec: str = ".4f", half_spec: Optional[str] = None) -> str:
    """``"+0.0123 ± 0.0045"``: a signed difference and its interval half-width, the one notation of the reports."""
    return f"{mean:+{spec}} ± {half_width:{half_spec or spec}}"


def paired_difference(a: Sequence[float], b: Optional[Sequence[float]] = None, *, z: float = Z95
                      ) -> PairedDifference:
    """Mean of ``a - b`` over paired values (per image) with a ``z`` normal interval.

    Parameters
    ----------
    a, b : sequences of float
        Values on the same images in the same order; without ``b``, ``a`` holds the differences.
    z : float
        Multiplier of ``sd / sqrt(n)`` (default 1.96: 95 %).

    Returns
    -------
    PairedDifference
        ``half_width`` is ``nan`` for a single image.

    Raises
    ------
    ValueError
        No values, or ``a`` and ``b`` of different lengths.
    """
    a = [float(x) for x in a]
    if b is not None:
        b = [float(x) for x in b]
        if len(a) != len(b):
            raise ValueError(f"paired values need the same images: {len(a)} against {len(b)}")
        a = [x - y for x, y in zip(a, b)]
    n = len(a)
    if n == 0:
        raise ValueError("paired_difference needs at least one pair of values")
    mean = sum(a) / n
    if n < 2:
        return PairedDifference(mean, float("nan"), n)
    sd = math.sqrt(sum((x - mean) ** 2 for x in a) / (n - 1))
    return PairedDifference(mean, z * sd / math.sqrt(n), n)
