"""What can be done with results: the context menu, open, show, copy, preview, trash."""

from __future__ import annotations

import os

from PySide6.QtCore import QFile, QObject, QPoint, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QImageReader, QKeySequence, QShortcut
from PySide6.QtWidgets import QMenu, QMessageBox

from .dialogs import PreviewDialog
from .grid.result_grid import ResultGrid
from .search_controller import SearchController
from .session import Session
from .workers.job_runner import JobFailure, JobRunner


class ResultActions(QObject):
    trashed = Signal(list)  # the paths moved to the trash (and forgotten by the library)
    compare_requested = Signal(str, str)  # two photos to see side by side

    def __init__(self, session: Session, grid: ResultGrid, searches: SearchController,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.grid = grid
        self.model = grid.result_model
        self.searches = searches
        # file moves and catalog writes can take seconds (a network folder, a busy catalog)
        self.runner = JobRunner("file-actions", parent=self)
        self.runner.done.connect(self._trash_done)
        self.runner.failed.connect(self._failed)
        session.add_worker(self.runner)
        grid.customContextMenuRequested.connect(self._context_menu)
        grid.doubleClicked.connect(lambda idx: self.preview_row(idx.row()))
        QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), grid).activated.connect(self.trash_selected)

    def find_similar_to_rows(self, rows: list[int]) -> int | None:
        if not rows:
            return None
        first = self.model.path_at(rows[0])
        return self.searches.search_photos([self.model.id_at(r) for r in rows], first, self.model.cache.get(first))

    def find_copies_of_row(self, row: int) -> int | None:
        path = self.model.path_at(row)
        return self.searches.search_copies(self.model.id_at(row), path, self.model.cache.get(path))

    def find_similar_to_selected(self) -> None:
        rows = self.grid.selected_rows()
        if rows:
            self.find_similar_to_rows(rows)
        else:
            self.session.show_message("Select one or more photos first")

    def build_context_menu(self, rows: list[int]) -> QMenu:
        menu = QMenu(self.grid)
        many = len(rows) > 1
        menu.addAction("Find similar to these" if many else "Find similar",
                       lambda: self.find_similar_to_rows(rows))
        copies = menu.addAction("Find copies of this photo", lambda: self.find_copies_of_row(rows[0]))
        copies.setEnabled(not many)
        compare = menu.addAction("Compare these two", lambda: self.compare_requested.emit(
            self.model.path_at(rows[0]), self.model.path_at(rows[1])))
        compare.setEnabled(len(rows) == 2)
        menu.addSeparator()
        menu.addAction("Open", lambda: self.open_rows(rows))
        menu.addAction("Show in folder", lambda: self.show_in_folder(rows[0]))
        menu.addAction("Copy path" + ("s" if many else ""), lambda: self.copy_paths(rows))
        copy_image = menu.addAction("Copy image", lambda: self.copy_image(rows[0]))
        copy_image.setEnabled(not many)
        menu.addSeparator()
        trash = menu.addAction("Move to trash", lambda: self.trash_rows(rows))
        lib = self.session.library
        trash.setEnabled(lib is not None and lib.writable)
        return menu

    def _context_menu(self, pos: QPoint) -> None:
        index = self.grid.indexAt(pos)
        if not index.isValid():
            return
        if index.row() not in self.grid.selected_rows():
            self.grid.setCurrentIndex(index)
        rows = self.grid.selected_rows() or [index.row()]
        self.build_context_menu(rows).exec(self.grid.viewport().mapToGlobal(pos))

    def open_rows(self, rows: list[int]) -> None:
        for r in rows[:20]:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.model.path_at(r)))

    def show_in_folder(self, row: int) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(self.model.path_at(row))))

    def copy_paths(self, rows: list[int]) -> None:
        QGuiApplication.clipboard().setText("\n".join(p for r in rows for p in self.model.files_at(r)))

    def copy_image(self, row: int) -> None:
        reader = QImageReader(self.model.path_at(row))
        reader.setAutoTransform(True)
        image = reader.read()
        if image.isNull():
            self.session.show_message(f"Cannot copy {self.model.path_at(row)}: {reader.errorString()}", error=True)
        else:
            QGuiApplication.clipboard().setImage(image)

    def preview_current(self) -> None:
        index = self.grid.currentIndex()
        if index.isValid():
            self.preview_row(index.row())

    def preview_row(self, row: int) -> None:
        PreviewDialog(self.model.path_at(row), self.model.score_at(row), self.grid,
                      companions=self.model.files_at(row)[1:]).exec()

    # -- trash: off the GUI thread ------------------------------------------------
    def trash_selected(self) -> None:
        rows = self.grid.selected_rows()
        if rows:
            self.trash_rows(rows)

    def trash_rows(self, rows: list[int], confirm: bool = True) -> None:
        lib = self.session.library
        if lib is None or not lib.writable:
            return
        items = [(self.model.id_at(r), self.model.path_at(r), self.model.files_at(r)[1:]) for r in rows]
        if confirm:
            what = os.path.basename(items[0][1]) if len(items) == 1 else f"{len(items)} photos"
            if any(c for _, _, c in items):
                what += " (with their RAW files)"
            if QMessageBox.question(self.grid, "Move to trash", f"Move {what} to the trash?") != \
                    QMessageBox.StandardButton.Yes:
                return

        def work() -> tuple[list[str], int]:
            moved = []
            for i, path, companions in items:
                if QFile.moveToTrash(path):
                    moved.append((i, path))
                    for companion in companions:  # the RAW goes with its JPEG
                        QFile.moveToTrash(companion)
            lib.forget([i for i, _ in moved])
            return [p for _, p in moved], len(items) - len(moved)

        self.runner.submit(work, "trash")

    def _trash_done(self, tag: object, result: tuple[list[str], int], _seconds: float) -> None:
        if tag != "trash":
            return
        moved, failed = result
        self.model.remove_rows_for(moved)
        self.session.show_message(f"Moved {len(moved)} photo(s) to the trash" +
                                  (f"; {failed} could not be moved" if failed else ""), error=bool(failed))
        self.trashed.emit(moved)

    def _failed(self, _tag: object, failure: JobFailure) -> None:
        self.session.show_message(failure.message, error=True)
