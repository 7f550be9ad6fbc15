"""Acting on duplicates without ever losing a photo: the others of a group go to the trash (the
freedesktop trash, trash.py) or to a folder the user chose; every file is journalled before it
moves (journal.py) and the last batch can be undone, also after a crash.

Right before a group's files move, the photo kept in their place must be there and be what the
catalog says (size, time; the content when in doubt), and so must the files that go; else the
group is skipped and the reason given. A photo's RAW files and its links go with it, and a photo
whose files cannot all move stays whole where it is.

A photo moved away keeps its vector (it becomes *missing*), so undoing costs no embedding.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .. import faults
from ..errors import PhotosearchError
from ..library.libraries import Library
from ..library.schema import INDEXED
from . import journal
from . import trash as trashes
from .fileops import Facts, check, existing_ancestor, facts_of, mount_point, move_file, same_file, settle, temp_for
from .finder import DuplicateGroup
from .journal import CANCELLED, DONE, GONE, UNDOING, UNDONE, Entry
from .keep import Candidate


class ActionFailed(Exception):
    """One photo could not be moved or put back (it is whole where it was)."""


@dataclass
class Member:
    """A photo of a group as the catalog has it now, with the files that go with it."""

    photo_id: int
    path: str
    facts: Facts
    companions: list[str] = field(default_factory=list)  # RAW files
    links: list[tuple[int, str]] = field(default_factory=list)  # links to the same file
    stale: str | None = None  # why the group no longer holds for this photo, if it does not


@dataclass
class Plan:
    keep: Member
    others: list[Member]
    protected: list[str]  # photos in reference folders: never moved


@dataclass
class Outcome:
    batch: int
    moved: list[Entry]  # files moved (apply) or put back (undo)
    problems: list[str]  # what was skipped or not put back, and why
    notes: list[str]  # what a crash had left half done, and how it was settled
    groups: int = 0  # groups whose files moved


Progress = Callable[[int, int], None]


def _writable(library: Library) -> None:
    if not library.writable:
        raise PhotosearchError(f"library {library.name!r} is in use by another process (indexing?); files can be "
                               "moved or put back once it has finished")


def plan(library: Library, groups: Sequence[DuplicateGroup]) -> list[Plan]:
    """The groups as the catalog has them now (a photo renamed or gone since the list was made is
    seen as such by the checks). A photo indexed again since (another picture under its name, in
    the app's own indexing while its Duplicates window stayed open) voids its group: what was
    proven was proven of the file as it was."""
    members = [c for g in groups for c in [g.keep, *(o for o, _ in g.others)]]
    ids = [c.id for c in members] + [i for c in members for i, _ in c.links]
    rows = {r[0]: r for r in library.catalog.select_in(
        "SELECT id, path, size, mtime_ns, fingerprint, status FROM photos WHERE id IN", sorted(set(ids)))}

    def member(c: Candidate) -> Member:
        r = rows.get(c.id)
        if r is None or r[5] != INDEXED:
            return Member(c.id, c.path, Facts(-1, None), list(c.companions))  # gone: the size check says so
        links = [(i, rows[i][1]) for i, _ in c.links if i in rows and rows[i][5] == INDEXED]
        stale = None
        if (r[2], r[3]) != (c.size, c.mtime_ns):
            stale = f"{os.path.basename(r[1])} was indexed again since the duplicates were found (look again)"
        return Member(c.id, r[1], Facts(r[2], r[3], r[4]), list(c.companions), links, stale)

    return [Plan(member(g.keep), [member(c) for c, _ in g.others], [c.path for c in g.protected]) for g in groups]


def _links_hold(m: Member) -> str | None:
    """A link goes and comes back with its file only while it still leads to it: one an editor
    replaced by a file of its own (saving through it) is another photo now."""
    real = os.path.realpath(m.path)
    for _, link in m.links:
        if os.path.lexists(link) and os.path.realpath(link) != real:
            return f"{link} no longer leads to {m.path} (index the library again)"
    return None


def _check(p: Plan) -> str | None:
    """Why this group must not be touched now, or None."""
    stale = [m.stale for m in [p.keep, *p.others] if m.stale]
    if stale:
        return stale[0]
    why = check(p.keep.path, p.keep.facts, "the photo to keep") or _links_hold(p.keep)
    if why:
        return why
    kept = {os.path.realpath(f) for f in [p.keep.path, *p.keep.companions, *(x for _, x in p.keep.links),
                                         *p.protected]}
    for m in p.others:
        why = check(m.path, m.facts, os.path.basename(m.path)) or _links_hold(m)
        if why:
            return why
        for f in [m.path, *m.companions, *(x for _, x in m.links)]:
            if not os.path.lexists(f):
                return f"{f} is not there any more"
            if os.path.realpath(f) in kept or same_file(f, p.keep.path):
                return f"{f} is the photo kept ({p.keep.path}) under another name"
    return None


def apply(library: Library, groups: Sequence[DuplicateGroup], how: str,
          progress: Progress | None = None) -> Outcome:
    """Move the others of each group ("trash" or "move:FOLDER")."""
    if how != "trash" and not how.startswith("move:"):
        raise PhotosearchError("--apply takes 'trash' or 'move:FOLDER'")
    _writable(library)
    folder = None
    if how.startswith("move:"):
        if not how[5:].strip():
            raise PhotosearchError("move: needs a folder, e.g. --apply move:~/Pictures/duplicates")
        folder = os.path.realpath(os.path.expanduser(how[5:]))  # journalled absolute: an undo works from anywhere
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise PhotosearchError(f"cannot make the folder {folder}: {exc.strerror or exc}") from None
    catalog = library.catalog
    notes = journal.reconcile(library)
    plans = plan(library, groups)
    out = Outcome(0, [], [], notes)
    with journal.durable(catalog):
        out.batch = journal.next_batch(catalog)
        for k, p in enumerate(plans):
            if progress is not None:
                progress(k, len(plans))
            why = _check(p)
            if why:
                out.problems.append(f"{p.keep.path} and its duplicates: skipped, {why}")
                continue
            moved_any = False
            for m in p.others:
                why = check(p.keep.path, p.keep.facts, "the photo to keep")  # right before each photo goes
                if why:
                    out.problems.append(f"{m.path}: skipped, {why}")
                    break
                try:
                    out.moved += _move_member(library, out.batch, m, folder)
                    moved_any = True
                except ActionFailed as exc:
                    out.problems.append(str(exc))
            out.groups += moved_any
    return out


def _move_member(library: Library, batch: int, m: Member, folder: str | None) -> list[Entry]:
    """Move a photo with its RAW files and links; all of them or none."""
    files = [(m.photo_id, m.path, m.facts.fingerprint), *((None, c, None) for c in m.companions),
             *((i, x, None) for i, x in m.links)]
    done: list[Entry] = []
    try:
        planned = _dests([path for _, path, _ in files], folder)
        for (photo_id, path, fp), (dest, t) in zip(files, planned):
            done.append(_move_one(library, batch, photo_id, path, fp, folder, dest, t))
    except OSError as exc:
        raise ActionFailed(f"{m.path}: not moved ({exc.strerror or exc})") from None
    except ActionFailed as exc:
        for e in reversed(done):  # a photo and its RAW stay together
            try:
                _restore(library, e)
            except ActionFailed as again:
                raise ActionFailed(f"{exc}; and {again}") from None
        raise
    journal.photo_left(library, [m.photo_id, *(i for i, _ in m.links)])
    return done


def _dests(paths: list[str], folder: str | None) -> list[tuple[str, trashes.Trash | None]]:
    """Free names for a photo's files, numbered together (IMG.2.jpg goes with IMG.2.dng)."""
    if folder is not None:
        names = _free_names(folder, [os.path.basename(p) for p in paths])
        return [(os.path.join(folder, n), None) for n in names]
    found = [trashes.trash_for(p) for p in paths]
    out: list[tuple[str, trashes.Trash | None]] = [("", None)] * len(paths)
    for root in dict.fromkeys(t.root for t in found):
        ks = [k for k, t in enumerate(found) if t.root == root]
        for k, name in zip(ks, trashes.free_name(found[ks[0]], [os.path.basename(paths[k]) for k in ks])):
            out[k] = (os.path.join(found[k].files, name), found[k])
    return out


def _free_names(folder: str, names: list[str]) -> list[str]:
    n = 1
    while True:
        chosen = [trashes.numbered(x, n) for x in names]
        if not any(os.path.lexists(os.path.join(folder, c)) for c in chosen):
            return chosen
        n += 1


def _move_one(library: Library, batch: int, photo_id: int | None, path: str, fp: str | None,
              folder: str | None, dest: str, t: trashes.Trash | None) -> Entry:
    """One file, journalled first; a name taken since it was chosen: the next free one."""
    catalog = library.catalog
    try:
        facts = facts_of(path, fp)
    except OSError as exc:
        raise ActionFailed(f"{path}: not moved ({exc.strerror or exc})") from None
    e = journal.intent(catalog, batch, "trash" if folder is None else "move", photo_id, path, dest, facts,
                       mount_point(os.path.dirname(path)))
    faults.point("apply-intent")
    try:
        for _ in range(1000):  # a name taken meanwhile (by a file manager, another trashing): the next one
            if t is not None and not trashes.claim(t, e.name, path):
                journal.set_dest(catalog, e, _dests([path], folder)[0][0])
                continue
            try:
                move_file(path, e.dest, temp_for(e.dest, e.id), "apply")
                break
            except FileExistsError:
                if t is not None:
                    trashes.release(t, e.name, path)
                journal.set_dest(catalog, e, _dests([path], folder)[0][0])
        else:
            raise FileExistsError(errno.EEXIST, "no free name for it", e.dest)
    except OSError as exc:
        where, name = settle(path, e.dest, temp_for(e.dest, e.id), facts)
        if where != "dst":
            if t is not None:
                trashes.release(t, e.name, path)
            journal.set_state(catalog, e, CANCELLED)
            raise ActionFailed(f"{path}: not moved ({exc.strerror or exc}); it is in its place") from None
        if name and name != e.dest:
            journal.set_dest(catalog, e, name)
    faults.point("apply-moved")
    journal.set_state(catalog, e, DONE)
    faults.point("apply-done")
    return e


def undo(library: Library, progress: Progress | None = None) -> Outcome:
    """Put back the files of the last batch that has any left; each one only if it is still the
    file that was moved, where it was put, and nothing has taken its place."""
    _writable(library)
    catalog = library.catalog
    notes = journal.reconcile(library)
    entries = journal.last_batch(catalog)
    if not entries:
        if notes:
            return Outcome(0, [], [], notes)
        raise PhotosearchError("nothing to undo")
    out = Outcome(entries[0].batch, [], [], notes)
    with journal.durable(catalog):
        for k, e in enumerate(entries):
            if progress is not None:
                progress(k, len(entries))
            why, for_good = _can_restore(e)
            if why:
                out.problems.append(f"{e.path}: not put back, {why}")
                if for_good:
                    journal.set_state(catalog, e, GONE)
                continue
            try:
                _restore(library, e)
                out.moved.append(e)
            except ActionFailed as exc:
                out.problems.append(str(exc))
                continue
            journal.photo_back(library, [e.photo_id] if e.photo_id is not None else [])
    return out


def _can_restore(e: Entry) -> tuple[str | None, bool]:
    """(why this entry cannot be put back now, whether that is for good)."""
    if not (os.path.isabs(e.dest) and os.path.isabs(e.path)):
        return "it was journalled with a relative path (by an older photosearch): where it went is unknown", True
    if not os.path.lexists(e.dest):
        return f"it is no longer at {e.dest} (the trash emptied, or the file moved)", True
    if e.kind == "trash":
        named = trashes.named_path(trashes.trash_of(e.dest), e.name)
        if named != os.path.normpath(e.path):
            return f"the trash's {e.name} is another file now" if named else \
                f"the trash no longer lists {e.name} (restored or emptied by another program?)", True
    why = check(e.dest, e.facts, e.dest, follow=False, moved=True)
    if why:
        return f"{e.dest} is not the file that was moved there", True
    if os.path.lexists(e.path):
        return f"a file is there again; {e.dest} was left where it is", False
    return _folder_problem(e), False


def _folder_problem(e: Entry) -> str | None:
    """A missing folder is made again only on the drive the photo was on, mounted where it was."""
    parent = os.path.dirname(e.path)
    if os.path.isdir(parent):
        return None
    if e.mount is None:
        return f"its folder {parent} is not there"
    if not os.path.ismount(e.mount):
        return f"the drive it was on ({e.mount}) is not mounted; plug it in and undo again"
    try:
        same = os.stat(existing_ancestor(parent)).st_dev == os.stat(e.mount).st_dev
    except OSError:
        same = False
    return None if same else f"its folder {parent} is not on the drive it was on ({e.mount}) now"


def _restore(library: Library, e: Entry) -> None:
    catalog = library.catalog
    parent = os.path.dirname(e.path)
    try:
        os.makedirs(parent, exist_ok=True)  # checked by _folder_problem: on the photo's own drive
    except OSError as exc:
        raise ActionFailed(f"{e.path}: not put back ({exc.strerror or exc})") from None
    journal.set_state(catalog, e, UNDOING)
    faults.point("undo-intent")
    temp = temp_for(e.path, e.id)
    try:
        move_file(e.dest, e.path, temp, "undo")
    except OSError as exc:
        where, _ = settle(e.dest, e.path, temp, e.facts)
        if where != "dst":
            journal.set_state(catalog, e, DONE)
            raise ActionFailed(f"{e.path}: not put back ({exc.strerror or exc}); it is still at {e.dest}") from None
    faults.point("undo-moved")
    if e.kind == "trash":
        trashes.release(trashes.trash_of(e.dest), e.name, e.path)
    journal.set_state(catalog, e, UNDONE)
    faults.point("undo-done")
