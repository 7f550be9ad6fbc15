"""Start the desktop app."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication

from ..core.app import App

APP_ID = "io.github.photosearch.Photosearch"


def app_icon() -> QIcon:
    for candidate in (Path(__file__).resolve().parents[1] / "data" / "desktop" / f"{APP_ID}.svg",
                      Path(sys.prefix) / "share" / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"):
        if candidate.exists():
            return QIcon(str(candidate))
    pix = QPixmap(64, 64)  # installed without resources: a plain drawn mark
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setBrush(QColor("#e8663d"))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(8, 8, 40, 40)
    p.end()
    return QIcon(pix)


def run(argv: list[str]) -> int:
    QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    existing = QApplication.instance()
    qapp = existing if isinstance(existing, QApplication) else QApplication(argv)
    qapp.setApplicationName("photosearch")
    qapp.setApplicationDisplayName("photosearch")
    qapp.setOrganizationName("photosearch")
    qapp.setDesktopFileName(APP_ID)
    qapp.setWindowIcon(app_icon())
    from .main_window import MainWindow

    window = MainWindow(App())
    window.show()
    return qapp.exec()
