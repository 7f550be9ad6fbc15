"""Where photosearch keeps its files.

Everything lives under platformdirs' per-user locations, unless PHOTOSEARCH_HOME
names a base folder (portable installs, tests): then data and cache both live
under it and nothing is written anywhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "photosearch"
HOME_ENV = "PHOTOSEARCH_HOME"


@dataclass(frozen=True)
class AppDirs:
    data: Path
    cache: Path

    @property
    def libraries(self) -> Path:
        return self.data / "libraries"

    @property
    def models(self) -> Path:
        return self.data / "models"

    @property
    def settings_file(self) -> Path:
        return self.data / "settings.json"

    @property
    def thumbnails(self) -> Path:
        return self.cache / "thumbnails"

    @property
    def prepared_models(self) -> Path:
        return self.cache / "prepared-models"


def app_dirs(home: str | os.PathLike[str] | None = None) -> AppDirs:
    home = home if home is not None else os.environ.get(HOME_ENV)
    if home:
        base = Path(home).expanduser().absolute()
        return AppDirs(data=base / "data", cache=base / "cache")
    return AppDirs(
        data=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        cache=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
    )
