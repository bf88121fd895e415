"""What each metric is: display name, definition, direction and reference (no numbers computed here).

One table for every front end: the napari metrics widget shows these names
and tooltips, and the command line or the docs can use the same words. Keys
are those of :func:`~napari_deepsuperpixel.metrics.evaluate.evaluate_segmentation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class MetricInfo:
    """How a metric is presented.

    Attributes
    ----------
    key : str
        The :func:`~napari_deepsuperpixel.metrics.evaluate.evaluate_segmentation` key.
    name : str
        Full name with the usual abbreviation, e.g. ``"Probabilistic Rand index (PRI)"``.
    definition : str
        One or two sentences: what is measured and over which pixels.
    better : {"higher", "lower"} or None
        Which direction is better (``None``: neither, e.g. a count).
    reference : str
        Where the definition comes from.
    """

    key: str
    name: str
    definition: str
    better: Optional[str]
    reference: str

    @property
    def arrow(self) -> str:
        """``"↑"`` (higher is better), ``"↓"`` (lower is better) or ``""``."""
        return {"higher": "\u2191", "lower": "\u2193"}.get(self.better or "", "")

    @property
    def label(self) -> str:
        """The name followed by the direction arrow, for table headers."""
        return f"{self.name} {self.arrow}".strip()

    def tooltip(self) -> str:
        """Definition, direction and reference as one plain-text tooltip."""
        direction = {"higher": "Higher is better.", "lower": "Lower is better."}.get(self.better or "", "")
        return "\n".join(s for s in (self.name, self.definition, direction,
                                    f"Reference: {self.reference}" if self.reference else "") if s)


_ARBELAEZ = "Arbelaez et al., Contour Detection and Hierarchical Image Segmentation, TPAMI 2011"
_STUTZ = "Stutz, Hermans & Leibe, Superpixels: an evaluation of the state-of-the-art, CVIU 2018"
_KANEZAKI = "Kanezaki, Unsupervised image segmentation by backpropagation, ICASSP 2018 (IoU matching)"

#: every displayed metric, in display order
METRIC_INFO: dict = {m.key: m for m in (
    MetricInfo("n_segments", "Number of segments", "Distinct labels in the prediction.", None, ""),
    MetricInfo("covering", "Segmentation covering", "Each ground-truth region's best overlap (IoU) with a "
               "predicted region, weighted by its area. Label 0 of the ground truth is never a region.",
               "higher", _ARBELAEZ),
    MetricInfo("pri", "Probabilistic Rand index (PRI)", "Fraction of pixel pairs on which prediction and "
               "ground truth agree (same / different segment), averaged over annotators.", "higher",
               "Unnikrishnan, Pantofaru & Hebert, TPAMI 2007; " + _ARBELAEZ),
    MetricInfo("vi", "Variation of information (VI, bits)", "Information lost and gained between the two "
               "partitions, H(S) + H(G) - 2 I(S; G), averaged over annotators.", "lower",
               "Meila, Comparing clusterings, JMVA 2007; " + _ARBELAEZ),
    MetricInfo("bdry_p", "Boundary precision (BSDS)", "Predicted boundary pixels matched to a ground-truth "
               "boundary within the tolerance (one-to-one matching).", "higher", _ARBELAEZ),
    MetricInfo("bdry_r", "Boundary recall (BSDS)", "Ground-truth boundary pixels matched by a predicted "
               "boundary within the tolerance (one-to-one matching).", "higher", _ARBELAEZ),
    MetricInfo("bdry_f", "Boundary F-measure (BSDS)", "Harmonic mean of boundary precision and recall.",
               "higher", _ARBELAEZ),
    MetricInfo("asa", "Achievable segmentation accuracy (ASA)", "Fraction of pixels correctly labelled "
               "when every superpixel takes the ground-truth segment it overlaps most.", "higher",
               "Liu et al., Entropy rate superpixel segmentation, CVPR 2011"),
    MetricInfo("br", "Superpixel boundary recall (BR)", "Ground-truth boundary pixels with a predicted "
               "boundary pixel within the BR/BP radius.", "higher", _STUTZ),
    MetricInfo("bp", "Superpixel boundary precision (BP)", "Predicted boundary pixels with a ground-truth "
               "boundary pixel within the BR/BP radius.", "higher", _STUTZ),
    MetricInfo("ue", "Undersegmentation error (UE)", "Fraction of pixels a superpixel leaks outside the "
               "ground-truth segment it overlaps most (1 - ASA).", "lower",
               "Van den Bergh et al., SEEDS, IJCV 2015; " + _STUTZ),
    MetricInfo("ev", "Explained variation (EV)", "Fraction of the image's intensity variance explained "
               "by the segment means.", "higher", "Moore et al., Superpixel lattices, CVPR 2008"),
    MetricInfo("obj_p50", "Object precision (IoU > 0.5)", "Predicted objects whose best IoU with a "
               "ground-truth object exceeds 0.5, over all predicted objects. Label 0 is background, "
               "not an object.", "higher", _KANEZAKI),
    MetricInfo("obj_r50", "Object recall (IoU > 0.5)", "Ground-truth objects matched by a predicted "
               "object with IoU > 0.5, over all ground-truth objects.", "higher", _KANEZAKI),
    MetricInfo("obj_f50", "Object F1 (IoU > 0.5)", "Harmonic mean of object precision and recall.",
               "higher", _KANEZAKI),
    MetricInfo("obj_ap50", "Object average precision (IoU > 0.5)", "Area under the precision-recall curve "
               "of the predicted objects taken in decreasing size.", "higher", _KANEZAKI),
)}


def metric_info(key: str) -> MetricInfo:
    """The :class:`MetricInfo` of ``key``; an unknown key gets its own name and no direction.

    Parameters
    ----------
    key : str
        An :func:`~napari_deepsuperpixel.metrics.evaluate.evaluate_segmentation` key.

    Returns
    -------
    MetricInfo
    """
    return METRIC_INFO.get(key) or MetricInfo(key, key, "", None, "")


def format_value(value) -> str:
    """One number format for every metric: integers as they are, other numbers with 3 decimals.

    Parameters
    ----------
    value : int, float or str

    Returns
    -------
    str
        ``204`` -> ``"204"``, ``0.06110`` -> ``"0.061"``, ``5.2629`` -> ``"5.263"``;
        NaN -> ``"n/a"``; strings unchanged.
    """
    import math
    import numbers

    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        return "n/a" if math.isnan(v) else f"{v:.3f}"
    return str(value)
