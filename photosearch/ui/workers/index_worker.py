"""Indexing on a long-lived QThread: the core pipeline, its callbacks as signals."""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ...core.app import App
from ...core.errors import PhotosearchError
from ...core.library.libraries import Library
from ...core.pipeline.indexer import Progress, index_library
from .job_runner import JobFailure

log = logging.getLogger(__name__)


class IndexWorker(QObject):
    """Lives in the indexing thread; `run` drives one pass of the core pipeline."""

    progress = Signal(object)  # Progress, at most a few per second
    finished = Signal(object)  # IndexSummary
    failed = Signal(object)  # JobFailure: the exception's type says what kind of problem
    notice = Signal(str)

    def __init__(self, throttle: float = 0.2):
        super().__init__()
        self.cancel = threading.Event()
        self.pause = threading.Event()
        self.stopped = threading.Event()  # set when no pass is running (waitable from any thread)
        self.stopped.set()
        self.throttle = throttle
        self._last = 0.0
        self._phase = ""

    def _on_progress(self, p: Progress) -> None:
        now = time.monotonic()
        if p.phase == self._phase and now - self._last < self.throttle:
            return
        self._phase, self._last = p.phase, now
        self.progress.emit(p)

    def _say(self, text: str) -> None:
        self.progress.emit(Progress("saving", message=text))

    @Slot(object, object, bool)
    def run(self, app: App, library: Library, reindex: bool) -> None:
        self._phase = ""
        try:
            say = self._say
            if reindex:
                descriptor = app.reindex(library, report=say)
            else:
                descriptor = app.descriptor_for_indexing(library, report=say)
            if descriptor.embedder.notice:
                self.notice.emit(descriptor.embedder.notice)
            summary = index_library(library, descriptor, cancel=self.cancel, pause=self.pause,
                                    on_progress=self._on_progress, ahead=app.take_decoded(library))
        except PhotosearchError as exc:
            self.stopped.set()
            self.failed.emit(JobFailure(exc, str(exc)))
            return
        except Exception as exc:  # a bug: say so, keep the app alive
            log.exception("indexing failed")
            self.stopped.set()
            self.failed.emit(JobFailure(exc, f"Indexing stopped by an internal error: {exc}; "
                                             "this is a bug in photosearch"))
            return
        for notice in summary.notices:
            self.notice.emit(notice)
        self.stopped.set()
        self.finished.emit(summary)


class IndexController(QObject):
    """Owns the indexing thread; the GUI talks to this, never to the thread."""

    _start = Signal(object, object, bool)
    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(object)  # JobFailure
    notice = Signal(str)
    running_changed = Signal(bool)
    idle = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.qthread = QThread()
        self.qthread.setObjectName("photosearch-indexer")
        self.worker = IndexWorker()
        self.worker.moveToThread(self.qthread)
        self._start.connect(self.worker.run)
        self.worker.progress.connect(self.progress)
        self.worker.notice.connect(self.notice)
        self.worker.finished.connect(self._done)
        self.worker.failed.connect(self._failed)
        self.qthread.start()
        self.running = False

    @property
    def busy(self) -> bool:
        return self.running

    def start(self, app: App, library: Library, reindex: bool = False) -> bool:
        if self.running:
            return False
        self.running = True
        self.worker.cancel.clear()
        self.worker.pause.clear()
        self.worker.stopped.clear()
        self.running_changed.emit(True)
        self._start.emit(app, library, reindex)
        return True

    def _done(self, summary: object) -> None:
        self.running = False
        self.running_changed.emit(False)
        self.finished.emit(summary)
        self.idle.emit()

    def _failed(self, failure: JobFailure) -> None:
        self.running = False
        self.running_changed.emit(False)
        self.failed.emit(failure)
        self.idle.emit()

    @property
    def paused(self) -> bool:
        return self.worker.pause.is_set()

    def set_paused(self, paused: bool) -> None:
        (self.worker.pause.set if paused else self.worker.pause.clear)()

    def cancel(self) -> None:
        self.worker.cancel.set()
        self.worker.pause.clear()

    def stop(self) -> None:
        self.cancel()

    def wait(self, timeout: float) -> bool:
        """Block until the running pass has stopped (shutdown only; no event loop is spun)."""
        return self.worker.stopped.wait(timeout)

    def shutdown(self, timeout: float = 60.0) -> bool:
        """Stop indexing and the thread. False if the pass did not stop within `timeout` s:
        the thread is then left running (quitting it under a pass would lose the batch)."""
        self.cancel()
        if not self.wait(timeout):
            return False
        self.qthread.quit()
        return self.qthread.wait(10000)
