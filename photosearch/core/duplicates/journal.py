"""The journal of file actions (the catalog's `actions` table): a row says what will happen to a
file BEFORE it happens, in its own transaction, and what did happen after. After a crash (`kill -9`,
a power cut) at any point, `reconcile` reads the rows still in flight against the disk and finishes
or rolls back each one, so that every file is in its place or where its row says, and nowhere else.

States: intent -> done | cancelled (the file stayed) | lost; done -> undoing -> undone; done ->
gone (it left the trash or the folder by other hands: an undo cannot bring it back).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass

from ..library.catalog import INDEXED, MISSING, Catalog
from ..library.libraries import Library
from . import trash as trashes
from .fileops import Facts, settle, temp_for

INTENT, DONE, CANCELLED, LOST = "intent", "done", "cancelled", "lost"
UNDOING, UNDONE, GONE = "undoing", "undone", "gone"


@dataclass
class Entry:
    id: int
    batch: int
    kind: str  # trash | move
    photo_id: int | None
    path: str  # where the file was (absolute)
    dest: str  # where it went (absolute)
    state: str
    facts: Facts
    mount: str | None  # the mount point `path` was on

    @property
    def name(self) -> str:
        return os.path.basename(self.dest)


_COLS = "id, batch, kind, photo_id, path, dest, state, size, mtime_ns, fingerprint, mount"


def _entry(row: tuple[object, ...]) -> Entry:
    i, batch, kind, pid, path, dest, state, size, mtime, fp, mount = row
    return Entry(int(i), int(batch), str(kind), None if pid is None else int(pid), str(path), str(dest),  # type: ignore[call-overload]
                 str(state), Facts(size, mtime, fp), None if mount is None else str(mount))  # type: ignore[arg-type]


@contextlib.contextmanager
def durable(catalog: Catalog) -> Iterator[None]:
    """Journal commits reach the disk before a file is touched (a power cut, not only a kill):
    full sync while files move, the catalog's usual setting after."""
    catalog.conn.execute("PRAGMA synchronous=FULL")
    try:
        yield
    finally:
        catalog.conn.execute("PRAGMA synchronous=NORMAL")


def next_batch(catalog: Catalog) -> int:
    return int(catalog.conn.execute("SELECT COALESCE(MAX(batch), 0) + 1 FROM actions").fetchone()[0])


def intent(catalog: Catalog, batch: int, kind: str, photo_id: int | None, path: str, dest: str, facts: Facts,
           mount: str | None) -> Entry:
    with catalog.transaction() as c:
        cur = c.execute("INSERT INTO actions(batch, time, kind, photo_id, path, dest, state, size, mtime_ns, "
                        "fingerprint, mount) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (batch, time.time(), kind, photo_id, path, dest, INTENT, facts.size, facts.mtime_ns,
                         facts.fingerprint, mount))
        row_id = int(cur.lastrowid or 0)
    return Entry(row_id, batch, kind, photo_id, path, dest, INTENT, facts, mount)


def set_dest(catalog: Catalog, entry: Entry, dest: str) -> None:
    with catalog.transaction() as c:
        c.execute("UPDATE actions SET dest=? WHERE id=?", (dest, entry.id))
    entry.dest = dest


def set_state(catalog: Catalog, entry: Entry, state: str) -> None:
    with catalog.transaction() as c:
        c.execute("UPDATE actions SET state=? WHERE id=?", (state, entry.id))
    entry.state = state


def in_flight(catalog: Catalog) -> list[Entry]:
    return [_entry(r) for r in catalog.conn.execute(
        f"SELECT {_COLS} FROM actions WHERE state IN (?, ?) ORDER BY id", (INTENT, UNDOING))]


def last_batch(catalog: Catalog) -> list[Entry]:
    """The entries of the latest batch that still has files to put back."""
    row = catalog.conn.execute("SELECT MAX(batch) FROM actions WHERE state=?", (DONE,)).fetchone()
    if row is None or row[0] is None:
        return []
    return [_entry(r) for r in catalog.conn.execute(
        f"SELECT {_COLS} FROM actions WHERE batch=? AND state=? ORDER BY id DESC", (row[0], DONE))]


def photo_left(library: Library, ids: list[int]) -> None:
    """These photos' files are in the trash or a folder now: missing, their vectors kept."""
    ids = [i for i in ids if i is not None]
    if not ids:
        return
    missing, _ = library.catalog.mark_missing(ids)
    index = library.index
    if index is not None and missing:
        index.remove(missing)
        index.note_seq(library.catalog.seq)


def photo_back(library: Library, ids: list[int]) -> None:
    """These photos' files are back where they were: searchable again, nothing embedded."""
    catalog = library.catalog
    away = [int(r[0]) for r in catalog.select_in(f"SELECT id FROM photos WHERE status={MISSING} AND id IN",
                                                 [i for i in ids if i is not None])]
    if not away:
        return
    seq = catalog.restore(away)
    index = library.index
    if index is not None:
        found, vecs = catalog.vectors(away)
        if len(found):
            index.add(found, vecs)
        index.note_seq(seq)


def reconcile(library: Library) -> list[str]:
    """Settle every entry a crash left in flight, and bring the catalog in step with the journal
    (a crash between a file's move and its photo's status); returns what was found, in words
    (nothing when there was nothing to do)."""
    catalog = library.catalog
    said: list[str] = []
    for entry in in_flight(catalog):
        try:
            said.append(_settle(library, entry))
        except (OSError, sqlite3.Error) as exc:
            said.append(f"{entry.path}: an interrupted move could not be settled yet ({exc}); it is kept in the "
                        "journal and tried again next time")
    # each photo's latest entry says where its file is: missing while away, searchable once back
    rows = catalog.conn.execute(
        "SELECT a.photo_id, a.state, a.path FROM actions a JOIN photos p ON p.id = a.photo_id "
        "WHERE a.id IN (SELECT MAX(id) FROM actions WHERE photo_id IS NOT NULL GROUP BY photo_id) "
        "AND ((a.state = ? AND p.status = ?) OR (a.state = ? AND p.status = ?))",
        (UNDONE, MISSING, DONE, INDEXED)).fetchall()
    photo_back(library, [int(i) for i, state, path in rows if state == UNDONE and os.path.lexists(path)])
    photo_left(library, [int(i) for i, state, path in rows if state == DONE and not os.path.lexists(path)])
    return said


def _settle(library: Library, e: Entry) -> str:
    catalog = library.catalog
    if e.state == INTENT:  # the apply direction: from path to dest
        where, name = settle(e.path, e.dest, temp_for(e.dest, e.id), e.facts)
        if where == "src":
            if e.kind == "trash":
                trashes.release(trashes.trash_of(e.dest), e.name, e.path)
            set_state(catalog, e, CANCELLED)
            return f"{e.path}: an interrupted move was rolled back; the file is in its place"
        if where == "dst":
            if name and name != e.dest:
                set_dest(catalog, e, name)
            set_state(catalog, e, DONE)
            photo_left(library, [e.photo_id] if e.photo_id is not None else [])
            return f"{e.path}: an interrupted move was finished; the file is at {e.dest}"
        set_state(catalog, e, LOST)
        return f"{e.path}: neither in its place nor at {e.dest} (moved or deleted by something else)"
    where, name = settle(e.dest, e.path, temp_for(e.path, e.id), e.facts)  # an undo: from dest to path
    if where == "dst":
        if e.kind == "trash":
            trashes.release(trashes.trash_of(e.dest), e.name, e.path)
        set_state(catalog, e, UNDONE)
        photo_back(library, [e.photo_id] if e.photo_id is not None else [])
        return f"{e.path}: an interrupted undo was finished; the file is back"
    if where == "src":
        set_state(catalog, e, DONE)
        return f"{e.path}: an interrupted undo was rolled back; the file is still at {e.dest}"
    set_state(catalog, e, LOST)
    return f"{e.path}: neither at {e.dest} nor back in its place (moved or deleted by something else)"
