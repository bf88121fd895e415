"""Scribbles to classes: train a classifier on the superpixels the strokes touch.

The user paints a few strokes per class into a label image (a napari Labels
layer: 0 = not annotated, 1..C = classes). Every superpixel that a stroke
touches becomes one training example, labelled with the class most of its
painted pixels have (ties: the smaller class) and weighted by the number of
those pixels: a superpixel that a stroke only grazes (it straddles the
object's outline) counts little. On DSB2018 nuclei this weighting kept object
F1 from falling as strokes were added (one grazed superpixel per ten strokes
taught a forest that dim background is "nucleus"). A scikit-learn classifier
learns the class from the superpixel's features (:func:`superpixel_features`)
and predicts every superpixel; each pixel takes its superpixel's class.

The default, a random forest of 100 trees with balanced class weights, was
chosen by measurement: on DSB2018 fluorescence images with simulated strokes
it matched histogram gradient boosting at 5 and 20 strokes per class (object
F1 within 0.01) and was far better with one (0.69 against 0.17: boosting has
too few examples to split on), in a half to a seventeenth of the time
(docs/annotate.md, "Which classifier").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._graph import check_superpixels

CLASSIFIERS = ("random_forest", "hist_gradient_boosting")


@dataclass
class SuperpixelClassification:
    """What :func:`classify_superpixels` returns.

    Attributes
    ----------
    labels : numpy.ndarray of int32
        Per-pixel class (``1..C``), the superpixels' shape; 0 where the
        superpixels are 0.
    superpixel_ids : numpy.ndarray of int64
        The superpixel labels, ascending (the rows of the feature table).
    superpixel_classes : numpy.ndarray of int64
        The predicted class of each superpixel.
    confidence : numpy.ndarray of float64
        The classifier's probability of that class (``1 / C`` .. 1).
    probabilities : numpy.ndarray of float64
        ``(n_superpixels, C)`` class probabilities, columns in ``classes`` order.
    classes : numpy.ndarray of int64
        The classes painted.
    trained_on : numpy.ndarray of int64
        Superpixels used for training (touched by a stroke).
    classifier : object
        The fitted scikit-learn estimator.
    feature_names : list of str
        The feature columns, in the classifier's input order.
    """

    labels: np.ndarray
    superpixel_ids: np.ndarray
    superpixel_classes: np.ndarray
    confidence: np.ndarray
    probabilities: np.ndarray
    classes: np.ndarray
    trained_on: np.ndarray
    classifier: Any = None
    feature_names: list = field(default_factory=list)

    def least_confident(self, n: int = 10, *, untrained: bool = True) -> np.ndarray:
        """The ``n`` superpixels the classifier is least sure about (lowest confidence first).

        Parameters
        ----------
        n : int
        untrained : bool
            Leave out the superpixels already painted (default).

        Returns
        -------
        numpy.ndarray of int64
            Superpixel labels: where the next strokes help most.
        """
        ok = ~np.isin(self.superpixel_ids, self.trained_on) if untrained else np.ones(self.confidence.size, bool)
        cand = np.flatnonzero(ok)
        order = cand[np.argsort(self.confidence[cand], kind="stable")]
        return self.superpixel_ids[order[: max(int(n), 0)]]


def warm() -> None:
    """Import scikit-learn's forests (a second or more the first time): the widget does it when it opens."""
    import sklearn.ensemble  # noqa: F401


def make_classifier(classifier="random_forest", *, seed: int = 0):
    """A fresh, unfitted scikit-learn classifier.

    Parameters
    ----------
    classifier : {"random_forest", "hist_gradient_boosting"} or estimator
        A name, or any scikit-learn classifier with ``predict_proba`` whose
        ``fit`` takes ``sample_weight`` (cloned, so the one passed stays unfitted).
    seed : int
        ``random_state`` of the named classifiers.

    Returns
    -------
    sklearn estimator
    """
    from sklearn.base import clone

    if not isinstance(classifier, str):
        if not hasattr(classifier, "predict_proba"):
            raise ValueError("classifier must have predict_proba (a scikit-learn classifier) "
                             f"or be one of {CLASSIFIERS}, got {type(classifier).__name__}")
        return clone(classifier)
    if classifier == "random_forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=100, class_weight="balanced", random_state=seed)
    if classifier == "hist_gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier

        # scikit-learn's min_samples_leaf=20 cannot split a dozen painted superpixels
        return HistGradientBoostingClassifier(min_samples_leaf=3, class_weight="balanced", random_state=seed)
    raise ValueError(f"classifier must be one of {CLASSIFIERS} or a scikit-learn classifier, got {classifier!r}")


def scribble_targets(superpixels, scribbles) -> tuple:
    """The training superpixels and their classes: the majority class of each one's painted pixels.

    Parameters
    ----------
    superpixels, scribbles : numpy.ndarray of int
        The same shape; scribbles 0 = not painted.

    Returns
    -------
    ids, classes, weights : numpy.ndarray of int64
        Training superpixels, their class and the number of their pixels painted with it.
    """
    sp = np.asarray(superpixels).ravel()
    sc = np.asarray(scribbles).ravel()
    painted = (sc > 0) & (sp > 0)
    if not painted.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    s, c = sp[painted].astype(np.int64), sc[painted].astype(np.int64)
    nc = int(c.max()) + 1
    keys, counts = np.unique(s * nc + c, return_counts=True)
    ks, kc = keys // nc, keys % nc
    # per superpixel: the class with the most pixels, the smaller class on ties
    order = np.lexsort((kc, -counts, ks))
    ks, kc, counts = ks[order], kc[order], counts[order]
    first = np.concatenate([[True], ks[1:] != ks[:-1]])
    return ks[first], kc[first], counts[first].astype(np.int64)


def classify_superpixels(image, superpixels, scribbles, *, features=None, embedding=None,
                         columns=None, classifier="random_forest", seed: int = 0) -> SuperpixelClassification:
    """Train a classifier on the scribbled superpixels and classify all of them.

    Parameters
    ----------
    image : array_like or None
        The image the features are computed from (see
        :func:`superpixel_features`); may be ``None`` when ``features`` is given.
    superpixels : array_like of int
        ``(Y, X)`` or ``(Z, Y, X)`` labels ``1..N`` (0 = none).
    scribbles : array_like of int
        Same shape: 0 = not annotated, ``1..C`` = class of the painted pixel.
    features : dict or pandas.DataFrame, optional
        A precomputed table from :func:`superpixel_features` (its ``label``
        column must list every superpixel); computing it is most of the time
        of a first call, so an interactive tool passes it again on retraining.
    embedding : array_like, optional
        Per-pixel deep features for :func:`superpixel_features` (ignored
        when ``features`` is given).
    columns : None, "all" or sequence of str
        The feature columns the classifier uses (see :func:`feature_matrix`);
        default: intensity statistics and the embedding.
    classifier : {"random_forest", "hist_gradient_boosting"} or estimator
        See :func:`make_classifier`.
    seed : int
        Random state of the classifier.

    Returns
    -------
    SuperpixelClassification

    Raises
    ------
    ValueError
        If the shapes differ, or fewer than two classes are painted.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((20, 20)); img[:, 10:] = 1
    >>> sp = np.arange(16).reshape(4, 4).repeat(5, 0).repeat(5, 1) + 1
    >>> strokes = np.zeros((20, 20), int); strokes[2, 2] = 1; strokes[2, 17] = 2
    >>> res = classify_superpixels(img, sp, strokes)
    >>> np.unique(res.labels[:, :10]).tolist(), np.unique(res.labels[:, 10:]).tolist()
    ([1], [2])
    """
    from .features import feature_matrix, superpixel_features

    sp = check_superpixels(superpixels)
    sc = np.asarray(scribbles)
    if sc.shape != sp.shape:
        raise ValueError(f"scribbles have shape {sc.shape} but the superpixels have shape {sp.shape}; "
                         "paint them in a Labels layer of the superpixels' shape")
    if not np.issubdtype(sc.dtype, np.integer) or (sc.size and sc.min() < 0):
        raise ValueError("scribbles must hold integer classes >= 0 (0 = not annotated)")
    ids, targets, weights = scribble_targets(sp, sc)
    classes = np.unique(targets)
    if classes.size < 2:
        raise ValueError(f"paint strokes of at least two classes (found {classes.tolist() or 'none'}); "
                         "e.g. 1 on objects and 2 on background")
    model = make_classifier(classifier, seed=seed)
    if features is None:
        if image is None:
            raise ValueError("pass the image, or a feature table as features=")
        features = superpixel_features(image, sp, embedding=embedding)
    x, names = feature_matrix(features, columns)
    rows = np.asarray(features["label"]).astype(np.int64)
    pos = np.full(int(max(rows.max(initial=0), sp.max(initial=0))) + 1, -1, np.int64)
    pos[rows] = np.arange(rows.size)
    present = np.flatnonzero(np.bincount(sp.ravel().astype(np.int64)))
    missing = np.setdiff1d(present[present > 0], rows)
    if missing.size:
        raise ValueError(f"the feature table has no row for {missing.size} superpixel(s) (e.g. {int(missing[0])}); "
                         "recompute it for these superpixels")
    model.fit(x[pos[ids]], targets, sample_weight=weights.astype(np.float64))
    proba = model.predict_proba(x)
    model_classes = np.asarray(model.classes_, np.int64)
    best = np.argmax(proba, axis=1)
    sp_classes = model_classes[best]
    lut = np.zeros(pos.size, np.int32)
    lut[rows] = sp_classes
    return SuperpixelClassification(
        labels=lut[sp], superpixel_ids=rows, superpixel_classes=sp_classes,
        confidence=proba[np.arange(rows.size), best], probabilities=proba, classes=model_classes,
        trained_on=ids, classifier=model, feature_names=names)
