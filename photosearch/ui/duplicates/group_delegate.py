"""Paints one duplicate group as a row of thumbnails with what tells them apart: resolution,
file size, date, folder and score, and what goes with each photo (its RAW files, its links); the
photo to keep is framed in green and labelled."""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ...core.duplicates.finder import DuplicateGroup
from .group_model import CURSOR_ROLE, GROUP_ROLE

THUMB = 150
CELL_W = 190
TEXT_H = 80
PAD = 8
KEEP_COLOUR = QColor(40, 160, 70)
CURSOR_COLOUR = QColor(60, 120, 220)
LOOK_COLOUR = QColor(200, 100, 0)  # the heading of a group to look at before acting on it


def _when(c_date: float) -> str:
    return datetime.datetime.fromtimestamp(c_date).strftime("%Y-%m-%d")


def heading(g: DuplicateGroup, row: int) -> str:
    """The line above a group's photos: what it is, and what to look at before acting on it."""
    best = max((s for _, s in g.others), default=0.0)
    text = f"Group {row + 1}: {len(g.members)} photos, {g.level}, best score {best:.2f}"
    return f"{text}  ·  Look first: {g.check}" if g.check else text


class GroupDelegate(QStyledItemDelegate):
    def __init__(self, pixmap: Callable[[str], QPixmap | None], parent: QWidget | None = None):
        super().__init__(parent)
        self.pixmap = pixmap  # a cached thumbnail, or None (then requested, and painted later)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        g: DuplicateGroup | None = index.data(GROUP_ROLE)
        n = len(g.members) if g is not None else 2
        return QSize(PAD + n * CELL_W, THUMB + TEXT_H + 2 * PAD + 18)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        g: DuplicateGroup | None = index.data(GROUP_ROLE)
        if g is None:
            return
        painter.save()
        rect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.fillRect(rect, option.palette.alternateBase() if selected else option.palette.base())
        cursor = index.data(CURSOR_ROLE) or 0
        score_of = {c.id: s for c, s in g.others}
        small = QFont(painter.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        painter.setFont(small)
        head = QRect(rect.left() + PAD, rect.top() + 2, rect.width() - 2 * PAD, 16)
        if g.check:  # what to look at before acting on the group stands out
            painter.setPen(LOOK_COLOUR)
        painter.drawText(head, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, heading(g, index.row()))
        painter.setPen(option.palette.text().color())
        for k, c in enumerate(g.members):
            x = rect.left() + PAD + k * CELL_W
            box = QRect(x, rect.top() + 20, THUMB, THUMB)
            pix = self.pixmap(c.path)
            if pix is not None and not pix.isNull():
                scaled = pix.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                    Qt.TransformationMode.SmoothTransformation)
                painter.drawPixmap(box.left() + (THUMB - scaled.width()) // 2,
                                   box.top() + (THUMB - scaled.height()) // 2, scaled)
            else:
                painter.fillRect(box, QColor(128, 128, 128, 40))
            kept = c is g.keep
            protected = c in g.protected
            if kept or (selected and k == cursor):
                painter.setPen(QPen(KEEP_COLOUR if kept else CURSOR_COLOUR, 4))
                painter.drawRect(box.adjusted(-2, -2, 2, 2))
                if kept and selected and k == cursor:
                    painter.setPen(QPen(CURSOR_COLOUR, 2))
                    painter.drawRect(box.adjusted(-6, -6, 6, 6))
            painter.setPen(option.palette.text().color())
            label = "KEEP" if kept else ("reference" if protected else f"score {score_of.get(c.id, 0.0):.2f}")
            lines = [label, f"{c.width}×{c.height}, {c.size / 1e6:.1f} MB", _when(c.date),
                     os.path.basename(os.path.dirname(c.path)) + os.sep + os.path.basename(c.path)]
            goes = [os.path.basename(r) for r in c.companions] + [f"link {os.path.basename(x)}" for _, x in c.links]
            if goes:
                lines.append("+ " + ", ".join(goes))
            text = QRect(x, box.bottom() + 4, CELL_W - 8, TEXT_H)
            if kept:
                painter.setPen(KEEP_COLOUR)
            painter.drawText(text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                             "\n".join(painter.fontMetrics().elidedText(s, Qt.TextElideMode.ElideMiddle, CELL_W - 8)
                                       for s in lines))
            painter.setPen(option.palette.text().color())
        painter.restore()
