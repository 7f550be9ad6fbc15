import os

# Before anything imports Qt: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil

import pytest
from PIL import Image

from tests import helpers

# .ci/run sets PHOTOSEARCH_REQUIRE_SHARED=1: there, a test that would be skipped for want of ../shared
# (the duplicates tests, the real models and photos) fails instead, so that a CI run without the
# test data cannot pass while testing less than it claims.
SHARED_MISSING = "../shared is not present"  # every skip for want of it names ../shared


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("PHOTOSEARCH_REQUIRE_SHARED") == "1" and report.skipped and isinstance(report.longrepr, tuple) \
            and "../shared" in str(report.longrepr[2]):
        report.outcome = "failed"
        report.longrepr = (f"{report.longrepr[2]} (PHOTOSEARCH_REQUIRE_SHARED=1: .ci/run needs ../shared "
                           "beside the checkout)")


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
        pytest.skip(f"{SHARED_MISSING} (real photos and models live there)")
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
