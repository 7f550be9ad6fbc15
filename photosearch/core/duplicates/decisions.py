"""What the user decided about duplicates ("not duplicates", "keep all"), kept in the catalog by
content fingerprint, so it survives re-indexing, renames and moves."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable

from ..errors import PhotosearchError
from ..library.catalog import Catalog

NOT_DUPLICATES = "not-duplicates"
KEEP = "keep"  # the user's choice of the photo to keep: (fingerprint, "")


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def fingerprints_of(catalog: Catalog, paths: Iterable[str]) -> dict[str, str]:
    out = {}
    for path in paths:
        row = catalog.conn.execute("SELECT fingerprint FROM photos WHERE path=?", (path,)).fetchone()
        if row is None or not row[0]:
            raise PhotosearchError(f"{path} is not an indexed photo of this library")
        out[path] = row[0]
    return out


def mark_not_duplicates(catalog: Catalog, paths: list[str]) -> int:
    """These photos are not duplicates of each other: every pair among them is remembered."""
    if len(paths) < 2:
        raise PhotosearchError("give at least two photos that are not duplicates of each other")
    fps = list(dict.fromkeys(fingerprints_of(catalog, paths).values()))
    pairs = [_key(a, b) for a, b in itertools.combinations(fps, 2)]
    now = time.time()
    with catalog.transaction() as c:
        c.executemany("INSERT OR REPLACE INTO decisions VALUES(?, ?, ?, ?)",
                      [(a, b, NOT_DUPLICATES, now) for a, b in pairs])
    return len(pairs)


def decided_pairs(catalog: Catalog) -> set[tuple[str, str]]:
    return {(a, b) for a, b in catalog.conn.execute("SELECT fp_a, fp_b FROM decisions WHERE kind=?",
                                                    (NOT_DUPLICATES,))}


def choose_keep(catalog: Catalog, keep: str, others: Iterable[str] = ()) -> None:
    """Keep this photo in its group (over the rules); the group's other photos lose such a choice."""
    fps = fingerprints_of(catalog, [keep, *others])
    with catalog.transaction() as c:
        c.executemany("DELETE FROM decisions WHERE fp_a=? AND fp_b='' AND kind=?",
                      [(fp, KEEP) for fp in fps.values()])
        c.execute("INSERT OR REPLACE INTO decisions VALUES(?, '', ?, ?)", (fps[keep], KEEP, time.time()))


def kept_fingerprints(catalog: Catalog) -> set[str]:
    return {r[0] for r in catalog.conn.execute("SELECT fp_a FROM decisions WHERE kind=?", (KEEP,))}


def list_decisions(catalog: Catalog) -> list[tuple[list[str], list[str], str, float]]:
    """Each decision with the current paths of its two photos (a photo may have moved)."""
    by_fp: dict[str, list[str]] = {}
    for path, fp in catalog.conn.execute("SELECT path, fingerprint FROM photos WHERE fingerprint IS NOT NULL"):
        by_fp.setdefault(fp, []).append(path)
    return [(by_fp.get(a, []), by_fp.get(b, []) if b else [], kind, created)
            for a, b, kind, created in catalog.conn.execute(
                "SELECT fp_a, fp_b, kind, created FROM decisions ORDER BY created")]


def forget_decisions(catalog: Catalog, paths: list[str]) -> int:
    """Undo the decisions that involve these photos."""
    fps = set(fingerprints_of(catalog, paths).values())
    with catalog.transaction() as c:
        before = c.total_changes
        for fp in fps:
            c.execute("DELETE FROM decisions WHERE fp_a=? OR fp_b=?", (fp, fp))
        return c.total_changes - before
