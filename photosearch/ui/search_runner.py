"""Searches off the GUI thread; only the newest search's answer is used."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ..core.errors import PhotosearchError

log = logging.getLogger(__name__)


@dataclass
class Query:
    vector: np.ndarray
    exclude: tuple[int, ...] = ()
    hits: list = field(default_factory=list)
    label: str = ""
    device: str = ""
    seconds: float = 0.0


class _Call(QRunnable):
    def __init__(self, runner: "SearchRunner", generation: int, fn):
        super().__init__()
        self.runner, self.generation, self.fn = runner, generation, fn
        self.setAutoDelete(True)

    def run(self) -> None:
        start = time.perf_counter()
        try:
            query = self.fn()
            query.seconds = time.perf_counter() - start
        except PhotosearchError as exc:
            self.runner.failed.emit(self.generation, str(exc))
            return
        except Exception as exc:
            log.exception("search failed")
            self.runner.failed.emit(self.generation, f"Search failed with an internal error: {exc}")
            return
        self.runner.done.emit(self.generation, query)


class SearchRunner(QObject):
    done = Signal(int, object)  # generation, Query
    failed = Signal(int, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)  # one at a time: a newer search supersedes

    def submit(self, generation: int, fn) -> None:
        self.pool.clear()
        self.pool.start(_Call(self, generation, fn))

    def wait(self, ms: int = 30000) -> bool:
        return self.pool.waitForDone(ms)
