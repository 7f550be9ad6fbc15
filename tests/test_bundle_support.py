"""What the app does differently inside the desktop bundle (packaging/build-bundle: PyInstaller
sets sys.frozen, and sys._MEIPASS to the folder of the bundled libraries), checked here from
the test venv; the bundle itself is checked by packaging/check_bundle.py when it is built."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from photosearch import __main__, bundle, desktop_entry, qtcheck
from photosearch.ui.launch import QUIT_WHEN_SHOWN_ENV, SHOWN_LINE
from tests.helpers import REPO


@pytest.fixture
def frozen(monkeypatch, tmp_path):
    """A bundle's executable and library folder, as PyInstaller's launcher sets them."""
    folder = tmp_path / "My Apps" / "photosearch"
    (folder / "_internal").mkdir(parents=True)
    exe = folder / "photosearch"
    exe.write_text("")
    exe.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    monkeypatch.setattr(sys, "_MEIPASS", str(folder / "_internal"), raising=False)
    return folder


def test_install_desktop_from_the_bundle_points_at_the_bundle(frozen, tmp_path, monkeypatch):
    other = tmp_path / "venv-bin"  # a pip-installed photosearch on PATH is not this installation
    other.mkdir()
    (other / "photosearch").write_text("#!/bin/sh\n")
    (other / "photosearch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{other}{os.pathsep}{os.environ['PATH']}")
    written = desktop_entry.install(tmp_path / "xdg-data")
    assert f'Exec="{frozen / "photosearch"}" %F' in written[0].read_text().splitlines()


def test_programs_started_from_the_bundle_get_the_users_library_path_back(frozen, monkeypatch, capsys):
    monkeypatch.setenv("LD_LIBRARY_PATH", f"{frozen / '_internal'}:/home/me/lib")
    monkeypatch.setenv("LD_LIBRARY_PATH_ORIG", "/home/me/lib")
    assert __main__.main(["library", "list"]) == 0
    child = subprocess.run(["sh", "-c", 'echo "[$LD_LIBRARY_PATH]"'], capture_output=True, text=True).stdout
    assert child.strip() == "[/home/me/lib]" and "LD_LIBRARY_PATH_ORIG" not in os.environ

    monkeypatch.setenv("LD_LIBRARY_PATH", str(frozen / "_internal"))  # the person had none
    assert __main__.main(["library", "list"]) == 0
    assert "LD_LIBRARY_PATH" not in os.environ


def test_outside_the_bundle_the_library_path_is_left_alone(monkeypatch):
    monkeypatch.setenv("LD_LIBRARY_PATH", "/home/me/lib")
    assert __main__.main(["library", "list"]) == 0
    assert os.environ["LD_LIBRARY_PATH"] == "/home/me/lib"


@pytest.mark.skipif(shutil.which("ldd") is None, reason="ldd is not installed")
def test_the_qt_check_finds_libraries_the_bundle_brings(frozen, tmp_path, monkeypatch):
    # A real Qt plugin moved away from Qt's own lib folder (which its RUNPATH names): ldd no
    # longer finds libQt6XcbQpa, unless it is told about the bundle's library folder.
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    plugin = tmp_path / "libqxcb.so"
    shutil.copy(qt / "plugins" / "platforms" / "libqxcb.so", plugin)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "empty"))
    assert "libQt6XcbQpa.so.6" in qtcheck._missing_libraries([plugin])
    monkeypatch.setattr(sys, "_MEIPASS", str(qt / "lib"))
    assert "libQt6XcbQpa.so.6" not in qtcheck._missing_libraries([plugin])

    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path))
    (tmp_path / "libxcb-cursor.so.0").write_bytes(b"")
    assert qtcheck._has_library("libxcb-cursor.so.0")


def test_the_start_up_probe_says_when_the_window_is_on_screen_and_closes_it(isolated_home):
    env = dict(os.environ, PHOTOSEARCH_HOME=str(isolated_home), PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen",
               **{QUIT_WHEN_SHOWN_ENV: "1"})
    proc = subprocess.run([sys.executable, "-m", "photosearch"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert SHOWN_LINE in proc.stderr.splitlines() and "Traceback" not in proc.stderr
    assert (isolated_home / "data" / "gui.ini").exists()  # closed as a person closes it: settings saved


def test_the_bundle_finds_the_systems_ca_certificates_where_its_openssl_does_not_look(frozen, tmp_path,
                                                                                       monkeypatch):
    # Built on Debian, the bundle's OpenSSL looks in /usr/lib/ssl; on Fedora nothing is there
    import ssl

    nowhere = ssl.DefaultVerifyPaths(None, None, "SSL_CERT_FILE", str(tmp_path / "cert.pem"), "SSL_CERT_DIR",
                                     str(tmp_path / "certs"))
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: nowhere)
    fedora = tmp_path / "pki" / "ca-bundle.crt"
    fedora.parent.mkdir()
    fedora.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setattr(bundle, "CA_BUNDLES", (str(tmp_path / "debian.crt"), str(fedora)))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    bundle.settle_environment()
    assert os.environ["SSL_CERT_FILE"] == str(fedora)

    monkeypatch.setenv("SSL_CERT_FILE", "/my/own.pem")  # the person's own setting wins
    bundle.settle_environment()
    assert os.environ["SSL_CERT_FILE"] == "/my/own.pem"

    monkeypatch.delenv("SSL_CERT_FILE")  # where OpenSSL finds certificates itself, nothing is set
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: nowhere._replace(cafile=str(fedora)))
    bundle.settle_environment()
    assert "SSL_CERT_FILE" not in os.environ
