"""Thumbnails off the GUI thread.

Workers make QImages (from the on-disk cache, or by decoding the photo); only the
GUI thread turns them into QPixmaps, kept in a byte-bounded LRU. Every request
carries the search generation it was made for: results of an older search that
arrive late are dropped, and starting a new search clears the queue.
"""

from __future__ import annotations

import collections
import itertools
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap

from ..core import thumbnails as disk
from .qimage import pil_to_qimage


class _Job(QRunnable):
    def __init__(self, loader: "ThumbnailLoader", path: str, generation: int):
        super().__init__()
        self.loader, self.path, self.generation = loader, path, generation
        self.setAutoDelete(True)

    def run(self) -> None:
        if self.generation != self.loader.generation:
            return  # a newer search started while this waited
        try:
            image = pil_to_qimage(disk.load_or_make(self.path, self.loader.root, self.loader.pixels))
        except Exception:  # unreadable photo: the view shows a broken-image mark
            image = QImage()
        self.loader._emit(self.generation, self.path, image)


class ThumbnailLoader(QObject):
    """Makes QImages in a thread pool; emits `loaded(generation, path, image)`."""

    loaded = Signal(int, str, QImage)

    def __init__(self, root: Path, pixels: int = 256, threads: int | None = None, parent=None):
        super().__init__(parent)
        self.root = Path(root)
        self.pixels = pixels
        self.pool = QThreadPool(self)
        if threads:
            self.pool.setMaxThreadCount(threads)
        self.generation = 0
        self._in_flight: set[str] = set()
        self._priority = itertools.count()

    def _emit(self, generation: int, path: str, image: QImage) -> None:
        self.loaded.emit(generation, path, image)

    def new_generation(self) -> int:
        self.pool.clear()  # queued work for the old results is dropped, not run
        self.generation += 1
        self._in_flight.clear()
        return self.generation

    def request(self, path: str) -> None:
        if path in self._in_flight:
            return
        self._in_flight.add(path)
        # later requests (what is on screen now) run first
        self.pool.start(_Job(self, path, self.generation), min(next(self._priority), 2**30))

    def done(self, path: str) -> None:
        self._in_flight.discard(path)

    def wait(self, ms: int = 30000) -> bool:
        return self.pool.waitForDone(ms)


class PixmapCache:
    """GUI-thread LRU of QPixmaps, bounded by bytes."""

    def __init__(self, budget_bytes: int = 256 * 2**20):
        self.budget = budget_bytes
        self.used = 0
        self._items: collections.OrderedDict[str, QPixmap] = collections.OrderedDict()

    def get(self, key: str) -> QPixmap | None:
        pix = self._items.get(key)
        if pix is not None:
            self._items.move_to_end(key)
        return pix

    def put(self, key: str, pix: QPixmap) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self.used -= self._cost(old)
        self._items[key] = pix
        self.used += self._cost(pix)
        while self.used > self.budget and len(self._items) > 1:
            _, evicted = self._items.popitem(last=False)
            self.used -= self._cost(evicted)

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    @staticmethod
    def _cost(pix: QPixmap) -> int:
        return max(1, pix.width() * pix.height() * 4)
