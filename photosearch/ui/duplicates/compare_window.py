"""Compare: two photos side by side, zoomed and panned in step, with the level and the evidence
for it, which no tool we compare with shows: in words ("an edited copy: cropped and recoloured",
"another shot of the same scene: things moved"), and drawn over both photos: where the other
picture lies (its outline), the matched points, and where the aligned pictures agree (green),
where content moved between them (red: a burst, parallax) and where content was added or is
missing (yellow: an overlay, a watermark)."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap, QPolygonF, QTransform, QWheelEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsEllipseItem,
    QGraphicsItemGroup,
    QGraphicsPixmapItem,
    QGraphicsPolygonItem,
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


def rgba_image(rgba: np.ndarray) -> QImage:
    """A QImage of an [h, w, 4] uint8 map (copied: the array may go)."""
    a = np.ascontiguousarray(rgba, np.uint8)
    return QImage(a.tobytes(), a.shape[1], a.shape[0], 4 * a.shape[1], QImage.Format.Format_RGBA8888).copy()


class PhotoView(QGraphicsView):
    zoomed = Signal(float)

    def __init__(self) -> None:
        super().__init__()
        self.setScene(QGraphicsScene(self))
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.photo = QGraphicsPixmapItem()
        self.overlay = QGraphicsItemGroup()
        self.scene().addItem(self.photo)
        self.scene().addItem(self.overlay)

    def show_photo(self, image: QImage, evidence: QImage, outline: np.ndarray, points: np.ndarray) -> None:
        """The photo, and over it the evidence map (stretched over the whole photo), the other
        picture's outline and the matched points (both as fractions of the photo)."""
        pix = QPixmap.fromImage(image)
        self.photo.setPixmap(pix)
        for item in self.overlay.childItems():
            self.overlay.removeFromGroup(item)
            self.scene().removeItem(item)
        w, h = pix.width(), pix.height()
        shade = QGraphicsPixmapItem(QPixmap.fromImage(evidence))
        shade.setTransformationMode(Qt.TransformationMode.FastTransformation)  # blocks stay blocks
        shade.setTransform(QTransform.fromScale(w / max(evidence.width(), 1), h / max(evidence.height(), 1)))
        self.overlay.addToGroup(shade)
        if len(outline):
            poly = QGraphicsPolygonItem(QPolygonF([QPointF(x * w, y * h) for x, y in outline]))
            pen = QPen(QColor(40, 120, 255), 0)
            pen.setWidthF(max(2.0, w / 400))
            pen.setCosmetic(False)
            poly.setPen(pen)
            self.overlay.addToGroup(poly)
        r = max(2.0, w / 300)
        for x, y in points[:300]:
            dot = QGraphicsEllipseItem(x * w - r, y * h - r, 2 * r, 2 * r)
            dot.setPen(QPen(QColor(255, 255, 255), 0))
            dot.setBrush(QColor(40, 120, 255))
            self.overlay.addToGroup(dot)
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
        self.show_map = QCheckBox("Show the evidence (green: the same, red: moved, yellow: added or missing; "
                                  "blue: the other picture's outline and the matched points)")
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
            result = compare_photos(app.descriptor_for_photos(lib), a, b, min_side=SHOWN_SIDE, library=lib)
            shown = [_for_screen(img) for img in result.images]
            result.images = ()  # shown from here on: the decoded pixels need not stay
            return result, pil_to_qimage(shown[0]), pil_to_qimage(shown[1])

        self.runner.submit(work, (a, b))

    def _done(self, _tag: object, result: Any, _seconds: float) -> None:
        comparison, img_a, img_b = result
        self.result = comparison
        c = comparison
        self.views[0].show_photo(img_a, rgba_image(c.map_a), c.outline_a, c.matches[:, :2])
        self.views[1].show_photo(img_b, rgba_image(c.map_b), c.outline_b, c.matches[:, 2:])
        self.views[0].overlay.setVisible(self.show_map.isChecked())
        self.views[1].overlay.setVisible(self.show_map.isChecked())
        differs = c.to_dict()["differs"]
        diff = ", ".join(f"{k}: {x} vs {y}" for k, (x, y) in differs.items()) or "same resolution, size, date, format"
        colour = {"identical": "#2a7", "copies": "#2a7", "similar": "#c80", "different": "#c33"}[c.level]
        self.summary.setText(f"<b style='color:{colour}'>{c.level}</b> — {html.escape(c.evidence.reason)}"
                             f"<br>look-alike score {c.score:.3f} · {diff}")
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

