"""Libraries written by earlier releases: real catalogs, made by running the old code (commits and
steps in tests/fixtures/*/manifest.json, made by tests/fixtures/make_old_catalogs.py). A read-only
open reads them as they are and writes nothing; the first writer migrates them, their vectors,
decisions and journal intact; a newer library is refused and never modified."""

import hashlib
import json
import os
import shutil
import sqlite3

import pytest

from photosearch.core.errors import LibraryIncompatible
from photosearch.core.library.catalog import SCHEMA_VERSION
from photosearch.core.pipeline.indexer import index_library
from tests import helpers
from tests.fixtures.make_old_catalogs import make_photos
from tests.test_cli import run

FIXTURES = helpers.REPO / "tests" / "fixtures"


def _install(app, which, tmp_path):
    """The old library in this test's home; its photos made again (same bytes, same times) in a
    folder of this test: only the folder's name differs from where the old release saw them."""
    src = FIXTURES / which
    manifest = json.loads((src / "manifest.json").read_text())
    old_work, work = os.path.dirname(manifest["photos_root"]), str(tmp_path / "work")
    folder = app.libraries.folder("old")
    folder.mkdir(parents=True)
    shutil.copy(src / "catalog.sqlite", folder / "catalog.sqlite")
    config = json.loads((src / "library.json").read_text())
    config["roots"] = [r.replace(old_work, work) for r in config["roots"]]
    config["model"]["path"] = str(helpers.tiny_convnet(tmp_path / "tiny_convnet.onnx"))
    (folder / "library.json").write_text(json.dumps(config))
    db = sqlite3.connect(folder / "catalog.sqlite", isolation_level=None)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for table, columns in (("photos", ["path"]), ("companions", ["path", "photo_path"]), ("actions", ["path", "dest"])):
        for column in columns if table in tables else ():
            db.execute(f"UPDATE {table} SET {column} = replace({column}, ?, ?)", (old_work, work))
    rows = db.execute("SELECT path, mtime_ns FROM photos").fetchall()
    db.close()
    make_photos(tmp_path / "work" / "photos")
    for path, mtime in rows:
        os.utime(path, ns=(mtime, mtime))
    return folder, tmp_path / "work" / "photos"


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _schema(folder):
    db = sqlite3.connect(f"{(folder / 'catalog.sqlite').as_uri()}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0])
    finally:
        db.close()


def _vectors(folder):
    db = sqlite3.connect(f"{(folder / 'catalog.sqlite').as_uri()}?mode=ro", uri=True)
    try:
        return dict(db.execute("SELECT photo_id, vec FROM vectors"))
    finally:
        db.close()


def test_schema5_from_the_previous_release_is_read_then_migrated_with_its_decisions_and_journal(
        app, isolated_home, tmp_path):
    folder, photos = _install(app, "schema5", tmp_path)
    before, vectors = _digest(folder / "catalog.sqlite"), _vectors(folder)
    # read-only commands read it as it is, write nothing, and say so
    out = run("stats", "--json", home=isolated_home)
    assert json.loads(out.stdout)["photos"]["total"] == 12 and "older photosearch" in out.stderr
    hits = json.loads(run("search", photos / "a" / "p2.jpg", "--json", "-k", "1",
                          home=isolated_home).stdout)["hits"]
    assert hits[0]["path"] == str(photos / "a" / "p2.jpg")
    doctor = run("doctor", home=isolated_home, check=False).stdout
    assert "old: 5 indexed, 0 pending, 0 unreadable, 7 missing" in doctor
    assert _digest(folder / "catalog.sqlite") == before and _schema(folder) == 5
    # the second batch (moved to a folder, never undone): its files are where the old release put them
    db = sqlite3.connect(folder / "catalog.sqlite")
    moved = db.execute("SELECT path, dest FROM actions WHERE undone=0 ORDER BY id").fetchall()
    db.close()
    assert len(moved) == 7
    for path, dest in moved:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.rename(path, dest)
    # the first writer migrates
    with app.libraries.open("old", write=True) as lib:
        assert lib.catalog.version == SCHEMA_VERSION
        c = lib.catalog.conn
        ids = dict(c.execute("SELECT path, id FROM photos"))
        pair = tuple(sorted((ids[str(photos / "a" / "p2.jpg")], ids[str(photos / "c" / "p2-small.jpg")])))
        assert c.execute("SELECT a, b, kind FROM dup_decisions").fetchall() == [(*pair, "not-duplicates")]
        states = sorted(c.execute("SELECT batch, state, COUNT(*), COUNT(size) FROM actions GROUP BY batch, state"))
        assert states == [(1, "undone", 7, 7), (2, "done", 7, 7)]  # what each file was, from the catalog
        assert not c.execute("SELECT 1 FROM sqlite_master WHERE name='decisions'").fetchone()
    assert _vectors(folder) == vectors  # not one vector changed
    # the old journal is followed: the moved files come back, and nothing is embedded again
    out = run("duplicates", "--undo", home=isolated_home)
    assert out.stdout.count("put back") == 7 and all(os.path.exists(p) for p, _ in moved)
    assert "0 embedded" in run("index", home=isolated_home).stdout
    decided = run("duplicates", "--decisions", home=isolated_home).stdout
    assert "p2-small.jpg" in decided and "a/p2.jpg" in decided


def test_schema1_from_the_first_release_is_read_then_migrated_and_searched(app, isolated_home, tmp_path):
    folder, photos = _install(app, "schema1", tmp_path)
    before, vectors = _digest(folder / "catalog.sqlite"), _vectors(folder)
    out = run("stats", home=isolated_home)
    assert "12 indexed" in out.stdout and "older photosearch" in out.stderr
    compared = json.loads(run("compare", photos / "a" / "p0.jpg", photos / "b" / "p0.jpg", "--json",
                              home=isolated_home).stdout)
    assert compared["score"] > 0.99
    assert "old: 12 indexed" in run("doctor", home=isolated_home, check=False).stdout
    assert _digest(folder / "catalog.sqlite") == before and _schema(folder) == 1
    with app.libraries.open("old", write=True) as lib:
        assert lib.catalog.version == SCHEMA_VERSION
    out = run("index", home=isolated_home).stdout
    assert "0 embedded" in out and "12 unchanged" in out  # nothing embedded again
    assert _vectors(folder) == vectors
    saved = json.loads((folder / "library.json").read_text())
    assert saved["version"] == 3 and saved["precision_used"] == "fp32"  # its vectors were made at fp32
    hits = json.loads(run("search", photos / "a" / "p5.jpg", "--json", "-k", "1",
                          home=isolated_home).stdout)["hits"]
    assert hits[0]["path"] == str(photos / "a" / "p5.jpg")


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
    before = {p.name: _digest(p) for p in sorted(folder.iterdir()) if p.is_file()}
    for write in (True, False):
        with pytest.raises(LibraryIncompatible, match="newer photosearch"):
            app.libraries.open("new", write=write)
    after = {p.name: _digest(p) for p in sorted(folder.iterdir()) if p.is_file()}
    # SQLite's side files may appear (an empty write-ahead log): nothing was written to them
    wal = folder / "catalog.sqlite-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    for side in ("writer.lock", "catalog.sqlite-wal", "catalog.sqlite-shm"):
        after.pop(side, None), before.pop(side, None)
    assert after == before
