"""Benchmarks: the BSDS500 evaluation of a results folder (:mod:`.evaluate`, behind
``deepsuperpixel eval``) and the method x image x parameter runner (:mod:`.runner`,
behind ``deepsuperpixel bench``).

Only the light runner API (numpy and stdlib) is imported here.
"""

from .runner import BenchResult, run_benchmark  # noqa: E402,F401  (light: numpy and stdlib only)
