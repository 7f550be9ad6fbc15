"""What the window shows before there is a library, and before the first search."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


def welcome_view(choose_folders: Callable[[], None]) -> QWidget:
    view = QWidget()
    layout = QVBoxLayout(view)
    layout.addStretch()
    title = QLabel("<h1>Welcome to photosearch</h1>"
                   "<p>Find the photos in your own library that look like any photo you give it.<br>"
                   "Everything happens on this computer; nothing is uploaded.</p>"
                   "<p>Start by choosing the folder that holds your photos.</p>")
    title.setAlignment(Qt.AlignmentFlag.AlignCenter)
    title.setWordWrap(True)
    layout.addWidget(title)
    choose = QPushButton("Choose folders…")
    choose.setMinimumHeight(36)
    choose.clicked.connect(choose_folders)
    row = QHBoxLayout()
    row.addStretch()
    row.addWidget(choose)
    row.addStretch()
    layout.addLayout(row)
    layout.addStretch()
    return view


def empty_view() -> QLabel:
    label = QLabel("<h2>Drop a photo here</h2>"
                   "<p>…or paste one (Ctrl+V), or open one (Ctrl+O).<br>"
                   "photosearch shows the photos of your library that look most like it.</p>")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label
