"""The open library and the background workers that use it: what every feature shares.

Features hold the session, not each other. Closing a library (switching, renaming,
deleting) first stops its workers and finishes when they are idle: the GUI thread
never waits for them, and nothing new starts on a library that is closing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, QSettings, Signal, SignalInstance

from ..core.app import App
from ..core.errors import LibraryLocked, PhotosearchError
from ..core.library.libraries import Library


class Worker(Protocol):
    """What the session needs of a background worker."""

    @property
    def idle(self) -> SignalInstance: ...

    @property
    def busy(self) -> bool: ...

    def stop(self) -> None: ...

    def wait(self, timeout: float) -> bool: ...


class Session(QObject):
    library_changed = Signal(object)  # the open Library, or None
    message = Signal(str, bool)  # text, is_error

    def __init__(self, app: App, settings: QSettings, parent: QObject | None = None):
        super().__init__(parent)
        self.app = app
        self.settings = settings
        self.library: Library | None = None
        self._workers: list[Worker] = []
        self._closing: tuple[Library, list[Callable[[], None]]] | None = None
        self._stopping = False

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.emit(text, error)

    def add_worker(self, worker: Worker) -> None:
        self._workers.append(worker)
        worker.idle.connect(self._finish_close)

    @property
    def closing(self) -> bool:
        return self._closing is not None

    # -- opening and closing ---------------------------------------------------
    def open(self, name: str) -> None:
        """Open a library (for writing; read-only when another process indexes it)."""
        self.close(then=lambda: self._open_now(name))

    def _open_now(self, name: str) -> None:
        note = None
        try:
            try:
                library = self.app.libraries.open(name, write=True)
            except LibraryLocked as exc:
                library = self.app.libraries.open(name, write=False)
                note = f"{exc}. You can search what is indexed so far."
        except PhotosearchError as exc:
            self.show_message(str(exc), error=True)
            self.library_changed.emit(None)
            return
        self.library = library
        self.settings.setValue("last_library", name)
        counts = library.catalog.counts()
        self.library_changed.emit(library)
        self.show_message(note or f"{counts['indexed']:,} photos indexed in {name}", error=bool(note))

    def close(self, then: Callable[[], None] | None = None) -> None:
        """Close the open library once its workers are idle, then call `then` (on the GUI thread)."""
        if self._closing is not None:  # already on its way: run `then` after it too
            if then is not None:
                self._closing[1].append(then)
            return
        library = self.library
        if library is None:
            if then is not None:
                then()
            return
        self.library = None
        self._closing = (library, [then] if then is not None else [])
        self.library_changed.emit(None)
        # a stopped worker may say it is idle at once, from inside stop(): the library must not be
        # closed (and the next one opened, and given work) before every worker has been stopped
        self._stopping = True
        try:
            for worker in self._workers:
                worker.stop()
        finally:
            self._stopping = False
        self._finish_close()

    def _finish_close(self) -> None:
        if self._closing is None or self._stopping or any(w.busy for w in self._workers):
            return
        library, then = self._closing
        self._closing = None
        library.close()
        for fn in then:
            fn()

    def shutdown(self, timeout: float = 60.0) -> bool:
        """At quit: stop the workers and close the library, blocking up to `timeout` seconds.
        False when a worker did not stop in time: the library stays open, nothing is lost."""
        for worker in self._workers:
            worker.stop()
        if not all(worker.wait(timeout) for worker in self._workers):
            return False
        library = self.library or (self._closing[0] if self._closing else None)
        self.library, self._closing = None, None
        if library is not None:
            library.close()
        return True
