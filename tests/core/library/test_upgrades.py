"""A library written by today's-minus-one photosearch is migrated and searched; a newer one is
refused with a clear message and never modified."""

import hashlib
import json
import sqlite3

import pytest

from photosearch.core.errors import LibraryIncompatible
from photosearch.core.library.catalog import SCHEMA_VERSION
from photosearch.core.pipeline.indexer import index_library
from photosearch.core.search import Searcher

# The catalog's photos table as photosearch 0.1 (schema 1) wrote it, and what it lacked.
V1_PHOTOS = """CREATE TABLE photos(
    id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, fingerprint TEXT, status INTEGER NOT NULL DEFAULT 0, error TEXT,
    width INTEGER, height INTEGER, indexed_at REAL)"""


def _make_v1(folder):
    """Turn a library into the format schema 1 / library.json 1 had (what users have on disk)."""
    db = sqlite3.connect(folder / "catalog.sqlite", isolation_level=None)
    db.executescript(f"""
        BEGIN;
        ALTER TABLE photos RENAME TO photos_new;
        {V1_PHOTOS};
        INSERT INTO photos SELECT id, path, size, mtime_ns, fingerprint, status, error, width, height,
                                  indexed_at FROM photos_new;
        DROP TABLE photos_new;
        CREATE INDEX photos_status ON photos(status);
        CREATE INDEX photos_size ON photos(size);
        DROP INDEX IF EXISTS tombstones_seq;
        -- tables later schemas added (a migration that alters one expects it as its schema had it)
        DROP TABLE IF EXISTS companions; DROP TABLE IF EXISTS decisions; DROP TABLE IF EXISTS actions;
        DROP TABLE IF EXISTS regions; DROP TABLE IF EXISTS dup_pairs; DROP TABLE IF EXISTS pictures;
        UPDATE meta SET value='1' WHERE key='schema';
        COMMIT;""")
    db.close()
    config = json.loads((folder / "library.json").read_text())
    config["version"] = 1
    config["descriptor"]["hybrid"] = False
    (folder / "library.json").write_text(json.dumps(config))


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_v1_library_is_migrated_and_searched(app, photo_folder, classifier_model):
    app.libraries.create("old", [str(photo_folder)], model=app.model_spec(classifier_model).describe())
    with app.libraries.open("old", write=True) as lib:
        index_library(lib, app.embedder_for(lib))
        folder = lib.folder
    _make_v1(folder)
    with app.libraries.open("old", write=True) as lib:
        assert lib.catalog.version == SCHEMA_VERSION
        columns = [r[1] for r in lib.catalog.conn.execute("PRAGMA table_info(photos)")]
        assert "missing_since" in columns
        hit = Searcher(lib, app.embedder_for(lib)).by_images([photo_folder / "photo_07.jpg"], k=1)[0]
        assert hit.path == str(photo_folder / "photo_07.jpg")
        s = index_library(lib, app.embedder_for(lib))
        assert s.embedded == 0 and s.unchanged == 12  # nothing embedded again
    saved = json.loads((folder / "library.json").read_text())
    assert saved["version"] == 3 and "hybrid" not in saved["descriptor"]
    assert saved["precision_used"] == "fp32"  # its vectors were made at fp32


@pytest.mark.parametrize("what", ["catalog", "library.json"])
def test_a_newer_library_is_refused_and_never_modified(app, photo_folder, classifier_model, what):
    app.libraries.create("new", [str(photo_folder)], model=app.model_spec(classifier_model).describe())
    with app.libraries.open("new", write=True) as lib:
        index_library(lib, app.embedder_for(lib))
        folder = lib.folder
    if what == "catalog":
        db = sqlite3.connect(folder / "catalog.sqlite", isolation_level=None)
        db.execute("UPDATE meta SET value='99' WHERE key='schema'")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
    else:
        config = json.loads((folder / "library.json").read_text())
        config["version"] = 99
        config["a_future_setting"] = True
        (folder / "library.json").write_text(json.dumps(config))
    before = _digest(folder)
    for write in (True, False):
        with pytest.raises(LibraryIncompatible, match="newer photosearch"):
            app.libraries.open("new", write=write)
    after = _digest(folder)
    # SQLite's side files may appear (an empty write-ahead log): nothing was written to them
    wal = folder / "catalog.sqlite-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    for side in ("writer.lock", "catalog.sqlite-wal", "catalog.sqlite-shm"):
        after.pop(side, None), before.pop(side, None)
    assert after == before
