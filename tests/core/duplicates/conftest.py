"""A library of real photos with planted copies (needs ../shared: skipped without it)."""

import shutil

import pytest
from PIL import Image

from tests.test_cli import run


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
    run("library", "create", "lib", folder, "--model", model, "--precision", "fp32", home=isolated_home)
    run("index", home=isolated_home)
    return folder, originals
