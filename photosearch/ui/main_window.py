"""The main window: it only assembles the features and routes their signals.

Each feature lives in its own module: where queries come from (query_sources), the
query beside its results (query_panel), how results are shown (view_options), the
grid (grid/), searching and refining (search_controller), what can be done with a
result (result_actions), libraries (library_actions) and indexing (indexing_status).
They share the open library through the Session.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QLineEdit, QMainWindow, QPushButton, QSplitter, QStackedWidget, QToolBar, QWidget

from ..core.app import App
from ..core.library.libraries import Library
from .duplicates.compare_window import CompareWindow
from .duplicates.duplicates_window import DuplicatesWindow
from .grid.result_grid import ResultGrid
from .indexing_status import IndexingStatus
from .library_actions import LibraryActions
from .query_panel import QueryPanel
from .query_sources import QuerySources
from .result_actions import ResultActions
from .search_controller import Query, SearchController
from .session import Session
from .view_options import ViewOptions
from .welcome import empty_view, welcome_view

SHUTDOWN_TIMEOUT = 60.0  # seconds for indexing to finish its batch when the window closes


class MainWindow(QMainWindow):
    results_ready = Signal(int)  # a search (or refinement) put this many photos in the grid
    message_shown = Signal(str, bool)  # text, is_error

    def __init__(self, app: App, settings: QSettings | None = None, auto_index: bool = True):
        super().__init__()
        self.app = app
        self.settings = settings or QSettings(str(app.dirs.data / "gui.ini"), QSettings.Format.IniFormat)
        self.auto_index = auto_index
        self.shutdown_timeout = SHUTDOWN_TIMEOUT
        self.setWindowTitle("photosearch")
        self.session = Session(app, self.settings, parent=self)
        self.session.message.connect(self.show_message)

        bar = QToolBar("Main")
        bar.setObjectName("main-toolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.libraries = LibraryActions(self.session, self, bar, parent=self)
        bar.addSeparator()
        self.open_button = QPushButton("Open image…")
        bar.addWidget(self.open_button)
        self.similar_button = QPushButton("Find similar to selected")
        bar.addWidget(self.similar_button)
        self.text_box = QLineEdit()
        self.text_box.setPlaceholderText("Find by subject: dog, car, beach…")
        self.text_box.setClearButtonEnabled(True)
        self.text_box.setMinimumWidth(240)
        bar.addWidget(self.text_box)
        self.duplicates_button = QPushButton("Duplicates…")
        self.duplicates_button.setToolTip("Find the library's duplicates: identical, copies, similar shots")
        bar.addWidget(self.duplicates_button)
        self.addToolBarBreak()
        self.options = ViewOptions(self.settings, parent=self)
        self.addToolBar(self.options.toolbar)

        self.grid = ResultGrid(app.dirs.cache)
        self.model = self.grid.result_model
        self.query_panel = QueryPanel()
        self.welcome = welcome_view(self.libraries.create_from_folder)
        self.empty = empty_view()
        self.stack = QStackedWidget()
        for w in (self.welcome, self.empty, self.grid):
            self.stack.addWidget(w)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.query_panel)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([220, 900])
        self.setCentralWidget(self.splitter)

        self.message = QLabel()
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.statusBar().addWidget(self.message, 1)
        self.indexing = IndexingStatus(self.session, self.statusBar(), self.libraries.choose_model, parent=self)
        self.libraries.indexing = self.indexing
        self.searches = SearchController(self.session, self.options, parent=self)
        self.result_actions = ResultActions(self.session, self.grid, self.searches, parent=self)
        self.sources = QuerySources(self)
        self.duplicates: DuplicatesWindow | None = None
        self.compare: CompareWindow | None = None
        self._connect()
        self._restore_settings()
        self.reload_libraries()

    def _connect(self) -> None:
        self.session.library_changed.connect(self._library_changed)
        self.sources.chosen.connect(self.searches.search_sources)
        self.sources.problem.connect(lambda text: self.show_message(text, error=True))
        self.searches.query_started.connect(self.query_panel.show_query)
        self.searches.hits_ready.connect(self._show_query)
        self.options.thumbnail_size_changed.connect(self.grid.set_thumbnail_size)
        self.options.scores_toggled.connect(self.grid.set_always_scores)
        self.open_button.clicked.connect(self.sources.open_dialog)
        self.similar_button.clicked.connect(self.result_actions.find_similar_to_selected)
        self.text_box.returnPressed.connect(lambda: self.searches.search_text(self.text_box.text()))
        self.duplicates_button.clicked.connect(self.open_duplicates)
        self.result_actions.compare_requested.connect(self.open_compare)

        def action(text: str, slot: object, shortcut: QKeySequence.StandardKey) -> QAction:
            a = QAction(text, self)
            a.triggered.connect(slot)
            a.setShortcut(shortcut)
            self.addAction(a)
            return a

        self.open_action = action("Open image…", self.sources.open_dialog, QKeySequence.StandardKey.Open)
        self.paste_action = action("Paste image", self.sources.paste, QKeySequence.StandardKey.Paste)
        self.similar_action = action("Find similar to selected", self.result_actions.find_similar_to_selected,
                                     QKeySequence.StandardKey.Find)
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            QShortcut(QKeySequence(key), self.grid).activated.connect(self.result_actions.preview_current)

    # -- what the tests, benchmarks and features ask of the window -------------------
    @property
    def library(self) -> Library | None:
        return self.session.library

    @property
    def query(self) -> Query | None:
        return self.searches.query

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #c0392b;" if error else "")
        self.message.setText(text)
        self.message_shown.emit(text, error)

    def search_sources(self, sources: list[str | bytes]) -> int | None:
        return self.searches.search_sources(sources)

    def reload_libraries(self, select: str | None = None) -> None:
        if not self.libraries.reload(select):
            self._library_changed(None)

    def open_duplicates(self) -> DuplicatesWindow:
        if self.duplicates is None:
            self.duplicates = DuplicatesWindow(self.session, self.open_compare, parent=self)
        self.duplicates.show()
        _to_front(self.duplicates)
        self.duplicates.refresh()
        return self.duplicates

    def open_compare(self, a: str, b: str) -> CompareWindow:
        if self.compare is None:
            self.compare = CompareWindow(self.session, parent=self)
        self.compare.show()
        _to_front(self.compare)
        self.compare.compare(a, b)
        return self.compare

    # -- routing ----------------------------------------------------------------------
    def _library_changed(self, library: Library | None) -> None:
        has = library is not None
        for w in (self.open_button, self.similar_button, self.text_box, self.duplicates_button):
            w.setEnabled(has)
        self.libraries.set_enabled(has)
        self.model.clear()
        if not self.app.libraries.names():
            self.stack.setCurrentWidget(self.welcome)
            self.query_panel.hide()  # nothing to query yet: the welcome view has the window
            self.setWindowTitle("photosearch")
            return
        self.query_panel.show()
        self.stack.setCurrentWidget(self.empty)
        self.query_panel.show_query(None, "")
        if library is None:
            return
        self.setWindowTitle(f"{library.name} — photosearch")
        if self.auto_index and library.writable:
            QTimer.singleShot(0, self.indexing.start)

    def _show_query(self, query: Query, message: str) -> None:
        self.model.set_hits(query.hits)
        self.stack.setCurrentWidget(self.grid if query.hits or self.searches.query else self.empty)
        self.grid.scrollToTop()
        if query.device:
            self.indexing.set_device_text(query.device)
        self.show_message(message)
        self.results_ready.emit(len(query.hits))

    # -- settings and closing ------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 780)
        self.options.restore()
        self.libraries.restore_device()

    def save_settings(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.options.save()
        if self.library is not None:
            self.settings.setValue("last_library", self.library.name)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.indexing.running:
            self.show_message("Finishing the current batch before closing…")
        self.save_settings()
        if not self.session.shutdown(self.shutdown_timeout):
            # a worker is still inside a batch or a file action: closing under it could lose it
            self.show_message("Still finishing work in the background; the window closes when it is done",
                              error=True)
            QTimer.singleShot(500, self.close)
            event.ignore()
            return
        self.indexing.controller.shutdown(0.0)
        self.grid.shutdown()
        super().closeEvent(event)


def _to_front(w: QWidget) -> None:
    if QGuiApplication.platformName() != "offscreen":  # headless: there is no front
        w.raise_()
        w.activateWindow()
