"""Acting on duplicates without ever losing a photo: the others of a group go to the trash
(the freedesktop trash, with its .trashinfo, so file managers can restore them too) or to a
folder the user chose; every move is journalled in the catalog and the last batch can be undone.

A photo moved away keeps its vector (it becomes *missing*), so undoing costs no embedding.
"""

from __future__ import annotations

import datetime
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ..errors import PhotosearchError
from ..library.libraries import Library


@dataclass(frozen=True)
class Moved:
    photo_id: int | None
    path: str
    dest: str


def trash_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "Trash"


def _unique(folder: Path, name: str) -> Path:
    stem, suffix = os.path.splitext(name)
    candidate, n = folder / name, 2
    while candidate.exists() or candidate.is_symlink():
        candidate, n = folder / f"{stem}.{n}{suffix}", n + 1
    return candidate


def _move(src: str, dest: Path) -> None:
    """Rename, or copy then remove across file systems: the source goes only once the copy is whole."""
    try:
        os.rename(src, dest)
    except OSError as exc:
        if exc.errno != 18:  # EXDEV: another file system
            raise
        shutil.copy2(src, dest)
        with open(dest, "rb") as f:
            os.fsync(f.fileno())
        os.unlink(src)


def to_trash(path: str) -> str:
    """Move a file to the user's trash (freedesktop spec); returns where it went."""
    trash = trash_dir()
    (trash / "files").mkdir(parents=True, exist_ok=True, mode=0o700)
    (trash / "info").mkdir(parents=True, exist_ok=True, mode=0o700)
    dest = _unique(trash / "files", os.path.basename(path))
    info = trash / "info" / f"{dest.name}.trashinfo"
    stamp = datetime.datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    info.write_text(f"[Trash Info]\nPath={quote(os.path.abspath(path))}\nDeletionDate={stamp}\n", encoding="utf-8")
    try:
        _move(path, dest)
    except OSError:
        info.unlink(missing_ok=True)
        raise
    return str(dest)


def to_folder(path: str, folder: str) -> str:
    target = Path(folder).expanduser()
    target.mkdir(parents=True, exist_ok=True)
    dest = _unique(target, os.path.basename(path))
    _move(path, dest)
    return str(dest)


def with_companions(library: Library, photos: list[tuple[int, str]]) -> list[tuple[int | None, str]]:
    """The photos' files followed by their RAW companions (which go where their photo goes)."""
    companions = library.catalog.companions_of(path for _, path in photos)
    return [f for pid, path in photos for f in [(pid, path), *((None, r) for r in companions.get(path, []))]]


def apply(library: Library, files: list[tuple[int | None, str]], how: str) -> tuple[int, list[Moved], list[str]]:
    """Move these files ("trash" or "move:DIR"); returns (batch, moved, problems). Photos moved
    away become missing (their vectors kept), so an undo needs no embedding."""
    if how != "trash" and not how.startswith("move:"):
        raise PhotosearchError("--apply takes 'trash' or 'move:FOLDER'")
    catalog = library.catalog
    batch = int(catalog.conn.execute("SELECT COALESCE(MAX(batch), 0) + 1 FROM actions").fetchone()[0])
    moved, problems = [], []
    for photo_id, path in files:
        try:
            dest = to_trash(path) if how == "trash" else to_folder(path, how[5:])
        except OSError as exc:
            problems.append(f"{path}: {exc.strerror or exc}")
            continue
        moved.append(Moved(photo_id, path, dest))
        with catalog.transaction() as c:  # journalled one by one: a crash loses no record
            c.execute("INSERT INTO actions(batch, time, kind, photo_id, path, dest) VALUES(?, ?, ?, ?, ?, ?)",
                      (batch, time.time(), "trash" if how == "trash" else "move", photo_id, path, dest))
    ids = [m.photo_id for m in moved if m.photo_id is not None]
    missing, _ = catalog.mark_missing(ids)
    if library.index is not None and missing:
        library.index.remove(missing)
        library.index.note_seq(catalog.seq)
    return batch, moved, problems


def undo(library: Library) -> tuple[list[Moved], list[str]]:
    """Put back the files of the last batch not undone yet; returns (restored, problems)."""
    catalog = library.catalog
    row = catalog.conn.execute("SELECT MAX(batch) FROM actions WHERE undone=0").fetchone()
    if row is None or row[0] is None:
        raise PhotosearchError("nothing to undo")
    rows = catalog.conn.execute("SELECT id, photo_id, path, dest, kind FROM actions WHERE batch=? AND undone=0",
                                (row[0],)).fetchall()
    restored, problems = [], []
    for action_id, photo_id, path, dest, kind in rows:
        if os.path.exists(path):
            problems.append(f"{path}: a file is there again; {dest} was left where it is")
            continue
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _move(dest, Path(path))
        except OSError as exc:
            problems.append(f"{dest}: {exc.strerror or exc}")
            continue
        if kind == "trash":
            (trash_dir() / "info" / f"{os.path.basename(dest)}.trashinfo").unlink(missing_ok=True)
        with catalog.transaction() as c:
            c.execute("UPDATE actions SET undone=1 WHERE id=?", (action_id,))
        restored.append(Moved(photo_id, path, dest))
    ids = [m.photo_id for m in restored if m.photo_id is not None]
    if ids:
        seq = catalog.restore(ids)
        if library.index is not None:
            found, vecs = catalog.vectors(ids)
            library.index.add(found, vecs)
            library.index.note_seq(seq)
    return restored, problems
