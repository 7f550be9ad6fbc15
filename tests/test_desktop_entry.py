"""Desktop integration: what --install-desktop writes is valid and points at this install."""

import shutil
import subprocess

import pytest

from photosearch import desktop_entry
from tests.test_cli import run


def _validate(tool: str, *args: str):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (Debian: apt-get install "
                    f"{'desktop-file-utils' if tool == 'desktop-file-validate' else 'appstream'})")
    return subprocess.run([tool, *args], capture_output=True, text=True)


def test_install_desktop_writes_the_three_files_under_xdg_data_home(isolated_home, tmp_path):
    data = tmp_path / "xdg-data"
    out = run("--install-desktop", home=isolated_home, XDG_DATA_HOME=str(data)).stdout
    files = desktop_entry.targets(data)
    assert all(p.is_file() for p in files.values()) and str(files["desktop"]) in out
    exec_line = next(line for line in files["desktop"].read_text().splitlines() if line.startswith("Exec="))
    assert exec_line.endswith(" %F") and "photosearch" in exec_line
    run("--uninstall-desktop", home=isolated_home, XDG_DATA_HOME=str(data))
    assert not any(p.exists() for p in files.values())


def test_the_desktop_file_is_valid(tmp_path):
    written = desktop_entry.install(tmp_path, command="/opt/my photos/bin/photosearch")
    for desktop in (desktop_entry.source_files()["desktop"], written[0]):
        proc = _validate("desktop-file-validate", str(desktop))
        assert proc.returncode == 0 and "error" not in proc.stdout.lower(), proc.stdout + proc.stderr
    assert 'Exec="/opt/my photos/bin/photosearch" %F' in written[0].read_text()


def test_the_appstream_metadata_is_valid():
    proc = _validate("appstreamcli", "validate", "--no-net", str(desktop_entry.source_files()["metainfo"]))
    assert proc.returncode == 0, proc.stdout + proc.stderr
