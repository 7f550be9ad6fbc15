"""Take docs/compare-burst.png and docs/compare-copy.png: Compare on two frames of a burst (real,
from ../shared's scene_pairs) and on an edited copy of a real photo (cropped, recoloured and
watermarked here). Run under Xvfb for a real X display:

    xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python docs/make_compare_screenshots.py
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


def edited_copy(src: Path, dest: Path) -> Path:
    from PIL import Image, ImageDraw, ImageEnhance

    img = Image.open(src).convert("RGB")
    w, h = img.size
    img = img.crop((int(w * 0.12), int(h * 0.08), int(w * 0.95), int(h * 0.97)))
    img = ImageEnhance.Color(ImageEnhance.Brightness(img).enhance(1.25)).enhance(1.6)
    draw = ImageDraw.Draw(img)
    draw.rectangle([img.width - 130, img.height - 46, img.width - 10, img.height - 10], fill=(220, 40, 40))
    draw.text((img.width - 120, img.height - 36), "© 2026 shared", fill=(255, 255, 255))
    img.save(dest, quality=85)
    return dest


def main() -> int:
    photos = SHARED / "data" / "photos"
    if not (photos / "scene_pairs").is_dir():
        print(f"skipped: {SHARED} has no scene_pairs")
        return 0
    home = Path(tempfile.mkdtemp(prefix="ps-shot-"))
    os.environ["PHOTOSEARCH_HOME"] = str(home)
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from photosearch.core.app import App
    from photosearch.ui.launch import app_icon
    from photosearch.ui.main_window import MainWindow

    app = App()
    qapp = QApplication(sys.argv)
    qapp.setApplicationName("photosearch")
    qapp.setWindowIcon(app_icon())
    window = MainWindow(app, QSettings(str(home / "gui.ini"), QSettings.Format.IniFormat), auto_index=False)
    original = photos / "imagenet_sample" / "n03028079_church.JPEG"
    pairs = {
        "compare-burst.png": (photos / "scene_pairs" / "basketball1.png", photos / "scene_pairs" / "basketball2.png"),
        "compare-copy.png": (original, edited_copy(original, home / "church-edited.jpg")),
    }
    for name, (a, b) in pairs.items():
        view = window.open_compare(str(a), str(b))
        view.resize(1280, 640)
        done: list[object] = []
        view.compared.connect(done.append)
        deadline = time.time() + 120
        while not done and time.time() < deadline:
            qapp.processEvents()
            time.sleep(0.01)
        for _ in range(20):
            qapp.processEvents()
            time.sleep(0.02)
        raw = home / "raw.png"
        view.grab().save(str(raw))
        from PIL import Image

        with Image.open(raw) as img:  # small enough to commit: 1100 px wide, 256 colours
            img = img.convert("RGB")
            img = img.resize((1100, round(img.height * 1100 / img.width)), Image.LANCZOS)
            img.quantize(256, method=Image.Quantize.MEDIANCUT).save(REPO / "docs" / name, optimize=True)
        print(f"wrote docs/{name}: {view.summary.text()}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
