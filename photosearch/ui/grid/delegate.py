"""Paints one grid cell: the thumbnail (or a placeholder) and the similarity."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from .result_model import FailedRole, ScoreRole, ThumbnailRole

PADDING = 6


class ThumbnailDelegate(QStyledItemDelegate):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.size = 180
        self.always_show_scores = False

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(self.size + 2 * PADDING, self.size + 2 * PADDING)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        rect = option.rect
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        if selected or hovered:
            color = palette.color(QPalette.ColorRole.Highlight)
            if not selected:
                color.setAlpha(60)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRoundedRect(QRectF(rect.adjusted(1, 1, -1, -1)), 6, 6)

        area = rect.adjusted(PADDING, PADDING, -PADDING, -PADDING)
        pix = index.data(ThumbnailRole)
        frame = area  # where the photo is drawn; the score sits on its corner
        if pix is not None and not pix.isNull():
            scaled = pix.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(area.center())
            painter.drawPixmap(target, pix)
            frame = target
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color(QPalette.ColorRole.AlternateBase))
            painter.drawRoundedRect(QRectF(area), 4, 4)
            if index.data(FailedRole):
                painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
                painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "cannot\nshow")

        score = index.data(ScoreRole)
        if score is not None and (self.always_show_scores or hovered or selected):
            text = f"{score * 100:.0f}%"
            font = QFont(option.font)
            font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
            font.setBold(True)
            painter.setFont(font)
            metrics = painter.fontMetrics()
            badge = QRect(0, 0, metrics.horizontalAdvance(text) + 10, metrics.height() + 4)
            badge.moveBottomRight(frame.bottomRight() - QRect(0, 0, 4, 4).bottomRight())
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(0, 0, 0, 170))
            painter.drawRoundedRect(QRectF(badge), 4, 4)
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()
