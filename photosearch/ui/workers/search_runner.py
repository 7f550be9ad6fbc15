"""Searches off the GUI thread; only the newest search's answer is used."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, Signal

from ...core.errors import PhotosearchError

log = logging.getLogger(__name__)


@dataclass
class Query:
    vector: np.ndarray | None  # None for a keyword query
    exclude: tuple[int, ...] = ()
    hits: list = field(default_factory=list)
    label: str = ""
    device: str = ""
    seconds: float = 0.0
    text: str | None = None


class SearchRunner(QObject):
    """Runs one search at a time on a Python worker thread (see ThumbnailLoader on
    why not QThreadPool); a search submitted while another waits replaces it."""

    done = Signal(int, object)  # generation, Query
    failed = Signal(int, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cond = threading.Condition()
        self._next: tuple[int, object] | None = None
        self._busy = False
        self._thread: threading.Thread | None = None

    def submit(self, generation: int, fn) -> None:
        with self._cond:
            self._next = (generation, fn)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="photosearch-search", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._next is None:
                    self._cond.wait()
                generation, fn = self._next
                self._next = None
                self._busy = True
            try:
                self._run(generation, fn)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _run(self, generation: int, fn) -> None:
        start = time.perf_counter()
        try:
            query = fn()
            query.seconds = time.perf_counter() - start
        except PhotosearchError as exc:
            self.failed.emit(generation, str(exc))
            return
        except Exception as exc:
            log.exception("search failed")
            self.failed.emit(generation, f"Search failed with an internal error: {exc}")
            return
        self.done.emit(generation, query)

    def wait(self, ms: int = 30000) -> bool:
        deadline = time.monotonic() + ms / 1000
        with self._cond:
            while self._next is not None or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True
