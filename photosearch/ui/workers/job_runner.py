"""Work off the GUI thread: one Python thread runs jobs in order and reports by signals.

Plain Python threads, not QThreadPool (see ThumbnailLoader for why). The GUI thread
submits and forgets; it never waits for a job, except `wait` at shutdown, which
blocks on a condition without spinning the event loop.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from ...core.errors import PhotosearchError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobFailure:
    """Why a job failed: the exception itself (its type says what kind), and a message for people."""

    error: BaseException
    message: str

    @property
    def is_bug(self) -> bool:
        return not isinstance(self.error, PhotosearchError)


@dataclass
class Job:
    fn: Callable[[], Any]
    tag: Any = None  # handed back with the answer (a search generation, a kind of action)


class JobRunner(QObject):
    """Runs jobs one at a time on its own thread. With `latest_only`, a job submitted while
    another waits replaces the waiting one (searches: only the newest answer matters)."""

    done = Signal(object, object, float)  # tag, result, seconds
    failed = Signal(object, object)  # tag, JobFailure
    idle = Signal()  # nothing running and nothing waiting

    def __init__(self, name: str, latest_only: bool = False, parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self.latest_only = latest_only
        self._cond = threading.Condition()
        self._queue: collections.deque[Job] = collections.deque()
        self._running = False
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._running or bool(self._queue)

    def submit(self, fn: Callable[[], Any], tag: Any = None) -> None:
        with self._cond:
            if self.latest_only:
                self._queue.clear()
            self._queue.append(Job(fn, tag))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=f"photosearch-{self.name}", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def drop_pending(self) -> None:
        """Forget jobs not started yet (the library they were for is closing)."""
        with self._cond:
            self._queue.clear()
            self._cond.notify_all()
        if not self.busy:
            self.idle.emit()

    def stop(self) -> None:
        self.drop_pending()

    def wait(self, timeout: float) -> bool:
        """Block until every job is done (shutdown only); False if `timeout` seconds passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not (self._running or self._queue), timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                job = self._queue.popleft()
                self._running = True
            try:
                self._run(job)
            finally:
                with self._cond:
                    self._running = False
                    now_idle = not self._queue
                    self._cond.notify_all()
                if now_idle:
                    self.idle.emit()

    def _run(self, job: Job) -> None:
        start = time.perf_counter()
        try:
            result = job.fn()
        except PhotosearchError as exc:
            self.failed.emit(job.tag, JobFailure(exc, str(exc)))
            return
        except Exception as exc:  # a bug: say so, keep the app alive
            log.exception("%s job failed", self.name)
            self.failed.emit(job.tag, JobFailure(exc, f"An internal error stopped this ({exc}); "
                                                      "this is a bug in photosearch"))
            return
        self.done.emit(job.tag, result, time.perf_counter() - start)
