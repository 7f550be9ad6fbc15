"""The result grid: a list view in icon mode over the array-backed model, thumbnails painted
by the delegate from an LRU of pixmaps that the loader fills off the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from ...core.vision import thumbnail_cache as disk_thumbnails
from .delegate import PADDING, ThumbnailDelegate
from .result_model import ResultModel
from .thumbnail_loader import PixmapCache, ThumbnailLoader


class ResultGrid(QListView):
    def __init__(self, cache_dir: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.loader = ThumbnailLoader(disk_thumbnails.default_root(cache_dir), parent=self)
        self.result_model = ResultModel(self.loader, PixmapCache(), parent=self)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(500)
        self.setSpacing(2)
        self.setMouseTracking(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.delegate = ThumbnailDelegate(self)
        self.setItemDelegate(self.delegate)
        self.setModel(self.result_model)

    def selected_rows(self) -> list[int]:
        return sorted(i.row() for i in self.selectionModel().selectedIndexes())

    def set_thumbnail_size(self, size: int) -> None:
        self.delegate.size = size
        cell = size + 2 * PADDING
        self.setGridSize(QSize(cell, cell))
        window = self.window()
        screen = QGuiApplication.primaryScreen()
        ratio = window.devicePixelRatioF() if window.isVisible() else (screen.devicePixelRatio() if screen else 1.0)
        pixels = int(size * ratio)
        if disk_thumbnails.size_name(pixels) != disk_thumbnails.size_name(self.loader.pixels):
            self.loader.pixels = pixels
            self.result_model.cache = PixmapCache()  # a sharper size class: load again
        self.viewport().update()

    def set_always_scores(self, on: bool) -> None:
        self.delegate.always_show_scores = on
        self.viewport().update()

    def shutdown(self) -> None:
        self.loader.new_generation()
        self.loader.wait()
