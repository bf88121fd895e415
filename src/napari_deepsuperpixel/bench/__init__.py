"""Benchmarks: the BSDS500 ``deepsuperpixel eval`` command (:mod:`.eval_cli`)
and the method x image x parameter runner (:mod:`.runner`, :mod:`.bench_cli`).

Only the light runner API (numpy and stdlib) is imported here; import
:mod:`.eval_cli` for the BSDS500 evaluation of a results folder.
"""

from .runner import BenchResult, run_benchmark  # noqa: E402,F401  (light: numpy and stdlib only)
