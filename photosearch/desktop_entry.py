"""Desktop integration for a pip install: the .desktop file, the AppStream metadata and the
icon, copied into the XDG data folders (what a distribution package puts under /usr/share)."""

from __future__ import annotations

import os
import shutil
import sysconfig
from importlib import resources
from pathlib import Path

from . import bundle

APP_ID = "io.github.photosearch.Photosearch"


def source_files() -> dict[str, Path]:
    """The three files as shipped in the package, by kind."""
    folder = Path(str(resources.files("photosearch") / "data" / "desktop"))
    return {"desktop": folder / f"{APP_ID}.desktop", "metainfo": folder / f"{APP_ID}.metainfo.xml",
            "icon": folder / f"{APP_ID}.svg"}


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def targets(base: Path | None = None) -> dict[str, Path]:
    base = base or data_home()
    return {"desktop": base / "applications" / f"{APP_ID}.desktop",
            "metainfo": base / "metainfo" / f"{APP_ID}.metainfo.xml",
            "icon": base / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"}


def this_executable() -> str:
    """The command that starts this installation, by its full path (a venv's bin folder is not
    on the desktop's PATH): the bundle's own executable (sys.executable is the bundle's
    launcher there, not a Python), else the `photosearch` pip put beside this Python (found
    also when it was started by its path, with its folder not on PATH), else the one on PATH."""
    if bundle.frozen():
        return str(bundle.executable())
    beside = Path(sysconfig.get_path("scripts")) / "photosearch"
    if beside.is_file():
        return str(beside)
    return shutil.which("photosearch") or "photosearch"


def install(base: Path | None = None, command: str | None = None) -> list[Path]:
    """Copy the files; the desktop entry's Exec points at this installation's `photosearch`.
    Returns the written paths."""
    written = []
    exe = command or this_executable()
    for kind, src in source_files().items():
        dest = targets(base)[kind]
        dest.parent.mkdir(parents=True, exist_ok=True)
        if kind == "desktop":
            text = src.read_text(encoding="utf-8")
            text = "\n".join(f"Exec={_quote(exe)} %F" if line.startswith("Exec=") else line
                             for line in text.splitlines()) + "\n"
            tmp = dest.with_name(dest.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, dest)
        else:
            shutil.copyfile(src, dest)
        written.append(dest)
    return written


def uninstall(base: Path | None = None) -> list[Path]:
    removed = []
    for dest in targets(base).values():
        if dest.exists():
            dest.unlink()
            removed.append(dest)
    return removed


def _quote(path: str) -> str:
    # the Desktop Entry spec's quoting: a path with spaces goes in double quotes
    if any(c in path for c in ' \t"\\`$'):
        escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
        return f'"{escaped}"'
    return path
