import sys

from PySide6.QtCore import QStringListModel
from PySide6.QtWidgets import QListView

from photosearch.ui.grid.delegate import ThumbnailDelegate


def test_painting_does_not_leak_references_to_none(qtbot):
    """PySide6 6.12.0 decrements None's refcount on each Python virtual override call,
    which crashes Python < 3.12 after a few thousand paints. The pin in pyproject.toml
    keeps that release out; this test fails if it comes back."""
    model = QStringListModel(["x"] * 20)
    view = QListView()
    view.resize(400, 400)
    view.setModel(model)
    delegate = ThumbnailDelegate(view)
    delegate.size = 8  # all 20 cells on screen
    calls = [0]

    def paint(painter, option, index):
        ThumbnailDelegate.paint(delegate, painter, option, index)
        calls[0] += 1

    delegate.paint = paint
    view.setItemDelegate(delegate)
    qtbot.addWidget(view)
    before = sys.getrefcount(None)
    for _ in range(200):
        view.grab()  # paints every visible cell through the Python delegate
    after = sys.getrefcount(None)
    assert calls[0] >= 2000
    assert after > before - 200, f"None lost {before - after} references over 4000 cell paints"
