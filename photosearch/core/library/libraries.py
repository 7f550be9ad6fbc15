"""Named libraries: a set of folders, a model, and a storage folder of their own.

    <data>/libraries/<name>/library.json    folders, model, dimension, index settings
                            catalog.sqlite  photos + vectors (WAL)
                            index.hnsw      HNSW index (a cache of the vectors)
                            index.json      what the saved index reflects
                            whitening.npz   learned from the library's vectors (may be absent)
                            projection.npz  PCA for the compact index of big libraries
                            norms.npy       whitened part lengths (compact index only)
                            writer.lock     one writer at a time
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import load_dataclass
from ..errors import ConfigError, FolderError, LibraryExists, LibraryIncompatible, LibraryNotFound, PhotosearchError
from ..fsutil import read_json, write_json_atomic
from ..index.vector_index import IndexParams, VectorIndex
from ..vision.descriptor import CONFIGS, DescriptorConfig
from .catalog import SCHEMA_VERSION, Catalog
from .lock import WriterLock
from .paths import AppDirs

CONFIG_VERSION = 3


def _drop_retired_descriptor_keys(d: dict[str, Any]) -> None:
    """v1 -> v2: early libraries recorded a 'hybrid' score setting, always off; it is gone."""
    descriptor = d.get("descriptor")
    if isinstance(descriptor, dict) and descriptor.get("hybrid") is False:
        del descriptor["hybrid"]


# Ordered migrations of library.json: CONFIG_MIGRATIONS[v] turns version v into v + 1.
def _record_fp32(d: dict[str, Any]) -> None:
    """v2 -> v3: libraries indexed before precision was a setting ran the model at fp32."""
    if d.get("dim"):
        d["precision_used"] = "fp32"


CONFIG_MIGRATIONS: dict[int, Callable[[dict[str, Any]], None]] = {
    1: _drop_retired_descriptor_keys,
    2: _record_fp32,
}
_NAME_RE = re.compile(r"^[\w][\w .@+-]{0,63}$")


@dataclass
class LibraryConfig:
    name: str
    roots: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    skip_hidden: bool = True
    model: dict[str, Any] | None = None  # ModelSpec.describe() of the model the vectors come from
    dim: int | None = None
    descriptor: dict[str, Any] | None = None  # DescriptorConfig the vectors were made with (None: the default)
    vector_dtype: str = "float16"
    precision: str = "auto"  # the user's setting: auto (int8 on a CPU when it passes its check), fp32, int8
    precision_used: str | None = None  # what the vectors were made with (None: no vectors yet)
    int8: dict[str, Any] | None = None  # the int8 model: file, checksum, calibration and its check
    index: dict[str, Any] = field(default_factory=lambda: IndexParams().to_dict())
    created: float = field(default_factory=time.time)
    version: int = CONFIG_VERSION
    schema: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LibraryConfig:
        version = d.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ConfigError(f"library.json: version {version!r} is not a version")
        if version > CONFIG_VERSION:
            raise LibraryIncompatible(
                f"library {d.get('name')!r} was written by a newer photosearch (library.json version {version}, "
                f"this one knows {CONFIG_VERSION}); update photosearch to open it"
            )
        migrated = json.loads(json.dumps(dict(d)))  # a deep copy: the caller's dict is not changed
        while version < CONFIG_VERSION:
            CONFIG_MIGRATIONS[version](migrated)
            version += 1
        migrated["version"] = version
        return load_dataclass(cls, migrated, "library.json")


def check_name(name: str) -> str:
    name = name.strip()
    if not _NAME_RE.match(name) or name in (".", ".."):
        raise PhotosearchError(
            f"invalid library name {name!r}: use letters, digits, spaces and . _ - @ + (at most 64)"
        )
    return name


def check_folder(folder: str | Path) -> str:
    path = Path(folder).expanduser()
    if not path.exists():
        raise FolderError(f"folder does not exist: {folder}")
    if not path.is_dir():
        raise FolderError(f"not a folder: {folder}")
    return str(path.resolve())


class Library:
    """An open library. Readers and the single writer each open their own."""

    def __init__(self, folder: Path, config: LibraryConfig, writable: bool):
        self.folder = Path(folder)
        self.config = config
        self.writable = writable
        self._lock = WriterLock(self.folder / "writer.lock", f"library {config.name!r}")
        if writable:
            self._lock.acquire()
        self.notices: list[str] = []
        try:
            self.catalog = self._open_catalog()
            if int(self.catalog.meta("schema") or 1) > SCHEMA_VERSION:
                raise LibraryIncompatible(f"library {config.name!r} was written by a newer photosearch")
            if self.catalog.outdated is not None:
                self.notices.append(f"library {config.name!r} was written by an older photosearch (catalog schema "
                                    f"{self.catalog.outdated}); it is read as it is, unchanged: indexing it "
                                    "(photosearch index, or the app) brings it up to date")
            if writable and read_json(self.config_file, default={}).get("version") != config.version:
                self.save_config()  # library.json was migrated in memory: write it in today's format
        except BaseException:
            self._lock.release()
            raise
        self._index: VectorIndex | None = None
        self._index_lock = threading.Lock()

    def _open_catalog(self) -> Catalog:
        path = self.folder / "catalog.sqlite"
        try:
            catalog = Catalog(path, dim=self.config.dim, vector_dtype=self.config.vector_dtype,
                              readonly=not self.writable)
            problem = catalog.check()
        except sqlite3.DatabaseError as exc:
            catalog, problem = None, str(exc)
        if problem is None and catalog is not None:
            return catalog
        if catalog is not None:
            catalog.close()
        if not self.writable:
            raise LibraryIncompatible(f"the catalog of library {self.name!r} is damaged ({problem}); "
                                      "open it for indexing to repair it")
        # Keep the damaged file for the curious, start a fresh catalog: the next scan
        # finds every photo again, and the index is rebuilt to match.
        aside = path.with_name(f"catalog.damaged-{int(time.time())}.sqlite")
        for suffix in ("", "-wal", "-shm"):
            src = path.with_name(path.name + suffix)
            if src.exists():
                os.replace(src, aside.with_name(aside.name + suffix))
        self.notices.append(f"The catalog of library {self.name!r} was damaged ({problem}); it was set aside "
                            f"as {aside.name} and your photos will be indexed again")
        return Catalog(path, dim=self.config.dim, vector_dtype=self.config.vector_dtype)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def config_file(self) -> Path:
        return self.folder / "library.json"

    def save_config(self) -> None:
        write_json_atomic(self.config_file, self.config.to_dict())

    def reload_config(self) -> None:
        self.config = LibraryConfig.from_dict(read_json(self.config_file))

    @property
    def index(self) -> VectorIndex | None:
        """The search index, loaded (and repaired if need be) on first use; None before any vector."""
        return self.ensure_index() if self.config.dim else None

    def ensure_index(self) -> VectorIndex:
        # the GUI thread (searching) and the indexing thread may both ask first: one index only
        with self._index_lock:
            if self._index is None:
                self._index = self.open_index()
            return self._index

    def drop_index(self) -> None:
        with self._index_lock:
            self._index = None

    @property
    def descriptor(self) -> DescriptorConfig:
        """The descriptor settings the library's vectors are made with."""
        if self.config.descriptor is None and self.config.dim:
            return CONFIGS["avg"]  # indexed before settings were recorded: plain pooling
        return DescriptorConfig.from_dict(self.config.descriptor)

    def open_index(self, on_notice: Callable[[str], None] | None = None) -> VectorIndex:
        if not self.config.dim:
            raise LibraryIncompatible(f"library {self.name!r} has no vectors yet")
        index = VectorIndex(self.folder, self.config.dim, IndexParams.from_dict(self.config.index),
                            whitening=self.descriptor.whitening())
        changed = index.open(self.catalog, on_notice=on_notice or self.notices.append)
        if self.writable and changed:
            # persist a repaired or caught-up index at once
            index.save(self.catalog)
        return index

    def refresh(self) -> None:
        """Catch up with changes another process (the indexer) has committed."""
        if self._index is not None and not self.writable:
            self._index.catch_up(self.catalog)
        elif self._index is None and not self.writable:
            self.reload_config()
            self.catalog.dim = self.config.dim

    def forget(self, photo_ids: Iterable[int]) -> None:
        """Drop photos from the catalog and the index (they were deleted by the user)."""
        ids = [int(i) for i in photo_ids]
        if not ids:
            return
        self.catalog.remove(ids)
        if self._index is not None:
            self._index.remove(ids)
            self._index.note_seq(self.catalog.seq)

    def set_folders(self, folders: list[str]) -> None:
        """The folders this library indexes (an open, writable library: the GUI's Folders dialog)."""
        if not self.writable:
            raise PhotosearchError(f"library {self.name!r} is open read-only; its folders cannot change")
        self.config.roots = sorted({check_folder(f) for f in folders})
        self.save_config()

    def set_precision(self, precision: str, reindex: bool = False) -> None:
        """The model's arithmetic for this library (auto, fp32, int8). A library's vectors come from
        one precision: moving an indexed library to another one needs a re-index."""
        from ..pipeline.precision import PRECISIONS

        if precision not in PRECISIONS:
            raise PhotosearchError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
        used = self.config.precision_used
        if used and precision != "auto" and precision != used and not reindex and self.catalog.vector_count():
            raise LibraryIncompatible(
                f"library {self.name!r} was indexed at {used}; its vectors would not match {precision} ones. "
                f"Re-index it: photosearch index --reindex --precision {precision}")
        self.config.precision = precision
        self.save_config()

    def forget_missing(self) -> int:
        """Forget the photos whose files are missing, vectors and all (the user asked to)."""
        ids = self.catalog.missing()
        self.forget(ids)
        return len(ids)

    def reset_vectors(self, forget_model: bool = False) -> None:
        """Forget every vector (another model is coming): all photos become pending.

        `forget_model`: the next indexing pass takes the default model instead of the recorded one."""
        if forget_model:
            self.config.model = None
            self.config.precision_used = None  # decided again (the int8 model file stays: a cache)
            self.config.int8 = None
            self.save_config()
        with self.catalog.transaction() as c:
            c.execute("DELETE FROM vectors")
            c.execute("DELETE FROM tombstones")
            c.execute("DELETE FROM labels")
            c.execute("DELETE FROM regions")  # the model's, like the vectors
            c.execute("DELETE FROM dup_pairs")
            c.execute("DELETE FROM meta WHERE key='dup_seq'")
            c.execute("UPDATE photos SET status=0")
        for f in ("index.hnsw", "index.json", "projection.npz", "whitening.npz", "norms.npy"):
            (self.folder / f).unlink(missing_ok=True)
        with self._index_lock:
            self._index = None

    def close(self) -> None:
        self.catalog.close()
        self._lock.release()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Libraries:
    """All libraries under one data folder, and the default one."""

    def __init__(self, dirs: AppDirs, on_notice: Callable[[str], None] | None = None):
        self.dirs = dirs
        self.on_notice = on_notice  # what a read-only open has to say (an older catalog, read as it is)

    def folder(self, name: str) -> Path:
        return self.dirs.libraries / check_name(name)

    def names(self) -> list[str]:
        root = self.dirs.libraries
        if not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir() if (p / "library.json").is_file())

    def config(self, name: str) -> LibraryConfig:
        folder = self.folder(name)
        if not (folder / "library.json").is_file():
            raise LibraryNotFound(self._not_found(name))
        try:
            return LibraryConfig.from_dict(read_json(folder / "library.json"))
        except ValueError as exc:
            raise LibraryIncompatible(f"library {name!r} has a damaged library.json: {exc}") from exc

    def _not_found(self, name: str) -> str:
        known = self.names()
        hint = f"; known libraries: {', '.join(known)}" if known else "; create one with 'photosearch library create'"
        return f"no library named {name!r}{hint}"

    def settings(self) -> dict[str, Any]:
        try:
            return read_json(self.dirs.settings_file, default={})
        except ValueError:
            return {}

    def update_settings(self, **values: Any) -> None:
        settings = self.settings()
        settings.update(values)
        write_json_atomic(self.dirs.settings_file, settings)

    def default_name(self) -> str | None:
        names = self.names()
        chosen = self.settings().get("default_library")
        if chosen in names:
            return chosen
        return names[0] if len(names) == 1 else None

    def resolve(self, name: str | None) -> str:
        if name:
            if name not in self.names():
                raise LibraryNotFound(self._not_found(name))
            return name
        default = self.default_name()
        if default:
            return default
        if not self.names():
            raise LibraryNotFound("no library yet; create one with 'photosearch library create NAME FOLDER...'")
        raise LibraryNotFound(f"several libraries exist ({', '.join(self.names())}); choose one with --library NAME")

    def create(self, name: str, roots: list[str], model: dict[str, Any] | None = None,
               precision: str = "auto") -> LibraryConfig:
        name = check_name(name)
        folder = self.folder(name)
        if (folder / "library.json").exists():
            raise LibraryExists(f"a library named {name!r} already exists")
        if precision not in ("auto", "fp32", "int8"):
            raise PhotosearchError(f"unknown precision {precision!r}; choose auto, fp32 or int8")
        config = LibraryConfig(name=name, roots=sorted({check_folder(r) for r in roots}), model=model,
                               precision=precision)
        folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(folder / "library.json", config.to_dict())
        if self.settings().get("default_library") not in self.names():
            self.update_settings(default_library=name)  # the first library becomes the default
        return config

    def open(self, name: str | None = None, write: bool = False) -> Library:
        name = self.resolve(name)
        library = Library(self.folder(name), self.config(name), writable=write)
        if not write and self.on_notice is not None:
            for notice in library.notices:
                self.on_notice(notice)
        return library

    def delete(self, name: str) -> None:
        folder = self.folder(name)
        if not folder.exists():
            raise LibraryNotFound(self._not_found(name))
        with WriterLock(folder / "writer.lock", f"library {name!r}"):
            trash = folder.with_name(f".deleting-{folder.name}-{int(time.time())}")
            folder.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)
        if self.settings().get("default_library") == name:
            self.update_settings(default_library=None)

    def rename(self, old: str, new: str) -> None:
        new = check_name(new)
        src, dst = self.folder(old), self.folder(new)
        if not src.exists():
            raise LibraryNotFound(self._not_found(old))
        if dst.exists():
            raise LibraryExists(f"a library named {new!r} already exists")
        with WriterLock(src / "writer.lock", f"library {old!r}"):
            config = self.config(old)
            config.name = new
            write_json_atomic(src / "library.json", config.to_dict())
            src.rename(dst)
        if self.settings().get("default_library") == old:
            self.update_settings(default_library=new)

    def add_folders(self, name: str, folders: list[str]) -> LibraryConfig:
        checked = [check_folder(f) for f in folders]
        return self.update(name, lambda c: c.roots.extend(f for f in checked if f not in c.roots))

    def remove_folders(self, name: str, folders: list[str]) -> LibraryConfig:
        """Folders as the user typed them: relative, with ~, or exactly as listed."""
        def remove(c: LibraryConfig) -> None:
            def key(f: str) -> str:
                return str(Path(f).expanduser().resolve())
            missing = [f for f in folders if f not in c.roots and key(f) not in c.roots]
            if missing:
                raise PhotosearchError(f"not a folder of library {c.name!r}: {', '.join(missing)}")
            targets = {key(f) for f in folders} | set(folders)
            c.roots[:] = [r for r in c.roots if r not in targets]
        return self.update(name, remove)

    def set_folders(self, name: str, folders: list[str]) -> LibraryConfig:
        checked = sorted({check_folder(f) for f in folders})
        return self.update(name, lambda c: setattr(c, "roots", checked))

    def set_scan_options(self, name: str, exclude: list[str], include_hidden: bool) -> LibraryConfig:
        def change(c: LibraryConfig) -> None:
            c.exclude = list(exclude)
            c.skip_hidden = not include_hidden
        return self.update(name, change)

    def update(self, name: str, change: Callable[[LibraryConfig], None]) -> LibraryConfig:
        """Change a library's settings under its writer lock."""
        folder = self.folder(self.resolve(name))
        with WriterLock(folder / "writer.lock", f"library {name!r}"):
            config = self.config(name)
            change(config)
            write_json_atomic(folder / "library.json", config.to_dict())
        return config
