"""Indexing on the background thread: progress, cancel, and a GUI that never blocks."""

import pytest
from PySide6.QtCore import QSettings, QTimer

from photosearch.ui.main_window import MainWindow
from photosearch.ui.workers.index_worker import IndexController
from tests.helpers import make_photo, save_jpeg


@pytest.fixture
def big_folder(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(80):
        save_jpeg(make_photo(i, (640, 480)), folder / f"p{i:03d}.jpg")
    return folder


@pytest.fixture
def library(app, big_folder, classifier_model):
    app.libraries.create("big", [str(big_folder)], model=app.model_spec(classifier_model).describe())
    return app.libraries.open("big", write=True)


def test_worker_emits_progress_and_finishes_while_the_gui_keeps_running(qtbot, app, library):
    controller = IndexController()
    controller.worker.throttle = 0.0
    progress, during = [], []

    def on_progress(p):
        progress.append(p)
        if p.phase == "indexing" and not during:
            # hold the worker mid-run, and ask the GUI thread's event loop for a turn
            controller.set_paused(True)
            QTimer.singleShot(0, lambda: during.append((controller.running, controller.worker.stopped.is_set())))

    controller.progress.connect(on_progress)
    controller.start(app, library)
    qtbot.waitUntil(lambda: bool(during), timeout=60000)
    assert during == [(True, False)]  # the event loop turned while indexing was still under way
    with qtbot.waitSignal(controller.finished, timeout=60000) as blocker:
        controller.set_paused(False)
    summary = blocker.args[0]
    assert summary.embedded == 80 and not summary.cancelled
    assert [p.done for p in progress if p.phase == "indexing"] == sorted(p.done for p in progress
                                                                         if p.phase == "indexing")
    assert progress[-1].phase == "done" and progress[-1].done == 80
    controller.shutdown()
    library.close()


def test_cancel_stops_and_the_library_reopens_consistent(qtbot, app, library):
    controller = IndexController()
    controller.worker.throttle = 0.0

    def maybe_cancel(p):
        if p.phase == "indexing" and p.done >= 16:
            controller.cancel()

    controller.progress.connect(maybe_cancel)
    with qtbot.waitSignal(controller.finished, timeout=60000) as blocker:
        controller.start(app, library)
    summary = blocker.args[0]
    assert summary.cancelled and summary.embedded < 80
    controller.shutdown()
    library.close()
    with app.libraries.open("big") as lib:
        counts = lib.catalog.counts()
        assert counts["indexed"] == summary.embedded == lib.index.live_count
        assert counts["pending"] == 80 - summary.embedded


def test_window_indexes_on_open_and_closing_mid_index_loses_nothing(qtbot, app, big_folder, classifier_model,
                                                                     tmp_path):
    app.libraries.create("big", [str(big_folder)], model=app.model_spec(classifier_model).describe())
    w = MainWindow(app, settings=QSettings(str(tmp_path / "g.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.indexing.running, timeout=10000)
    assert w.indexing.progress.isVisible()
    qtbot.waitUntil(lambda: w.indexing.progress.maximum() == 80, timeout=20000)  # scanned, now embedding
    assert w.indexing.running
    w.close()  # while indexing
    assert not w.indexing.controller.qthread.isRunning()
    with app.libraries.open("big") as lib:
        counts = lib.catalog.counts()
        assert counts["indexed"] + counts["pending"] == 80
        assert lib.index is None or lib.index.live_count == counts["indexed"]
