"""Closing a library never blocks the GUI thread, never runs a search on a closing
library, and a worker that does not stop in time keeps the window open, not lost work."""

import threading

from PySide6.QtCore import QSettings

from photosearch.ui.main_window import MainWindow
from tests.helpers import make_photo, save_jpeg


def test_switching_library_while_indexing_returns_at_once_and_loses_nothing(qtbot, app, tmp_path,
                                                                              classifier_model, photo_folder):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(80):
        save_jpeg(make_photo(i, (640, 480)), folder / f"p{i:03d}.jpg")
    model = app.model_spec(classifier_model).describe()
    app.libraries.create("big", [str(folder)], model=model)
    app.libraries.create("other", [str(photo_folder)], model=model)
    w = MainWindow(app, settings=QSettings(str(tmp_path / "g.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.libraries.reload(select="big")
    qtbot.waitUntil(lambda: w.indexing.progress.maximum() == 80, timeout=20000)  # embedding now
    assert w.indexing.running

    with qtbot.waitSignal(w.session.library_changed, timeout=60000,
                          check_params_cb=lambda lib: lib is not None and lib.name == "other"):
        w.session.open("other")
        # the call returned while the old pass still runs: the GUI thread did not wait for it
        assert w.indexing.running and w.library is None and w.session.closing
        # and nothing new starts on the library that is closing
        assert w.search_sources([str(photo_folder / "photo_01.jpg")]) is None
        assert "library first" in w.message.text()
    assert w.library.name == "other"
    w.auto_index = False
    w.close()
    with app.libraries.open("big", write=True) as lib:  # its writer lock was released
        counts = lib.catalog.counts()
        assert counts["indexed"] + counts["pending"] == 80
        assert counts["indexed"] == lib.index.live_count


def test_a_worker_that_does_not_stop_in_time_keeps_the_window_open(qtbot, window):
    release = threading.Event()
    started = threading.Event()

    def stuck():
        started.set()
        release.wait(30)

    window.result_actions.runner.submit(stuck, "test")
    assert started.wait(10)
    window.shutdown_timeout = 0.05
    window.close()
    assert window.isVisible() and window.library is not None  # not closed under the running job
    assert "background" in window.message.text()
    release.set()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10000)  # closes once the job is done
    assert window.library is None
