"""Start the desktop app."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

from ..core.app import App

if TYPE_CHECKING:
    from .main_window import MainWindow

APP_ID = "io.github.photosearch.Photosearch"
# For measuring start-up (benchmarks/bundle.py), not for people: when set, the app prints
# SHOWN_LINE to stderr once the main window has first been painted on screen, then closes it.
QUIT_WHEN_SHOWN_ENV = "PHOTOSEARCH_QUIT_WHEN_SHOWN"
SHOWN_LINE = "photosearch: window shown"


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


def run(argv: list[str], files: list[str] | None = None) -> int:
    """The app; `files`: photos it was opened with, searched for once the window is up."""
    QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    existing = QApplication.instance()
    qapp = existing if isinstance(existing, QApplication) else QApplication(argv)
    qapp.setApplicationName("photosearch")
    qapp.setApplicationDisplayName("photosearch")
    qapp.setOrganizationName("photosearch")
    qapp.setDesktopFileName(APP_ID)
    qapp.setWindowIcon(app_icon())
    open_window(App(), files or [])
    return qapp.exec()


def open_window(app: App, files: list[str]) -> MainWindow:
    from .main_window import MainWindow

    window = MainWindow(app)
    if os.environ.get(QUIT_WHEN_SHOWN_ENV):
        _QuitWhenShown(window)  # the window, its parent, keeps it
    window.show()
    if files:
        QTimer.singleShot(0, lambda: window.sources.chosen.emit(files))
    return window


class _QuitWhenShown(QObject):
    """A window paints only once it is exposed, so its first paint is when a person sees it;
    the line is printed after that paint has been flushed to the screen (the next turn of the
    event loop). The window is then closed as a person would close it."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.window = window
        self.done = False
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self.done:
            self.done = True
            QTimer.singleShot(0, self._report)
        return False

    def _report(self) -> None:
        print(SHOWN_LINE, file=sys.stderr, flush=True)
        self.window.close()
