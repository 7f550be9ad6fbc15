"""Compare: two photos side by side, zoomed and panned in step, with the score, the level, what
differs, and the similarity map: for each region of one photo, how well its best match in the
other one agrees (green: found there; nothing drawn: not found). It shows why two photos are
judged alike, which no tool we compare with does."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap, QWheelEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ...core.duplicates.compare import Comparison, compare_photos
from ..grid.qimage import pil_to_qimage
from ..session import Session
from ..workers.job_runner import JobFailure, JobRunner

SHOWN_SIDE = 1600  # decoded for the screen, not at camera size


def heat_image(grid: np.ndarray) -> QImage:
    """A small RGBA image of a similarity map: transparent below 0.5, then ever greener."""
    g = np.clip((np.asarray(grid, np.float32) - 0.5) / 0.5, 0.0, 1.0)
    rgba = np.zeros((*g.shape, 4), np.uint8)
    rgba[..., 0] = (255 * (1 - g)).astype(np.uint8)
    rgba[..., 1] = 200
    rgba[..., 2] = 60
    rgba[..., 3] = (170 * g).astype(np.uint8)
    img = QImage(rgba.tobytes(), g.shape[1], g.shape[0], 4 * g.shape[1], QImage.Format.Format_RGBA8888)
    return img.copy()


class PhotoView(QGraphicsView):
    zoomed = Signal(float)

    def __init__(self) -> None:
        super().__init__()
        self.setScene(QGraphicsScene(self))
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.photo = QGraphicsPixmapItem()
        self.overlay = QGraphicsPixmapItem()
        self.overlay.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self.photo)
        self.scene().addItem(self.overlay)

    def show_photo(self, image: QImage, heat: QImage, area: tuple[float, float, float, float]) -> None:
        pix = QPixmap.fromImage(image)
        self.photo.setPixmap(pix)
        left, top, right, bottom = area
        self.overlay.setPixmap(QPixmap.fromImage(heat))
        self.overlay.setPos(left * pix.width(), top * pix.height())
        self.overlay.setScale(1.0)
        sx = (right - left) * pix.width() / max(heat.width(), 1)
        sy = (bottom - top) * pix.height() / max(heat.height(), 1)
        self.overlay.setTransform(self.overlay.transform().fromScale(sx, sy))
        self.scene().setSceneRect(QRectF(pix.rect()))
        self.fitInView(self.photo, Qt.AspectRatioMode.KeepAspectRatio)

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.zoomed.emit(1.25 if event.angleDelta().y() > 0 else 0.8)


class CompareWindow(QWidget):
    compared = Signal(object)  # the Comparison

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.session = session
        self.setWindowTitle("Compare — photosearch")
        self.resize(1200, 700)
        self.views = (PhotoView(), PhotoView())
        self.captions = (QLabel(), QLabel())
        self.summary = QLabel("Comparing…")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.show_map = QCheckBox("Show where they match")
        self.show_map.setChecked(True)
        self.show_map.toggled.connect(self._show_map)
        row = QHBoxLayout()
        for view, caption in zip(self.views, self.captions):
            col = QVBoxLayout()
            col.addWidget(view, 1)
            caption.setWordWrap(True)
            col.addWidget(caption)
            row.addLayout(col, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(row, 1)
        layout.addWidget(self.show_map)
        a, b = self.views
        # in step: the same zoom, and scrolling one scrolls the other by the same share
        for src, dst in ((a, b), (b, a)):
            src.zoomed.connect(self._zoom)
            for bar_src, bar_dst in ((src.horizontalScrollBar(), dst.horizontalScrollBar()),
                                     (src.verticalScrollBar(), dst.verticalScrollBar())):
                bar_src.valueChanged.connect(lambda v, s=bar_src, d=bar_dst: d.setValue(
                    round(v / max(s.maximum(), 1) * d.maximum())))
        self.runner = JobRunner("compare", latest_only=True, parent=self)
        self.runner.done.connect(self._done)
        self.runner.failed.connect(self._failed)
        session.add_worker(self.runner)
        self.result: Comparison | None = None

    def _show_map(self, on: bool) -> None:
        for v in self.views:
            v.overlay.setVisible(on)

    def _zoom(self, factor: float) -> None:
        for v in self.views:
            v.scale(factor, factor)

    def compare(self, a: str, b: str) -> None:
        self.summary.setText("Comparing…")
        app, lib = self.session.app, self.session.library

        def work() -> tuple[Comparison, QImage, QImage]:
            result = compare_photos(app.descriptor_for_photos(lib), a, b, min_side=SHOWN_SIDE)
            shown = [_for_screen(img) for img in result.images]
            result.images = ()  # shown from here on: the decoded pixels need not stay
            return result, pil_to_qimage(shown[0]), pil_to_qimage(shown[1])

        self.runner.submit(work, (a, b))

    def _done(self, _tag: object, result: Any, _seconds: float) -> None:
        comparison, img_a, img_b = result
        self.result = comparison
        c = comparison
        self.views[0].show_photo(img_a, heat_image(c.map_a), c.area_a)
        self.views[1].show_photo(img_b, heat_image(c.map_b), c.area_b)
        self.views[0].overlay.setVisible(self.show_map.isChecked())
        self.views[1].overlay.setVisible(self.show_map.isChecked())
        differs = c.to_dict()["differs"]
        diff = ", ".join(f"{k}: {x} vs {y}" for k, (x, y) in differs.items()) or "same resolution, size, date, format"
        colour = {"identical": "#2a7", "copies": "#2a7", "similar": "#c80", "different": "#c33"}[c.level]
        whole = " · the whole picture matches (turned, mirrored, resized or framed)" if c.whole_picture else ""
        self.summary.setText(f"<b style='color:{colour}'>{c.level}</b> — score {c.score:.3f} "
                             f"(appearance {c.cosine:.3f}){whole} · {diff}")
        for caption, facts in zip(self.captions, (c.a, c.b)):
            caption.setText(f"{facts.path}\n{facts.width}×{facts.height}, {facts.size / 1e6:.2f} MB, "
                            f"{facts.format}, {facts.modified}")
        self.compared.emit(c)

    def _failed(self, _tag: object, failure: JobFailure) -> None:
        self.summary.setText(f"<span style='color:#c33'>Could not compare: {failure.message}</span>")


def _for_screen(img: Image.Image) -> Image.Image:
    if max(img.size) > 2 * SHOWN_SIDE:
        img = img.copy()
        img.thumbnail((2 * SHOWN_SIDE, 2 * SHOWN_SIDE))
    return img

