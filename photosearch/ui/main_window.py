"""The main window: library, folders, indexing status, the query and the result grid."""

from __future__ import annotations

import os

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction, QDesktopServices, QGuiApplication, QImage, QImageReader, QKeySequence, QPixmap, QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QListView, QMainWindow, QMenu,
    QMessageBox, QProgressBar, QPushButton, QSlider, QSpinBox, QSplitter, QStackedWidget, QToolBar,
    QToolButton, QVBoxLayout, QWidget, QComboBox, QCheckBox, QLineEdit, QSizePolicy,
)

from ..core.vision import thumbnail_cache as disk_thumbnails
from ..core.app import App
from ..core.errors import LibraryLocked, PhotosearchError
from ..core.vision.imageio import IMAGE_EXTENSIONS
from ..core.pipeline.indexer import IndexSummary, Progress
from ..core.search import Searcher, mean_vector
from .grid.delegate import PADDING, ThumbnailDelegate
from .dialogs import FoldersDialog, PreviewDialog
from .workers.index_worker import IndexController
from .grid.qimage import qimage_to_png
from .grid.result_model import ResultModel
from .workers.search_runner import Query, SearchRunner
from .grid.thumbnail_loader import PixmapCache, ThumbnailLoader

DEFAULT_K = 200


def sources_from_mime(mime) -> tuple[list, str | None]:
    """What a drop or a paste offers as query images: (paths or PNG bytes, problem)."""
    if mime.hasUrls():
        local = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        files = [p for p in local if os.path.isfile(p)]
        if files:
            return files, None
        if mime.urls() and not local and not mime.hasImage():
            return [], "Only photos on this computer can be searched: save the image, then drop the file"
    if mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            return [qimage_to_png(image)], None
    if mime.hasText():
        paths = []
        for line in mime.text().splitlines():
            line = line.strip().strip('"')
            if line.startswith("file://"):
                line = QUrl(line).toLocalFile()
            if line and os.path.isfile(os.path.expanduser(line)):
                paths.append(os.path.expanduser(line))
        if paths:
            return paths, None
    return [], "Nothing to search with: drop or paste a photo, or a path to one"


class QueryPanel(QWidget):
    """Shows the query beside the results."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumWidth(180)
        self.title = QLabel("<b>Query</b>")
        self.image = QLabel("Drop a photo anywhere in this window, paste one (Ctrl+V) or open one (Ctrl+O).")
        self.image.setWordWrap(True)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumHeight(160)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.image)
        layout.addWidget(self.caption)
        layout.addStretch()

    def show_query(self, pixmap: QPixmap | None, caption: str) -> None:
        if pixmap is not None and not pixmap.isNull():
            w = max(160, self.width() - 24)
            self.image.setPixmap(pixmap.scaled(w, w, Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))
        else:
            self.image.setPixmap(QPixmap())
            self.image.setText("")
        self.caption.setText(caption)


class MainWindow(QMainWindow):
    results_ready = Signal(int)  # a search (or refinement) put this many photos in the grid
    message_shown = Signal(str, bool)  # text, is_error

    def __init__(self, app: App, settings: QSettings | None = None, auto_index: bool = True):
        super().__init__()
        self.app = app
        self.settings = settings or QSettings(str(app.dirs.data / "gui.ini"), QSettings.Format.IniFormat)
        self.auto_index = auto_index
        self.library = None
        self.query: Query | None = None
        self._generation = 0
        self.setWindowTitle("photosearch")
        self.setAcceptDrops(True)

        self.loader = ThumbnailLoader(disk_thumbnails.default_root(app.dirs.cache), parent=self)
        self.model = ResultModel(self.loader, PixmapCache(), parent=self)
        self.runner = SearchRunner(self)
        self.runner.done.connect(self._on_search_done)
        self.runner.failed.connect(self._on_search_failed)
        self.indexer = IndexController(self)
        self.indexer.progress.connect(self._on_progress)
        self.indexer.finished.connect(self._on_index_finished)
        self.indexer.failed.connect(self._on_index_failed)
        self.indexer.notice.connect(lambda m: self.show_message(m))
        self.indexer.running_changed.connect(self._on_running_changed)

        self._build_toolbar()
        self._build_central()
        self._build_status()
        self._build_actions()
        self._restore_settings()
        self.reload_libraries()

    # -- construction ----------------------------------------------------------
    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("main-toolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.library_box = QComboBox()
        self.library_box.setMinimumWidth(160)
        self.library_box.setToolTip("Library")
        self.library_box.activated.connect(self._library_chosen)
        bar.addWidget(QLabel(" Library "))
        bar.addWidget(self.library_box)
        self.library_menu_button = QToolButton()
        self.library_menu_button.setText("⋯")
        self.library_menu_button.setToolTip("Library actions")
        self.library_menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        bar.addWidget(self.library_menu_button)
        self.folders_button = QPushButton("Folders…")
        self.folders_button.clicked.connect(self.edit_folders)
        bar.addWidget(self.folders_button)
        bar.addSeparator()
        self.open_button = QPushButton("Open image…")
        self.open_button.clicked.connect(self.open_image)
        bar.addWidget(self.open_button)
        self.similar_button = QPushButton("Find similar to selected")
        self.similar_button.clicked.connect(self.find_similar_to_selected)
        bar.addWidget(self.similar_button)
        self.text_box = QLineEdit()
        self.text_box.setPlaceholderText("Find by subject: dog, car, beach…")
        self.text_box.setClearButtonEnabled(True)
        self.text_box.setMinimumWidth(240)
        self.text_box.returnPressed.connect(lambda: self.search_text(self.text_box.text()))
        bar.addWidget(self.text_box)
        # the second row: how results are shown
        self.addToolBarBreak()
        bar = QToolBar("View")
        bar.setObjectName("view-toolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        bar.addWidget(QLabel("Min. similarity "))
        self.min_slider = QSlider(Qt.Orientation.Horizontal)
        self.min_slider.setRange(0, 100)
        self.min_slider.setFixedWidth(110)
        self.min_label = QLabel(" 0% ")
        self.min_slider.valueChanged.connect(self._refine_later)
        bar.addWidget(self.min_slider)
        bar.addWidget(self.min_label)
        bar.addWidget(QLabel(" Results "))
        self.k_box = QSpinBox()
        self.k_box.setRange(1, 100000)
        self.k_box.setValue(DEFAULT_K)
        self.k_box.setSingleStep(50)
        self.k_box.valueChanged.connect(self._refine_later)
        bar.addWidget(self.k_box)
        bar.addWidget(QLabel("  Size "))
        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setRange(96, 360)
        self.zoom.setFixedWidth(100)
        self.zoom.valueChanged.connect(self.set_thumbnail_size)
        bar.addWidget(self.zoom)
        self.scores_box = QCheckBox("Scores")
        self.scores_box.setToolTip("Always show the similarity on each photo (otherwise on hover)")
        self.scores_box.toggled.connect(self._set_always_scores)
        bar.addWidget(self.scores_box)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self._refine_timer = QTimer(self, singleShot=True, interval=120)
        self._refine_timer.timeout.connect(self.refine)

    def _build_central(self) -> None:
        self.view = QListView()
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(500)
        self.view.setSpacing(2)
        self.view.setMouseTracking(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setDragEnabled(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.doubleClicked.connect(lambda idx: self.preview_row(idx.row()))
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.delegate = ThumbnailDelegate(self.view)
        self.view.setItemDelegate(self.delegate)
        self.view.setModel(self.model)

        self.empty = QLabel("<h2>Drop a photo here</h2>"
                            "<p>…or paste one (Ctrl+V), or open one (Ctrl+O).<br>"
                            "photosearch shows the photos of your library that look most like it.</p>")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)

        self.welcome = QWidget()
        wl = QVBoxLayout(self.welcome)
        wl.addStretch()
        title = QLabel("<h1>Welcome to photosearch</h1>"
                       "<p>Find the photos in your own library that look like any photo you give it.<br>"
                       "Everything happens on this computer; nothing is uploaded.</p>"
                       "<p>Start by choosing the folder that holds your photos.</p>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setWordWrap(True)
        wl.addWidget(title)
        choose = QPushButton("Choose folders…")
        choose.setMinimumHeight(36)
        choose.clicked.connect(self.create_library_from_folder)
        row = QHBoxLayout()
        row.addStretch()
        row.addWidget(choose)
        row.addStretch()
        wl.addLayout(row)
        wl.addStretch()

        self.stack = QStackedWidget()
        for w in (self.welcome, self.empty, self.view):
            self.stack.addWidget(w)
        self.query_panel = QueryPanel()
        splitter = QSplitter()
        splitter.addWidget(self.query_panel)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([220, 900])
        self.splitter = splitter
        self.setCentralWidget(splitter)

    def _build_status(self) -> None:
        bar = self.statusBar()
        self.message = QLabel()
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar.addWidget(self.message, 1)
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
        self.cancel_button.clicked.connect(self.indexer.cancel)
        self.cancel_button.hide()
        bar.addPermanentWidget(self.cancel_button)

    def _build_actions(self) -> None:
        def action(text, slot, shortcut=None, parent=self):
            a = QAction(text, parent)
            a.triggered.connect(slot)
            if shortcut is not None:
                a.setShortcut(shortcut)
            self.addAction(a)
            return a

        self.open_action = action("Open image…", self.open_image, QKeySequence.StandardKey.Open)
        self.paste_action = action("Paste image", self.paste, QKeySequence.StandardKey.Paste)
        self.similar_action = action("Find similar to selected", self.find_similar_to_selected,
                                     QKeySequence.StandardKey.Find)
        QShortcut(QKeySequence(Qt.Key.Key_Return), self.view, activated=self._preview_current)
        QShortcut(QKeySequence(Qt.Key.Key_Enter), self.view, activated=self._preview_current)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.view, activated=self.trash_selected)
        menu = QMenu(self)
        menu.addAction("New library…", self.new_library)
        menu.addAction("Rename library…", self.rename_library)
        menu.addAction("Delete library…", self.delete_library)
        menu.addSeparator()
        menu.addAction("Folders…", self.edit_folders)
        menu.addAction("Re-scan folders now", self.start_indexing)
        menu.addAction("Show files that could not be read", self.show_errors)
        menu.addSeparator()
        menu.addAction("Model…", self.choose_model)
        device_menu = menu.addMenu("Run the model on")
        self.device_actions = {}
        for key, label in (("auto", "GPU if available (auto)"), ("cpu", "CPU"), ("cuda", "GPU (CUDA)")):
            act = device_menu.addAction(label, lambda k=key: self.set_device(k))
            act.setCheckable(True)
            self.device_actions[key] = act
        device_menu.aboutToShow.connect(
            lambda: [a.setChecked(k == self.app.device) for k, a in self.device_actions.items()])
        self.library_menu_button.setMenu(menu)

    # -- settings --------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 780)
        self.zoom.setValue(int(self.settings.value("thumbnail_size", 180)))
        self.set_thumbnail_size(self.zoom.value())
        self.scores_box.setChecked(self.settings.value("always_show_scores", "false") in ("true", True))
        self.k_box.setValue(int(self.settings.value("results", DEFAULT_K)))
        device = self.settings.value("device")
        if device in ("auto", "cpu", "cuda"):
            self.app.set_device(device)

    def save_settings(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("thumbnail_size", self.zoom.value())
        self.settings.setValue("always_show_scores", self.scores_box.isChecked())
        self.settings.setValue("results", self.k_box.value())
        if self.library is not None:
            self.settings.setValue("last_library", self.library.name)
        self.settings.sync()

    def set_thumbnail_size(self, size: int) -> None:
        self.delegate.size = size
        cell = size + 2 * PADDING
        self.view.setGridSize(QSize(cell, cell))
        ratio = self.devicePixelRatioF() if self.isVisible() else QGuiApplication.primaryScreen().devicePixelRatio()
        pixels = int(size * ratio)
        if disk_thumbnails.size_name(pixels) != disk_thumbnails.size_name(self.loader.pixels):
            self.loader.pixels = pixels
            self.model.cache = PixmapCache()  # a sharper size class: load again
        self.view.viewport().update()

    def _set_always_scores(self, on: bool) -> None:
        self.delegate.always_show_scores = on
        self.view.viewport().update()

    # -- messages --------------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #c0392b;" if error else "")
        self.message.setText(text)
        self.message_shown.emit(text, error)

    # -- libraries -------------------------------------------------------------
    def reload_libraries(self, select: str | None = None) -> None:
        names = self.app.libraries.names()
        self.library_box.blockSignals(True)
        self.library_box.clear()
        self.library_box.addItems(names)
        self.library_box.blockSignals(False)
        if not names:
            self._close_library()
            self.stack.setCurrentWidget(self.welcome)
            self.query_panel.hide()  # nothing to query yet: the welcome view has the window
            self._update_enabled()
            return
        self.query_panel.show()
        wanted = select or self.settings.value("last_library") or self.app.libraries.default_name() or names[0]
        if wanted not in names:
            wanted = names[0]
        self.library_box.setCurrentText(wanted)
        if self.library is None or self.library.name != wanted:
            self.open_library(wanted)

    def _library_chosen(self, _index: int) -> None:
        name = self.library_box.currentText()
        if name and (self.library is None or name != self.library.name):
            self.open_library(name)

    def _close_library(self) -> None:
        if self.indexer.running:
            self.indexer.cancel()
            self.indexer.wait_idle()
        self.runner.wait()
        self.query = None
        self.model.clear()
        if self.library is not None:
            self.library.close()
            self.library = None

    def open_library(self, name: str) -> None:
        self._close_library()
        try:
            try:
                self.library = self.app.libraries.open(name, write=True)
                note = None
            except LibraryLocked as exc:
                self.library = self.app.libraries.open(name, write=False)
                note = f"{exc}. You can search what is indexed so far."
        except PhotosearchError as exc:
            self.show_message(str(exc), error=True)
            return
        self.settings.setValue("last_library", name)
        self.setWindowTitle(f"{name} — photosearch")
        self.stack.setCurrentWidget(self.empty)
        self.query_panel.show_query(None, "")
        counts = self.library.catalog.counts()
        self.show_message(note or f"{counts['indexed']:,} photos indexed in {name}", error=bool(note))
        self._update_enabled()
        if self.auto_index and self.library.writable:
            QTimer.singleShot(0, lambda: self.start_indexing(quiet=True))

    def _update_enabled(self) -> None:
        has = self.library is not None
        for w in (self.folders_button, self.open_button, self.similar_button, self.text_box):
            w.setEnabled(has)

    def _unique_name(self, base: str) -> str:
        names, name, i = set(self.app.libraries.names()), base, 2
        while name in names:
            name, i = f"{base} {i}", i + 1
        return name

    def create_library_from_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose the folder that holds your photos")
        if folder:
            self.create_library(self._unique_name("My Photos"), [folder])

    def create_library(self, name: str, folders: list[str]) -> bool:
        try:
            self.app.libraries.create(name, folders)
        except PhotosearchError as exc:
            self.show_message(str(exc), error=True)
            return False
        self.reload_libraries(select=name)
        return True

    def new_library(self) -> None:
        name, ok = QInputDialog.getText(self, "New library", "Name of the new library:",
                                        text=self._unique_name("Photos"))
        if not ok or not name.strip():
            return
        folder = QFileDialog.getExistingDirectory(self, f"Choose a folder for {name}")
        if folder:
            self.create_library(name.strip(), [folder])

    def rename_library(self) -> None:
        if self.library is None:
            return
        old = self.library.name
        new, ok = QInputDialog.getText(self, "Rename library", "New name:", text=old)
        if not ok or not new.strip() or new.strip() == old:
            return
        self._close_library()
        try:
            self.app.libraries.rename(old, new.strip())
        except PhotosearchError as exc:
            self.show_message(str(exc), error=True)
            self.reload_libraries(select=old)
            return
        self.reload_libraries(select=new.strip())

    def delete_library(self) -> None:
        if self.library is None:
            return
        name = self.library.name
        answer = QMessageBox.question(
            self, "Delete library",
            f"Delete the library “{name}”?\n\nIts index is removed; your photos are not touched.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        self._close_library()
        try:
            self.app.libraries.delete(name)
        except PhotosearchError as exc:
            self.show_message(str(exc), error=True)
        self.settings.remove("last_library")
        self.reload_libraries()

    def edit_folders(self) -> None:
        lib = self.library
        if lib is None:
            return
        dialog = FoldersDialog(lib.name, list(lib.config.roots), lib.catalog.count_under, self,
                               editable=lib.writable)
        if dialog.exec() and lib.writable:
            self.set_folders(dialog.folders())

    def set_folders(self, folders: list[str]) -> None:
        lib = self.library
        if self.indexer.running:
            self.indexer.cancel()
            self.indexer.wait_idle()
        lib.config.roots = sorted({os.path.abspath(f) for f in folders})
        lib.save_config()
        self.start_indexing()

    def choose_model(self) -> bool:
        from .model_dialogs import choose_model

        chosen = choose_model(self, self.app)
        if not chosen:
            return False
        self.app.libraries.update_settings(default_model=chosen)
        self.show_message(f"Model {os.path.basename(chosen)} will be used for libraries without a model")
        return True

    def set_device(self, device: str) -> None:
        if self.indexer.running:
            self.show_message("The device can be changed when indexing is done", error=True)
            return
        self.app.set_device(device)
        self.settings.setValue("device", device)
        self.show_message({"auto": "The model runs on the GPU when one is usable, else on the CPU",
                           "cpu": "The model runs on the CPU", "cuda": "The model runs on the GPU (CUDA)"}[device])

    # -- indexing --------------------------------------------------------------
    def start_indexing(self, quiet: bool = False) -> None:
        lib = self.library
        if lib is None or not lib.writable or self.indexer.running:
            return
        if not self.app.has_model_for(lib) and not self.choose_model():
            self.show_message("Choose a model to index your photos: Library menu (⋯) → Model…", error=True)
            return
        self.indexer.start(self.app, lib)

    def _on_index_failed(self, message: str, kind: str) -> None:
        self.show_message(message, error=True)
        lib = self.library
        if kind == "LibraryIncompatible" and lib is not None and lib.writable:
            answer = QMessageBox.question(
                self, "Another model",
                f"{message}\n\nRe-index the library with the current model now? Your photos are not touched; "
                "only the index is rebuilt.")
            if answer == QMessageBox.StandardButton.Yes:
                lib.reset_vectors()
                lib.config.model = None
                lib.save_config()
                self.start_indexing()

    def _on_running_changed(self, running: bool) -> None:
        for w in (self.progress, self.pause_button, self.cancel_button):
            w.setVisible(running)
        if running:
            self.pause_button.setChecked(False)
            self.progress.setRange(0, 0)
            self.progress.setFormat("Scanning folders…")

    def _toggle_pause(self, paused: bool) -> None:
        self.indexer.set_paused(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        if paused:
            self.progress.setFormat("Paused — %v / %m")

    def _on_progress(self, p: Progress) -> None:
        if p.phase == "indexing" and p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(p.done)
            if not self.indexer.paused:
                eta = _fmt_eta(p.eta)
                failed = f" · {p.failed} unreadable" if p.failed else ""
                self.progress.setFormat(f"%v / %m · {p.rate:.1f} photos/s · {eta} left{failed}")
        elif p.phase == "scanning":
            self.progress.setRange(0, 0)
            self.progress.setFormat(p.message or "Scanning folders…")
        elif p.phase == "saving":
            self.progress.setFormat((p.message or "Saving").rstrip(".…") + "…")

    def _on_index_finished(self, s: IndexSummary) -> None:
        self.device_label.setText("GPU" if "CUDA" in s.provider else "CPU")
        self.device_label.setToolTip(f"The model runs on {s.provider}")
        if self.library is None:
            return
        counts = self.library.catalog.counts()
        if s.cancelled:
            text = f"Indexing stopped: {counts['indexed']:,} photos indexed, {counts['pending']:,} to go next time"
        else:
            text = f"Up to date: {counts['indexed']:,} photos indexed"
            if s.embedded:
                text += f" ({s.embedded:,} new at {s.rate:.1f} photos/s)"
        if counts["failed"]:
            text += f" · {counts['failed']:,} could not be read"
        self.show_message(text)

    def show_errors(self) -> None:
        if self.library is None:
            return
        errors = self.library.catalog.errors()
        if not errors:
            QMessageBox.information(self, "Unreadable files", "Every file was read without problems.")
            return
        box = QMessageBox(self)
        box.setWindowTitle("Unreadable files")
        box.setText(f"{len(errors):,} files or folders could not be read. They are retried when they change.")
        box.setDetailedText("\n".join(f"{p}: {r}" for p, r in errors[:5000]))
        box.exec()

    # -- querying --------------------------------------------------------------
    def _searcher(self, need_model: bool) -> Searcher:
        lib = self.library
        if lib is None:
            raise PhotosearchError("Choose or create a library first")
        if not lib.writable:
            lib.refresh()
        return Searcher(lib, self.app.descriptor_for(lib) if need_model else None)

    def _submit(self, fn, caption: str, pixmap: QPixmap | None) -> int:
        self._generation += 1
        self.query_panel.show_query(pixmap, caption)
        self.runner.submit(self._generation, fn)
        return self._generation

    def search_sources(self, sources: list) -> int | None:
        """Search with outside images (paths or encoded bytes)."""
        if self.library is None:
            self.show_message("Choose or create a library first", error=True)
            return None
        k, min_score = self.k_box.value(), self.min_score()
        first = sources[0]
        if isinstance(first, (bytes, bytearray)):
            pixmap = QPixmap()
            pixmap.loadFromData(bytes(first))
            caption = "Pasted image"
        else:
            reader = QImageReader(first)
            reader.setAutoTransform(True)
            pixmap = QPixmap.fromImage(reader.read())
            caption = first
        if len(sources) > 1:
            caption += f" and {len(sources) - 1} more"

        def work() -> Query:
            searcher = self._searcher(need_model=True)
            vector = searcher.query_vectors(sources)
            hits = searcher.by_vector(vector, k, min_score)
            return Query(vector, (), hits, caption, searcher.embedder.device)

        return self._submit(work, caption, pixmap)

    def search_photos(self, ids: list[int]) -> int | None:
        """Find similar to photos of the library, from their stored vectors."""
        if self.library is None or not ids:
            return None
        k, min_score = self.k_box.value(), self.min_score()
        paths = self.library.catalog.paths(ids)
        first = paths.get(ids[0], "")
        caption = first + (f" and {len(ids) - 1} more" if len(ids) > 1 else "")
        pixmap = self.model.cache.get(first)

        def work() -> Query:
            searcher = self._searcher(need_model=False)
            vector = mean_vector(searcher.photo_vectors(ids))
            hits = searcher.by_vector(vector, k, min_score, exclude=ids)
            return Query(vector, tuple(ids), hits, caption)

        return self._submit(work, caption, pixmap)

    def search_text(self, text: str) -> int | None:
        """Photos whose recognised subject matches a word (ImageNet classes and WordNet parents)."""
        text = text.strip()
        if self.library is None or not text:
            return None
        k, min_score = self.k_box.value(), max(0.0, self.min_score())

        def work() -> Query:
            hits = self._searcher(need_model=False).by_text(text, k, min_score)
            return Query(None, (), hits, f"“{text}”", text=text)

        return self._submit(work, f"Photos of “{text}”", None)

    def _on_search_done(self, generation: int, query: Query) -> None:
        if generation != self._generation:
            return
        self.query = query
        self._show_hits(query.hits)
        if query.device:
            self.device_label.setText("GPU" if query.device == "cuda" else "CPU")
        n = len(query.hits)
        kind = "matching" if query.text is not None else "similar"
        self.show_message(f"{n:,} {kind} photos · {query.seconds * 1000:.0f} ms" if n else
                          f"No {kind} photos found (is the library indexed? try a lower minimum similarity)")
        self.results_ready.emit(n)

    def _on_search_failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.show_message(message, error=True)

    def _show_hits(self, hits) -> None:
        self.model.set_hits(hits)
        self.stack.setCurrentWidget(self.view if hits or self.query else self.empty)
        self.view.scrollToTop()

    def min_score(self) -> float:
        """The slider's threshold; at 0 there is none (cosine can be negative)."""
        value = self.min_slider.value()
        return value / 100.0 if value > 0 else -1.0

    def _refine_later(self) -> None:
        self.min_label.setText(f" {self.min_slider.value()}% ")
        self._refine_timer.start()

    def refine(self) -> None:
        """New result count or threshold: re-rank from the query vector, nothing re-embedded."""
        if self.query is None or self.library is None:
            return
        searcher = Searcher(self.library)
        if self.query.text is not None:
            try:
                hits = searcher.by_text(self.query.text, self.k_box.value(), max(0.0, self.min_score()))
            except PhotosearchError as exc:
                self.show_message(str(exc), error=True)
                return
        else:
            hits = searcher.by_vector(self.query.vector, self.k_box.value(), self.min_score(),
                                      exclude=self.query.exclude)
        self.query.hits = hits
        self._show_hits(hits)
        self.results_ready.emit(len(hits))

    def open_image(self) -> None:
        patterns = " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS))
        paths, _ = QFileDialog.getOpenFileNames(self, "Search with a photo", "", f"Images ({patterns})")
        if paths:
            self.search_sources(paths)

    def paste(self) -> None:
        self._search_mime(QGuiApplication.clipboard().mimeData())

    def _search_mime(self, mime) -> None:
        sources, problem = sources_from_mime(mime)
        if problem:
            self.show_message(problem, error=True)
        else:
            self.search_sources(sources)

    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage() or mime.hasText():
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        event.acceptProposedAction()
        self._search_mime(event.mimeData())

    # -- result actions ----------------------------------------------------------
    def selected_rows(self) -> list[int]:
        return sorted(i.row() for i in self.view.selectionModel().selectedIndexes())

    def find_similar_to_rows(self, rows: list[int]) -> int | None:
        return self.search_photos([self.model.id_at(r) for r in rows])

    def find_similar_to_selected(self) -> None:
        rows = self.selected_rows()
        if rows:
            self.find_similar_to_rows(rows)
        else:
            self.show_message("Select one or more photos first")

    def build_context_menu(self, rows: list[int]) -> QMenu:
        menu = QMenu(self)
        many = len(rows) > 1
        menu.addAction("Find similar to these" if many else "Find similar",
                       lambda: self.find_similar_to_rows(rows))
        menu.addSeparator()
        menu.addAction("Open", lambda: self.open_rows(rows))
        menu.addAction("Show in folder", lambda: self.show_in_folder(rows[0]))
        menu.addAction("Copy path" + ("s" if many else ""), lambda: self.copy_paths(rows))
        copy_image = menu.addAction("Copy image", lambda: self.copy_image(rows[0]))
        copy_image.setEnabled(not many)
        menu.addSeparator()
        trash = menu.addAction("Move to trash", lambda: self.trash_rows(rows))
        trash.setEnabled(self.library is not None and self.library.writable)
        return menu

    def _context_menu(self, pos) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        if index.row() not in self.selected_rows():
            self.view.setCurrentIndex(index)
        self.build_context_menu(self.selected_rows() or [index.row()]).exec(self.view.viewport().mapToGlobal(pos))

    def open_rows(self, rows: list[int]) -> None:
        for r in rows[:20]:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.model.path_at(r)))

    def show_in_folder(self, row: int) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(self.model.path_at(row))))

    def copy_paths(self, rows: list[int]) -> None:
        QGuiApplication.clipboard().setText("\n".join(self.model.path_at(r) for r in rows))

    def copy_image(self, row: int) -> None:
        reader = QImageReader(self.model.path_at(row))
        reader.setAutoTransform(True)
        image = reader.read()
        if image.isNull():
            self.show_message(f"Cannot copy {self.model.path_at(row)}: {reader.errorString()}", error=True)
        else:
            QGuiApplication.clipboard().setImage(image)

    def trash_selected(self) -> None:
        rows = self.selected_rows()
        if rows:
            self.trash_rows(rows)

    def trash_rows(self, rows: list[int], confirm: bool = True) -> None:
        from PySide6.QtCore import QFile

        lib = self.library
        if lib is None or not lib.writable:
            return
        paths = [self.model.path_at(r) for r in rows]
        if confirm:
            what = os.path.basename(paths[0]) if len(paths) == 1 else f"{len(paths)} photos"
            if QMessageBox.question(self, "Move to trash", f"Move {what} to the trash?") != \
                    QMessageBox.StandardButton.Yes:
                return
        moved, ids = [], []
        for r, path in zip(rows, paths):
            if QFile.moveToTrash(path):
                moved.append(path)
                ids.append(self.model.id_at(r))
        lib.forget(ids)
        self.model.remove_rows_for(moved)
        failed = len(paths) - len(moved)
        self.show_message(f"Moved {len(moved)} photo(s) to the trash" +
                          (f"; {failed} could not be moved" if failed else ""), error=bool(failed))

    def _preview_current(self) -> None:
        index = self.view.currentIndex()
        if index.isValid():
            self.preview_row(index.row())

    def preview_row(self, row: int) -> None:
        PreviewDialog(self.model.path_at(row), self.model.score_at(row), self).exec()

    # -- closing -----------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if self.indexer.running:
            self.show_message("Finishing the current batch before closing…")
        self.indexer.shutdown()
        self.runner.wait()
        self.loader.new_generation()
        self.loader.wait()
        self.save_settings()
        if self.library is not None:
            self.library.close()
            self.library = None
        super().closeEvent(event)


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"
