"""Fault injection: `photosearch duplicates --apply` and `--undo` killed (SIGKILL, as `kill -9` or a
power cut would) after N files, for every N, at every step of a file's move; then the next undo
settles what the kill left half done and puts everything back.

After every kill: every file is in its place, or where its journal row says (the trash, the folder,
or the temporary name of a copy to another drive), and nowhere else once settled; the undo then
restores every byte to its place and leaves nothing of ours in the trash or the folder.

The library (no ../shared needed): byte-identical copies, found at the identical level by a tiny
model, kept in keep/ (a reference folder), with a RAW companion, two others of the same name, a
link to one of them, and a stranger's file of the same name already in the trash. Modes that need
a second drive, a full one or a read-only one mount small tmpfs file systems (root only: skipped
with the reason otherwise).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from photosearch.core.app import App
from photosearch.core.duplicates import actions
from photosearch.core.duplicates.finder import find_duplicates
from photosearch.core.errors import PhotosearchError
from photosearch.core.library.libraries import Library
from photosearch.core.library.paths import app_dirs
from tests import helpers
from tests.helpers import REPO
from tests.test_cli import run

MOVED = ["dup/p0.jpg", "dup/p0.dng", "dup/p1.jpg", "dup/sub/p1.jpg", "dup/p2.jpg", "dup/link-p2.jpg"]
KEPT = ["keep/p0.jpg", "keep/p0.dng", "keep/p1.jpg", "keep/p2.jpg", "other/p3.jpg"]


def make_library(base: Path, model: Path, photos: Path) -> None:
    home, xdg = base / "home", base / "xdg"
    for sub in ("keep", "dup/sub", "other"):
        (photos / sub).mkdir(parents=True, exist_ok=True)
    for i in range(4):
        helpers.save_jpeg(helpers.make_photo(40 + i), photos / ("other" if i == 3 else "keep") / f"p{i}.jpg")
    raw = bytes(range(256)) * 64
    (photos / "keep" / "p0.dng").write_bytes(raw)  # both have their RAW: the reference folder decides
    for rel in ("dup/p0.jpg", "dup/p1.jpg", "dup/sub/p1.jpg", "dup/p2.jpg"):
        shutil.copy(photos / "keep" / Path(rel).name, photos / rel)
    (photos / "dup" / "p0.dng").write_bytes(raw[::-1])
    os.symlink("p2.jpg", photos / "dup" / "link-p2.jpg")  # one photo under two names: they go together
    # a stranger's p2.jpg already in the trash: never replaced, never brought back by an undo
    (xdg / "Trash" / "files").mkdir(parents=True)
    (xdg / "Trash" / "info").mkdir()
    (xdg / "Trash" / "files" / "p2.jpg").write_bytes(b"a stranger's photo")
    (xdg / "Trash" / "info" / "p2.jpg.trashinfo").write_text(
        "[Trash Info]\nPath=/elsewhere/p2.jpg\nDeletionDate=2024-01-01T00:00:00\n")
    run("library", "create", "lib", photos, "--model", model, "--precision", "fp32", home=home)
    run("index", home=home)


def digests(photos: Path) -> dict[str, str]:
    return {rel: _digest(photos / rel) for rel in MOVED + KEPT}


def _digest(path: Path | str) -> str:
    if os.path.islink(path):
        return "link:" + os.readlink(path)
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _journal(home: Path) -> list[tuple]:
    db = sqlite3.connect(f"{(home / 'data' / 'libraries' / 'lib' / 'catalog.sqlite').as_uri()}?mode=ro", uri=True)
    try:
        return db.execute("SELECT id, path, dest, state FROM actions ORDER BY id").fetchall()
    finally:
        db.close()


def places(photos: Path, home: Path, want: dict[str, str]) -> dict[str, list[str]]:
    """Where each file that may move is now, with its very bytes: its place, or a journalled one."""
    found: dict[str, list[str]] = {}
    rows = _journal(home)
    for rel in MOVED:
        path = str(photos / rel)
        here = [path] if os.path.lexists(path) and _digest(path) == want[rel] else []
        for row_id, p, dest, _state in rows:
            if p != path:
                continue
            # a copy to another drive has a temporary name beside where it goes (for an undo: beside its place)
            temps = [os.path.join(os.path.dirname(d), f".photosearch-{row_id}.part") for d in (dest, p)]
            for where in (dest, *temps):
                if os.path.lexists(where) and _digest(where) == want[rel] and where not in here:
                    here.append(where)
        found[rel] = here
    return found


class Case:
    """One library, made once, put back as it was before every kill."""

    def __init__(self, root: Path, model: Path, photos_at: Path | None = None):
        self.root = root
        self.work = root / "work"
        self.photos = photos_at or self.work / "photos"
        self.template = root / "template"
        self.model = model
        self.want: dict[str, str] = {}

    def reset(self) -> None:
        pairs = [(self.work, self.template / "work")]
        if not self.photos.is_relative_to(self.work):
            pairs.append((self.photos, self.template / "photos"))
        if not self.want:
            self.work.mkdir(parents=True, exist_ok=True)
            make_library(self.work, self.model, self.photos)
            for path, tpl in pairs:
                shutil.copytree(path, tpl, symlinks=True)
            self.want = digests(self.photos)
            return
        for path, tpl in pairs:
            for child in list(path.iterdir()):
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            shutil.copytree(tpl, path, symlinks=True, dirs_exist_ok=True)

    @property
    def home(self) -> Path:
        return self.work / "home"

    def env(self, fault: str | None = None) -> dict[str, str]:
        env = dict(os.environ, PHOTOSEARCH_HOME=str(self.home), XDG_DATA_HOME=str(self.work / "xdg"),
                   PYTHONPATH=str(REPO))
        env.pop("PHOTOSEARCH_FAULT_AFTER", None)
        if fault:
            env["PHOTOSEARCH_FAULT_AFTER"] = fault
        return env

    def photosearch(self, *args: str, fault: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "photosearch", "duplicates", *args], env=self.env(fault),
                              cwd=cwd or self.work, capture_output=True, text=True, timeout=120)

    @contextlib.contextmanager
    def library(self) -> Iterator[Library]:
        """The library opened here, in the test's process, with this case's trash."""
        saved = os.environ.get("XDG_DATA_HOME")
        os.environ["XDG_DATA_HOME"] = str(self.work / "xdg")
        try:
            with App(dirs=app_dirs(self.home), device="cpu").libraries.open("lib", write=True) as lib:
                yield lib
        finally:
            if saved is None:
                del os.environ["XDG_DATA_HOME"]
            else:
                os.environ["XDG_DATA_HOME"] = saved

    def apply_here(self, how: str) -> actions.Outcome:
        with self.library() as lib:
            groups = find_duplicates(lib, "identical", reference=[str(self.photos / "keep")])
            return actions.apply(lib, groups, how)

    def undo_here(self) -> actions.Outcome:
        """The undo after a kill (here: the same code as the command, without starting Python again);
        when nothing is left to put back, it has still settled what the kill left half done."""
        with self.library() as lib:
            try:
                return actions.undo(lib)
            except PhotosearchError as exc:
                assert "nothing to undo" in str(exc)
                return actions.Outcome(0, [], [], [])

    def apply(self, how: str, fault: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return self.photosearch("--level", "identical", "--reference", str(self.photos / "keep"), "--apply", how,
                                fault=fault, cwd=cwd)

    def nothing_lost(self, at: str) -> None:
        where = places(self.photos, self.home, self.want)
        lost = [rel for rel, here in where.items() if not here]
        assert not lost, f"{at}: lost {lost}; journal {_journal(self.home)}"
        for rel in KEPT:  # the photos kept are never touched
            assert _digest(self.photos / rel) == self.want[rel], f"{at}: {rel} changed"

    def all_back(self, at: str, folders: list[Path]) -> None:
        """After the undo: every byte in its place, nothing of ours left anywhere else."""
        for rel in MOVED + KEPT:
            path = self.photos / rel
            assert os.path.lexists(path) and _digest(path) == self.want[rel], f"{at}: {rel} is not back"
        where = places(self.photos, self.home, self.want)
        twice = {rel: here for rel, here in where.items() if len(here) != 1}
        assert not twice, f"{at}: in two places: {twice}"
        trash = self.work / "xdg" / "Trash"
        assert sorted(os.listdir(trash / "files")) == ["p2.jpg"], f"{at}: the trash holds {os.listdir(trash / 'files')}"
        assert sorted(os.listdir(trash / "info")) == ["p2.jpg.trashinfo"]
        assert (trash / "files" / "p2.jpg").read_bytes() == b"a stranger's photo"
        for folder in folders:
            left = [str(p) for p in folder.rglob("*")] if folder.exists() else []
            assert not [p for p in left if not os.path.isdir(p)], f"{at}: left in {folder}: {left}"
        states = {s for _, _, _, s in _journal(self.home)}
        assert states <= {"undone", "cancelled"}, f"{at}: journal states {states}"
        db = sqlite3.connect(f"{(self.home / 'data' / 'libraries' / 'lib' / 'catalog.sqlite').as_uri()}?mode=ro",
                             uri=True)
        away = db.execute("SELECT path FROM photos WHERE status != 1").fetchall()
        db.close()
        assert not away, f"{at}: back on disk, not in the catalog: {away}"  # searchable again, nothing embedded


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return helpers.tiny_convnet(tmp_path_factory.mktemp("model") / "tiny_convnet.onnx")


@pytest.fixture(scope="module")
def case(tmp_path_factory, model):
    return Case(tmp_path_factory.mktemp("faults"), model)


def _kill_and_recover(case: Case, how: str, step: str, folders: list[Path], ns: list[int],
                      cwd: Path | None = None) -> list[int]:
    """Kill the apply at `step` after N files, for each N; check, undo, check. Returns the N that killed."""
    killed = []
    for n in ns:
        case.reset()
        proc = case.apply(how, fault=f"{n} {step}", cwd=cwd)
        assert proc.returncode == -9, f"#{n}: exit {proc.returncode}: {proc.stdout} {proc.stderr}"
        killed.append(n)
        case.nothing_lost(f"killed at {step} #{n}")
        undo = case.undo_here()
        assert not undo.problems, undo.problems
        case.all_back(f"undone after a kill at {step} #{n}", folders)
    return killed


ALL = list(range(1, len(MOVED) + 1))


@pytest.mark.parametrize("step, ns", [("apply-intent", ALL), ("apply-moved", ALL), ("apply-done", ALL[-1:])])
def test_trash_killed_after_every_file_then_undone(case, step, ns):
    """apply-intent: the journal says the N-th file will move, it has not; apply-moved: it moved, the
    journal does not say so yet; apply-done (the state between two files): after the last one."""
    assert _kill_and_recover(case, "trash", step, [], ns) == ns


@pytest.mark.parametrize("step, ns", [("undo-intent", ALL), ("undo-moved", ALL), ("undo-done", ALL[-1:])])
def test_undo_killed_after_every_file_then_finished(case, step, ns):
    for n in ns:
        case.reset()
        assert not case.apply_here("trash").problems
        proc = case.photosearch("--undo", fault=f"{n} {step}")
        assert proc.returncode == -9, proc.stdout + proc.stderr
        case.nothing_lost(f"undo killed at {step} #{n}")
        assert not case.undo_here().problems
        case.all_back(f"second undo after a kill at {step} #{n}", [])


def test_move_to_a_relative_folder_killed_then_undone_from_elsewhere(case):
    elsewhere = case.root / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    # relative to where the command runs; journalled absolute, so the undo runs from another folder
    killed = _kill_and_recover(case, "move:review", "apply-moved", [case.work / "review"], ALL, cwd=case.work)
    assert killed == ALL
    case.reset()
    proc = case.apply("move:review", cwd=case.work)
    assert proc.returncode == 0 and sorted(os.listdir(case.work / "review")) == \
        ["link-p2.jpg", "p0.dng", "p0.jpg", "p1.2.jpg", "p1.jpg", "p2.jpg"]
    dests = {d for _, _, d, _ in _journal(case.home)}
    assert all(os.path.isabs(d) and d.startswith(str(case.work / "review")) for d in dests)
    assert case.photosearch("--undo", cwd=elsewhere).returncode == 0
    case.all_back("undone from elsewhere", [case.work / "review"])


def test_same_names_never_replace_anything(case):
    case.reset()
    assert case.apply("trash").returncode == 0
    files = case.work / "xdg" / "Trash" / "files"
    # p2.jpg was taken (a stranger's): dup/p2.jpg and its link both get the next number
    assert sorted(os.listdir(files)) == ["link-p2.2.jpg", "p0.dng", "p0.jpg", "p1.2.jpg", "p1.jpg", "p2.2.jpg",
                                         "p2.jpg"]
    assert (files / "p2.jpg").read_bytes() == b"a stranger's photo"  # the stranger's, untouched
    info = (case.work / "xdg" / "Trash" / "info" / "p1.2.jpg.trashinfo").read_text()
    assert "Path=" + str(case.photos / "dup") in info  # a file manager can restore it too
    assert case.photosearch("--undo").returncode == 0
    case.all_back("undone", [])


# -- other drives: a second one, a full one, a read-only one, one unplugged ----------------------

@pytest.fixture
def mount(tmp_path_factory):
    """mount(size): a fresh tmpfs (a drive of its own), unmounted after the test."""
    made: list[Path] = []

    def make(size: str = "8m", at: Path | None = None) -> Path:
        path = at or tmp_path_factory.mktemp("drive")
        path.mkdir(exist_ok=True)
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip("a second drive is a tmpfs mounted for the test, which needs root: "
                        f"{proc.stderr.strip() or 'mount failed'}")
        made.append(path)
        return path

    yield make
    for path in reversed(made):
        subprocess.run(["umount", "--lazy", str(path)], capture_output=True)


def _fill(drive: Path) -> None:
    with open(drive / "ballast", "wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 4096)


def _trash_rows(case: Case) -> list[str]:
    return [dest for _, _, dest, _ in _journal(case.home)]


def test_a_photo_on_another_drive_goes_to_that_drives_trash_killed_after_every_file(tmp_path, model, mount):
    drive = mount()
    case = Case(tmp_path, model, photos_at=drive / "photos")
    own = drive / ".Trash-0" if os.getuid() == 0 else drive / f".Trash-{os.getuid()}"
    killed = _kill_and_recover(case, "trash", "apply-moved", [own / "files", own / "info"], ALL)
    assert killed == ALL
    case.reset()
    assert case.apply("trash").returncode == 0
    assert all(d.startswith(str(own / "files")) for d in _trash_rows(case))  # a rename: no copy on the home drive
    info = (own / "info" / "p1.2.jpg.trashinfo").read_text()
    assert "Path=photos/dup/" in info  # relative to the drive: it may be mounted elsewhere next time
    assert not case.undo_here().problems
    case.all_back("undone", [own / "files", own / "info"])
    # $topdir/.Trash with the sticky bit is the drive's shared trash: $topdir/.Trash/$uid
    case.reset()
    shutil.rmtree(own, ignore_errors=True)
    (drive / ".Trash").mkdir()
    os.chmod(drive / ".Trash", 0o1777)
    assert case.apply("trash").returncode == 0
    assert all(d.startswith(str(drive / ".Trash" / str(os.getuid()) / "files")) for d in _trash_rows(case))
    assert not case.undo_here().problems
    # ... but not when it is a link (someone could point it anywhere): then .Trash-$uid
    case.reset()
    shutil.rmtree(drive / ".Trash")
    shutil.rmtree(own, ignore_errors=True)
    os.symlink(tmp_path, drive / ".Trash")
    assert case.apply("trash").returncode == 0
    assert all(d.startswith(str(own / "files")) for d in _trash_rows(case))


@pytest.mark.parametrize("step", ["apply-copy-synced", "apply-copy-unlinked", "undo-copy-unlinked"])
def test_a_move_to_another_drive_is_a_synced_copy_killed_after_every_file(case, mount, step):
    drive = mount()
    how = f"move:{drive / 'review'}"
    if step.startswith("apply"):
        assert _kill_and_recover(case, how, step, [drive / "review"], ALL) == ALL
        return
    for n in ALL:
        case.reset()
        assert not case.apply_here(how).problems
        assert case.photosearch("--undo", fault=f"{n} {step}").returncode == -9
        case.nothing_lost(f"undo killed at {step} #{n}")
        assert not case.undo_here().problems
        case.all_back(f"second undo after a kill at {step} #{n}", [drive / "review"])


def test_a_full_drive_leaves_no_partial_copy_and_every_original_in_place(case, mount):
    case.reset()
    drive = mount("256k")
    _fill(drive)
    proc = case.apply(f"move:{drive / 'review'}")
    assert proc.returncode == 1 and "No space left on device" in proc.stderr
    case.nothing_lost("full drive")
    assert all(os.path.lexists(case.photos / rel) for rel in MOVED)  # every original in its place
    leftovers = [p.name for p in (drive / "review").iterdir()] if (drive / "review").exists() else []
    assert leftovers == []  # no truncated copy
    assert {s for *_, s in _journal(case.home)} == {"cancelled"}
    (drive / "ballast").unlink()  # room again: the same command works
    assert case.apply(f"move:{drive / 'review'}").returncode == 0
    assert not case.undo_here().problems
    case.all_back("undone", [drive / "review"])


def test_a_full_home_trash_for_another_drive_leaves_the_original(tmp_path, model, mount):
    drive, home_drive = mount(), mount("128k")
    case = Case(tmp_path, model, photos_at=drive / "photos")
    case.reset()
    (drive / f".Trash-{os.getuid()}").write_text("not a folder")  # the drive's own trash cannot be used
    xdg = case.work / "xdg"
    shutil.copytree(xdg, home_drive / "xdg", symlinks=True)
    shutil.rmtree(xdg)
    os.symlink(home_drive / "xdg", xdg)  # the home trash lies on a drive that is full
    _fill(home_drive)
    proc = case.apply("trash")
    assert proc.returncode == 1 and "No space left on device" in proc.stderr
    case.nothing_lost("full home trash")
    assert all(os.path.lexists(case.photos / rel) for rel in MOVED)
    assert sorted(os.listdir(home_drive / "xdg" / "Trash" / "files")) == ["p2.jpg"]  # no partial copy
    assert not [p for p in (home_drive / "xdg" / "Trash" / "files").iterdir() if p.name.endswith(".part")]


def test_a_read_only_drive_moves_nothing(tmp_path, model, mount):
    drive = mount()
    case = Case(tmp_path, model, photos_at=drive / "photos")
    case.reset()
    subprocess.run(["mount", "-o", "remount,ro", str(drive)], check=True)
    try:
        proc = case.apply("trash")
        assert proc.returncode == 1 and "Read-only file system" in proc.stderr, proc.stderr
        case.nothing_lost("read-only drive")
        assert all(os.path.lexists(case.photos / rel) for rel in MOVED)
        trash = case.work / "xdg" / "Trash"
        assert sorted(os.listdir(trash / "files")) == ["p2.jpg"]  # the copy was removed: the original stays
        assert {s for *_, s in _journal(case.home)} == {"cancelled"}
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(drive)], check=True)


def test_undo_never_makes_the_mount_point_of_an_unplugged_drive(tmp_path, model, mount):
    drive = mount()
    case = Case(tmp_path, model, photos_at=drive / "photos")
    case.reset()
    (drive / f".Trash-{os.getuid()}").write_text("not a folder")  # to the home trash, by a copy
    assert case.apply("trash").returncode == 0
    subprocess.run(["umount", str(drive)], check=True)  # unplugged: what was on it is gone with it
    out = case.undo_here()
    assert len(out.problems) == len(MOVED) and not out.moved
    assert all("is not mounted; plug it in and undo again" in p for p in out.problems)
    assert os.listdir(drive) == []  # nothing made where the drive was mounted
    os.rmdir(drive)
    assert case.undo_here().moved == [] and not os.path.exists(drive)  # nor the mount point itself
    mount(at=drive)  # plugged in again (empty: a tmpfs forgets): its folders may be made again
    out = case.undo_here()
    assert len(out.moved) == len(MOVED) and not out.problems
    for rel in MOVED:
        assert _digest(case.photos / rel) == case.want[rel]
