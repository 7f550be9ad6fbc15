"""Indexing in the background, and its place in the status bar: progress, Pause, Stop, device."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QMessageBox, QProgressBar, QStatusBar, QToolButton, QWidget

from ..core.errors import LibraryIncompatible
from ..core.pipeline.indexer import IndexSummary, Progress
from .session import Session
from .workers.index_worker import IndexController
from .workers.job_runner import JobFailure


def fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


class IndexingStatus(QObject):
    def __init__(self, session: Session, bar: QStatusBar, choose_model: Callable[[], bool],
                 parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.choose_model = choose_model
        self.controller = IndexController(self)
        self.controller.progress.connect(self._on_progress)
        self.controller.finished.connect(self._on_finished)
        self.controller.failed.connect(self._on_failed)
        self.controller.notice.connect(lambda m: session.show_message(m))
        self.controller.running_changed.connect(self._on_running_changed)
        session.add_worker(self.controller)

        self.device_label = QLabel()
        bar.addPermanentWidget(self.device_label)
        self.progress = QProgressBar()
        self.progress.setFixedWidth(340)
        self.progress.setTextVisible(True)
        self.progress.hide()
        bar.addPermanentWidget(self.progress)
        self.pause_button = QToolButton()
        self.pause_button.setText("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._toggle_pause)
        self.pause_button.hide()
        bar.addPermanentWidget(self.pause_button)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Stop")
        self.cancel_button.setToolTip("Stop indexing; what is done is kept, and the rest is indexed next time")
        self.cancel_button.clicked.connect(self.controller.cancel)
        self.cancel_button.hide()
        bar.addPermanentWidget(self.cancel_button)

    @property
    def running(self) -> bool:
        return self.controller.running

    def start(self, reindex: bool = False) -> None:
        lib = self.session.library
        if lib is None or not lib.writable or self.controller.running or self.session.closing:
            return
        if not reindex and not self.session.app.has_model_for(lib) and not self.choose_model():
            self.session.show_message("Choose a model to index your photos: Library menu (⋯) → Model…", error=True)
            return
        self.controller.start(self.session.app, lib, reindex=reindex)

    def when_stopped(self, fn: Callable[[], None]) -> None:
        """Stop indexing, and call `fn` once it has stopped (at once when it is not running)."""
        if not self.controller.running:
            fn()
            return

        def once() -> None:
            self.controller.idle.disconnect(once)
            fn()

        self.controller.idle.connect(once)
        self.controller.cancel()

    def set_device_text(self, device: str, provider: str | None = None, precision: str | None = None) -> None:
        where = "GPU" if device == "cuda" or "CUDA" in (provider or "") else "CPU"
        if precision is None:
            lib = self.session.library
            precision = lib.config.precision_used if lib is not None else None
        self.device_label.setText(f"{where} · {precision}" if precision else where)
        if provider:
            self.device_label.setToolTip(f"The model runs on {provider}" +
                                         (f" at {precision}" if precision else ""))

    def _on_failed(self, failure: JobFailure) -> None:
        self.session.show_message(failure.message, error=True)
        lib = self.session.library
        if isinstance(failure.error, LibraryIncompatible) and lib is not None and lib.writable:
            parent = self.device_label.window()
            answer = QMessageBox.question(
                parent if isinstance(parent, QWidget) else None, "Another model",
                f"{failure.message}\n\nRe-index the library with the current model now? Your photos are not "
                "touched; only the index is rebuilt.")
            if answer == QMessageBox.StandardButton.Yes:
                self.start(reindex=True)

    def _on_running_changed(self, running: bool) -> None:
        for w in (self.progress, self.pause_button, self.cancel_button):
            w.setVisible(running)
        if running:
            self.pause_button.setChecked(False)
            self.progress.setRange(0, 0)
            self.progress.setFormat("Scanning folders…")

    def _toggle_pause(self, paused: bool) -> None:
        self.controller.set_paused(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        if paused:
            self.progress.setFormat("Paused — %v / %m")

    def _on_progress(self, p: Progress) -> None:
        if p.phase == "indexing" and p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(p.done)
            if not self.controller.paused:
                failed = f" · {p.failed} unreadable" if p.failed else ""
                self.progress.setFormat(f"%v / %m · {p.rate:.1f} photos/s · {fmt_eta(p.eta)} left{failed}")
        elif p.phase == "scanning":
            self.progress.setRange(0, 0)
            self.progress.setFormat(p.message or "Scanning folders…")
        elif p.phase == "saving":
            self.progress.setFormat((p.message or "Saving").rstrip(".…") + "…")

    def _on_finished(self, s: IndexSummary) -> None:
        self.set_device_text("", s.provider, s.precision)
        if self.session.library is None:
            return
        counts = s.counts
        indexed, pending, failed = counts.get("indexed", 0), counts.get("pending", 0), counts.get("failed", 0)
        if s.cancelled:
            text = f"Indexing stopped: {indexed:,} photos indexed, {pending:,} to go next time"
        else:
            text = f"Up to date: {indexed:,} photos indexed"
            if s.embedded:
                text += f" ({s.embedded:,} new at {s.rate:.1f} photos/s)"
        if failed:
            text += f" · {failed:,} could not be read"
        missing = counts.get("missing", 0)
        if missing:
            text += (f" · {missing:,} photos missing: their folder is not there "
                     "(they come back when it is; Library menu → Forget missing photos)")
        self.session.show_message(text)
