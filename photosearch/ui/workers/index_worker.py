"""Indexing on a long-lived QThread: the core pipeline, its callbacks as signals."""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ...core.errors import PhotosearchError
from ...core.pipeline.indexer import Progress, index_library

log = logging.getLogger(__name__)


class IndexWorker(QObject):
    """Lives in the indexing thread; `run` drives one pass of the core pipeline."""

    progress = Signal(object)  # Progress, at most a few per second
    finished = Signal(object)  # IndexSummary
    failed = Signal(str, str)  # message, kind of problem (the exception's class name)
    notice = Signal(str)

    def __init__(self, throttle: float = 0.2):
        super().__init__()
        self.cancel = threading.Event()
        self.pause = threading.Event()
        self.throttle = throttle
        self._last = 0.0
        self._phase = ""

    def _on_progress(self, p: Progress) -> None:
        now = time.monotonic()
        if p.phase == self._phase and now - self._last < self.throttle:
            return
        self._phase, self._last = p.phase, now
        self.progress.emit(p)

    @Slot(object, object)
    def run(self, app, library) -> None:
        self._phase = ""
        try:
            descriptor = app.descriptor_for(library)
            if descriptor.embedder.notice:
                self.notice.emit(descriptor.embedder.notice)
            summary = index_library(library, descriptor, cancel=self.cancel, pause=self.pause,
                                    on_progress=self._on_progress)
        except PhotosearchError as exc:
            self.failed.emit(str(exc), type(exc).__name__)
            return
        except Exception as exc:  # a bug: say so, keep the app alive
            log.exception("indexing failed")
            self.failed.emit(f"Indexing stopped by an internal error: {exc}", "bug")
            return
        for notice in summary.notices:
            self.notice.emit(notice)
        self.finished.emit(summary)


class IndexController(QObject):
    """Owns the indexing thread; the GUI talks to this, never to the thread."""

    _start = Signal(object, object)
    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str, str)
    notice = Signal(str)
    running_changed = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("photosearch-indexer")
        self.worker = IndexWorker()
        self.worker.moveToThread(self.thread)
        self._start.connect(self.worker.run)
        self.worker.progress.connect(self.progress)
        self.worker.notice.connect(self.notice)
        self.worker.finished.connect(self._done)
        self.worker.failed.connect(self._failed)
        self.thread.start()
        self.running = False

    def start(self, app, library) -> bool:
        if self.running:
            return False
        self.running = True
        self.worker.cancel.clear()
        self.worker.pause.clear()
        self.running_changed.emit(True)
        self._start.emit(app, library)
        return True

    def _done(self, summary) -> None:
        self.running = False
        self.running_changed.emit(False)
        self.finished.emit(summary)

    def _failed(self, message: str, kind: str) -> None:
        self.running = False
        self.running_changed.emit(False)
        self.failed.emit(message, kind)

    @property
    def paused(self) -> bool:
        return self.worker.pause.is_set()

    def set_paused(self, paused: bool) -> None:
        (self.worker.pause.set if paused else self.worker.pause.clear)()

    def cancel(self) -> None:
        self.worker.cancel.set()
        self.worker.pause.clear()

    def wait_idle(self, timeout_ms: int = 60000) -> bool:
        """Block until the running pass has stopped (used when closing)."""
        from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop

        deadline = QDeadlineTimer(timeout_ms)
        while self.running and not deadline.hasExpired():
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            QThread.msleep(10)
        return not self.running

    def shutdown(self) -> None:
        self.cancel()
        self.wait_idle()
        self.thread.quit()
        self.thread.wait(10000)
