"""The Duplicates view reviewed from the keyboard: keep all, trash others, undo; and Compare."""

import os

import pytest
from PySide6.QtCore import QSettings, Qt

from photosearch.core.app import App
from photosearch.core.duplicates.finder import DuplicateGroup
from photosearch.core.duplicates.keep import DRAWN_ON_WORDS, Candidate
from photosearch.core.library.paths import app_dirs
from photosearch.ui.duplicates.group_delegate import heading
from photosearch.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, isolated_home, planted, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))  # the trash, in a temporary folder
    w = MainWindow(App(dirs=app_dirs(isolated_home), device="cpu"),
                   QSettings(str(tmp_path / "g.ini"), QSettings.Format.IniFormat), auto_index=False)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.library is not None)
    yield w
    w.close()


def test_review_keep_all_trash_others_and_undo(qtbot, window, planted, tmp_path):
    folder, originals = planted
    window.duplicates_button.click()
    view = window.duplicates
    qtbot.waitUntil(lambda: view.model.rowCount() == 3, timeout=30000)
    assert "3 group(s)" in view.status.text()
    # keep all: the group leaves, and does not come back on the next look
    first = view.model.group_at(0)
    view.view.setFocus()
    qtbot.keyClick(view.view, Qt.Key.Key_A)
    assert view.model.rowCount() == 2
    with qtbot.waitSignal(view.groups_ready, timeout=30000) as blocker:
        view.refresh()
    assert blocker.args == [2]
    assert first.keep.path not in {g.keep.path for g in view.model.groups}
    # trash others of the current group, from the keyboard
    g = view.model.group_at(0)
    doomed = [c.path for c, _ in g.others]
    with qtbot.waitSignal(view.acted, timeout=30000) as blocker:
        qtbot.keyClick(view.view, Qt.Key.Key_Delete)
    assert "Moved 1 file(s) to the trash" in blocker.args[0]
    assert not any(os.path.exists(p) for p in doomed) and os.path.exists(g.keep.path)
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=30000)
    # undo puts the photo back, and its group returns
    with qtbot.waitSignal(view.acted, timeout=30000):
        view.undo()
    assert all(os.path.exists(p) for p in doomed)
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=30000)


def test_keep_this_one_and_compare_shows_where_they_match(qtbot, window, planted):
    view = window.open_duplicates()
    qtbot.waitUntil(lambda: view.model.rowCount() == 3, timeout=30000)
    view.view.setFocus()
    view.view.setCurrentIndex(view.model.index(0))
    g = view.model.group_at(0)
    qtbot.keyClick(view.view, Qt.Key.Key_Right)
    qtbot.keyClick(view.view, Qt.Key.Key_Space)  # keep the copy instead of the original
    assert view.model.group_at(0).keep.path == g.others[0][0].path
    with qtbot.waitSignal(view.groups_ready, timeout=30000):
        view.refresh()  # remembered: the rules no longer choose for this group
    assert g.others[0][0].path in {x.keep.path for x in view.model.groups}
    view.view.setCurrentIndex(view.model.index(0))
    with qtbot.waitSignal(window.open_compare(g.keep.path, g.others[0][0].path).compared, timeout=30000) as b:
        pass
    c = b.args[0]
    assert c.level == "copies" and c.evidence.reason.startswith("an edited copy")
    from photosearch.core.duplicates.compare import MAP_COLOURS
    from photosearch.core.duplicates.residual import AGREES

    drawn = c.map_a[..., 3] > 0
    agreeing = (c.map_a == MAP_COLOURS[AGREES]).all(axis=2)
    assert agreeing.sum() > 0.8 * drawn.sum() > 0  # the copy agrees with the original all over
    assert len(window.compare.views[0].overlay.childItems()) >= 2  # the map and the other's outline
    assert "an edited copy" in window.compare.summary.text()


def test_the_view_shows_how_far_the_search_has_got_while_it_proves_pairs(qtbot, window, planted):
    """A first grouping proves pairs in pixels for minutes on a library of bursts: the status
    line says how far it has got (the progress of the running search only), and the answer
    replaces it."""
    window.duplicates_button.click()
    view = window.duplicates
    qtbot.waitUntil(lambda: view.model.rowCount() == 3, timeout=30000)  # the first search's answer
    shown = []
    # connected after the window's own slot: the status line as that slot left it
    view.progress.connect(lambda look, stage, done, total: shown.append((stage, done, total, view.status.text())))
    with qtbot.waitSignal(view.groups_ready, timeout=30000):
        view.refresh()
    proving = [x for x in shown if x[0] == "proving"]
    assert proving and proving[-1][1] == proving[-1][2] > 0, shown
    said = proving[-1][3]
    assert "look-alikes proven in pixels, photos: " in said and "Looking for duplicates (copies)" in said
    assert "group(s)" in view.status.text()
    view._progress(1, "proving", 1, 9)  # an earlier search's, arriving late: not shown
    assert "group(s)" in view.status.text()


def test_the_view_heads_such_a_group_with_what_to_look_at():
    one = Candidate(1, "/p/a.jpg", 10, 0, 8, 8)
    two = Candidate(2, "/p/b.jpg", 10, 0, 8, 8)
    plain = DuplicateGroup("copies", one, [(two, 0.93)], [])
    assert heading(plain, 0) == "Group 1: 2 photos, copies, best score 0.93"
    warned = DuplicateGroup("copies", one, [(two, 0.93)], [], check=DRAWN_ON_WORDS)
    assert heading(warned, 4) == f"Group 5: 2 photos, copies, best score 0.93  ·  Look first: {DRAWN_ON_WORDS}"


def test_the_photo_kept_tells_on_hover_what_to_look_at(qapp):
    # the heading is cut off in a narrow window: the photo kept's tooltip holds the whole of it
    from PySide6.QtCore import Qt

    from photosearch.ui.duplicates.group_model import GroupModel

    one = Candidate(1, "/p/a.jpg", 10, 0, 8, 8)
    two = Candidate(2, "/p/b.jpg", 10, 0, 8, 8)
    model = GroupModel()
    model.set_groups([DuplicateGroup("copies", one, [(two, 0.93)], [], check=DRAWN_ON_WORDS),
                      DuplicateGroup("copies", two, [(one, 0.93)], [])])
    tip = Qt.ItemDataRole.ToolTipRole
    assert model.data(model.index(0), tip) == f"/p/a.jpg\nthe photo to keep\nLook first: {DRAWN_ON_WORDS}"
    assert model.data(model.index(1), tip) == "/p/b.jpg\nthe photo to keep"
