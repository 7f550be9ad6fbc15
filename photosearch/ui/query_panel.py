"""The query, shown beside its results."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class QueryPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumWidth(180)
        self.title = QLabel("<b>Query</b>")
        self.image = QLabel("Drop a photo anywhere in this window, paste one (Ctrl+V) or open one (Ctrl+O).")
        self.image.setWordWrap(True)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumHeight(160)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.image)
        layout.addWidget(self.caption)
        layout.addStretch()

    def show_query(self, pixmap: QPixmap | None, caption: str) -> None:
        if pixmap is not None and not pixmap.isNull():
            w = max(160, self.width() - 24)
            self.image.setPixmap(pixmap.scaled(w, w, Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))
        else:
            self.image.setPixmap(QPixmap())
            self.image.setText("")
        self.caption.setText(caption)
