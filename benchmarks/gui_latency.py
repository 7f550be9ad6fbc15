"""GUI latency: from dropping a photo to the first screenful of thumbnails painted.

A 10,000-photo library (real photos from ../shared, plus edited variants of them to
reach the count), indexed once with the real EfficientNet-Lite0 model and kept in
bench-out/. Each measurement sends a real drag-enter + drop of a file URL to the main
window and stops the clock when every cell visible in the grid has been painted with
its thumbnail. Reports the median and p90 over repeated drops of different photos:

  cold: thumbnails not on disk yet (first sight of those photos)
  warm: thumbnails on disk, none in memory (a new session)
  hot:  the same drop again (thumbnails in memory)

    xvfb-run -s "-screen 0 1400x900x24" python benchmarks/gui_latency.py [--drops 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
import warnings
from pathlib import Path

from _common import out_dir, shared_dir


def build_photos(folder: Path, n: int) -> None:
    from PIL import Image, ImageOps

    photos = shared_dir() / "data" / "photos"
    sources = sorted((photos / "imagenet_sample").glob("*.JPEG")) + sorted((photos / "flowers5").rglob("*.jpg"))
    folder.mkdir(parents=True, exist_ok=True)
    have = len(list(folder.glob("*.jpg")))
    if have >= n:
        return
    print(f"preparing {n} photos in {folder} (once)...", flush=True)
    for i in range(n):
        dst = folder / f"{i:05d}.jpg"
        if dst.exists():
            continue
        src = sources[i % len(sources)]
        variant = i // len(sources)
        img = ImageOps.exif_transpose(Image.open(src)).convert("RGB")
        if variant == 1:
            img = ImageOps.mirror(img)
        elif variant >= 2:
            w, h = img.size
            img = img.crop((w // 10, h // 10, w - w // 10, h - h // 10))
        img.save(dst, "JPEG", quality=90)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=10000)
    ap.add_argument("--drops", type=int, default=15)
    args = ap.parse_args()

    bench = out_dir("gui")
    home = bench / "home"
    os.environ["PHOTOSEARCH_HOME"] = str(home)
    folder = bench / f"photos-{args.photos}"
    build_photos(folder, args.photos)
    model = shared_dir() / "models" / "efficientnet_lite0_fp32.onnx"

    from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    from photosearch.core.app import App
    from photosearch.core.pipeline.indexer import index_library
    from photosearch.ui.main_window import MainWindow

    app = App()
    name = "bench-default"  # indexed with the app's default descriptor, as a user's library is
    if name not in app.libraries.names():
        app.libraries.create(name, [str(folder)], model=app.model_spec(model).describe())
    with app.libraries.open(name, write=True) as lib:
        s = index_library(lib, app.descriptor_for(lib))
        total = lib.catalog.counts()["indexed"]
    print(f"library: {total} photos indexed ({s.embedded} embedded in this run)")

    qapp = QApplication(sys.argv)
    settings = QSettings(str(home / "gui.ini"), QSettings.Format.IniFormat)
    settings.setValue("last_library", name)
    window = MainWindow(app, settings, auto_index=False)
    window.resize(1280, 820)
    window.show()
    window.options.zoom.setValue(180)
    painted: dict[int, float] = {}
    original_paint = window.grid.delegate.paint

    def paint(painter, option, index):
        original_paint(painter, option, index)
        if window.model.cache.get(window.model.path_at(index.row())) is not None:
            painted.setdefault(index.row(), time.perf_counter())

    window.grid.delegate.paint = paint
    qapp.processEvents()

    def visible_rows() -> list[int]:
        rect = window.grid.viewport().rect()
        return [r for r in range(window.model.rowCount())
                if window.grid.visualRect(window.model.index(r)).intersects(rect)]

    def drop(path: Path) -> float:
        painted.clear()
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        ready = []
        window.results_ready.connect(ready.append)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            enter = QDragEnterEvent(QPoint(600, 400), Qt.DropAction.CopyAction, mime,
                                    Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        t0 = time.perf_counter()
        QApplication.sendEvent(window, enter)
        QApplication.sendEvent(window, QDropEvent(QPointF(600, 400), Qt.DropAction.CopyAction, mime,
                                                  Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
        deadline = t0 + 30
        while time.perf_counter() < deadline:
            qapp.processEvents()
            if ready:
                rows = visible_rows()
                if rows and all(r in painted for r in rows):
                    window.results_ready.disconnect(ready.append)
                    return max(painted[r] for r in rows) - t0
            time.sleep(0.0005)
        raise RuntimeError("the grid was not painted within 30 s")

    photos = sorted(folder.glob("*.jpg"))
    queries = [photos[i * len(photos) // args.drops + 7] for i in range(args.drops)]
    thumbs = window.grid.loader.root
    drop(photos[1])  # warm-up: model session, first allocations
    if thumbs.exists() and thumbs.is_relative_to(home):
        shutil.rmtree(thumbs)
    results = {"cold": [], "warm": [], "hot": []}
    for q in queries:
        results["cold"].append(drop(q))
    for q in queries:
        window.model.cache = type(window.model.cache)()
        results["warm"].append(drop(q))
    for q in queries:
        results["hot"].append(drop(q))
    print(f"visible cells per screen: {len(visible_rows())}; drops: {len(queries)}; "
          f"platform: {qapp.platformName()}")
    for name, times in results.items():
        ms = sorted(t * 1000 for t in times)
        p90 = ms[int(0.9 * (len(ms) - 1))]
        print(f"drop -> first screenful painted, {name:4}: median {statistics.median(ms):6.0f} ms, "
              f"p90 {p90:6.0f} ms   (target <= 250 ms)")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
