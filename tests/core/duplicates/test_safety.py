"""Cleanup that cannot lose a photo, as a user meets it on the command line: the three ways the
issue lost a picture (a kept photo gone since the scan; a link and its target; a reference folder
named through a link), and what goes with a photo, which one is kept, decisions about byte-identical
copies, the writer's lock and read-only commands. A tiny model and generated photos (byte copies,
found at the identical level): no ../shared needed."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys

from PIL import Image

from tests import helpers
from tests.test_cli import run


def groups(home, *args):
    out = run("duplicates", "--level", "identical", "--json", *args, home=home).stdout
    return [json.loads(line) for line in out.splitlines()]


def trashed(trash):
    return sorted(os.listdir(trash / "files")) if (trash / "files").exists() else []


def test_a_the_photo_to_keep_deleted_since_the_scan_leaves_its_copy_alone(isolated_home, make_lib, trash):
    photos = make_lib({"a/x.jpg": 1, "copies/x.jpg": "=a/x.jpg", "a/y.jpg": 2, "copies/y.jpg": "=a/y.jpg"})
    assert {g["keep"] for g in groups(isolated_home)} == {str(photos / "a/x.jpg"), str(photos / "a/y.jpg")}
    os.unlink(photos / "a/x.jpg")  # deleted (or its drive unplugged) after the last scan
    proc = run("duplicates", "--level", "identical", "--apply", "trash", home=isolated_home, check=False)
    assert proc.returncode == 1
    assert f"{photos / 'a/x.jpg'} and its duplicates: skipped, the photo to keep is not there any more" in proc.stderr
    assert (photos / "copies/x.jpg").exists()  # the only one left stays
    assert trashed(trash) == ["y.jpg"]  # the other group, whose photo to keep is there, was dealt with
    # the same when the photo to keep changed since the scan (another picture under its name)
    run("duplicates", "--undo", home=isolated_home)
    helpers.save_jpeg(helpers.make_photo(9), photos / "a/y.jpg")
    proc = run("duplicates", "--level", "identical", "--apply", "trash", home=isolated_home, check=False)
    assert "the photo to keep changed since the last scan" in proc.stderr and (photos / "copies/y.jpg").exists()


def test_b_a_link_and_its_target_are_one_photo(isolated_home, make_lib, trash):
    photos = make_lib({"photos2019/x.jpg": 1, "b/x.jpg": "->../photos2019/x.jpg", "d/z.jpg": 3})
    assert groups(isolated_home) == []  # one photo, not two to choose between
    proc = run("duplicates", "--level", "identical", "--apply", "trash", home=isolated_home)
    assert "0 file(s)" in proc.stdout and trashed(trash) == []
    assert (photos / "b/x.jpg").read_bytes() == (photos / "photos2019/x.jpg").read_bytes()  # no dangling link


def test_b_a_linked_photo_goes_with_its_links_and_comes_back_with_them(isolated_home, make_lib, trash):
    photos = make_lib({"photos2019/x.jpg": 1, "b/x.jpg": "->../photos2019/x.jpg", "c/x.jpg": "=photos2019/x.jpg"})
    ref = ["--reference", photos / "c"]
    [g] = groups(isolated_home, *ref)
    assert g["keep"] == str(photos / "c/x.jpg")
    assert g["others"][0]["path"] == str(photos / "photos2019/x.jpg")
    assert g["others"][0]["links"] == [str(photos / "b/x.jpg")]
    text = run("duplicates", "--level", "identical", *ref, home=isolated_home).stdout
    assert f"with its link {photos / 'b/x.jpg'}" in text
    run("duplicates", "--level", "identical", *ref, "--apply", "trash", home=isolated_home)
    assert not os.path.lexists(photos / "b/x.jpg")  # no link left pointing at nothing
    assert trashed(trash) == ["x.2.jpg", "x.jpg"]
    run("duplicates", "--undo", home=isolated_home)
    assert (photos / "b/x.jpg").read_bytes() == (photos / "c/x.jpg").read_bytes()


def test_c_a_reference_folder_named_through_a_link_is_protected(isolated_home, make_lib, trash, tmp_path):
    photos = tmp_path / "photos"
    for sub in ("originals", "edits"):
        (photos / sub).mkdir(parents=True)
    helpers.save_jpeg(helpers.make_photo(1), photos / "originals/x.jpg")
    shutil.copy(photos / "originals/x.jpg", photos / "edits/x.jpg")
    os.utime(photos / "edits/x.jpg", (1e9, 1e9))  # the older file: the rules alone would keep this one
    make_lib({}, root=photos)
    assert groups(isolated_home)[0]["keep"] == str(photos / "edits/x.jpg")
    link = tmp_path / "link"
    os.symlink(photos, link)  # ~/link -> the library's folder
    [g] = groups(isolated_home, "--reference", link / "originals")
    assert g["keep"] == str(photos / "originals/x.jpg")
    run("duplicates", "--level", "identical", "--reference", link / "originals", "--apply", "trash",
        home=isolated_home)
    assert (photos / "originals/x.jpg").exists() and not (photos / "edits/x.jpg").exists()
    # --prefer too, and relative to where the command runs
    run("duplicates", "--undo", home=isolated_home)
    proc = subprocess.run([sys.executable, "-m", "photosearch", "duplicates", "--level", "identical", "--json",
                           "--prefer", "link/originals"], cwd=tmp_path, capture_output=True, text=True,
                          env=dict(os.environ, PHOTOSEARCH_HOME=str(isolated_home), PYTHONPATH=str(helpers.REPO)))
    assert json.loads(proc.stdout)["keep"] == str(photos / "originals/x.jpg")


def test_a_photo_with_its_raw_is_the_camera_original_and_its_raw_goes_with_it(isolated_home, make_lib, trash):
    raw = bytes(range(256)) * 8
    photos = make_lib({"a/IMG_1.jpg": 1, "bb/IMG_1.jpg": "=a/IMG_1.jpg", "bb/IMG_1.dng": raw})
    [g] = groups(isolated_home)
    assert g["keep"] == str(photos / "bb/IMG_1.jpg")  # the one with its RAW, over a shorter path
    assert [(o["path"], o["companions"]) for o in g["others"]] == [(str(photos / "a/IMG_1.jpg"), [])]
    # when the one with its RAW is an other, the dry run says what goes with it
    [g] = groups(isolated_home, "--reference", photos / "a")
    assert g["others"][0]["companions"] == [str(photos / "bb/IMG_1.dng")]
    text = run("duplicates", "--level", "identical", "--reference", photos / "a", home=isolated_home).stdout
    assert f"with its RAW file {photos / 'bb/IMG_1.dng'}" in text
    out = run("duplicates", "--level", "identical", "--reference", photos / "a", "--apply", "trash",
              home=isolated_home).stdout
    assert "2 file(s) of 1 group(s)" in out and trashed(trash) == ["IMG_1.dng", "IMG_1.jpg"]


def test_for_the_same_pixels_the_original_format_wins(isolated_home, make_lib, tmp_path):
    photos = tmp_path / "photos"
    (photos / "exports").mkdir(parents=True)
    camera = Image.Exif()
    camera[0x010F], camera[0x0110] = "Canon", "Canon EOS R6"
    helpers.make_photo(4).save(photos / "IMG_4.jpg", quality=90, exif=camera.tobytes())  # the camera's JPEG
    Image.open(photos / "IMG_4.jpg").save(photos / "exports" / "IMG_4.png")  # lossless, bigger, same pixels
    # a scan's lossless master and a JPEG made from it: the master holds every pixel
    helpers.make_photo(6).save(photos / "scan_6.tif")
    helpers.save_jpeg(Image.open(photos / "scan_6.tif"), photos / "exports" / "scan_6.jpg", quality=95)
    make_lib({}, root=photos)
    assert (photos / "exports" / "IMG_4.png").stat().st_size > (photos / "IMG_4.jpg").stat().st_size
    keeps = {g["keep"]: [o["path"] for o in g["others"]] for g in groups(isolated_home)}
    assert keeps == {str(photos / "IMG_4.jpg"): [str(photos / "exports/IMG_4.png")],
                     str(photos / "scan_6.tif"): [str(photos / "exports/scan_6.jpg")]}


def test_decisions_tell_byte_identical_copies_apart_and_follow_renames(isolated_home, make_lib):
    photos = make_lib({"a/x.jpg": 1, "b/x.jpg": "=a/x.jpg", "c/x.jpg": "=a/x.jpg", "d/y.jpg": 2, "e/y.jpg": "=d/y.jpg"})
    run("duplicates", "--keep-photo", photos / "c/x.jpg", home=isolated_home)
    keeps = {g["keep"] for g in groups(isolated_home)}
    assert str(photos / "c/x.jpg") in keeps  # this copy, not its identical twins
    os.rename(photos / "c/x.jpg", photos / "c/renamed.jpg")
    run("index", home=isolated_home)
    assert str(photos / "c/renamed.jpg") in {g["keep"] for g in groups(isolated_home)}  # followed
    # keep all on identical files: remembered
    run("duplicates", "--not-duplicate", photos / "d/y.jpg", photos / "e/y.jpg", home=isolated_home)
    assert [g["keep"] for g in groups(isolated_home)] == [str(photos / "c/renamed.jpg")]
    listed = run("duplicates", "--decisions", home=isolated_home).stdout
    assert f"keep: {photos / 'c/renamed.jpg'}" in listed and str(photos / "e/y.jpg") in listed


def test_file_actions_need_the_writers_lock(isolated_home, make_lib, trash, app):
    photos = make_lib({"a/x.jpg": 1, "copies/x.jpg": "=a/x.jpg"})
    with app.libraries.open("lib", write=True):  # another process indexing it, as far as the command can tell
        proc = run("duplicates", "--level", "identical", "--apply", "trash", home=isolated_home, check=False)
        assert proc.returncode == 1 and "nothing was moved: library 'lib' is in use by pid" in proc.stderr
        assert (photos / "copies/x.jpg").exists() and trashed(trash) == []
        proc = run("duplicates", "--undo", home=isolated_home, check=False)
        assert proc.returncode == 1 and "is in use by pid" in proc.stderr


def _checkpointed(home):
    folder = home / "data" / "libraries" / "lib"
    db = sqlite3.connect(folder / "catalog.sqlite", isolation_level=None)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()
            if p.is_file() and p.name.startswith("catalog")}


def test_read_only_commands_never_write(isolated_home, make_lib, app, tmp_path):
    photos = make_lib({"a/x.jpg": 1, "copies/x.jpg": "=a/x.jpg", "a/y.jpg": 2})
    before = _checkpointed(isolated_home)
    for args in (["stats"], ["stats", "--json"], ["errors"], ["search", photos / "a/y.jpg"],
                 ["similar", photos / "a/y.jpg"], ["search", "--text", "dog"],
                 ["compare", photos / "a/x.jpg", photos / "a/y.jpg"], ["doctor"]):
        run(*args, home=isolated_home, check=args != ["doctor"])
    after = {k: v for k, v in _checkpointed(isolated_home).items()}
    assert after == before
    # a library never indexed: read as empty, its catalog not even created
    app.libraries.create("new", [str(photos)])
    with app.libraries.open("new") as lib:
        assert lib.catalog.counts()["total"] == 0
    assert not (app.libraries.folder("new") / "catalog.sqlite").exists()


def test_move_never_replaces_and_undo_never_restores_over_a_file(isolated_home, make_lib, tmp_path):
    photos = make_lib({"a/x.jpg": 1, "copies/x.jpg": "=a/x.jpg"})
    review = tmp_path / "review"
    review.mkdir()
    (review / "x.jpg").write_bytes(b"already here")
    run("duplicates", "--level", "identical", "--apply", f"move:{review}", home=isolated_home)
    assert (review / "x.jpg").read_bytes() == b"already here" and (review / "x.2.jpg").exists()
    (photos / "copies/x.jpg").write_bytes(b"a new file in its place")
    proc = run("duplicates", "--undo", home=isolated_home, check=False)
    assert proc.returncode == 1 and "a file is there again" in proc.stderr
    assert (photos / "copies/x.jpg").read_bytes() == b"a new file in its place" and (review / "x.2.jpg").exists()


def test_undo_checks_the_trash_still_holds_the_file_it_moved(isolated_home, make_lib, trash):
    photos = make_lib({"a/IMG.jpg": 1, "copies/IMG.jpg": "=a/IMG.jpg"})
    run("duplicates", "--level", "identical", "--apply", "trash", home=isolated_home)
    # the trash emptied, and then another IMG.jpg trashed by a file manager
    for d in ("files", "info"):
        shutil.rmtree(trash / d)
        (trash / d).mkdir()
    (trash / "files" / "IMG.jpg").write_bytes(b"a stranger's photo")
    (trash / "info" / "IMG.jpg.trashinfo").write_text("[Trash Info]\nPath=/home/someone/IMG.jpg\n"
                                                      "DeletionDate=2024-01-01T00:00:00\n")
    proc = run("duplicates", "--undo", home=isolated_home, check=False)
    assert proc.returncode == 1 and "the trash's IMG.jpg is another file now" in proc.stderr
    assert not (photos / "copies/IMG.jpg").exists()  # the stranger's file is not brought into the library
    assert (trash / "files" / "IMG.jpg").read_bytes() == b"a stranger's photo"
    proc = run("duplicates", "--undo", home=isolated_home, check=False)  # nothing left to try: said so
    assert "nothing to undo" in proc.stderr
