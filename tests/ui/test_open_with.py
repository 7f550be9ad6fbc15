"""Photos opened with the app (a file manager's Open With runs the desktop entry's
`Exec=photosearch %F`): the window opens and searches with them."""

import pytest

from photosearch import __main__
from photosearch.ui.launch import open_window
from tests.helpers import make_photo, save_jpeg


def test_the_window_searches_with_the_photos_it_was_opened_with(qtbot, indexed_app, photo_folder, tmp_path):
    query = save_jpeg(make_photo(5).resize((160, 120)), tmp_path / "from the file manager.jpg", quality=60)
    window = open_window(indexed_app, [str(query)])
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.results_ready, timeout=20000) as blocker:
        pass
    assert blocker.args[0] > 0 and window.model.path_at(0) == str(photo_folder / "photo_05.jpg")
    window.close()


def test_files_as_arguments_open_the_window_and_commands_stay_commands(tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr(__main__, "main_gui", lambda files=None: opened.append(files) or 0)
    photo = save_jpeg(make_photo(1), tmp_path / "a.jpg")
    monkeypatch.chdir(tmp_path)
    assert __main__.main(["a.jpg"]) == 0 and opened == [[str(photo)]]
    (tmp_path / "stats").write_bytes(b"")  # a file named like a command: the command runs
    assert __main__.main(["stats"]) == 1 and len(opened) == 1  # (no library yet: exit 1)
    with pytest.raises(SystemExit) as usage:  # not all files: argparse's usage error, as before
        __main__.main([str(photo), "missing.jpg"])
    assert usage.value.code == 2 and len(opened) == 1
