"""The Duplicates view: the library's groups at a level, reviewed from the keyboard.

Up/Down (or J/K): previous/next group; Left/Right: the photo the keyboard is on; Space: keep
that one; A: keep all (not duplicates, remembered); Delete: trash the others; C: compare the
photo to keep with the one the keyboard is on; Ctrl+Z: undo the last move. Finding, trashing,
undoing and remembering decisions run off the GUI thread.

The window belongs to the library its groups come from: when the main window switches library,
it loads the new one's groups (nothing acts on one library with another's groups). A library
another process is indexing is open read-only here: nothing can be moved or decided until then."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core.duplicates import actions, decisions, journal
from ...core.duplicates.finder import DuplicateGroup, find_duplicates, regroup_around
from ...core.duplicates.keep import DEFAULT_RULES
from ...core.library.libraries import Library
from ..grid.thumbnail_loader import PixmapCache, ThumbnailLoader
from ..session import Session
from ..workers.job_runner import JobFailure, JobRunner
from .group_delegate import GroupDelegate
from .group_model import GroupModel

KEEP_RULES = {
    "Highest resolution first": DEFAULT_RULES,
    "Largest file first": ("size", "resolution", "date", "original", "path"),
    "Oldest first": ("date", "resolution", "size", "original", "path"),
    "Camera original first": ("original", "resolution", "size", "date", "path"),
}


class DuplicatesWindow(QWidget):
    groups_ready = Signal(int)  # number of groups shown
    acted = Signal(str)  # what was done, in words
    # (which look, what is done, how many, of how many), from the worker: a first grouping of a
    # library of bursts proves thousands of pairs in pixels, minutes with nothing else moving
    progress = Signal(int, str, int, int)

    def __init__(self, session: Session, compare: Callable[[str, str], object] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.session = session
        self.compare = compare
        self.setWindowTitle("Duplicates — photosearch")
        self.resize(1100, 760)
        self.model = GroupModel()
        self.cache = PixmapCache(128 * 2**20)
        self.loader = ThumbnailLoader(session.app.dirs.cache, parent=self)
        self.loader.loaded.connect(self._thumbnail)
        self.runner = JobRunner("duplicates", parent=self)
        self._unproven: set[int] = set()  # groups shown with a photo the user chose, not yet proven against it
        self.runner.done.connect(self._done)
        self.runner.failed.connect(self._failed)
        self.progress.connect(self._progress)
        self._looks = 0  # finds asked for; progress is shown for the running one only
        self._looking: tuple[int, str] | None = None  # (that find, its level) while it runs
        session.add_worker(self.runner)
        session.library_changed.connect(self._library_changed)
        self._library: Library | None = None  # the library the groups shown come from
        self._said = ""  # what the last action did: still shown once the list is looked at again

        self.level = QComboBox()
        for name, text in (("identical", "Identical"), ("copies", "Copies (edited)"), ("similar", "Similar shots")):
            self.level.addItem(text, name)
        self.level.setCurrentIndex(1)
        self.rules = QComboBox()
        for text in KEEP_RULES:
            self.rules.addItem(text)
        for box in (self.level, self.rules):  # the arrow keys belong to the groups, not to these boxes
            box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.trash_button = QPushButton("Trash others")
        self.keep_all_button = QPushButton("Keep all")
        self.move_button = QPushButton("Move others…")
        self.undo_button = QPushButton("Undo")
        self.compare_button = QPushButton("Compare")
        top = QHBoxLayout()
        top.addWidget(QLabel("Level:"))
        top.addWidget(self.level)
        top.addWidget(QLabel("Keep:"))
        top.addWidget(self.rules)
        top.addStretch(1)
        for b in (self.compare_button, self.keep_all_button, self.trash_button, self.move_button, self.undo_button):
            top.addWidget(b)
        self.view = QListView()
        self.view.setModel(self.model)
        self.view.setItemDelegate(GroupDelegate(self._pixmap, self.view))
        self.view.setUniformItemSizes(False)
        self.view.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.view.installEventFilter(self)
        self.setFocusProxy(self.view)
        self.status = QLabel("Looking for duplicates…")
        self.status.setWordWrap(True)
        help_text = QLabel("↑/↓ group · ←/→ photo · Space keep this one · A keep all · Delete trash others · "
                           "C compare · Ctrl+Z undo")
        help_text.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        layout.addWidget(help_text)

        self.level.currentIndexChanged.connect(lambda _i: self._changed_setting())
        self.rules.currentIndexChanged.connect(lambda _i: self._changed_setting())
        self.trash_button.clicked.connect(lambda: self.trash_others())
        self.keep_all_button.clicked.connect(self.keep_all)
        self.move_button.clicked.connect(lambda: self.move_others())
        self.undo_button.clicked.connect(self.undo)
        self.compare_button.clicked.connect(self.compare_current)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Undo), self).activated.connect(self.undo)

    # -- finding ---------------------------------------------------------------------
    @property
    def library(self) -> Library | None:
        """The library the groups shown come from (None when it was closed)."""
        return self._library

    def _changed_setting(self) -> None:
        self.view.setFocus()
        self.refresh()

    def _library_changed(self, library: Library | None) -> None:
        self.model.set_groups([])
        self._library = None
        if library is None:
            self.status.setText("The library was closed.")
            self._enable()
        elif self.isVisible():
            self.refresh()  # the library the main window switched to

    def _enable(self) -> None:
        writable = self._library is not None and self._library.writable
        for b in (self.trash_button, self.keep_all_button, self.move_button, self.undo_button):
            b.setEnabled(writable)

    def refresh(self) -> None:
        lib = self.session.library
        self._library = lib
        self._enable()
        if lib is None:
            self.setWindowTitle("Duplicates — photosearch")
            self.status.setText("No library is open.")
            return
        self.setWindowTitle(f"Duplicates in {lib.name} — photosearch")
        level = str(self.level.currentData())
        rules = KEEP_RULES[self.rules.currentText()]
        fill = self.session.app.region_source(lib)
        pixels = self.session.app.pixel_source(lib)
        self.status.setText(f"Looking for duplicates ({level})…")
        self.view.setFocus()
        self._looks += 1
        self._looking = look = (self._looks, level)
        said = {"pairs": 0.0, "proving": 0.0}

        def tell(stage: str) -> Callable[[int, int], None]:
            def report(done: int, total: int) -> None:
                now = time.monotonic()
                if done < total and now - said[stage] < 0.25:
                    return  # a few lines a second are enough to see it move
                said[stage] = now
                try:
                    self.progress.emit(look[0], stage, done, total)
                except RuntimeError:  # the window is gone: the work goes on, unseen
                    pass
            return report

        def work() -> tuple[Library, list[DuplicateGroup], list[str], int]:
            notes = journal.reconcile(lib) if lib.writable else []
            return lib, find_duplicates(lib, level, rules, fill_regions=fill, fill_pixels=pixels,
                                        report=tell("pairs"), proving=tell("proving")), notes, look[0]

        self.runner.submit(work, "find")

    def _progress(self, look: int, stage: str, done: int, total: int) -> None:
        if self._looking is None or look != self._looking[0]:
            return  # an earlier find's, or one that has finished
        what = "new photos looked at" if stage == "pairs" else "look-alikes proven in pixels, photos"
        self.status.setText(f"Looking for duplicates ({self._looking[1]})… {what}: {done:,} of {total:,}")

    def _done(self, tag: object, result: Any, seconds: float) -> None:
        if tag == "find":
            lib, groups, notes, look = result
            if self._looking is not None and self._looking[0] == look:
                self._looking = None
            if self._library is None or lib is not self._library:
                return  # another library's groups, asked before a switch
            self.loader.new_generation()
            self._unproven.clear()
            self.model.set_groups(groups)
            if groups:
                self.view.setCurrentIndex(self.model.index(0))
            n = sum(len(g.others) for g in groups)
            text = (f"{len(groups)} group(s), {n} photo(s) that could go, found in {seconds:.1f} s"
                    if groups else "No duplicates at this level.")
            if not lib.writable:
                text += (". Another process is indexing this library: trashing, moving, undoing and keeping "
                         "wait until it has finished (then open the library again).")
            self.status.setText(" ".join([*notes, *([self._said + "."] if self._said else []), text]))
            self._said = ""
            self.groups_ready.emit(len(groups))
        elif tag == "kept":
            shown, proven, text = result
            self._unproven.discard(id(shown))
            row = next((r for r, g in enumerate(self.model.groups) if g is shown), None)
            if row is None:
                self.refresh()  # the list was found again meanwhile, without the choice: again
            elif proven.others:
                self.model.replace(row, proven)
            else:
                self.model.remove(row)
            self.status.setText(text)
            self.acted.emit(text)
        elif tag in ("trash", "move", "undo", "keep"):
            text, refresh = result
            self.status.setText(text)
            self.acted.emit(text)
            if refresh:
                self._said = text
                self.refresh()

    def _failed(self, tag: object, failure: JobFailure) -> None:
        if tag == "find":
            self._looking = None  # its progress, still on its way, would hide why it failed
        self.status.setText(f"Could not {tag}: {failure.message}")
        self.acted.emit(f"failed: {failure.message}")
        if tag in ("trash", "move", "keep", "kept"):
            # a group still being proven against the photo the user chose stays closed to file
            # actions: the list found again replaces it
            self.refresh()  # the list as it really is

    def _usable(self) -> Library | None:
        """The library to act on: the one the groups come from, still open, and ours to write."""
        lib = self._library
        if lib is None or lib is not self.session.library:
            self.status.setText("The library these groups come from is closed; looking again…")
            self.refresh()
            return None
        if not lib.writable:
            self.status.setText("Another process is indexing this library: nothing can be moved or decided until "
                                "it has finished (then open the library again).")
            return None
        return lib

    # -- thumbnails ------------------------------------------------------------------
    def _pixmap(self, path: str) -> QPixmap | None:
        pix = self.cache.get(path)
        if pix is None:
            self.loader.request(path)
        return pix

    def _thumbnail(self, generation: int, path: str, image: QImage) -> None:
        self.loader.done(path)
        if generation != self.loader.generation:
            return
        self.cache.put(path, QPixmap.fromImage(image))
        self.view.viewport().update()

    # -- review ----------------------------------------------------------------------
    def current_row(self) -> int:
        return self.view.currentIndex().row()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.view and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key, row = Qt.Key(event.key()), self.current_row()
            moves = {Qt.Key.Key_J: 1, Qt.Key.Key_K: -1}
            if key in moves:
                self.view.setCurrentIndex(self.model.index(max(0, min(self.model.rowCount() - 1, row + moves[key]))))
                return True
            if key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
                self.model.move_cursor(row, -1 if key == Qt.Key.Key_Left else 1)
                why = self.model.data(self.model.index(row), Qt.ItemDataRole.ToolTipRole)
                if why:  # why the photo the keyboard is on is here, as its pixels proved it
                    self.status.setText(str(why).replace("\n", ": "))
                return True
            handlers = {Qt.Key.Key_Space: self.keep_current, Qt.Key.Key_A: self.keep_all,
                        Qt.Key.Key_Delete: lambda: self.trash_others(), Qt.Key.Key_C: self.compare_current}
            if key in handlers:
                handlers[key]()
                return True
        return super().eventFilter(obj, event)

    def keep_current(self) -> None:
        """Keep the photo the keyboard is on, in place of the rules' choice (remembered)."""
        row = self.current_row()
        g, chosen = self.model.group_at(row), self.model.member_at(row)
        if g is None or chosen is None or chosen in g.protected or (lib := self._usable()) is None:
            return
        others_paths = [m.path for m in g.members if m is not chosen]
        score_of = {c.id: s for c, s in g.others}
        best = max(score_of.values(), default=0.0)
        others = [(m, score_of.get(m.id, best)) for m in g.members if m is not chosen and m not in g.protected]
        shown = DuplicateGroup(g.level, chosen, others, g.protected)
        # shown at once, acted on only once each other photo is proven against the one now kept
        self.model.replace(row, shown)
        self._unproven.add(id(shown))
        pixels = self.session.app.pixel_source(lib)

        def work() -> tuple[DuplicateGroup, DuplicateGroup, str]:
            decisions.choose_keep(lib.catalog, chosen.path, others_paths)
            proven = regroup_around(lib, shown, chosen, pixels)
            left = len(shown.others) - len(proven.others)
            text = f"Keeping {chosen.path}" + (f"; {left} photo(s) left the group: not {g.level} of it" if left else "")
            return shown, proven, text

        self.runner.submit(work, "kept")

    def keep_all(self) -> None:
        """Not duplicates: remembered, the group leaves the list and does not come back."""
        row = self.current_row()
        g = self.model.group_at(row)
        if g is None or (lib := self._usable()) is None:
            return
        self.model.remove(row)
        self.view.setCurrentIndex(self.model.index(min(row, self.model.rowCount() - 1)))
        paths = [m.path for m in g.members]

        def work() -> tuple[str, bool]:
            decisions.mark_not_duplicates(lib.catalog, paths)
            return f"Kept all {len(paths)} photos; this group will not be shown again", False

        self.runner.submit(work, "keep")

    def trash_others(self, confirm: bool = False) -> None:
        self._move_others("trash", confirm)

    def move_others(self, folder: str | None = None) -> None:
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Move the others to")
            if not folder:
                return
        self._move_others(f"move:{folder}", False)

    def _move_others(self, how: str, confirm: bool) -> None:
        row = self.current_row()
        g = self.model.group_at(row)
        if g is None or (lib := self._usable()) is None:
            return
        if id(g) in self._unproven:
            self.status.setText("Still checking the others against the photo you chose to keep; a moment…")
            return
        if confirm and QMessageBox.question(self, "Trash others", f"Move {len(g.others)} photo(s) to the trash?") \
                != QMessageBox.StandardButton.Yes:
            return
        self.model.remove(row)  # the group is dealt with; a failure puts the list back
        self.view.setCurrentIndex(self.model.index(min(row, self.model.rowCount() - 1)))
        where = "the trash" if how == "trash" else how[5:]

        def work() -> tuple[str, bool]:
            out = actions.apply(lib, [g], how)
            text = f"Moved {len(out.moved)} file(s) to {where} — Undo puts them back"
            if out.problems:
                return f"{text}; not moved: {out.problems[0]}", True
            return text, False

        self.runner.submit(work, "trash" if how == "trash" else "move")

    def undo(self) -> None:
        if (lib := self._usable()) is None:
            return

        def work() -> tuple[str, bool]:
            out = actions.undo(lib)
            text = f"Put back {len(out.moved)} file(s)" + (f"; {out.problems[0]}" if out.problems else "")
            return text, True

        self.runner.submit(work, "undo")

    def compare_current(self) -> None:
        row = self.current_row()
        g, other = self.model.group_at(row), self.model.member_at(row)
        if g is None or other is None or self.compare is None:
            return
        if other is g.keep:
            other = g.members[1]
        self.compare(g.keep.path, other.path)
