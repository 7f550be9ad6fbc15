"""Library + indexer + search through the core API, with a tiny model."""

import os
import shutil
import threading

import numpy as np
import pytest

from photosearch.core.errors import ImageError, LibraryIncompatible, LibraryLocked
from photosearch.core.library.catalog import INDEXED
from photosearch.core.pipeline.indexer import index_library
from photosearch.core.search import Searcher
from tests.helpers import edits, make_photo, save_jpeg


def _index(app, name="lib", **kw):
    with app.libraries.open(name, write=True) as lib:
        emb = app.embedder_for(lib)
        return index_library(lib, emb, **kw)


@pytest.fixture
def library(app, photo_folder, classifier_model):
    app.libraries.create("lib", [str(photo_folder)], model=app.model_spec(classifier_model).describe())
    return "lib"


def test_index_then_search_finds_exact_and_edited_copies(app, library, photo_folder, tmp_path):
    progress = []
    summary = _index(app, on_progress=progress.append)
    assert summary.embedded == 12 and summary.failed == 0 and not summary.cancelled
    phases = [p.phase for p in progress]
    assert phases[0] == "scanning" and phases[-1] == "done" and "indexing" in phases
    last = [p for p in progress if p.phase == "indexing"][-1]
    assert last.done == last.total == 12 and last.rate > 0

    with app.libraries.open(library) as lib:
        _assert_copies_found_first(Searcher(lib, app.embedder_for(lib)), photo_folder, (0, 5, 11), tmp_path)


def _assert_copies_found_first(searcher, photo_folder, photos, tmp_path):
    """Each photo finds itself, and each mildly edited copy of it finds it, first."""
    for i in photos:
        original = photo_folder / f"photo_{i:02d}.jpg"
        hits = searcher.by_images([original], k=3)
        assert hits[0].path == str(original) and hits[0].score > 0.99
        for name, (img, opts) in edits(make_photo(i)).items():
            copy = save_jpeg(img, tmp_path / f"q{i}_{name}.jpg", **opts)
            top = searcher.by_images([copy], k=1)[0]
            assert top.path == str(original), f"{name} copy of photo {i} found {top.path}"


def test_find_similar_excludes_the_query_and_uses_stored_vectors(app, library, photo_folder):
    _index(app)
    with app.libraries.open(library) as lib:
        searcher = Searcher(lib, model=None)  # no model: stored vectors only
        pid = searcher.photo_id(photo_folder / "photo_03.jpg")
        hits = searcher.by_photos([pid], k=20)
        assert len(hits) == 11 and all(h.id != pid for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        two = searcher.by_photos([pid, searcher.photo_id(photo_folder / "photo_04.jpg")], k=5)
        assert all(h.id != pid for h in two)
        assert searcher.by_photos([pid], k=20, min_score=2.0) == []


def test_multi_image_query_is_the_normalised_mean(app, library, photo_folder):
    _index(app)
    with app.libraries.open(library) as lib:
        searcher = Searcher(lib, app.embedder_for(lib))
        a, b = photo_folder / "photo_01.jpg", photo_folder / "photo_02.jpg"
        va, vb = searcher.embed_image(a), searcher.embed_image(b)
        mean = (va + vb) / np.linalg.norm(va + vb)
        hits = searcher.by_images([a, b], k=12)
        by_path = {h.path: h.score for h in hits}
        assert by_path[str(a)] == pytest.approx(float(mean @ va), abs=2e-3)
        assert {hits[0].path, hits[1].path} == {str(a), str(b)}


def test_bad_files_are_recorded_once_and_retried_only_when_changed(app, library, photo_folder):
    (photo_folder / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (photo_folder / "empty.png").write_bytes(b"")
    s1 = _index(app)
    assert s1.embedded == 12 and s1.failed == 2
    with app.libraries.open(library) as lib:
        errors = dict(lib.catalog.errors())
        assert errors[str(photo_folder / "empty.png")] == "empty file"
        assert str(photo_folder / "broken.jpg") in errors
    s2 = _index(app)
    assert s2.embedded == 0 and s2.failed == 0  # not retried while unchanged
    save_jpeg(make_photo(99), photo_folder / "broken.jpg")  # fixed by the user
    s3 = _index(app)
    assert s3.embedded == 1 and s3.changed == 1
    with app.libraries.open(library) as lib:
        assert lib.catalog.photo_by_path(str(photo_folder / "broken.jpg")).status == INDEXED


def test_cancel_leaves_a_consistent_library_that_resumes(app, library, photo_folder, classifier_model):
    for i in range(12, 60):
        save_jpeg(make_photo(i), photo_folder / f"photo_{i:02d}.jpg")
    cancel = threading.Event()

    def stop_soon(p):
        if p.phase == "indexing" and p.done >= 16:
            cancel.set()

    s1 = _index(app, cancel=cancel, on_progress=stop_soon)
    assert s1.cancelled and 16 <= s1.embedded < 60
    with app.libraries.open(library) as lib:
        counts = lib.catalog.counts()
        assert counts["indexed"] == s1.embedded and counts["pending"] == 60 - s1.embedded
        assert lib.index.live_count == s1.embedded == lib.catalog.vector_count()
    s2 = _index(app)
    assert s2.embedded == 60 - s1.embedded and not s2.cancelled
    with app.libraries.open(library) as lib:
        assert lib.catalog.counts()["indexed"] == 60 and lib.index.live_count == 60


def test_rescan_keeps_moved_vectors_and_keeps_deleted_as_missing(app, library, photo_folder):
    _index(app)
    with app.libraries.open(library) as lib:
        old_id = lib.catalog.photo_by_path(str(photo_folder / "photo_01.jpg")).id
    os.rename(photo_folder / "photo_01.jpg", photo_folder / "renamed.jpg")
    (photo_folder / "photo_02.jpg").unlink()
    s = _index(app)
    assert (s.moved, s.missing, s.removed, s.embedded) == (1, 1, 0, 0)
    with app.libraries.open(library) as lib:
        assert lib.catalog.photo_by_path(str(photo_folder / "renamed.jpg")).id == old_id
        assert lib.catalog.counts()["missing"] == 1
        assert lib.index.live_count == 11
        searcher = Searcher(lib, app.embedder_for(lib))
        hit = searcher.by_images([photo_folder / "renamed.jpg"], k=1)[0]
        assert hit.path == str(photo_folder / "renamed.jpg")
        assert all("photo_02" not in h.path for h in searcher.by_photos([old_id], k=50))


def test_crash_between_checkpoints_is_replayed_on_open(app, library, photo_folder, monkeypatch):
    from photosearch.core.index.vector_index import VectorIndex

    _index(app)
    for i in range(12, 20):
        save_jpeg(make_photo(i), photo_folder / f"photo_{i:02d}.jpg")
    (photo_folder / "photo_00.jpg").unlink()
    # the catalog commits every batch, but the process dies before the index is saved
    with monkeypatch.context() as m:
        m.setattr(VectorIndex, "save", lambda self, catalog: None)
        _index(app)
    with app.libraries.open(library) as lib:
        assert lib.index.live_count == 19
        assert not lib.notices  # caught up by replay, not rebuilt
        ids = Searcher(lib).by_photos([lib.catalog.photo_by_path(str(photo_folder / "photo_15.jpg")).id], k=50)
        assert len(ids) == 18 and all("photo_00" not in h.path for h in ids)


def test_damaged_index_is_rebuilt_with_a_notice(app, library):
    _index(app)
    with app.libraries.open(library) as lib:
        f = lib.folder / "index.hnsw"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with app.libraries.open(library) as lib:
        assert lib.index.live_count == 12
        assert any("damaged" in n for n in lib.notices)
    (f.parent / "index.json").write_text("{not json")
    with app.libraries.open(library) as lib:
        assert lib.index.live_count == 12


def test_one_writer_at_a_time(app, library):
    with app.libraries.open(library, write=True):
        with pytest.raises(LibraryLocked, match="in use"):
            app.libraries.open(library, write=True)
        with app.libraries.open(library) as reader:  # readers are never blocked
            assert reader.name == library
    with app.libraries.open(library, write=True):
        pass


def test_other_model_is_refused(app, library, embedder_model):
    _index(app)
    with app.libraries.open(library, write=True) as lib:
        other = app.embedder(app.model_spec(embedder_model))
        with pytest.raises(LibraryIncompatible, match="re-index"):
            index_library(lib, other)
        lib.reset_vectors()
        s = index_library(lib, other)
        assert s.embedded == 12 and lib.config.model["sha256"] == other.spec.sha256


def test_unreadable_query_gives_a_clear_error(app, library, tmp_path):
    _index(app)
    bad = tmp_path / "q.jpg"
    bad.write_bytes(b"nope")
    with app.libraries.open(library) as lib:
        searcher = Searcher(lib, app.embedder_for(lib))
        with pytest.raises(ImageError, match="q.jpg"):
            searcher.by_images([bad])
        with pytest.raises(ImageError, match="cannot read"):
            searcher.by_images([tmp_path / "missing.jpg"])


def test_file_vanishing_before_decode_is_dropped_not_failed(app, library, photo_folder, monkeypatch):
    from photosearch.core.pipeline import indexer

    real = indexer.load_for_model

    def vanish_one(pid, path, pre):
        if path.endswith("photo_07.jpg"):
            os.unlink(path)
        return real(pid, path, pre)

    monkeypatch.setattr(indexer, "load_for_model", vanish_one)
    s = _index(app)
    assert s.embedded == 11 and s.vanished == 1 and s.failed == 0
    with app.libraries.open(library) as lib:
        assert lib.catalog.counts()["total"] == 11


def test_big_index_files_are_checked_by_samples(app, library, monkeypatch):
    from photosearch.core.index import vector_index as vectors

    _index(app)
    monkeypatch.setattr(vectors, "FULL_CRC_LIMIT", 0)  # treat the small test index as a big one
    with app.libraries.open(library, write=True) as lib:
        lib.index.save(lib.catalog)  # recorded with the sampled checksum
        f = lib.folder / "index.hnsw"
    data = bytearray(f.read_bytes())
    data[100] ^= 0xFF  # inside the first sample
    f.write_bytes(bytes(data))
    with app.libraries.open(library) as lib:
        assert lib.index.live_count == 12 and any("damaged" in n for n in lib.notices)


def test_default_descriptor_learns_whitening_while_indexing(app, photo_folder, convnet_model, tmp_path):
    import json
    from dataclasses import replace

    from photosearch.core.vision.descriptor import DEFAULT

    for i in range(12, 40):
        save_jpeg(make_photo(i), photo_folder / f"photo_{i:02d}.jpg")
    app.libraries.create("w", [str(photo_folder)], model=app.model_spec(convnet_model).describe())
    config = replace(DEFAULT, thumb=32, whiten_min_photos=20)
    with app.libraries.open("w", write=True) as lib:
        descriptor = app.descriptor_for(lib, config=config)
        assert descriptor.config == config and descriptor.dim == 64  # two 32-channel parts
        assert index_library(lib, descriptor).embedded == 40
        assert lib.index.whitening is not None and lib.index.whitening.fitted_on == 40
        folder = lib.folder
    assert json.loads((folder / "index.json").read_text())["whitened_on"] == 40
    with app.libraries.open("w") as lib:
        assert lib.descriptor == config  # recorded with the library
        searcher = Searcher(lib, app.descriptor_for(lib))
        assert lib.index.whitening.fitted_on == 40  # loaded, not fitted again
        _assert_copies_found_first(searcher, photo_folder, (0, 7, 33), tmp_path)


def test_a_model_that_cannot_take_thumbnails_falls_back_with_a_notice(app, library):
    notices = []
    app.on_notice = notices.append
    with app.libraries.open(library) as lib:
        descriptor = app.descriptor_for(lib)  # the default asks for 128 px thumbnails
    assert descriptor.config.thumb == 0 and descriptor.config.pooling == "gem"
    assert any("thumbnails" not in n and "cannot use" in n for n in notices)


# -- missing is not deleted ---------------------------------------------------------------
def _two_folder_library(app, tmp_path, classifier_model):
    root = tmp_path / "lib"
    for sub, start in (("a", 0), ("b", 30)):
        (root / sub).mkdir(parents=True)
        for i in range(start, start + 6):
            save_jpeg(make_photo(i), root / sub / f"p{i:02d}.jpg")
    app.libraries.create("two", [str(root)], model=app.model_spec(classifier_model).describe())
    return root


def _index_two(app):
    with app.libraries.open("two", write=True) as lib:
        return index_library(lib, app.embedder_for(lib))


def test_a_folder_away_for_one_scan_keeps_its_vectors(app, tmp_path, classifier_model):
    root = _two_folder_library(app, tmp_path, classifier_model)
    assert _index_two(app).embedded == 12
    os.rename(root / "b", tmp_path / "b-away")
    (root / "b").mkdir()  # what an unmounted drive leaves: an empty mount point
    s = _index_two(app)
    assert (s.missing, s.removed, s.embedded) == (6, 0, 0)
    with app.libraries.open("two") as lib:
        assert lib.catalog.counts()["missing"] == 6 and lib.index.live_count == 6
        hits = Searcher(lib, app.embedder_for(lib)).by_images([tmp_path / "b-away" / "p31.jpg"], k=20)
        assert hits and all("/b/" not in h.path for h in hits)  # missing photos are never results
        labelled = {pid for pid, _, _ in lib.catalog.photos_with_classes(range(1000))}
        in_b = {lib.catalog.photo_by_path(str(root / "b" / f"p{i}.jpg")).id for i in range(30, 36)}
        assert labelled and not labelled & in_b  # nor keyword results
    (root / "b").rmdir()
    os.rename(tmp_path / "b-away", root / "b")
    s = _index_two(app)
    assert (s.returned, s.embedded, s.missing) == (6, 0, 0)  # back, without embedding
    with app.libraries.open("two") as lib:
        assert lib.catalog.counts()["missing"] == 0 and lib.index.live_count == 12
        hit = Searcher(lib, app.embedder_for(lib)).by_images([root / "b" / "p31.jpg"], k=1)[0]
        assert hit.path == str(root / "b" / "p31.jpg") and hit.score > 0.99


def test_an_unreadable_folder_is_a_problem_never_a_deletion(app, tmp_path, classifier_model, monkeypatch):
    root = _two_folder_library(app, tmp_path, classifier_model)
    _index_two(app)
    real_scandir = os.scandir

    def scandir(path="."):
        if str(path) == str(root / "b"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    s = _index_two(app)
    assert s.missing == 6 and s.removed == 0
    assert any(str(root / "b") == p and "Permission denied" in r for p, r in s.problems)
    monkeypatch.undo()
    s = _index_two(app)
    assert (s.returned, s.embedded) == (6, 0)


def test_a_missing_photo_found_elsewhere_comes_back_by_content(app, tmp_path, classifier_model):
    root = _two_folder_library(app, tmp_path, classifier_model)
    _index_two(app)
    os.rename(root / "a" / "p01.jpg", tmp_path / "p01-away.jpg")
    assert _index_two(app).missing == 1
    os.rename(tmp_path / "p01-away.jpg", root / "b" / "renamed.jpg")
    s = _index_two(app)
    assert (s.returned, s.moved, s.embedded, s.added) == (1, 1, 0, 0)


def test_only_the_user_forgets_missing_photos(app, tmp_path, classifier_model):
    root = _two_folder_library(app, tmp_path, classifier_model)
    _index_two(app)
    shutil.rmtree(root / "a")
    _index_two(app)
    _index_two(app)  # a second scan forgets nothing either
    with app.libraries.open("two", write=True) as lib:
        assert lib.catalog.counts()["missing"] == 6 and lib.catalog.vector_count() == 12
        assert lib.forget_missing() == 6
        assert lib.catalog.counts()["missing"] == 0 and lib.catalog.vector_count() == 6
        assert lib.index.live_count == 6


def test_removing_a_folder_from_the_library_forgets_its_photos(app, tmp_path, classifier_model):
    root = _two_folder_library(app, tmp_path, classifier_model)
    _index_two(app)
    app.libraries.set_folders("two", [str(root / "a")])
    s = _index_two(app)
    assert (s.removed, s.missing) == (6, 0)


# -- bugs are not blamed on files ---------------------------------------------------------
def test_a_bug_in_preparing_a_photo_stops_indexing_and_leaves_it_pending(app, library, photo_folder,
                                                                         monkeypatch):
    from photosearch.core.vision.descriptor import Descriptor

    real = Descriptor.prepare
    target = str(photo_folder / "photo_05.jpg")
    seen = []

    def prepare(self, image):
        seen.append(image.size)
        if len(seen) == 3:
            raise ZeroDivisionError("a bug in our preprocessing")
        return real(self, image)

    monkeypatch.setattr(Descriptor, "prepare", prepare)
    with pytest.raises(ZeroDivisionError), app.libraries.open(library, write=True) as lib:
        index_library(lib, app.embedder_for(lib), workers=1)
    with app.libraries.open(library) as lib:
        counts = lib.catalog.counts()
        assert counts["failed"] == 0 and counts["pending"] >= 1  # nothing blamed on a file
        assert lib.catalog.errors() == []
    monkeypatch.setattr(Descriptor, "prepare", real)  # the fixed version
    s = _index(app)
    assert s.failed == 0
    with app.libraries.open(library) as lib:
        assert lib.catalog.counts()["indexed"] == 12 and lib.catalog.photo_by_path(target).status == INDEXED


def test_a_model_failure_is_a_bug_report_and_loses_nothing(app, library, photo_folder, monkeypatch):
    from photosearch.core.vision.embedder import Embedder

    _index(app)
    save_jpeg(make_photo(77), photo_folder / "new.jpg")
    monkeypatch.setattr(Embedder, "embed", lambda self, *a, **k: (_ for _ in ()).throw(RuntimeError("ORT")))
    with pytest.raises(RuntimeError), app.libraries.open(library, write=True) as lib:
        index_library(lib, app.embedder_for(lib))
    monkeypatch.undo()
    with app.libraries.open(library) as lib:
        assert lib.catalog.counts()["pending"] == 1 and lib.catalog.counts()["indexed"] == 12


@pytest.mark.parametrize("exc, says, never", [
    (OSError(28, "No space left on device"), "free some space", "read-only"),
    (OSError(122, "Disk quota exceeded"), "free some space", "read-only"),
    (OSError(30, "Read-only file system"), "read-only", "free some space"),
    (OSError(13, "Permission denied"), "permission denied", "free some space"),
    (OSError(5, "Input/output error"), "input/output error", "free some space"),
])
def test_storage_errors_say_what_happened(app, library, photo_folder, monkeypatch, exc, says, never):
    from photosearch.core.errors import StorageError
    from photosearch.core.library.catalog import Catalog

    def store(self, indexed, failed):
        raise exc

    monkeypatch.setattr(Catalog, "store", store)
    with pytest.raises(StorageError) as info, app.libraries.open(library, write=True) as lib:
        index_library(lib, app.embedder_for(lib))
    assert says in str(info.value) and never not in str(info.value)


def test_sqlite_storage_errors_are_classified_too():
    import sqlite3

    from photosearch.core.errors import storage_error

    assert "free some space" in str(storage_error("x", sqlite3.OperationalError("database or disk is full")))
    assert "read-only" in str(storage_error("x", sqlite3.OperationalError("attempt to write a readonly database")))
    assert "input/output" in str(storage_error("x", sqlite3.OperationalError("disk I/O error")))


def test_a_raw_and_its_jpeg_are_indexed_once_and_found_together(app, tmp_path, classifier_model):
    from tests.helpers import save_dng

    folder = tmp_path / "camera"
    folder.mkdir()
    for i in range(4):
        save_jpeg(make_photo(i), folder / f"IMG_{i}.JPG")
    save_dng(np.asarray(make_photo(1)), folder / "IMG_1.DNG")  # shot as RAW + JPEG
    save_dng(np.asarray(make_photo(9)), folder / "IMG_9.DNG")  # RAW only
    app.libraries.create("cam", [str(folder)], model=app.model_spec(classifier_model).describe())
    with app.libraries.open("cam", write=True) as lib:
        s = index_library(lib, app.embedder_for(lib))
        assert s.embedded == 5 and s.failed == 0  # 4 JPEGs + the lone RAW; the pair counts once
        hit = Searcher(lib, app.embedder_for(lib)).by_images([folder / "IMG_1.JPG"], k=1)[0]
        assert hit.path == str(folder / "IMG_1.JPG") and hit.companions == (str(folder / "IMG_1.DNG"),)
        assert hit.to_dict()["companions"] == [str(folder / "IMG_1.DNG")]
        lone = Searcher(lib, app.embedder_for(lib)).by_images([folder / "IMG_9.DNG"], k=1)[0]
        assert lone.path == str(folder / "IMG_9.DNG") and lone.score > 0.99
