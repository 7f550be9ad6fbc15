"""The catalog's tables, the photo statuses, and the ordered migrations between versions."""

from __future__ import annotations

SCHEMA_VERSION = 8

# MISSING: the file was not found at the last scan (an unplugged drive, an unreadable or
# moved-away folder). The photo keeps its vector and labels, is left out of every result,
# and comes back without embedding when its file is seen again; only the user forgets it.
PENDING, INDEXED, FAILED, MISSING = 0, 1, 2, 3
STATUS_NAMES = {PENDING: "pending", INDEXED: "indexed", FAILED: "failed", MISSING: "missing"}

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS photos(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    fingerprint TEXT,
    status INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    width INTEGER,
    height INTEGER,
    indexed_at REAL,
    missing_since REAL,
    taken REAL,
    camera TEXT
);
CREATE INDEX IF NOT EXISTS photos_status ON photos(status);
CREATE INDEX IF NOT EXISTS photos_size ON photos(size);
CREATE TABLE IF NOT EXISTS vectors(
    photo_id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    vec BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS vectors_seq ON vectors(seq);
-- one row per photo id that left the index, until it gets a vector again: never pruned,
-- since a reader in another process may replay from any older point (ids are never reused)
CREATE TABLE IF NOT EXISTS tombstones(photo_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tombstones_seq ON tombstones(seq);
CREATE TABLE IF NOT EXISTS labels(
    photo_id INTEGER NOT NULL,
    class INTEGER NOT NULL,
    prob REAL NOT NULL,
    PRIMARY KEY(photo_id, class)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS labels_class ON labels(class, prob);
CREATE TABLE IF NOT EXISTS scan_problems(path TEXT PRIMARY KEY, reason TEXT NOT NULL);
-- RAW files beside a JPEG/HEIC of the same name: the photo is the developed file, and these
-- go with it (shown in its details, moved with it); replaced at every scan
CREATE TABLE IF NOT EXISTS companions(path TEXT PRIMARY KEY, photo_path TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS companions_photo ON companions(photo_path);
"""

# the duplicates' own tables (schema 6): regions for the spatial check, written with the vector
# (model-specific: cleared with the vectors); scored pairs found so far, kept up to date from
# the catalog's sequence numbers (meta 'dup_seq') so that new photos cost only their neighbourhoods
DUPLICATES_SQL = [
    "CREATE TABLE IF NOT EXISTS regions(photo_id INTEGER PRIMARY KEY, data BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS dup_pairs(a INTEGER NOT NULL, b INTEGER NOT NULL, score REAL NOT NULL, "
    "cosine REAL NOT NULL, PRIMARY KEY(a, b)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS dup_pairs_b ON dup_pairs(b)",
]
# schema 7 (issue 22: a copy is proven in pixels): each photo's pixel record (vision/pixels.py:
# the picture at 384 px, grey; not the model's, so a new model keeps it), and per stored pair
# the pixels' verdict once verified (NULL until then; duplicates/verify.py) with its evidence
PIXELS_SQL = [
    "CREATE TABLE IF NOT EXISTS pictures(photo_id INTEGER PRIMARY KEY, data BLOB NOT NULL)",
    "ALTER TABLE dup_pairs ADD COLUMN verdict INTEGER",
    "ALTER TABLE dup_pairs ADD COLUMN evidence TEXT",
]
# a new catalog is made as an old one is migrated: the same statements, so both end the same
SCHEMA_SQL += "".join(q + ";\n" for q in [*DUPLICATES_SQL, *PIXELS_SQL])

# Every file photosearch moves (to the trash, or to a folder the user chose), since schema 8: a row is
# written in state 'intent' BEFORE the file is touched, and becomes 'done' after; 'cancelled' when
# the file stayed; 'undoing' then 'undone' for an undo. size, mtime_ns and fingerprint are what the
# file was, so that an undo checks it is bringing back that file and no other; mount is the mount
# point the original lived on (an undo never recreates a missing one); dest is always absolute.
ACTIONS_SQL = ("CREATE TABLE IF NOT EXISTS actions(id INTEGER PRIMARY KEY AUTOINCREMENT, batch INTEGER NOT NULL, "
               "time REAL NOT NULL, kind TEXT NOT NULL, photo_id INTEGER, path TEXT NOT NULL, dest TEXT NOT NULL, "
               "state TEXT NOT NULL, size INTEGER, mtime_ns INTEGER, fingerprint TEXT, mount TEXT)")
ACTIONS_INDEX_SQL = "CREATE INDEX IF NOT EXISTS actions_state ON actions(state, batch)"
# What the user decided about duplicates, by photo (ids follow renames and moves the scanner
# detects, and tell byte-identical copies apart): (a, b, 'not-duplicates') with a < b, or
# (a, 0, 'keep'): keep this one in its group
DECISIONS_SQL = ("CREATE TABLE IF NOT EXISTS dup_decisions(a INTEGER NOT NULL, b INTEGER NOT NULL, "
                 "kind TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY(a, b)) WITHOUT ROWID")
SCHEMA_SQL += "".join(q + ";\n" for q in (ACTIONS_SQL, ACTIONS_INDEX_SQL, DECISIONS_SQL))

# Ordered migrations: MIGRATIONS[v] brings a catalog of version v to v + 1, in one
# transaction with the version bump. A catalog newer than SCHEMA_VERSION is refused
# before anything is written to it.
MIGRATIONS: dict[int, list[str]] = {
    1: ["ALTER TABLE photos ADD COLUMN missing_since REAL",
        "CREATE INDEX IF NOT EXISTS tombstones_seq ON tombstones(seq)"],
    2: ["CREATE TABLE IF NOT EXISTS companions(path TEXT PRIMARY KEY, photo_path TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS companions_photo ON companions(photo_path)"],
    3: ["CREATE TABLE IF NOT EXISTS decisions(fp_a TEXT NOT NULL, fp_b TEXT NOT NULL, kind TEXT NOT NULL, "
        "created REAL NOT NULL, PRIMARY KEY(fp_a, fp_b))"],
    4: ["CREATE TABLE IF NOT EXISTS actions(id INTEGER PRIMARY KEY AUTOINCREMENT, batch INTEGER NOT NULL, "
        "time REAL NOT NULL, kind TEXT NOT NULL, photo_id INTEGER, path TEXT NOT NULL, dest TEXT NOT NULL, "
        "undone INTEGER NOT NULL DEFAULT 0)"],
    5: ["ALTER TABLE photos ADD COLUMN taken REAL", "ALTER TABLE photos ADD COLUMN camera TEXT",
        *DUPLICATES_SQL],
    6: PIXELS_SQL,
    7: [  # the journal records intent before a file moves, and what the file was; decisions by photo
        ACTIONS_SQL.replace("actions(", "actions_8(", 1),
        "INSERT INTO actions_8(id, batch, time, kind, photo_id, path, dest, state, size, mtime_ns, fingerprint) "
        "SELECT a.id, a.batch, a.time, a.kind, a.photo_id, a.path, a.dest, "
        "CASE WHEN a.undone THEN 'undone' ELSE 'done' END, p.size, p.mtime_ns, p.fingerprint "
        "FROM actions a LEFT JOIN photos p ON p.id = a.photo_id",
        "DROP TABLE actions",
        "ALTER TABLE actions_8 RENAME TO actions",
        ACTIONS_INDEX_SQL,
        DECISIONS_SQL,
        # a decision about two contents becomes one about every photo with them (byte-identical
        # copies could not be told apart before; now each one can)
        "INSERT OR IGNORE INTO dup_decisions SELECT MIN(pa.id, pb.id), MAX(pa.id, pb.id), d.kind, d.created "
        "FROM decisions d JOIN photos pa ON pa.fingerprint = d.fp_a JOIN photos pb ON pb.fingerprint = d.fp_b "
        "WHERE d.kind = 'not-duplicates' AND pa.id <> pb.id",
        "INSERT OR IGNORE INTO dup_decisions SELECT p.id, 0, d.kind, d.created "
        "FROM decisions d JOIN photos p ON p.fingerprint = d.fp_a WHERE d.kind = 'keep'",
        "DROP TABLE decisions",
    ],
}
