"""Dock layout shared by the widgets: a scrolling body, a fixed footer, names that elide.

A dock must fit a laptop screen next to the other docks: its inputs scroll,
its action buttons, progress bar and status line stay visible below them, and
long layer names or messages never widen it.
"""

from __future__ import annotations

#: project documentation: the pages under ``docs/`` of the repository (the project has no
#: separate documentation site; ``[project.urls] Documentation`` in pyproject.toml)
DOCS_URL = "https://github.com/napari-deepsuperpixel/napari-deepsuperpixel/blob/main/docs"

#: dropdowns show at least this many characters and elide longer layer names
COMBO_CHARS = 18


def docs_url(page: str) -> str:
    """The address of a documentation page.

    Parameters
    ----------
    page : str
        Path under ``docs/``, e.g. ``"methods/snic.md"`` or ``"metrics.md#superpixel-metrics"``.

    Returns
    -------
    str
    """
    return f"{DOCS_URL}/{page}"


def open_url(url: str) -> None:
    """Open ``url`` in the user's browser (through Qt, so that napari's event loop is not blocked)."""
    from qtpy.QtCore import QUrl
    from qtpy.QtGui import QDesktopServices

    QDesktopServices.openUrl(QUrl(url))


def scroll_body(widgets, *, min_height: int = 120):
    """A scrollable, labelled container holding ``widgets`` (the inputs of a dock).

    Parameters
    ----------
    widgets : list of magicgui widgets
    min_height : int
        The least height the dock keeps for the inputs (pixels).

    Returns
    -------
    magicgui.widgets.Container
    """
    from magicgui.widgets import Container
    from qtpy.QtWidgets import QScrollArea, QSizePolicy

    body = Container(labels=True, scrollable=True, widgets=widgets)
    body.margins = (0, 0, 0, 0)
    native = body.native
    if isinstance(native, QScrollArea):
        from qtpy.QtCore import Qt

        native.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        native.setMinimumHeight(min_height)
        native.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Expanding)
    return body


def fit_widgets(container) -> None:
    """Make every dropdown and label inside ``container`` unable to widen the dock.

    Dropdowns (layer and method names) keep :data:`COMBO_CHARS` characters and
    elide the rest; labels wrap and ignore their text's width; list boxes
    (several layers) elide long names.
    """
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QAbstractItemView, QComboBox, QLabel, QSizePolicy

    root = container.native
    for combo in root.findChildren(QComboBox):
        combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(COMBO_CHARS)
        combo.view().setTextElideMode(Qt.ElideMiddle)
    for label in root.findChildren(QLabel):
        if label.wordWrap():
            pol = label.sizePolicy()
            pol.setHorizontalPolicy(QSizePolicy.Ignored)
            label.setSizePolicy(pol)
            label.setMinimumWidth(60)
    for view in root.findChildren(QAbstractItemView):
        view.setTextElideMode(Qt.ElideMiddle)


def elide(text: str, n: int = 28) -> str:
    """``text`` shortened in the middle to at most ``n`` characters (for status lines)."""
    text = str(text)
    if len(text) <= n:
        return text
    k = (n - 1) // 2
    return f"{text[:k]}\u2026{text[len(text) - (n - 1 - k):]}"
