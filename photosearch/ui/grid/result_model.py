"""The result grid's model: arrays of ids, scores and paths; no object per photo."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QObject, QPersistentModelIndex, Qt, QUrl, Signal
from PySide6.QtGui import QImage, QPixmap

from ...core.search import Hit
from .thumbnail_loader import PixmapCache, ThumbnailLoader

IdRole = Qt.ItemDataRole.UserRole + 1
PathRole = Qt.ItemDataRole.UserRole + 2
ScoreRole = Qt.ItemDataRole.UserRole + 3
ThumbnailRole = Qt.ItemDataRole.UserRole + 4  # QPixmap, or None while loading
FailedRole = Qt.ItemDataRole.UserRole + 5  # the thumbnail could not be made


class ResultModel(QAbstractListModel):
    thumbnails_arrived = Signal()

    def __init__(self, loader: ThumbnailLoader, cache: PixmapCache | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.loader = loader
        self.cache = cache or PixmapCache()
        self.device_pixel_ratio = 1.0
        self._ids = np.zeros(0, np.int64)
        self._scores = np.zeros(0, np.float32)
        self._paths: list[str] = []
        self._rows: dict[str, int] = {}
        self._failed: set[str] = set()
        self._companions: dict[str, tuple[str, ...]] = {}
        self.generation = 0
        loader.loaded.connect(self._on_loaded)

    # -- content -------------------------------------------------------------
    def set_results(self, ids: Iterable[int], scores: Iterable[float], paths: Iterable[str]) -> int:
        """Replace the results; returns the new generation."""
        self.beginResetModel()
        self._ids = np.asarray(ids, np.int64)
        self._scores = np.asarray(scores, np.float32)
        self._paths = list(paths)
        self._rows = {p: i for i, p in enumerate(self._paths)}
        self.generation = self.loader.new_generation()
        self.endResetModel()
        return self.generation

    def set_hits(self, hits: Sequence[Hit]) -> int:
        generation = self.set_results([h.id for h in hits], [h.score for h in hits], [h.path for h in hits])
        self._companions = {h.path: h.companions for h in hits if h.companions}
        return generation

    def files_at(self, row: int) -> list[str]:
        """The photo's file and the RAW files that go with it."""
        path = self.path_at(row)
        return [path, *self._companions.get(path, ())]

    def clear(self) -> None:
        self.set_results([], [], [])

    def remove_rows_for(self, paths: Iterable[str]) -> None:
        for path in paths:
            row = self._rows.get(path)
            if row is None:
                continue
            self.beginRemoveRows(QModelIndex(), row, row)
            self._ids = np.delete(self._ids, row)
            self._scores = np.delete(self._scores, row)
            del self._paths[row]
            self.endRemoveRows()
            self._rows = {p: i for i, p in enumerate(self._paths)}

    def id_at(self, row: int) -> int:
        return int(self._ids[row])

    def path_at(self, row: int) -> str:
        return self._paths[row]

    def score_at(self, row: int) -> float:
        return float(self._scores[row])

    @property
    def paths(self) -> list[str]:
        return list(self._paths)

    # -- Qt model API ----------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._paths)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._paths):
            return None
        row = index.row()
        path = self._paths[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return os.path.basename(path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{path}\nsimilarity {self._scores[row]:.3f}"
        if role == PathRole:
            return path
        if role == IdRole:
            return int(self._ids[row])
        if role == ScoreRole:
            return float(self._scores[row])
        if role == FailedRole:
            return path in self._failed
        if role in (ThumbnailRole, Qt.ItemDataRole.DecorationRole):
            pix = self.cache.get(path)
            if pix is None and path not in self._failed:
                self.loader.request(path)
            return pix
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        """Dragging results out gives other apps file URLs."""
        mime = QMimeData()
        rows = sorted({i.row() for i in indexes if i.isValid()})
        mime.setUrls([QUrl.fromLocalFile(self._paths[r]) for r in rows])
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    # -- thumbnails ------------------------------------------------------------
    def _on_loaded(self, generation: int, path: str, image: QImage) -> None:
        self.loader.done(path)
        if generation != self.generation:
            return  # a late answer for an older search
        row = self._rows.get(path)
        if image.isNull():
            self._failed.add(path)
        else:
            pix = QPixmap.fromImage(image)
            self.cache.put(path, pix)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [ThumbnailRole, Qt.ItemDataRole.DecorationRole, FailedRole])
            self.thumbnails_arrived.emit()
