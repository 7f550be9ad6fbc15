"""The window as a person uses it: drop, paste, right-click, indexing in the background."""

import warnings

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from photosearch.core.search import Searcher
from photosearch.ui.main_window import MainWindow
from photosearch.ui.query_sources import sources_from_mime
from tests.helpers import make_photo, save_jpeg


def _send_drop(window, mime):
    """What a file manager's drag does: enter the window, then drop."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(QPoint(300, 300), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    assert QApplication.sendEvent(window, enter) and enter.isAccepted()
    drop = QDropEvent(QPointF(300, 300), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)


def _drop(qtbot, window, mime):
    with qtbot.waitSignal(window.results_ready, timeout=20000) as blocker:
        _send_drop(window, mime)
    return blocker.args[0]


def test_dropping_a_file_url_fills_the_grid_in_order(qtbot, window, photo_folder, tmp_path):
    query = save_jpeg(make_photo(6).resize((200, 150)), tmp_path / "query.jpg", quality=50)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(query))])
    n = _drop(qtbot, window, mime)
    assert n == window.model.rowCount() == 12
    assert window.model.path_at(0) == str(photo_folder / "photo_06.jpg")
    scores = [window.model.score_at(r) for r in range(n)]
    assert scores == sorted(scores, reverse=True)
    assert window.query_panel.caption.text() == str(query)
    assert window.stack.currentWidget() is window.grid


def test_dropped_image_data_from_a_browser(qtbot, window, photo_folder):
    mime = QMimeData()
    mime.setImageData(QImage(str(photo_folder / "photo_02.jpg")))
    _drop(qtbot, window, mime)
    assert window.model.path_at(0) == str(photo_folder / "photo_02.jpg")


def test_paste_of_a_path_and_of_an_image(qtbot, window, photo_folder):
    QGuiApplication.clipboard().setText(str(photo_folder / "photo_09.jpg"))
    with qtbot.waitSignal(window.results_ready, timeout=20000):
        window.paste_action.trigger()
    assert window.model.path_at(0) == str(photo_folder / "photo_09.jpg")
    QGuiApplication.clipboard().setImage(QImage(str(photo_folder / "photo_04.jpg")))
    with qtbot.waitSignal(window.results_ready, timeout=20000):
        window.paste_action.trigger()
    assert window.model.path_at(0) == str(photo_folder / "photo_04.jpg")


def test_right_click_find_similar_requeries_from_that_photo(qtbot, window, photo_folder):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_folder / "photo_01.jpg"))])
    _drop(qtbot, window, mime)
    row = 3
    target = window.model.path_at(row)
    menu = window.result_actions.build_context_menu([row])
    action = next(a for a in menu.actions() if a.text() == "Find similar")
    with qtbot.waitSignal(window.results_ready, timeout=20000):
        action.trigger()
    assert window.model.rowCount() == 11  # every photo but the query itself
    assert target not in window.model.paths
    assert window.query.exclude == (window.library.catalog.photo_by_path(target).id,)


def test_multi_selection_find_similar(qtbot, window, photo_folder):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_folder / "photo_01.jpg"))])
    _drop(qtbot, window, mime)
    sel = window.grid.selectionModel()
    for r in (1, 2):
        sel.select(window.model.index(r), sel.SelectionFlag.Select)
    chosen = {window.model.path_at(1), window.model.path_at(2)}
    with qtbot.waitSignal(window.results_ready, timeout=20000):
        window.similar_action.trigger()
    assert window.model.rowCount() == 10 and not chosen & set(window.model.paths)


def test_threshold_and_count_refine_without_re_embedding(qtbot, window, photo_folder, monkeypatch):
    calls = []
    real = Searcher.query_vectors
    monkeypatch.setattr(Searcher, "query_vectors", lambda self, sources: calls.append(1) or real(self, sources))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_folder / "photo_05.jpg"))])
    _drop(qtbot, window, mime)
    assert calls == [1]  # a new search embeds its query once
    with qtbot.waitSignal(window.results_ready, timeout=20000) as blocker:
        window.options.k_box.setValue(4)
    assert blocker.args[0] == window.model.rowCount() == 4
    with qtbot.waitSignal(window.results_ready, timeout=20000) as blocker:
        window.options.min_slider.setValue(99)
    assert blocker.args[0] == window.model.rowCount() == 1
    assert window.model.path_at(0) == str(photo_folder / "photo_05.jpg")
    assert calls == [1]  # refining re-ranked from the kept query vector


def test_unreadable_drop_gives_a_readable_message(qtbot, window, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image at all")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(bad))])
    with qtbot.waitSignal(window.message_shown, timeout=20000,
                          check_params_cb=lambda text, error: error) as blocker:
        _send_drop(window, mime)
    assert "broken.jpg" in blocker.args[0] and "Traceback" not in blocker.args[0]


def test_remote_url_drop_is_explained():
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.com/cat.jpg")])
    sources, problem = sources_from_mime(mime)
    assert sources == [] and "this computer" in problem


def test_drag_out_gives_file_urls(window, photo_folder):
    paths = [str(photo_folder / "photo_00.jpg"), str(photo_folder / "photo_01.jpg")]
    window.model.set_results([1, 2], [0.9, 0.8], paths)
    mime = window.model.mimeData([window.model.index(0), window.model.index(1)])
    assert [u.toLocalFile() for u in mime.urls()] == [str(photo_folder / "photo_00.jpg"),
                                                      str(photo_folder / "photo_01.jpg")]


def test_move_to_trash_makes_the_library_forget(qtbot, window, photo_folder, monkeypatch):
    from PySide6.QtCore import QFile

    trashed = []
    monkeypatch.setattr(QFile, "moveToTrash", staticmethod(lambda p: trashed.append(p) or True))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_folder / "photo_01.jpg"))])
    _drop(qtbot, window, mime)
    path = window.model.path_at(2)
    with qtbot.waitSignal(window.result_actions.trashed, timeout=20000):
        window.result_actions.trash_rows([2], confirm=False)
    assert trashed == [path] and path not in window.model.paths
    assert window.library.catalog.photo_by_path(path) is None
    assert window.library.index.live_count == 11


def test_settings_are_remembered(qtbot, indexed_app, tmp_path):
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "g.ini"), QSettings.Format.IniFormat)
    w = MainWindow(indexed_app, settings=settings, auto_index=False)
    qtbot.addWidget(w)
    w.options.zoom.setValue(240)
    w.close()
    w2 = MainWindow(indexed_app, settings=settings, auto_index=False)
    qtbot.addWidget(w2)
    qtbot.waitUntil(lambda: w2.library is not None)
    assert w2.options.zoom.value() == 240 and w2.library.name == "lib"
    w2.close()


def test_welcome_view_when_there_is_no_library(qtbot, app, tmp_path):
    from PySide6.QtCore import QSettings

    w = MainWindow(app, settings=QSettings(str(tmp_path / "g.ini"), QSettings.Format.IniFormat), auto_index=False)
    qtbot.addWidget(w)
    assert w.stack.currentWidget() is w.welcome and w.library is None and w.query_panel.isHidden()
    w.close()


def test_keyword_search_box(qtbot, window):
    from photosearch.core.vision.labels import LabelIndex

    birds = set(LabelIndex.load().match("bird"))
    expected = {window.library.catalog.paths([pid])[pid]
                for pid, cls, prob in window.library.catalog.photos_with_classes(birds)}
    assert expected  # the tiny classifier puts bird classes in most top-5s
    window.text_box.setText("birds")
    with qtbot.waitSignal(window.results_ready, timeout=20000) as blocker:
        window.text_box.returnPressed.emit()
    assert blocker.args[0] == len(expected) and set(window.model.paths) == expected
    scores = [window.model.score_at(r) for r in range(window.model.rowCount())]
    assert scores == sorted(scores, reverse=True)
    with qtbot.waitSignal(window.results_ready, timeout=20000):
        window.options.k_box.setValue(1)
    assert window.model.rowCount() == 1


def test_missing_photos_are_counted_and_forgotten_from_the_library_menu(qtbot, window, photo_folder):
    (photo_folder / "photo_03.jpg").rename(photo_folder.parent / "away.jpg")
    with qtbot.waitSignal(window.indexing.controller.finished, timeout=30000):
        window.indexing.start()
    assert "1 photos missing" in window.message.text()
    assert window.library.catalog.counts()["missing"] == 1
    with qtbot.waitSignal(window.libraries.missing_forgotten, timeout=10000) as blocker:
        window.libraries.forget_missing(confirm=False)
    assert blocker.args == [1] and window.library.catalog.counts()["missing"] == 0


def test_a_raw_goes_with_its_jpeg_in_copy_and_trash(qtbot, window, photo_folder, monkeypatch):
    from PySide6.QtCore import QFile

    from photosearch.core.search import Hit

    raw = str(photo_folder / "photo_01.dng")
    jpeg = str(photo_folder / "photo_01.jpg")
    photo_id = window.library.catalog.photo_by_path(jpeg).id
    window.model.set_hits([Hit(photo_id, jpeg, 0.9, (raw,))])
    window.result_actions.copy_paths([0])
    assert QGuiApplication.clipboard().text().splitlines() == [jpeg, raw]
    trashed = []
    monkeypatch.setattr(QFile, "moveToTrash", staticmethod(lambda p: trashed.append(p) or True))
    with qtbot.waitSignal(window.result_actions.trashed, timeout=20000):
        window.result_actions.trash_rows([0], confirm=False)
    assert trashed == [jpeg, raw]


def test_changing_the_precision_of_an_indexed_library_re_indexes_it(qtbot, window):
    assert window.library.config.precision_used == "fp32"
    with qtbot.waitSignal(window.indexing.controller.finished, timeout=60000) as blocker:
        window.libraries.set_precision("int8", confirm=False)
    assert window.library.config.precision == "int8"
    assert blocker.args[0].embedded == 12  # every photo embedded again, at the new precision
