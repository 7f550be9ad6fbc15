"""How results are shown: minimum similarity, how many, thumbnail size, scores."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QLabel, QSizePolicy, QSlider, QSpinBox, QToolBar, QWidget

DEFAULT_K = 200


class ViewOptions(QObject):
    refine_requested = Signal()  # count or threshold changed (debounced while a slider moves)
    thumbnail_size_changed = Signal(int)
    scores_toggled = Signal(bool)

    def __init__(self, settings: QSettings, parent: QObject | None = None):
        super().__init__(parent)
        self.settings = settings
        self.toolbar = bar = QToolBar("View")
        bar.setObjectName("view-toolbar")
        bar.setMovable(False)
        bar.addWidget(QLabel("Min. similarity "))
        self.min_slider = QSlider(Qt.Orientation.Horizontal)
        self.min_slider.setRange(0, 100)
        self.min_slider.setFixedWidth(110)
        self.min_label = QLabel(" 0% ")
        self.min_slider.valueChanged.connect(self._changed)
        bar.addWidget(self.min_slider)
        bar.addWidget(self.min_label)
        bar.addWidget(QLabel(" Results "))
        self.k_box = QSpinBox()
        self.k_box.setRange(1, 100000)
        self.k_box.setValue(DEFAULT_K)
        self.k_box.setSingleStep(50)
        self.k_box.valueChanged.connect(self._changed)
        bar.addWidget(self.k_box)
        bar.addWidget(QLabel("  Size "))
        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setRange(96, 360)
        self.zoom.setFixedWidth(100)
        self.zoom.valueChanged.connect(self.thumbnail_size_changed)
        bar.addWidget(self.zoom)
        self.scores_box = QCheckBox("Scores")
        self.scores_box.setToolTip("Always show the similarity on each photo (otherwise on hover)")
        self.scores_box.toggled.connect(self.scores_toggled)
        bar.addWidget(self.scores_box)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self._timer = QTimer(self, singleShot=True, interval=120)
        self._timer.timeout.connect(self.refine_requested)

    def k(self) -> int:
        return int(self.k_box.value())

    def min_score(self) -> float:
        """The slider's threshold; at 0 there is none (cosine can be negative)."""
        value = self.min_slider.value()
        return value / 100.0 if value > 0 else -1.0

    def _changed(self) -> None:
        self.min_label.setText(f" {self.min_slider.value()}% ")
        self._timer.start()

    def restore(self) -> None:
        self.zoom.setValue(int(str(self.settings.value("thumbnail_size", 180))))
        self.thumbnail_size_changed.emit(self.zoom.value())
        self.scores_box.setChecked(self.settings.value("always_show_scores", "false") in ("true", True))
        self.k_box.setValue(int(str(self.settings.value("results", DEFAULT_K))))
        self._timer.stop()  # restoring is not a request to search again

    def save(self) -> None:
        self.settings.setValue("thumbnail_size", self.zoom.value())
        self.settings.setValue("always_show_scores", self.scores_box.isChecked())
        self.settings.setValue("results", self.k_box.value())
