"""Fixtures of the duplicates tests that act on files: a library made from a layout of photos, the
tiny model, a trash of the test's own."""

from __future__ import annotations

import os
import shutil

import pytest

from tests import helpers
from tests.test_cli import run


@pytest.fixture
def make_lib(isolated_home, tmp_path, model):
    """make_lib(layout) -> photos folder: {relative path: photo seed | "=other/path" (a byte copy) |
    "->target" (a link) | bytes}, indexed into library 'lib'."""
    def make(layout: dict[str, object], root=None):
        photos = root or tmp_path / "photos"
        for rel, what in layout.items():
            path = photos / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(what, int):
                helpers.save_jpeg(helpers.make_photo(what), path)
            elif isinstance(what, bytes):
                path.write_bytes(what)
            elif what.startswith("="):
                shutil.copy(photos / what[1:], path)
            else:
                os.symlink(what[2:], path)
        run("library", "create", "lib", photos, "--model", model, "--precision", "fp32", home=isolated_home)
        run("index", home=isolated_home)
        return photos
    return make


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return helpers.tiny_convnet(tmp_path_factory.mktemp("model") / "tiny_convnet.onnx")


@pytest.fixture
def trash(tmp_path, monkeypatch):
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_DATA_HOME", str(xdg))  # the spawned commands inherit it
    return xdg / "Trash"
