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
COMBO_CHARS = 14


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


def scroll_body(widgets):
    """A labelled container holding ``widgets`` (the inputs of a dock), to be made scrollable.

    Add it to the dock's (unlabelled) outer container, then call
    :func:`make_scrollable`.

    Parameters
    ----------
    widgets : list of magicgui widgets

    Returns
    -------
    magicgui.widgets.Container
    """
    from magicgui.widgets import Container

    body = Container(labels=True, widgets=widgets)
    body.margins = (0, 0, 0, 0)
    return body


def make_scrollable(host, body, *, min_height: int = 120, stretch: int = 1):
    """Put ``body`` (already in ``host``) into a vertical scroll area in ``host``'s layout.

    ``body`` stays one of ``host``'s widgets (so that ``reset_choices`` and
    iteration reach it); only its Qt widget moves into the scroll area. A
    scroll area's minimum height is small, so a long parameter list no longer
    makes the dock (and napari's window) taller than the screen.

    Parameters
    ----------
    host : magicgui.widgets.Container
        The dock's outer container, made with ``labels=False``.
    body : magicgui.widgets.Container
        The inputs.
    min_height : int
        The least height kept for the inputs (pixels).
    stretch : int
        Layout stretch of the scroll area (0: another widget, e.g. a results
        table, takes the spare height).

    Returns
    -------
    qtpy.QtWidgets.QScrollArea
    """
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QFrame, QScrollArea, QSizePolicy

    layout = host.native.layout()
    index = layout.indexOf(body.native)
    if index < 0:
        raise RuntimeError("add the body to the dock's container (labels=False) before making it scrollable")
    layout.removeWidget(body.native)
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    area.setVerticalScrollBarPolicy(Qt.ScrollBarAsNeeded)
    body.native.layout().addStretch(1)  # rows stay together at the top of a tall dock
    area.setWidget(body.native)
    area.setMinimumHeight(min_height)
    area.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Expanding)
    layout.insertWidget(index, area, stretch)
    host._scroll_area = area
    fit_widgets(host)  # the width the inputs need once names elide
    return area


def fit_scroll_width(host) -> None:
    """Keep the scroll area of ``host`` (see :func:`make_scrollable`) as wide as its inputs need.

    The inputs never scroll sideways, so the area must not be narrower than
    their minimum width; that width changes with the inputs (another
    method's parameters) and with napari's style sheet, so it is updated
    whenever the inputs' layout changes.
    """
    area = getattr(host, "_scroll_area", None)
    if area is None:
        return
    if getattr(area, "_width_keeper", None) is None:
        area._width_keeper = _WidthKeeper(area)
        area.widget().installEventFilter(area._width_keeper)
    area._width_keeper.update()


def _width_keeper_class():
    from qtpy.QtCore import QEvent, QObject

    class WidthKeeper(QObject):
        """Sets a scroll area's minimum width from its widget's, whenever that widget's layout changes."""

        def __init__(self, area):
            super().__init__(area)
            self.area = area

        def update(self) -> None:
            inner = self.area.widget()
            width = inner.minimumSizeHint().width() + self.area.verticalScrollBar().sizeHint().width() + 2
            if width != self.area.minimumWidth():
                self.area.setMinimumWidth(width)

        def eventFilter(self, obj, event):  # noqa: N802 (Qt name)
            if event.type() in (QEvent.LayoutRequest, QEvent.Show, QEvent.StyleChange):
                self.update()
            return False

    return WidthKeeper


def _WidthKeeper(area):  # noqa: N802 - builds the QObject subclass on first use (Qt imported lazily)
    global _WIDTH_KEEPER
    if _WIDTH_KEEPER is None:
        _WIDTH_KEEPER = _width_keeper_class()
    return _WIDTH_KEEPER(area)


_WIDTH_KEEPER = None


def fit_widgets(container) -> None:
    """Make every dropdown and label inside ``container`` unable to widen the dock.

    Dropdowns (layer and method names) keep :data:`COMBO_CHARS` characters and
    elide the rest in the middle (both ends of a name stay visible; the full
    name is in the tooltip); labels wrap and ignore their text's width; list
    boxes (several layers) elide long names in the middle and name each in
    full on hover. The row labels (``field name | input``) are the exception:
    each shows its whole name (:func:`fit_label_columns`).
    """
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QAbstractItemView, QComboBox, QLabel, QListWidget, QSizePolicy

    root = container.native
    for combo in root.findChildren(QComboBox):
        combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(COMBO_CHARS)
        combo.view().setTextElideMode(Qt.ElideMiddle)
        if not combo.isEditable():
            elide_in_middle(combo)
    for label in root.findChildren(QLabel):
        if label.wordWrap():
            pol = label.sizePolicy()
            pol.setHorizontalPolicy(QSizePolicy.Ignored)
            label.setSizePolicy(pol)
            label.setMinimumWidth(60)
    for view in root.findChildren(QAbstractItemView):
        view.setTextElideMode(Qt.ElideMiddle)
    for view in root.findChildren(QListWidget):
        names_in_full_on_hover(view)
    fit_label_columns(container)
    fit_scroll_width(container)


def fit_label_columns(container) -> None:
    """Keep the label column of ``container`` and of the labelled containers in it as wide as their names.

    magicgui gives every row label of a container (``labels=True``) the width
    of the widest name measured in the application's font, but napari's style
    sheet draws labels one point larger (``QLabel { font-size: ... }``): a
    label beside an input that cannot shrink (a dropdown) was cut
    (``superpixel metho``). The column is measured again with the font the
    labels are drawn in, now and whenever it may change: when the container
    is shown or restyled, and when its rows change (another method's
    parameters), which re-applies magicgui's width. The labels of a column
    are all exactly as wide as its widest shown name (hidden rows, e.g.
    advanced parameters, count once shown); a column magicgui left without a
    width (its rows given at its creation) keeps its labels as wide as their
    own names.
    """
    from magicgui.widgets.bases import ContainerWidget

    todo = [container]
    while todo:
        c = todo.pop()
        todo.extend(w for w in c if isinstance(w, ContainerWidget))
        if not getattr(c, "labels", False) or getattr(c, "layout", "vertical") != "vertical":
            continue
        keeper = getattr(c.native, "_label_column", None)
        if keeper is None:
            keeper = c.native._label_column = _LabelColumn(c)
            c.native.installEventFilter(keeper)
        keeper.update()


def row_labels(container) -> list:
    """The QLabels naming the rows of a magicgui ``container`` (``labels=True``), hidden rows included."""
    out = []
    for w in container:
        labelled = w._labeled_widget() if hasattr(w, "_labeled_widget") else None
        label = getattr(labelled, "_label_widget", None)
        if label is not None:
            out.append(label.native)
    return out


def label_width(label) -> int:
    """The width a one-line, plain-text QLabel asks for to show its text in the font it is drawn in.

    Its text, frame, margins and indent, counted as ``QLabel.sizeHint()``
    counts them (beside a frame, an "x" for the indent; the text is drawn
    half an "x" from the frame), but measured afresh: a label's size hint is
    never less than its minimum width, so it cannot say how wide a name is
    once its column has a width.
    """
    from qtpy.QtCore import QRect

    label.ensurePolished()  # the style sheet's font, also for a row not yet shown
    fm = label.fontMetrics()
    margins = label.contentsMargins()
    indent = label.indent()
    if indent < 0:
        indent = fm.horizontalAdvance("x") - 2 * label.margin() if label.frameWidth() else 0
    text = fm.boundingRect(QRect(0, 0, 100_000, 1_000), int(label.alignment()), label.text()).width()
    return text + margins.left() + margins.right() + 2 * label.margin() + max(indent, 0)


def _label_column_class():
    import weakref

    from qtpy.QtCore import QEvent, QObject, Qt

    class LabelColumn(QObject):
        """Sets the width of a container's row labels to what its widest shown label needs in its own font.

        It watches the container (shown, restyled, rows added or removed) and its rows (shown or hidden).
        """

        EVENTS = (QEvent.Type.Show, QEvent.Type.Hide, QEvent.Type.Polish, QEvent.Type.StyleChange,
                  QEvent.Type.FontChange, QEvent.Type.LayoutRequest)

        def __init__(self, container):
            super().__init__(container.native)
            self.container = weakref.ref(container)

        def update(self) -> None:
            container = self.container()
            if container is None:
                return
            try:
                labels = row_labels(container)
                if not any(label.minimumWidth() for label in labels):
                    return  # a column magicgui left alone: each label is as wide as its own name
                rows = [label.parentWidget() for label in labels]
                for row in rows:  # a row shown or hidden (advanced parameters) changes the widest name
                    if row is not None and not getattr(row, "_label_column_watched", False):
                        row.installEventFilter(self)
                        row._label_column_watched = True
                # the rows not hidden on purpose (rows just added are shown later); hidden advanced
                # parameters do not widen the dock until they are shown
                shown = [label for label, row in zip(labels, rows) if row is not None and not (
                    row.isHidden() and row.testAttribute(Qt.WidgetAttribute.WA_WState_ExplicitShowHide))]
                if not shown:
                    return
                width = max(label_width(label) for label in shown)
                for label in labels:  # exactly that wide: a label's stale size hint must not misalign its row
                    if label.minimumWidth() != width or label.maximumWidth() != width:
                        label.setFixedWidth(width)
            except RuntimeError:  # a row being destroyed (its Qt widget is gone)
                return

        def eventFilter(self, obj, event):  # noqa: N802 (Qt name)
            if event.type() in self.EVENTS:
                self.update()
            return False

    return LabelColumn


_QT_CLASSES: dict = {}


def _qt_class(factory):
    """The QObject subclass ``factory()`` defines, built on first use (Qt is imported lazily) and kept."""
    if factory not in _QT_CLASSES:
        _QT_CLASSES[factory] = factory()
    return _QT_CLASSES[factory]


def _LabelColumn(container):  # noqa: N802 - a QObject subclass (see _qt_class)
    return _qt_class(_label_column_class)(container)


def displayed_text(combo) -> str:
    """The text a dropdown shows: its current text elided in the middle to the space it has.

    Microscopy file names differ at their ends (``..._w1_A02 snic``, ``..._w1_A02 slic``),
    so both ends stay visible; the full name is in the dropdown's tooltip.
    """
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QStyle, QStyleOptionComboBox

    opt = QStyleOptionComboBox()
    combo.initStyleOption(opt)
    rect = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt,
                                        QStyle.SubControl.SC_ComboBoxEditField, combo)
    return combo.fontMetrics().elidedText(combo.currentText(), Qt.TextElideMode.ElideMiddle, max(rect.width(), 1))


def elide_in_middle(combo) -> None:
    """Make a (not editable) dropdown elide its current text in the middle; its tooltip names it in full."""
    if getattr(combo, "_middle_elider", None) is not None:
        return
    combo._middle_elider = _ComboElider(combo)
    combo.installEventFilter(combo._middle_elider)
    combo._tips = (combo.toolTip(), combo.toolTip())  # (the field's own tooltip, the one shown)
    _full_name_tooltip(combo)


def _full_name_tooltip(combo) -> None:
    """The dropdown's tooltip, preceded by its current text in full while that text is elided."""
    base, shown = combo._tips
    if combo.toolTip() != shown:  # set anew from outside: the field's own tooltip
        base = combo.toolTip()
    text = combo.currentText()
    elided = bool(text) and displayed_text(combo) != text
    tip = (f"{text}\n\n{base}" if base else text) if elided else base
    combo._tips = (base, tip)
    if combo.toolTip() != tip:
        combo.setToolTip(tip)


def names_in_full_on_hover(view) -> None:
    """A list of names (a QListWidget) elides them in the middle and shows each in full on hover."""
    from qtpy.QtCore import Qt

    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    view.setWordWrap(False)
    view.setUniformItemSizes(True)
    view.setResizeMode(view.ResizeMode.Adjust)
    if getattr(view, "_tips_connected", False):
        _item_tooltips(view)
        return
    view._tips_connected = True
    hook = _ComboElider(view)  # a QObject child of the view: the connections end with it
    hook.view = view
    model = view.model()
    for signal in (model.rowsInserted, model.modelReset, model.layoutChanged):
        signal.connect(hook.item_tooltips)
    _item_tooltips(view)


def _item_tooltips(view) -> None:
    try:
        n = view.count()
    except RuntimeError:  # the list is being destroyed (its model empties first)
        return
    for i in range(n):
        item = view.item(i)
        if item.toolTip() != item.text():
            item.setToolTip(item.text())


def _elider_class():
    from qtpy.QtCore import QEvent, QObject
    from qtpy.QtWidgets import QStyle, QStyleOptionComboBox, QStylePainter

    class ComboElider(QObject):
        """Paints a dropdown as Qt does, with its text elided in the middle instead of at the end.

        As the child of a list of names, it keeps the names' tooltips (:meth:`item_tooltips`).
        """

        def item_tooltips(self, *_args) -> None:
            _item_tooltips(self.view)

        def eventFilter(self, obj, event):  # noqa: N802 (Qt name)
            if event.type() == QEvent.Type.ToolTip:
                _full_name_tooltip(obj)  # then Qt shows it
                return False
            if event.type() != QEvent.Type.Paint:
                return False
            _full_name_tooltip(obj)
            painter = QStylePainter(obj)
            opt = QStyleOptionComboBox()
            obj.initStyleOption(opt)
            painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, opt)
            opt.currentText = displayed_text(obj)
            painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, opt)
            painter.end()
            return True

    return ComboElider


def _ComboElider(combo):  # noqa: N802 - a QObject subclass (see _qt_class)
    return _qt_class(_elider_class)(combo)


def elide(text: str, n: int = 28) -> str:
    """``text`` shortened in the middle to at most ``n`` characters (for status lines)."""
    text = str(text)
    if len(text) <= n:
        return text
    k = (n - 1) // 2
    return f"{text[:k]}\u2026{text[len(text) - (n - 1 - k):]}"
