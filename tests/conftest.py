import os

# Before anything imports Qt: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil

import pytest
from PIL import Image

from tests import helpers


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own PHOTOSEARCH_HOME: nothing touches the real user folders."""
    home = tmp_path / "ps-home"
    monkeypatch.setenv("PHOTOSEARCH_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def classifier_model(models_dir):
    return helpers.tiny_classifier(models_dir / "tiny_classifier.onnx")


@pytest.fixture(scope="session")
def convnet_model(models_dir):
    return helpers.tiny_convnet(models_dir / "tiny_convnet.onnx")


@pytest.fixture(scope="session")
def embedder_model(models_dir):
    return helpers.tiny_embedder(models_dir / "tiny_embedder.onnx")


@pytest.fixture
def app(isolated_home):
    from photosearch.core.app import App
    from photosearch.core.library.paths import app_dirs

    return App(dirs=app_dirs(isolated_home), device="cpu")


@pytest.fixture
def photo_folder(tmp_path):
    """A folder of 12 distinct generated photos."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(12):
        helpers.save_jpeg(helpers.make_photo(i), folder / f"photo_{i:02d}.jpg")
    return folder


@pytest.fixture
def shared():
    path = helpers.shared_dir()
    if path is None:
        pytest.skip("../shared is not present (real photos and models live there)")
    return path


@pytest.fixture
def planted(isolated_home, shared, tmp_path):
    """Real photos and edited copies of three of them, indexed with the real EfficientNet-Lite0."""
    folder = tmp_path / "photos"
    (folder / "trip").mkdir(parents=True)
    originals = sorted((shared / "data" / "photos" / "imagenet_sample").glob("*.JPEG"))[:24]
    for p in originals:
        shutil.copy(p, folder / p.name)
    for p in originals[:3]:
        img = Image.open(p).convert("RGB")
        img.resize((img.width // 2, img.height // 2)).save(folder / "trip" / f"small-{p.stem}.jpg", quality=70)
    model = shared / "models" / "efficientnet_lite0_fp32.onnx"
    from tests.test_cli import run

    run("library", "create", "lib", folder, "--model", model, "--precision", "fp32", home=isolated_home)
    run("index", home=isolated_home)
    return folder, originals
