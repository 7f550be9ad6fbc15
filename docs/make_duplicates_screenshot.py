"""Take docs/duplicates-view.png: the Duplicates window on the benchmark's library of edited copies.

Needs a library kept by `PHOTOSEARCH_BENCH_KEEP=1 python benchmarks/duplicates.py` (its folder is
printed last); run under Xvfb for a real X display:

    xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python docs/make_duplicates_screenshot.py BENCH_FOLDER
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    kept = Path(sys.argv[1])
    os.environ["PHOTOSEARCH_HOME"] = str(kept / "home")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from photosearch.core.app import App
    from photosearch.ui.launch import app_icon
    from photosearch.ui.main_window import MainWindow

    qapp = QApplication(sys.argv)
    qapp.setApplicationName("photosearch")
    qapp.setWindowIcon(app_icon())
    app = App()
    settings = QSettings(str(kept / "gui.ini"), QSettings.Format.IniFormat)
    settings.setValue("last_library", "dups")
    window = MainWindow(app, settings, auto_index=False)
    window.show()
    deadline = time.time() + 60
    while window.library is None and time.time() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    view = window.open_duplicates()
    view.resize(1280, 760)
    ready: list[int] = []
    view.groups_ready.connect(ready.append)
    while not ready and time.time() < deadline + 600:
        qapp.processEvents()
        time.sleep(0.02)
    row = next(r for r in range(view.model.rowCount()) if len(view.model.group_at(r).others) >= 8)
    view.view.setCurrentIndex(view.model.index(row))
    view.view.scrollTo(view.model.index(row))
    for _ in range(3):
        view.model.move_cursor(row, 1)
    view.status.setText(str(view.model.data(view.model.index(row), 3) or "").replace("\n", ": "))
    end = time.time() + 20
    while time.time() < end:
        qapp.processEvents()
        time.sleep(0.02)
    raw = kept / "raw.png"
    view.grab().save(str(raw))
    from PIL import Image

    out = REPO / "docs" / "duplicates-view.png"
    with Image.open(raw) as img:  # small enough to commit: 1100 px wide, 256 colours
        img = img.convert("RGB")
        img = img.resize((1100, round(img.height * 1100 / img.width)), Image.LANCZOS)
        img.quantize(256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    print(f"wrote {out}")
    view.close()
    window.close()  # stops the app's worker threads as a person closing it would
    return 0


if __name__ == "__main__":
    sys.exit(main())
