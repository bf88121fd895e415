"""Benchmarks: the BSDS500 ``deepsuperpixel eval`` command (:mod:`.eval_cli`)
and the method x image x parameter runner (:mod:`.runner`, :mod:`.bench_cli`).

Nothing is imported here; import the submodules you need.
"""

from .runner import BenchResult, run_benchmark  # noqa: E402,F401  (light: numpy and stdlib only)
