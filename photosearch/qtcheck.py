"""What Qt's platform plugin needs from the system, checked without loading Qt.

Qt aborts the whole process when its platform plugin cannot load, printing only "could not
load the Qt platform plugin xcb". Before that happens we read the plugin's library needs
(ldd) and name the missing ones with the packages that provide them. Not in core/: this is
about the GUI toolkit, though it never imports it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import bundle

QT_DISTRIBUTION = "PySide6-Essentials"

# library file -> (Debian/Ubuntu package, Fedora package)
PACKAGES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor"),
}


@dataclass
class QtCheck:
    platform: str  # the platform plugin Qt will use
    plugin: Path | None
    missing: list[str]  # library files not found
    problem: str | None  # one line, None when Qt can start

    def packages(self) -> tuple[list[str], list[str]]:
        debian = sorted({PACKAGES.get(lib, (lib, lib))[0] for lib in self.missing})
        fedora = sorted({PACKAGES.get(lib, (lib, lib))[1] for lib in self.missing})
        return debian, fedora

    def advice(self) -> list[str]:
        if not self.missing:
            return [self.problem] if self.problem else []
        debian, fedora = self.packages()
        return [self.problem or "", f"  Debian/Ubuntu: sudo apt-get install {' '.join(debian)}",
                f"  Fedora:        sudo dnf install {' '.join(fedora)}"]


def _platform() -> str:
    chosen = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if chosen:
        return chosen
    if os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
        return "wayland"
    return "xcb"


def _missing_libraries(files: list[Path]) -> list[str]:
    missing: list[str] = []
    # the bundle's launcher put its libraries on this process's library path (and
    # bundle.settle_environment took that back from the programs it starts): ldd must look there
    env = None
    bundled = bundle.library_folder()
    if bundled is not None:
        env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(
            p for p in (str(bundled), os.environ.get("LD_LIBRARY_PATH", "")) if p))
    for f in files:
        try:
            out = subprocess.run(["ldd", str(f)], capture_output=True, text=True, timeout=10, env=env).stdout
        except (OSError, subprocess.SubprocessError):
            return []  # no ldd: nothing to say
        for line in out.splitlines():
            if "=> not found" in line:
                lib = line.split("=>")[0].strip()
                if lib not in missing:
                    missing.append(lib)
    return missing


def check() -> QtCheck:
    platform = _platform()
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return QtCheck(platform, None, [], "PySide6 is not installed: pip install photosearch")
    qt = Path(next(iter(spec.submodule_search_locations))) / "Qt"
    plugin = qt / "plugins" / "platforms" / f"libq{platform}.so"
    if not sys.platform.startswith("linux") or platform in ("offscreen", "minimal"):
        return QtCheck(platform, plugin if plugin.exists() else None, [], None)
    if not plugin.exists():
        return QtCheck(platform, None, [], f"Qt has no platform plugin {platform!r} in {plugin.parent}")
    files = [plugin, *sorted((qt / "lib").glob("libQt6XcbQpa.so*"))[:1]] if platform == "xcb" else [plugin]
    missing = _missing_libraries(files)
    if platform == "xcb" and not _has_library("libxcb-cursor.so.0") and "libxcb-cursor.so.0" not in missing:
        missing.append("libxcb-cursor.so.0")  # Qt >= 6.5 opens it at run time: ldd cannot see it
    problem = None
    if missing:
        problem = (f"Qt's platform plugin {platform!r} cannot load: these system libraries are missing: "
                   f"{', '.join(missing)}")
    return QtCheck(platform, plugin, missing, problem)


def _has_library(name: str) -> bool:
    bundled = bundle.library_folder()
    if bundled is not None and (bundled / name).exists():
        return True
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return True  # cannot tell: do not claim it is missing
    return name in out
