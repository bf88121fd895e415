"""Benchmarks: the BSDS500 evaluation of a results folder (:mod:`.evaluate`, behind
``deepsuperpixel eval``), the method x image x parameter runner (:mod:`.runner`,
behind ``deepsuperpixel bench``) and reports across runs (:mod:`.report`, behind
``deepsuperpixel bench-report``).

The runner's parts: :mod:`.data` (images and ground truth), :mod:`.cache` (the
per-task cache both commands use), :mod:`.summary` (per-value table, ODS/OIS/AP), :mod:`.outputs`
(the files written). The per-image metrics are
:func:`napari_deepsuperpixel.metrics.evaluate.evaluate_segmentation`.

Only the light runner API (numpy and stdlib) is imported here.
"""

from .runner import BenchResult, run_benchmark  # noqa: E402,F401  (light: numpy and stdlib only)
