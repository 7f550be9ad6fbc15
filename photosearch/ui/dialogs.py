"""Dialogs: a library's folders, and a larger preview of one photo."""

from __future__ import annotations

import datetime
import html
import os
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import PhotosearchError
from ..core.vision.imageio import decode
from .grid.qimage import pil_to_qimage


class FoldersDialog(QDialog):
    """Choose the folders of a library. Returns the new list via `folders()`."""

    def __init__(self, name: str, folders: list[str], count_under: Callable[[str], int],
                 parent: QWidget | None = None, editable: bool = True):
        super().__init__(parent)
        self.setWindowTitle(f"Folders of {name}")
        self.resize(560, 360)
        self._count = count_under
        self.list = QListWidget()
        for folder in folders:
            self._add_item(folder)
        intro = QLabel("photosearch indexes every photo in these folders and their subfolders. "
                       "Your photos are never changed.")
        intro.setWordWrap(True)
        add = QPushButton("Add folder…")
        remove = QPushButton("Remove")
        add.clicked.connect(self._choose)
        remove.clicked.connect(self._remove)
        add.setEnabled(editable)
        remove.setEnabled(editable)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        side = QVBoxLayout()
        side.addWidget(add)
        side.addWidget(remove)
        side.addStretch()
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addLayout(side)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(row)
        if not editable:
            note = QLabel("Another photosearch is indexing this library; folders can be changed when it is done.")
            note.setWordWrap(True)
            layout.addWidget(note)
        layout.addWidget(buttons)

    def _add_item(self, folder: str) -> None:
        try:
            n = self._count(folder)
            label = f"{folder}    ({n:,} photos)"
        except Exception:
            label = folder
        if not os.path.isdir(folder):
            label += "    — not found (unplugged drive?)"
        item = QListWidgetItem(label)
        item.setData(Qt.ItemDataRole.UserRole, folder)
        self.list.addItem(item)

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if folder and folder not in self.folders():
            self._add_item(os.path.abspath(folder))

    def _remove(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))

    def folders(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]


class PreviewDialog(QDialog):
    """A larger view of one photo with its path, size, date and similarity."""

    def __init__(self, path: str, score: float | None, parent: QWidget | None = None,
                 companions: list[str] | None = None):
        super().__init__(parent)
        self.setWindowTitle(os.path.basename(path))
        screen = self.screen().availableGeometry() if self.screen() else None
        side = int(min(screen.width(), screen.height()) * 0.75) if screen else 900
        image = QLabel()
        image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        info = QLabel()
        info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        info.setWordWrap(True)
        try:
            decoded = decode(path, min_side=side)
            pix = QPixmap.fromImage(pil_to_qimage(decoded.image))
            image.setPixmap(pix.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                       Qt.TransformationMode.SmoothTransformation))
            dims = f"{decoded.width} × {decoded.height}"
        except PhotosearchError as exc:
            image.setText(f"This photo cannot be shown: {exc}")
            dims = "unknown size"
        try:
            st = os.stat(path)
            when = datetime.datetime.fromtimestamp(st.st_mtime).strftime("%Y-%m-%d %H:%M")
            size = f"{st.st_size / 1e6:.1f} MB"
        except OSError:
            when, size = "unknown date", "file missing"
        similarity = f" · similarity {score:.3f}" if score is not None else ""
        also = "".join(f"<br>with the RAW file {html.escape(c)}" for c in companions or ())
        info.setText(f"<b>{html.escape(path)}</b><br>{dims} · {size} · {when}{similarity}{also}")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(image, 1)
        layout.addWidget(info)
        layout.addWidget(close)
