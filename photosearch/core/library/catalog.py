"""The SQLite catalog: one row per photo, its vector, and what went wrong.

Vectors live in the same database as the photo rows, so a photo and its vector
are committed together or not at all: after any crash the catalog and the stored
vectors agree. Every vector change is stamped with a growing sequence number and
every removal leaves a tombstone, so the HNSW index (a cache on top) can catch up
from any saved point by replaying what changed since.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LibraryIncompatible, StorageError
from .records import Failed, Indexed, Known, Photo
from .schema import FAILED, INDEXED, MIGRATIONS, MISSING, PENDING, SCHEMA_SQL, SCHEMA_VERSION, STATUS_NAMES

__all__ = ["FAILED", "INDEXED", "MISSING", "PENDING", "SCHEMA_VERSION", "STATUS_NAMES", "Catalog", "Failed",
           "Indexed", "Known", "Photo"]


class Catalog:
    """One per library and process; each thread gets its own SQLite connection."""

    def __init__(self, path: Path, dim: int | None = None, vector_dtype: str = "float16", readonly: bool = False):
        self.path = Path(path)
        self.dtype = np.dtype(vector_dtype)
        self.dim = dim
        self.readonly = readonly
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
        self._tables: set[str] | None = None
        # a read-only open never writes, not even a migration: an older catalog is read as it is
        # (what its schema lacks reads as empty), and `outdated` says so
        self.outdated: int | None = None
        if readonly:
            version = self.version
            if version < SCHEMA_VERSION:
                self.outdated = version
        else:
            has_schema = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='labels'").fetchone()
            if not has_schema:
                self.conn.executescript(SCHEMA_SQL)
                with self.transaction() as c:
                    c.execute("INSERT OR IGNORE INTO meta VALUES('schema', ?)", (str(SCHEMA_VERSION),))
                    c.execute("INSERT OR IGNORE INTO meta VALUES('seq', '0')")
            self._migrate()

    @property
    def version(self) -> int:
        value = self.meta("schema") or "1"
        try:
            return int(value)
        except ValueError:
            raise sqlite3.DatabaseError(f"the catalog's schema version is damaged ({value!r})") from None

    def _migrate(self) -> None:
        version = self.version
        if version > SCHEMA_VERSION:
            raise LibraryIncompatible(f"this catalog was written by a newer photosearch (schema {version}, "
                                      f"this one knows {SCHEMA_VERSION}); update photosearch to open it")
        while version < SCHEMA_VERSION:
            with self.transaction() as c:
                for statement in MIGRATIONS[version]:
                    c.execute(statement)
                version += 1
                c.execute("INSERT OR REPLACE INTO meta VALUES('schema', ?)", (str(version),))

    # -- connections -------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                # another thread closed the library under this one: a bug to report, not a
                # connection to reopen behind the back of whoever closed it
                raise StorageError(f"the catalog {self.path.name} is closed")
            if self.readonly and not self.path.exists():
                conn = self._empty()  # a library never indexed yet: read as empty, its catalog not created
            elif self.readonly:
                uri = f"{self.path.absolute().as_uri()}?mode=ro"
                conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA busy_timeout=30000")
                if not self._has_schema(conn):
                    # its writer is creating it at this very moment: read as empty (as not there yet)
                    conn.close()
                    conn = self._empty()
            else:
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @staticmethod
    def _has_schema(conn: sqlite3.Connection) -> bool:
        """The schema version is written last, once every table is there."""
        try:
            return conn.execute("SELECT 1 FROM meta WHERE key='schema'").fetchone() is not None
        except sqlite3.OperationalError:
            return False

    @staticmethod
    def _empty() -> sqlite3.Connection:
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn.executescript(SCHEMA_SQL)
        conn.execute("INSERT INTO meta VALUES('schema', ?)", (str(SCHEMA_VERSION),))
        return conn

    def close(self) -> None:
        """Close every thread's connection. Called once no other thread uses the catalog (the
        library waits for its workers first); a thread that still tries gets StorageError."""
        with self._all_lock:
            self._closed = True
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()

    def has_table(self, name: str) -> bool:
        """Whether the catalog has this table (an older one, read as it is, may lack it)."""
        if self._tables is None:
            self._tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return name in self._tables

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK")
            raise
        else:
            c.execute("COMMIT")

    QUICK_CHECK_LIMIT = 256 * 2**20

    def check(self) -> str | None:
        """None if the database looks sound, else what is wrong.

        A full quick_check reads every page, which for a million-photo catalog takes
        seconds; above QUICK_CHECK_LIMIT we check what a crash or a truncation breaks
        (the header, the schema, the page count against the file size) and leave the
        rest to SQLite's own checks as pages are read.
        """
        if self.readonly and not self.path.exists():
            return None  # never indexed: read as empty
        try:
            size = self.path.stat().st_size
            c = self.conn
            if size <= self.QUICK_CHECK_LIMIT:
                row = c.execute("PRAGMA quick_check").fetchone()
                return None if row and row[0] == "ok" else str(row[0] if row else "unknown problem")
            pages = c.execute("PRAGMA page_count").fetchone()[0]
            page_size = c.execute("PRAGMA page_size").fetchone()[0]
            wal = self.path.with_name(self.path.name + "-wal")
            if pages * page_size > size and not (wal.exists() and wal.stat().st_size > 0):
                return f"the file is truncated ({size:,} of {pages * page_size:,} bytes)"
            c.execute("SELECT COUNT(*) FROM meta").fetchone()
            c.execute("SELECT MAX(id) FROM photos").fetchone()
            c.execute("SELECT MAX(photo_id) FROM vectors").fetchone()
        except sqlite3.DatabaseError as exc:
            return str(exc)
        return None

    # -- meta --------------------------------------------------------------
    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: object) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)", (key, str(value)))

    @property
    def seq(self) -> int:
        return int(self.meta("seq") or 0)

    def _next_seq(self, c: sqlite3.Connection) -> int:
        seq = int(c.execute("SELECT value FROM meta WHERE key='seq'").fetchone()[0]) + 1
        c.execute("UPDATE meta SET value=? WHERE key='seq'", (str(seq),))
        return seq

    # -- scanning ----------------------------------------------------------
    def known(self) -> dict[str, Known]:
        rows = self.conn.execute("SELECT path, id, size, mtime_ns, status, fingerprint FROM photos")
        return {r[0]: Known(r[1], r[2], r[3], r[4], r[5]) for r in rows}

    def add_pending(self, files: Iterable[tuple[str, int, int]]) -> None:
        with self.transaction() as c:
            c.executemany(
                "INSERT INTO photos(path, size, mtime_ns, status) VALUES(?, ?, ?, 0)"
                " ON CONFLICT(path) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns, status=0",
                files,
            )

    def mark_pending(self, changes: Iterable[tuple[int, int, int]]) -> None:
        """(id, size, mtime_ns) of files whose content changed: embed them again."""
        with self.transaction() as c:
            c.executemany("UPDATE photos SET status=0, size=?, mtime_ns=? WHERE id=?",
                          [(s, m, i) for i, s, m in changes])

    def move(self, moves: Iterable[tuple[int, str, int]]) -> None:
        """(id, new_path, mtime_ns): same content under a new name; keep its vector."""
        with self.transaction() as c:
            c.executemany("UPDATE photos SET path=?, mtime_ns=? WHERE id=?", [(p, m, i) for i, p, m in moves])

    def mark_missing(self, ids: Iterable[int]) -> tuple[list[int], list[int]]:
        """Files not found: photos with a vector become MISSING (kept whole, out of the index);
        the others (nothing computed yet) are removed. Returns (missing, removed) ids."""
        ids = [int(i) for i in ids]
        if not ids:
            return [], []
        now = time.time()
        with self.transaction() as c:
            seq = self._next_seq(c)
            with_vector = {r[0] for r in self.select_in("SELECT photo_id FROM vectors WHERE photo_id IN", ids, c)}
            missing = [i for i in ids if i in with_vector]
            removed = [i for i in ids if i not in with_vector]
            c.executemany("UPDATE photos SET status=3, missing_since=COALESCE(missing_since, ?) WHERE id=?",
                          [(now, i) for i in missing])
            c.executemany("INSERT OR REPLACE INTO tombstones VALUES(?, ?)", [(i, seq) for i in missing])
            c.executemany("DELETE FROM labels WHERE photo_id=?", [(i,) for i in removed])
            c.executemany("DELETE FROM photos WHERE id=?", [(i,) for i in removed])
        return missing, removed

    def restore(self, ids: Iterable[int]) -> int:
        """Missing photos whose files are back (same path, or moved with the same content):
        searchable again with the vector they had. Returns the sequence number."""
        ids = [int(i) for i in ids]
        with self.transaction() as c:
            seq = self._next_seq(c)
            c.executemany("UPDATE photos SET status=1, missing_since=NULL WHERE id=? AND status=3",
                          [(i,) for i in ids])
            # a new seq on the vector: readers replaying the catalog add it back
            c.executemany("UPDATE vectors SET seq=? WHERE photo_id=?", [(seq, i) for i in ids])
            c.executemany("DELETE FROM tombstones WHERE photo_id=?", [(i,) for i in ids])
        return seq

    def missing(self) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT id FROM photos WHERE status=3 ORDER BY id")]

    def select_in(self, query: str, values: list[Any], c: sqlite3.Connection | None = None) -> list[tuple[Any, ...]]:
        """Rows of `query ... IN (values)`, asked in chunks (SQLite limits the number of parameters)."""
        c = c or self.conn
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(values), 500):
            part = values[start : start + 500]
            rows += c.execute(f"{query} ({','.join('?' * len(part))})", part).fetchall()
        return rows

    def searchable_ids(self) -> list[int]:
        """Photos a search can return (status indexed), in id order."""
        return [r[0] for r in self.conn.execute("SELECT id FROM photos WHERE status=1 ORDER BY id")]

    def remove(self, ids: Iterable[int]) -> int:
        ids = list(ids)
        if not ids:
            return 0
        with self.transaction() as c:
            seq = self._next_seq(c)
            params = [(i,) for i in ids]
            had_vector = [i for (i,) in params if c.execute("SELECT 1 FROM vectors WHERE photo_id=?", (i,)).fetchone()]
            c.executemany("DELETE FROM vectors WHERE photo_id=?", params)
            c.executemany("DELETE FROM labels WHERE photo_id=?", params)
            c.executemany("DELETE FROM regions WHERE photo_id=?", params)
            c.executemany("DELETE FROM pictures WHERE photo_id=?", params)
            c.executemany("DELETE FROM dup_pairs WHERE a=? OR b=?", [(i, i) for i in ids])
            c.executemany("DELETE FROM dup_decisions WHERE a=? OR b=?", [(i, i) for i in ids])
            c.executemany("DELETE FROM photos WHERE id=?", params)
            c.executemany("INSERT OR REPLACE INTO tombstones VALUES(?, ?)", [(i, seq) for i in had_vector])
        return len(ids)

    def set_companions(self, companions: dict[str, list[str]]) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM companions")
            c.executemany("INSERT OR REPLACE INTO companions VALUES(?, ?)",
                          [(raw, photo) for photo, raws in companions.items() for raw in raws])

    def companions_of(self, paths: Iterable[str]) -> dict[str, list[str]]:
        """The RAW files that go with these photos (only photos that have some)."""
        out: dict[str, list[str]] = {}
        if not self.has_table("companions"):
            return out
        rows = self.select_in("SELECT photo_path, path FROM companions WHERE photo_path IN", list(paths))
        for photo, raw in sorted(rows):
            out.setdefault(photo, []).append(raw)
        return out

    def set_scan_problems(self, problems: Iterable[tuple[str, str]]) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM scan_problems")
            c.executemany("INSERT OR REPLACE INTO scan_problems VALUES(?, ?)", problems)

    # -- indexing ----------------------------------------------------------
    def pending(self) -> list[tuple[int, str]]:
        return self.conn.execute("SELECT id, path FROM photos WHERE status=0 ORDER BY id").fetchall()

    def store(self, indexed: list[Indexed], failed: list[Failed]) -> int:
        """Record a batch of results atomically; returns the batch's sequence number."""
        now = time.time()
        with self.transaction() as c:
            seq = self._next_seq(c)
            c.executemany(
                "UPDATE photos SET status=1, error=NULL, size=?, mtime_ns=?, fingerprint=?,"
                " width=?, height=?, indexed_at=?, missing_since=NULL, taken=?, camera=? WHERE id=?",
                [(r.size, r.mtime_ns, r.fingerprint, r.width, r.height, now, r.taken, r.camera, r.id) for r in indexed],
            )
            # regions go with the vector; a vector without them (a model with no feature map)
            # must not keep an older photo's regions
            c.executemany("INSERT OR REPLACE INTO regions VALUES(?, ?)",
                          [(r.id, r.regions) for r in indexed if r.regions is not None])
            c.executemany("DELETE FROM regions WHERE photo_id=?", [(r.id,) for r in indexed if r.regions is None])
            c.executemany("INSERT OR REPLACE INTO pictures VALUES(?, ?)",
                          [(r.id, r.pixels) for r in indexed if r.pixels is not None])
            c.executemany(
                "INSERT OR REPLACE INTO vectors VALUES(?, ?, ?)",
                [(r.id, seq, self._blob(r.vector)) for r in indexed],
            )
            # a photo that gets a vector again (failed, missing or changed before) is live:
            # its old tombstone must not remove it from a reader replaying the catalog
            c.executemany("DELETE FROM tombstones WHERE photo_id=?", [(r.id,) for r in indexed])
            labelled = [r for r in indexed if r.labels is not None]
            c.executemany("DELETE FROM labels WHERE photo_id=?", [(r.id,) for r in labelled])
            c.executemany(
                "INSERT INTO labels VALUES(?, ?, ?)",
                [(r.id, int(k), float(p)) for r in labelled for k, p in r.labels or ()],
            )
            # a file that failed after once succeeding must also leave the index
            failed_ids = [(r.id,) for r in failed]
            had = [i for (i,) in failed_ids if c.execute("SELECT 1 FROM vectors WHERE photo_id=?", (i,)).fetchone()]
            c.executemany("DELETE FROM vectors WHERE photo_id=?", failed_ids)
            c.executemany("INSERT OR REPLACE INTO tombstones VALUES(?, ?)", [(i, seq) for i in had])
            c.executemany(
                "UPDATE photos SET status=2, error=?, size=?, mtime_ns=?, fingerprint=?, indexed_at=? WHERE id=?",
                [(r.error, r.size, r.mtime_ns, r.fingerprint, now, r.id) for r in failed],
            )
        return seq

    def _blob(self, vector: np.ndarray) -> bytes:
        return np.asarray(vector, dtype=self.dtype).tobytes()

    def _unblob(self, blobs: list[bytes]) -> np.ndarray:
        if not blobs:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        return np.frombuffer(b"".join(blobs), dtype=self.dtype).reshape(len(blobs), -1).astype(np.float32)

    # -- vectors -----------------------------------------------------------
    # searchable = status INDEXED (such a photo always has a vector); the CROSS JOIN keeps
    # SQLite walking the vectors through the seq index, never the other way round
    _LIVE_VECTORS = "FROM vectors v CROSS JOIN photos p ON p.id = v.photo_id WHERE p.status = 1"

    def vectors_since(self, seq: int, chunk: int = 20000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) of searchable photos changed after `seq`, in chunks (all for seq=-1).

        Replaying `tombstones_since` first and then these gives exactly the searchable photos:
        a photo that gets a vector again loses its tombstone, and a missing one keeps its
        vector row but is not searchable."""
        if seq < 0:  # everything: one sequential pass over the table
            cur = self.conn.execute(f"SELECT v.photo_id, v.vec {self._LIVE_VECTORS} ORDER BY v.photo_id")
        else:  # what changed: through the seq index, never a scan of a million rows
            cur = self.conn.execute(
                f"SELECT v.photo_id, v.vec {self._LIVE_VECTORS} AND v.seq > ? ORDER BY v.seq", (seq,))
        while rows := cur.fetchmany(chunk):
            yield np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)), self._unblob([r[1] for r in rows])

    def tombstones_since(self, seq: int) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT photo_id FROM tombstones WHERE seq > ?", (seq,))]

    def vectors(self, ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """Stored vectors of the given photos (those that have one), in the given order."""
        ids = [int(i) for i in ids]
        found: dict[int, bytes] = dict(self.select_in("SELECT photo_id, vec FROM vectors WHERE photo_id IN", ids))
        keep = [i for i in ids if i in found]
        return np.asarray(keep, dtype=np.int64), self._unblob([found[i] for i in keep])

    def vector_count(self) -> int:
        """Every stored vector, the missing photos' included."""
        return self.conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]

    def live_vector_count(self) -> int:
        """Vectors of searchable photos: what the search index must hold."""
        return self.conn.execute("SELECT COUNT(*) FROM photos WHERE status=1").fetchone()[0]

    # -- lookups -----------------------------------------------------------
    def _photo(self, row: tuple[Any, ...] | None) -> Photo | None:
        return Photo(*row) if row else None

    _COLS = "id, path, size, mtime_ns, status, error, width, height"

    def photo(self, photo_id: int) -> Photo | None:
        return self._photo(self.conn.execute(f"SELECT {self._COLS} FROM photos WHERE id=?", (photo_id,)).fetchone())

    def photo_by_path(self, path: str) -> Photo | None:
        return self._photo(self.conn.execute(f"SELECT {self._COLS} FROM photos WHERE path=?", (path,)).fetchone())

    def paths(self, ids: Iterable[int]) -> dict[int, str]:
        return dict(self.select_in("SELECT id, path FROM photos WHERE id IN", [int(i) for i in ids]))

    def counts(self) -> dict[str, int]:
        out = {name: 0 for name in STATUS_NAMES.values()}
        for status, n in self.conn.execute("SELECT status, COUNT(*) FROM photos GROUP BY status"):
            out[STATUS_NAMES.get(status, str(status))] = n
        out["total"] = sum(out.values())
        return out

    def count_under(self, folder: str) -> int:
        prefix = folder.rstrip("/\\") + "/"
        return self.conn.execute(
            "SELECT COUNT(*) FROM photos WHERE substr(path, 1, ?) = ?", (len(prefix), prefix)
        ).fetchone()[0]

    def errors(self) -> list[tuple[str, str]]:
        rows = self.conn.execute("SELECT path, error FROM photos WHERE status=2 ORDER BY path").fetchall()
        rows += self.conn.execute("SELECT path, reason FROM scan_problems ORDER BY path").fetchall()
        return rows

    def labels(self, photo_id: int) -> list[tuple[int, float]]:
        return self.conn.execute(
            "SELECT class, prob FROM labels WHERE photo_id=? ORDER BY prob DESC", (photo_id,)
        ).fetchall()

    def photos_with_classes(self, classes: Iterable[int], min_prob: float = 0.0) -> list[tuple[int, int, float]]:
        classes = [int(c) for c in classes]
        if not classes:
            return []
        q = (f"SELECT photo_id, class, prob FROM labels WHERE class IN ({','.join('?' * len(classes))})"
             " AND prob >= ? AND photo_id IN (SELECT id FROM photos WHERE status=1) ORDER BY prob DESC")
        return self.conn.execute(q, [*classes, min_prob]).fetchall()
