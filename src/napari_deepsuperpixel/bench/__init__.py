"""Benchmarks: the BSDS500 evaluation of a results folder (:mod:`.evaluate`, behind
``deepsuperpixel eval``), the method x image x parameter runner (:mod:`.runner`,
behind ``deepsuperpixel bench``) and reports across runs (:mod:`.report`, behind
``deepsuperpixel bench-report``).

The runner's parts: :mod:`.data` (images and ground truth), :mod:`.cache` (the
per-task cache both commands use), :mod:`.summary` (per-value table, ODS/OIS/AP), :mod:`.outputs`
(the files written). The per-image metrics are
:func:`napari_deepsuperpixel.metrics.evaluate.evaluate_segmentation`.

What every report and the scripts in ``benchmarks/`` share: :mod:`.tables`
(Markdown tables, paired differences with their interval, written
``"+0.0123 ± 0.0045"``), :mod:`.memory` (peak resident memory, CPU time),
:mod:`.settings` (``key=value`` settings) and :mod:`.phases` (the phases of a
SEN training step). Tasks run on :mod:`napari_deepsuperpixel.parallel`, shared
with the batch.

Only the light runner API (numpy and stdlib) is imported here.
"""

from .runner import BenchResult, run_benchmark  # noqa: E402,F401  (light: numpy and stdlib only)
