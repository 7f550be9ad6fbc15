"""Libraries: the chooser, the ⋯ menu (new, rename, delete, folders, re-scan, model, device)."""

from __future__ import annotations

import functools
import os

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QToolBar,
    QToolButton,
)

from ..core.errors import PhotosearchError
from .dialogs import FoldersDialog
from .indexing_status import IndexingStatus
from .session import Session
from .workers.job_runner import JobRunner

DEVICES = {"auto": "The model runs on the GPU when one is usable, else on the CPU",
           "cpu": "The model runs on the CPU", "cuda": "The model runs on the GPU (CUDA)"}


class LibraryActions(QObject):
    missing_forgotten = Signal(int)
    def __init__(self, session: Session, window: QMainWindow, bar: QToolBar, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.window = window
        self.indexing: IndexingStatus | None = None  # set by the window once built
        self.box = QComboBox()
        self.box.setMinimumWidth(160)
        self.box.setToolTip("Library")
        self.box.activated.connect(self._chosen)
        bar.addWidget(QLabel(" Library "))
        bar.addWidget(self.box)
        self.menu_button = QToolButton()
        self.menu_button.setText("⋯")
        self.menu_button.setToolTip("Library actions")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        bar.addWidget(self.menu_button)
        self.folders_button = QPushButton("Folders…")
        self.folders_button.clicked.connect(self.edit_folders)
        bar.addWidget(self.folders_button)
        self.menu_button.setMenu(self._build_menu())
        # catalog writes off the GUI thread (a busy catalog can make one wait seconds)
        self.runner = JobRunner("library-actions", parent=self)
        self.runner.done.connect(self._job_done)
        self.runner.failed.connect(lambda _tag, failure: session.show_message(failure.message, error=True))
        session.add_worker(self.runner)

    def _build_menu(self) -> QMenu:
        menu = QMenu(self.window)
        menu.addAction("New library…", self.new_library)
        menu.addAction("Rename library…", self.rename_library)
        menu.addAction("Delete library…", self.delete_library)
        menu.addSeparator()
        menu.addAction("Folders…", self.edit_folders)
        menu.addAction("Re-scan folders now", self.rescan)
        menu.addAction("Show files that could not be read", self.show_errors)
        menu.addAction("Forget missing photos…", self.forget_missing)
        menu.addSeparator()
        menu.addAction("Model…", self.choose_model)
        precision_menu = menu.addMenu("Model precision")
        self.precision_actions = {}
        for key, label in (("auto", "Automatic (int8 on a CPU when it checks out)"), ("fp32", "Full (fp32)"),
                           ("int8", "Fast (int8)")):
            act = precision_menu.addAction(label, functools.partial(self.set_precision, key))
            act.setCheckable(True)
            self.precision_actions[key] = act
        precision_menu.aboutToShow.connect(self._check_precision)
        device_menu = menu.addMenu("Run the model on")
        self.device_actions = {}
        for key, label in (("auto", "GPU if available (auto)"), ("cpu", "CPU"), ("cuda", "GPU (CUDA)")):
            act = device_menu.addAction(label, functools.partial(self.set_device, key))
            act.setCheckable(True)
            self.device_actions[key] = act
        device_menu.aboutToShow.connect(self._check_device)
        return menu

    def _check_precision(self) -> None:
        lib = self.session.library
        for key, act in self.precision_actions.items():
            act.setChecked(lib is not None and key == lib.config.precision)

    def set_precision(self, precision: str, confirm: bool = True) -> None:
        """A library's vectors come from one precision: moving to another one re-indexes, if the user agrees."""
        lib, indexing = self.session.library, self.indexing
        if lib is None or indexing is None or not lib.writable or precision == lib.config.precision:
            return
        used = lib.config.precision_used
        needs_reindex = bool(used) and precision != "auto" and precision != used
        if needs_reindex and confirm and QMessageBox.question(
                self.window, "Model precision",
                f"This library was indexed at {used}. Re-index it at {precision} now? Your photos are not "
                "touched; every photo is embedded again.") != QMessageBox.StandardButton.Yes:
            return

        def apply() -> None:
            try:
                lib.set_precision(precision, reindex=needs_reindex)
            except PhotosearchError as exc:
                self.session.show_message(str(exc), error=True)
                return
            self.session.show_message(f"Model precision: {precision}")
            if needs_reindex:
                indexing.start(reindex=True)

        indexing.when_stopped(apply)

    def _check_device(self) -> None:
        for key, act in self.device_actions.items():
            act.setChecked(key == self.session.app.device)

    # -- choosing ------------------------------------------------------------------
    def reload(self, select: str | None = None) -> list[str]:
        """Fill the chooser and open `select` (or the last one used); returns the names."""
        names = self.session.app.libraries.names()
        self.box.blockSignals(True)
        self.box.clear()
        self.box.addItems(names)
        self.box.blockSignals(False)
        if not names:
            self.session.close()
            return names
        settings = self.session.settings
        wanted = select or settings.value("last_library") or self.session.app.libraries.default_name() or names[0]
        if wanted not in names:
            wanted = names[0]
        self.box.setCurrentText(str(wanted))
        lib = self.session.library
        if lib is None or lib.name != wanted:
            self.session.open(str(wanted))
        return names

    def _chosen(self, _index: int) -> None:
        name = self.box.currentText()
        lib = self.session.library
        if name and (lib is None or name != lib.name):
            self.session.open(name)

    def set_enabled(self, has_library: bool) -> None:
        self.folders_button.setEnabled(has_library)

    # -- library lifecycle -----------------------------------------------------------
    def _unique_name(self, base: str) -> str:
        names, name, i = set(self.session.app.libraries.names()), base, 2
        while name in names:
            name, i = f"{base} {i}", i + 1
        return name

    def create_from_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Choose the folder that holds your photos")
        if folder:
            self.create(self._unique_name("My Photos"), [folder])

    def create(self, name: str, folders: list[str]) -> bool:
        try:
            self.session.app.libraries.create(name, folders)
        except PhotosearchError as exc:
            self.session.show_message(str(exc), error=True)
            return False
        self.reload(select=name)
        return True

    def new_library(self) -> None:
        name, ok = QInputDialog.getText(self.window, "New library", "Name of the new library:",
                                        text=self._unique_name("Photos"))
        if not ok or not name.strip():
            return
        folder = QFileDialog.getExistingDirectory(self.window, f"Choose a folder for {name}")
        if folder:
            self.create(name.strip(), [folder])

    def rename_library(self) -> None:
        lib = self.session.library
        if lib is None:
            return
        old = lib.name
        new, ok = QInputDialog.getText(self.window, "Rename library", "New name:", text=old)
        new = new.strip()
        if not ok or not new or new == old:
            return

        def rename() -> None:
            try:
                self.session.app.libraries.rename(old, new)
            except PhotosearchError as exc:
                self.session.show_message(str(exc), error=True)
                self.reload(select=old)
                return
            self.reload(select=new)

        self.session.close(then=rename)

    def delete_library(self) -> None:
        lib = self.session.library
        if lib is None:
            return
        name = lib.name
        answer = QMessageBox.question(
            self.window, "Delete library",
            f"Delete the library “{name}”?\n\nIts index is removed; your photos are not touched.")
        if answer != QMessageBox.StandardButton.Yes:
            return

        def delete() -> None:
            try:
                self.session.app.libraries.delete(name)
            except PhotosearchError as exc:
                self.session.show_message(str(exc), error=True)
            self.session.settings.remove("last_library")
            self.reload()

        self.session.close(then=delete)

    # -- folders, scanning, problems ------------------------------------------------------
    def edit_folders(self) -> None:
        lib = self.session.library
        if lib is None:
            return
        dialog = FoldersDialog(lib.name, list(lib.config.roots), lib.catalog.count_under, self.window,
                               editable=lib.writable)
        if dialog.exec() and lib.writable:
            self.set_folders(dialog.folders())

    def set_folders(self, folders: list[str]) -> None:
        lib, indexing = self.session.library, self.indexing
        if lib is None or indexing is None:
            return

        def apply() -> None:
            if self.session.library is not lib:
                return  # another library was opened meanwhile
            try:
                lib.set_folders(folders)
            except PhotosearchError as exc:
                self.session.show_message(str(exc), error=True)
                return
            indexing.start()

        indexing.when_stopped(apply)

    def rescan(self) -> None:
        if self.indexing is not None:
            self.indexing.start()

    def show_errors(self) -> None:
        lib = self.session.library
        if lib is None:
            return
        errors = lib.catalog.errors()
        if not errors:
            QMessageBox.information(self.window, "Unreadable files", "Every file was read without problems.")
            return
        box = QMessageBox(self.window)
        box.setWindowTitle("Unreadable files")
        box.setText(f"{len(errors):,} files or folders could not be read. They are retried when they change.")
        box.setDetailedText("\n".join(f"{p}: {r}" for p, r in errors[:5000]))
        box.exec()

    def forget_missing(self, confirm: bool = True) -> None:
        lib = self.session.library
        if lib is None or not lib.writable:
            return
        if confirm and QMessageBox.question(
                self.window, "Forget missing photos",
                "Forget the photos whose files were not found at the last scan?\n\nTheir vectors are "
                "deleted: if their files come back (a drive plugged in again), they are embedded again. "
                "No photo is touched.") != QMessageBox.StandardButton.Yes:
            return
        self.runner.submit(lib.forget_missing, "forget-missing")

    def _job_done(self, tag: object, result: object, _seconds: float) -> None:
        if tag == "forget-missing":
            self.session.show_message(f"Forgot {result:,} missing photos" if result else "No photos are missing")
            self.missing_forgotten.emit(result)

    # -- model and device -------------------------------------------------------------
    def choose_model(self) -> bool:
        from .model_dialogs import choose_model

        chosen = choose_model(self.window, self.session.app)
        if not chosen:
            return False
        self.session.app.libraries.update_settings(default_model=chosen)
        self.session.show_message(f"Model {os.path.basename(chosen)} will be used for libraries without a model")
        return True

    def set_device(self, device: str) -> None:
        if self.indexing is not None and self.indexing.running:
            self.session.show_message("The device can be changed when indexing is done", error=True)
            return
        self.session.app.set_device(device)
        self.session.settings.setValue("device", device)
        self.session.show_message(DEVICES[device])

    def restore_device(self) -> None:
        device = self.session.settings.value("device")
        if device in DEVICES:
            self.session.app.set_device(str(device))
