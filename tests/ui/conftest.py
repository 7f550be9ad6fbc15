import pytest
from PySide6.QtCore import QSettings


@pytest.fixture
def indexed_app(app, photo_folder, classifier_model):
    """An App with one library of 12 generated photos, already indexed."""
    from photosearch.core.pipeline.indexer import index_library

    app.libraries.create("lib", [str(photo_folder)], model=app.model_spec(classifier_model).describe())
    with app.libraries.open("lib", write=True) as lib:
        index_library(lib, app.embedder_for(lib))
    return app


@pytest.fixture
def window(qtbot, indexed_app, tmp_path):
    from photosearch.ui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    w = MainWindow(indexed_app, settings=settings, auto_index=False)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()
