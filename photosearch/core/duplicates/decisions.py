"""What the user decided about duplicates ("not duplicates", "keep this one"), kept in the catalog
by photo: a photo keeps its id when the scanner sees it renamed or moved (and while its drive is
unplugged), so a decision follows it; and two byte-identical copies are two photos, so "keep this
one" and "keep all" tell them apart (before, decisions were by content fingerprint; the migration that
introduced `dup_decisions` turned each one into one about every photo with that content)."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable

from ..errors import PhotosearchError
from ..library.catalog import Catalog

NOT_DUPLICATES = "not-duplicates"
KEEP = "keep"  # the user's choice of the photo to keep: (photo id, 0)


def ids_of(catalog: Catalog, paths: Iterable[str]) -> dict[str, int]:
    """The photo of each path, as given or resolved (a path through a link to a photo is that photo)."""
    out = {}
    for path in paths:
        row = None
        for candidate in dict.fromkeys((os.path.abspath(path), os.path.realpath(path))):
            row = catalog.conn.execute("SELECT id FROM photos WHERE path=? AND fingerprint IS NOT NULL",
                                       (candidate,)).fetchone()
            if row is not None:
                break
        if row is None:
            raise PhotosearchError(f"{path} is not an indexed photo of this library")
        out[path] = int(row[0])
    return out


def mark_not_duplicates(catalog: Catalog, paths: list[str]) -> int:
    """These photos are not duplicates of each other: every pair among them is remembered."""
    if len(paths) < 2:
        raise PhotosearchError("give at least two photos that are not duplicates of each other")
    ids = sorted(set(ids_of(catalog, paths).values()))
    if len(ids) < 2:
        raise PhotosearchError("these paths are one photo (a link and the file it points to)")
    pairs = list(itertools.combinations(ids, 2))
    now = time.time()
    with catalog.transaction() as c:
        c.executemany("INSERT OR REPLACE INTO dup_decisions VALUES(?, ?, ?, ?)",
                      [(a, b, NOT_DUPLICATES, now) for a, b in pairs])
    return len(pairs)


def decided_pairs(catalog: Catalog) -> set[tuple[int, int]]:
    """(a, b) with a < b: photos the user said are not duplicates of each other."""
    if not catalog.has_table("dup_decisions"):
        return set()
    return {(int(a), int(b)) for a, b in catalog.conn.execute("SELECT a, b FROM dup_decisions WHERE kind=?",
                                                              (NOT_DUPLICATES,))}


def choose_keep(catalog: Catalog, keep: str, others: Iterable[str] = ()) -> None:
    """Keep this photo in its group (over the rules); the group's other photos lose such a choice."""
    ids = ids_of(catalog, [keep, *others])
    with catalog.transaction() as c:
        c.executemany("DELETE FROM dup_decisions WHERE a=? AND b=0 AND kind=?", [(i, KEEP) for i in ids.values()])
        c.execute("INSERT OR REPLACE INTO dup_decisions VALUES(?, 0, ?, ?)", (ids[keep], KEEP, time.time()))


def kept_ids(catalog: Catalog) -> set[int]:
    if not catalog.has_table("dup_decisions"):
        return set()
    return {int(r[0]) for r in catalog.conn.execute("SELECT a FROM dup_decisions WHERE kind=?", (KEEP,))}


def list_decisions(catalog: Catalog) -> list[tuple[list[str], list[str], str, float]]:
    """Each decision with the current paths of its two photos (empty when a photo was forgotten)."""
    rows = catalog.conn.execute("SELECT a, b, kind, created FROM dup_decisions ORDER BY created").fetchall()
    paths = catalog.paths({i for a, b, _, _ in rows for i in (a, b) if i})
    return [([paths[a]] if a in paths else [], [paths[b]] if b in paths else [], kind, created)
            for a, b, kind, created in rows]


def forget_decisions(catalog: Catalog, paths: list[str]) -> int:
    """Undo the decisions that involve these photos."""
    ids = set(ids_of(catalog, paths).values())
    with catalog.transaction() as c:
        before = c.total_changes
        for i in ids:
            c.execute("DELETE FROM dup_decisions WHERE a=? OR b=?", (i, i))
        return c.total_changes - before
