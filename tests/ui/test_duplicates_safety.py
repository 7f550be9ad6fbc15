"""The Duplicates window as a person uses it: it opens with the keyboard on the groups, writes the
database only off the GUI thread, acts on the library its groups come from (and follows the main
window to another one), and offers no file action while another process indexes the library.
A tiny model and byte copies (the identical level): no ../shared needed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from photosearch.core.app import App
from photosearch.core.duplicates import actions, decisions
from photosearch.core.library.paths import app_dirs
from photosearch.ui.main_window import MainWindow
from tests import helpers
from tests.test_cli import run


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return helpers.tiny_convnet(tmp_path_factory.mktemp("model") / "tiny_convnet.onnx")


def _library(home, name, folder, model, seeds):
    for k, seed in enumerate(seeds):
        (folder / "a").mkdir(parents=True, exist_ok=True)
        (folder / "copies").mkdir(parents=True, exist_ok=True)
        helpers.save_jpeg(helpers.make_photo(seed), folder / "a" / f"x{k}.jpg")
        shutil.copy(folder / "a" / f"x{k}.jpg", folder / "copies" / f"x{k}.jpg")
    run("library", "create", name, folder, "--model", model, "--precision", "fp32", home=home)
    run("index", name, home=home)
    return folder


@pytest.fixture
def window_for(qtbot, isolated_home, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    made = []

    def make():
        w = MainWindow(App(dirs=app_dirs(isolated_home), device="cpu"),
                       QSettings(str(tmp_path / "g.ini"), QSettings.Format.IniFormat), auto_index=False)
        qtbot.addWidget(w)
        w.show()
        qtbot.waitUntil(lambda: w.library is not None)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def _open(qtbot, w, groups):
    view = w.open_duplicates()
    view.level.setCurrentIndex(0)  # identical
    # both looks (copies, then identical) were asked at once: the runner is busy until the last is in
    qtbot.waitUntil(lambda: not view.runner.busy and view.model.rowCount() == groups
                    and "group(s)" in view.status.text(), timeout=30000)
    return view


def test_the_view_opens_on_the_groups_and_the_arrows_move_between_them(qtbot, isolated_home, tmp_path, model,
                                                                         window_for):
    _library(isolated_home, "lib", tmp_path / "photos", model, [1, 2, 3])
    w = window_for()
    view = _open(qtbot, w, 3)
    view.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view.view, timeout=5000)
    level = view.level.currentIndex()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Down)
    assert view.current_row() == 1 and view.level.currentIndex() == level
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Up)
    assert view.current_row() == 0 and view.level.currentIndex() == level
    assert view.level.focusPolicy() == Qt.FocusPolicy.ClickFocus  # Tab does not park the keyboard there


def test_every_database_write_runs_off_the_gui_thread(qtbot, isolated_home, tmp_path, model, window_for,
                                                      monkeypatch):
    photos = _library(isolated_home, "lib", tmp_path / "photos", model, [1, 2, 3])
    threads: dict[str, list[bool]] = {}

    def spy(module, name):
        real = getattr(module, name)

        def wrapped(*a, **k):
            threads.setdefault(name, []).append(threading.current_thread() is threading.main_thread())
            return real(*a, **k)
        monkeypatch.setattr(module, name, wrapped)

    for module, name in ((decisions, "choose_keep"), (decisions, "mark_not_duplicates"), (actions, "apply"),
                         (actions, "undo")):
        spy(module, name)
    w = window_for()
    view = _open(qtbot, w, 3)
    view.view.setFocus()
    view.view.setCurrentIndex(view.model.index(0))
    qtbot.keyClick(view.view, Qt.Key.Key_Right)
    with qtbot.waitSignal(view.acted, timeout=30000):
        qtbot.keyClick(view.view, Qt.Key.Key_Space)  # keep this one
    with qtbot.waitSignal(view.acted, timeout=30000):
        qtbot.keyClick(view.view, Qt.Key.Key_A)  # keep all
    with qtbot.waitSignal(view.acted, timeout=30000) as moved:
        qtbot.keyClick(view.view, Qt.Key.Key_Delete)  # trash the others
    assert "Moved 1 file(s) to the trash" in moved.args[0]
    with qtbot.waitSignal(view.acted, timeout=30000) as back:
        view.undo()
    assert "Put back 1 file(s)" in back.args[0]
    assert set(threads) == {"choose_keep", "mark_not_duplicates", "apply", "undo"}
    assert not any(on_gui for calls in threads.values() for on_gui in calls)
    assert all((photos / sub / f"x{k}.jpg").exists() for sub in ("a", "copies") for k in range(3))


def test_the_window_acts_on_the_library_its_groups_come_from(qtbot, isolated_home, tmp_path, model, window_for):
    first = _library(isolated_home, "first", tmp_path / "first", model, [1])
    second = _library(isolated_home, "second", tmp_path / "second", model, [5, 6])
    w = window_for()
    w.libraries.reload(select="first")
    qtbot.waitUntil(lambda: w.library is not None and w.library.name == "first", timeout=30000)
    view = _open(qtbot, w, 1)
    assert "first" in view.windowTitle()
    # the main window switches library: the window follows with the other one's groups
    w.session.open("second")

    def second_shown():
        assert view.library is not None and view.library.name == "second", view.status.text()
        assert view.model.rowCount() == 2 and "group(s)" in view.status.text(), \
            (view.status.text(), view.runner.busy, w.session.library, w.session.closing, view._library)
    qtbot.waitUntil(second_shown, timeout=30000)
    assert "second" in view.windowTitle()
    view.view.setFocus()
    view.view.setCurrentIndex(view.model.index(0))
    with qtbot.waitSignal(view.acted, timeout=30000) as moved:
        qtbot.keyClick(view.view, Qt.Key.Key_Delete)
    assert "Moved 1 file(s)" in moved.args[0]
    assert all((first / sub / "x0.jpg").exists() for sub in ("a", "copies"))  # the first library: untouched
    assert sum((second / "copies" / f"x{k}.jpg").exists() for k in range(2)) == 1
    # closed under it: nothing to act on, the list is empty
    w.session.close()
    qtbot.waitUntil(lambda: view.library is None and view.model.rowCount() == 0, timeout=30000)
    assert not view.trash_button.isEnabled()


def test_no_file_action_while_another_process_indexes_the_library(qtbot, isolated_home, tmp_path, model,
                                                                   window_for):
    photos = _library(isolated_home, "lib", tmp_path / "photos", model, [1, 2])
    run("duplicates", home=isolated_home)  # the pairs are stored: a read-only open shows them as they are
    holder = subprocess.Popen(  # another process holds the library for writing (as `photosearch index` does)
        [sys.executable, "-c", "import sys, time\nfrom photosearch.core.app import App\n"
         "lib = App().libraries.open('lib', write=True)\nprint('holding', flush=True)\ntime.sleep(120)"],
        env=dict(os.environ, PHOTOSEARCH_HOME=str(isolated_home), PYTHONPATH=str(helpers.REPO)),
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        w = window_for()
        assert not w.library.writable
        view = _open(qtbot, w, 2)
        assert "Another process is indexing this library" in view.status.text()
        assert not any(b.isEnabled() for b in (view.trash_button, view.move_button, view.undo_button,
                                               view.keep_all_button))
        view.view.setFocus()
        view.view.setCurrentIndex(view.model.index(0))
        qtbot.keyClick(view.view, Qt.Key.Key_Delete)
        qtbot.keyClick(view.view, Qt.Key.Key_A)
        assert "nothing can be moved or decided" in view.status.text() and view.model.rowCount() == 2
        assert all((photos / sub / f"x{k}.jpg").exists() for sub in ("a", "copies") for k in range(2))
    finally:
        holder.kill()
        holder.wait()


def test_keep_this_one_proves_the_others_against_it_before_they_can_go(qtbot, isolated_home, tmp_path, model,
                                                                       window_for):
    """A photo and two crops of it, each a copy of the photo but not of each other: keeping one
    crop must not send the other crop (the only other copy of its half) to the trash."""
    from tests.core.duplicates.test_verify import textured

    photos = tmp_path / "photos"
    photos.mkdir()
    whole = textured(31, (1000, 700))
    whole.save(photos / "k_full.jpg", quality=95)
    whole.crop((0, 0, 700, 700)).save(photos / "left_crop.jpg", quality=95)
    whole.crop((300, 0, 1000, 700)).save(photos / "right_crop.jpg", quality=95)
    run("library", "create", "lib", photos, "--model", model, "--precision", "fp32", home=isolated_home)
    run("index", "lib", home=isolated_home)
    w = window_for()
    view = w.open_duplicates()
    view.level.setCurrentIndex(view.level.findData("copies"))
    qtbot.waitUntil(lambda: not view.runner.busy and view.model.rowCount() == 1
                    and "group(s)" in view.status.text(), timeout=60000)
    g = view.model.group_at(0)
    assert {c.path for c in g.members} == {str(photos / n) for n in ("k_full.jpg", "left_crop.jpg", "right_crop.jpg")}
    view.view.setFocus()
    view.view.setCurrentIndex(view.model.index(0))
    while view.model.member_at(0).path != str(photos / "left_crop.jpg"):
        qtbot.keyClick(view.view, Qt.Key.Key_Right)
    with qtbot.waitSignal(view.acted, timeout=60000) as kept:
        qtbot.keyClick(view.view, Qt.Key.Key_Space)
        qtbot.keyClick(view.view, Qt.Key.Key_Delete)  # at once: the group is still being proven
    assert "1 photo(s) left the group" in kept.args[0]
    assert [c.path for c, _ in view.model.group_at(0).others] == [str(photos / "k_full.jpg")]
    with qtbot.waitSignal(view.acted, timeout=30000) as moved:
        qtbot.keyClick(view.view, Qt.Key.Key_Delete)
    assert "Moved 1 file(s) to the trash" in moved.args[0]
    assert (photos / "right_crop.jpg").exists() and (photos / "left_crop.jpg").exists()
