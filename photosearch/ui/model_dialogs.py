"""Choosing and downloading a model from the GUI."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QWidget

from ..core.app import App
from ..core.errors import PhotosearchError
from ..core.models import effnet_lite


class _Relay(QObject):
    progress = Signal(int, int)
    finished = Signal(str)  # "" on success, else the error message


def download_model(parent: QWidget, app: App, name: str) -> bool:
    """Download (or build) a known model with a progress dialog and Cancel. True if installed."""
    entry = app.models.known[name]
    dialog = QProgressDialog(f"Getting {entry.title}…", "Cancel", 0, 100, parent)
    dialog.setWindowTitle("Model")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    if entry.size is None:
        dialog.setRange(0, 0)  # building: no byte count
    relay = _Relay()
    cancel = threading.Event()
    outcome: list[str] = []

    def on_progress(done: int, total: int | None) -> None:
        relay.progress.emit(done, total or 0)

    def work() -> None:
        try:
            app.models.install(name, on_progress=on_progress, cancel=cancel)
            relay.finished.emit("")
        except PhotosearchError as exc:
            relay.finished.emit(str(exc))
        except Exception as exc:  # a bug; keep the app alive and say so
            relay.finished.emit(f"internal error: {exc}")

    def show(done: int, total: int) -> None:
        if total:
            dialog.setMaximum(1000)
            dialog.setValue(int(done * 1000 / total))
            dialog.setLabelText(f"Downloading {entry.title}: {done / 1e6:.1f} of {total / 1e6:.1f} MB")

    def finish(message: str) -> None:
        outcome.append(message)
        dialog.close()

    relay.progress.connect(show)
    relay.finished.connect(finish)
    dialog.canceled.connect(cancel.set)
    thread = threading.Thread(target=work, name="photosearch-download", daemon=True)
    thread.start()
    dialog.exec()
    cancel.set()  # closing the dialog any other way also stops the download
    thread.join()
    relay.deleteLater()
    from PySide6.QtCore import QCoreApplication

    QCoreApplication.processEvents()
    message = outcome[0] if outcome else "stopped"
    if message:
        if not cancel.is_set() or outcome:
            QMessageBox.warning(parent, "Model", f"The model could not be installed:\n\n{message}")
        return False
    return True


def choose_model(parent: QWidget, app: App) -> str | None:
    """Ask the user for a model when none is installed; returns a model name or file, or None."""
    box = QMessageBox(parent)
    box.setWindowTitle("Choose a model")
    box.setIcon(QMessageBox.Icon.Question)
    box.setText("photosearch needs an image model to index your photos.")
    box.setInformativeText(
        "ResNet-50 is the recommended model (a one-time 103 MB download). The offline model works "
        "without the internet. You can also use your own ONNX model file.")
    resnet = box.addButton("Download ResNet-50", QMessageBox.ButtonRole.AcceptRole)
    offline = box.addButton("Use the offline model", QMessageBox.ButtonRole.AcceptRole)
    offline.setEnabled(effnet_lite.weights_file() is not None or app.models.is_installed("efficientnet-lite0"))
    own = box.addButton("Choose a file…", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    clicked = box.clickedButton()
    if clicked is resnet:
        if download_model(parent, app, "resnet50"):
            return "resnet50"
        if offline.isEnabled():  # no internet: the offline model still gets the user going
            QMessageBox.information(parent, "Model", "ResNet-50 could not be downloaded, so the offline model "
                                    "(EfficientNet-Lite0) is used. You can download ResNet-50 later from "
                                    "the library menu (⋯ → Model…).")
            if app.models.is_installed("efficientnet-lite0") or download_model(parent, app, "efficientnet-lite0"):
                return "efficientnet-lite0"
        return None
    if clicked is offline:
        if app.models.is_installed("efficientnet-lite0") or download_model(parent, app, "efficientnet-lite0"):
            return "efficientnet-lite0"
        return None
    if clicked is own:
        path, _ = QFileDialog.getOpenFileName(parent, "Choose an ONNX image model", "", "ONNX models (*.onnx)")
        return path or None
    return None
