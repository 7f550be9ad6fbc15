"""The wheel, installed as pip installs it for a user (not editable), works from any folder."""

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.helpers import REPO


def _run(command, **kwargs):
    proc = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, f"{command}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_the_wheel_installs_into_a_fresh_venv_indexes_searches_and_installs_its_desktop_entry(
        tmp_path, photo_folder, classifier_model):
    # Built from a copy of what the wheel is made of: a build in the checkout leaves build/ and
    # *.egg-info there. Without build isolation (setuptools comes with the test extra), so the
    # test downloads nothing and saves the seconds an isolated build environment costs.
    src = tmp_path / "src"
    shutil.copytree(REPO / "photosearch", src / "photosearch", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
          "-w", tmp_path / "wheels", src])
    wheel = next((tmp_path / "wheels").glob("photosearch-*.whl"))

    # A fresh venv, but CI has 2 cores and minutes: instead of installing PySide6, ONNX Runtime
    # and the rest again, a .pth lends it this test venv's installed packages, and the wheel is
    # installed with --no-deps. What the wheel itself holds (modules, package data, entry
    # points) is still all that the fresh venv has of photosearch: a .pth line adds a folder to
    # sys.path without reading the .pth files in it, so the editable install's finder stays out.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    venv_python = venv / "bin" / "python"
    purelib = Path(_run([venv_python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                   .stdout.strip())
    (purelib / "borrowed-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", venv_python, "install", "-q", "--no-deps", "--no-index", wheel])

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # the venv is not on PATH: started by its path, as a desktop or a script starts it
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin",
           "PHOTOSEARCH_HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
           "QT_QPA_PLATFORM": "offscreen"}
    where = _run([venv_python, "-c", "import photosearch; print(photosearch.__file__)"], env=env, cwd=elsewhere)
    assert Path(where.stdout.strip()).is_relative_to(purelib)

    def photosearch(*args):
        return _run([venv / "bin" / "photosearch", *args], env=env, cwd=elsewhere).stdout

    photosearch("library", "create", "lib", photo_folder, "--model", classifier_model)
    assert "12 embedded" in photosearch("index")
    hits = json.loads(photosearch("search", photo_folder / "photo_03.jpg", "-k", "3", "--json"))["hits"]
    assert hits[0]["path"] == str(photo_folder / "photo_03.jpg")

    out = photosearch("--install-desktop")
    desktop = tmp_path / "xdg-data" / "applications" / "io.github.photosearch.Photosearch.desktop"
    icon = tmp_path / "xdg-data" / "icons" / "hicolor" / "scalable" / "apps" / "io.github.photosearch.Photosearch.svg"
    assert str(desktop) in out and icon.is_file()
    assert f"Exec={venv / 'bin' / 'photosearch'} %F" in desktop.read_text().splitlines()
