"""Thumbnails off the GUI thread.

Workers make QImages (from the on-disk cache, or by decoding the photo); only the
GUI thread turns them into QPixmaps, kept in a byte-bounded LRU. Every request
carries the search generation it was made for: results of an older search that
arrive late are dropped, and starting a new search clears the queue.
"""

from __future__ import annotations

import collections
import os
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPixmap

from ...core.vision import thumbnail_cache as disk
from .qimage import pil_to_qimage


class ThumbnailLoader(QObject):
    """Makes QImages on worker threads; emits `loaded(generation, path, image)`.

    Plain Python threads, not QThreadPool: PySide6 (6.12) drops a reference to None
    on every Python QRunnable.run(), which kills the interpreter after a few
    thousand thumbnails. The newest request is served first (what is on screen now).
    """

    loaded = Signal(int, str, QImage)

    def __init__(self, root: Path, pixels: int = 256, threads: int | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.root = Path(root)
        self.pixels = pixels
        self.generation = 0
        self._threads = threads or max(2, min(4, (os.cpu_count() or 2)))
        self._stack: list[tuple[int, str]] = []
        self._in_flight: set[str] = set()
        self._busy = 0
        self._cond = threading.Condition()
        self._workers: list[threading.Thread] = []

    def _ensure_workers(self) -> None:
        while len(self._workers) < self._threads:
            t = threading.Thread(target=self._work, name="photosearch-thumbnails", daemon=True)
            t.start()
            self._workers.append(t)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._stack:
                    self._cond.wait()
                generation, path = self._stack.pop()
                if generation != self.generation:
                    continue  # a newer search started while this waited
                self._busy += 1
            try:
                image = pil_to_qimage(disk.load_or_make(path, self.root, self.pixels))
            except Exception:  # unreadable photo: the view shows a broken-image mark
                image = QImage()
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()
            self.loaded.emit(generation, path, image)

    def new_generation(self) -> int:
        with self._cond:
            self._stack.clear()  # queued work for the old results is dropped, not run
            self.generation += 1
            self._in_flight.clear()
            return self.generation

    def request(self, path: str) -> None:
        with self._cond:
            if path in self._in_flight:
                return
            self._in_flight.add(path)
            self._stack.append((self.generation, path))
            self._ensure_workers()
            self._cond.notify()

    def done(self, path: str) -> None:
        with self._cond:
            self._in_flight.discard(path)

    def wait(self, ms: int = 30000) -> bool:
        """Block until nothing is queued or being made (tests, closing)."""
        with self._cond:
            return self._cond.wait_for(lambda: not (self._stack or self._busy), ms / 1000)


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
