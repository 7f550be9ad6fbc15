"""Take docs/screenshot.png: the main window with a real result grid.

Real photos and a real model from ../shared; run under Xvfb for a real X display:

    xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python docs/make_screenshot.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("PHOTOSEARCH_SHARED", REPO.parent / "shared"))


def main() -> int:
    photos = SHARED / "data" / "photos" / "imagenet_sample"
    model = SHARED / "models" / "efficientnet_lite0_fp32.onnx"
    if not photos.is_dir() or not model.exists():
        print(f"skipped: {SHARED} has no photos or model")
        return 0
    home = Path(tempfile.mkdtemp(prefix="ps-shot-"))
    os.environ["PHOTOSEARCH_HOME"] = str(home)
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from photosearch.core.app import App
    from photosearch.core.pipeline.indexer import index_library
    from photosearch.ui.launch import app_icon
    from photosearch.ui.main_window import MainWindow

    app = App()
    app.libraries.create("Pictures", [str(photos)], model=app.model_spec(model).describe())
    with app.libraries.open("Pictures", write=True) as lib:
        index_library(lib, app.embedder_for(lib))
    qapp = QApplication(sys.argv)
    qapp.setApplicationName("photosearch")
    qapp.setWindowIcon(app_icon())
    window = MainWindow(app, QSettings(str(home / "gui.ini"), QSettings.Format.IniFormat), auto_index=False)
    window.resize(1280, 820)
    window.show()
    window.options.zoom.setValue(150)
    window.options.scores_box.setChecked(True)
    query = photos / (sys.argv[1] if len(sys.argv) > 1 else "n02099601_golden_retriever.JPEG")
    done = []
    window.results_ready.connect(done.append)
    window.search_sources([str(query)])
    deadline = time.time() + 60
    while not done and time.time() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    window.show_message(window.message.text())  # keep the search's own status text
    window.indexing.device_label.setText("CPU")
    end = time.time() + 20
    while time.time() < end:
        qapp.processEvents()
        visible = [r for r in range(min(40, window.model.rowCount()))]
        if all(window.model.cache.get(window.model.path_at(r)) is not None for r in visible):
            break
        time.sleep(0.02)
    for _ in range(20):
        qapp.processEvents()
        time.sleep(0.02)
    out = REPO / "docs" / "screenshot.png"
    raw = home / "raw.png"
    window.grab().save(str(raw))
    from PIL import Image

    # small enough to commit: 1100 px wide, 256 colours
    with Image.open(raw) as img:
        img = img.convert("RGB")
        img = img.resize((1100, round(img.height * 1100 / img.width)), Image.LANCZOS)
        img.quantize(256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    print(f"wrote {out}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
