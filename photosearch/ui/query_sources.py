"""Where queries come from: a drop, a paste, or the Open dialog."""

from __future__ import annotations

import os

from PySide6.QtCore import QEvent, QMimeData, QObject, QUrl, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QWidget

from ..core.vision.imageio import IMAGE_EXTENSIONS
from .grid.qimage import qimage_to_png

Source = str | bytes  # a path, or an encoded image


def sources_from_mime(mime: QMimeData) -> tuple[list[Source], str | None]:
    """What a drop or a paste offers as query images: (paths or PNG bytes, problem)."""
    if mime.hasUrls():
        local = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        files: list[Source] = [p for p in local if os.path.isfile(p)]
        if files:
            return files, None
        if mime.urls() and not local and not mime.hasImage():
            return [], "Only photos on this computer can be searched: save the image, then drop the file"
    if mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            return [qimage_to_png(image)], None
    if mime.hasText():
        paths: list[Source] = []
        for line in mime.text().splitlines():
            line = line.strip().strip('"')
            if line.startswith("file://"):
                line = QUrl(line).toLocalFile()
            if line and os.path.isfile(os.path.expanduser(line)):
                paths.append(os.path.expanduser(line))
        if paths:
            return paths, None
    return [], "Nothing to search with: drop or paste a photo, or a path to one"


class QuerySources(QObject):
    """Turns drops onto `target`, pastes and opened files into `chosen(sources)`."""

    chosen = Signal(list)  # list[Source]
    problem = Signal(str)

    def __init__(self, target: QWidget):
        super().__init__(target)
        self.target = target
        target.setAcceptDrops(True)
        target.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.target:
            if isinstance(event, QDragEnterEvent):
                mime = event.mimeData()
                if mime.hasUrls() or mime.hasImage() or mime.hasText():
                    event.acceptProposedAction()
                return True
            if event.type() == QEvent.Type.DragMove:
                event.accept()
                return True
            if isinstance(event, QDropEvent):
                event.acceptProposedAction()
                self.use_mime(event.mimeData())
                return True
        return super().eventFilter(watched, event)

    def use_mime(self, mime: QMimeData) -> None:
        sources, problem = sources_from_mime(mime)
        if problem:
            self.problem.emit(problem)
        else:
            self.chosen.emit(sources)

    def paste(self) -> None:
        self.use_mime(QGuiApplication.clipboard().mimeData())

    def open_dialog(self) -> None:
        patterns = " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS))
        paths, _ = QFileDialog.getOpenFileNames(self.target, "Search with a photo", "", f"Images ({patterns})")
        if paths:
            self.chosen.emit(paths)
