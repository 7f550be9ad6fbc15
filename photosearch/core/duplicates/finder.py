"""Duplicates across a library: groups at a level from the stored pairs (brought up to date
first), minus what the user decided, with the photo to keep chosen by rules. Missing photos are
never in a group (only searchable photos' pairs are used). A link and the file it points to are
one photo, never two members of a group."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import PhotosearchError
from ..library.libraries import Library
from ..vision.exif import read_facts
from ..vision.glance import content_share
from ..vision.regions import BLOB_BYTES
from .decisions import decided_pairs, kept_ids
from .grouping import LEVELS, group
from .keep import DEFAULT_RULES, Candidate, choose, one_per_file, resolve_folders
from .pairs import RegionSource, stored_pairs, update_pairs


@dataclass
class DuplicateGroup:
    level: str
    keep: Candidate
    others: list[tuple[Candidate, float]]  # with their score to the group's centre
    protected: list[Candidate]  # in reference folders: never removed

    def to_dict(self) -> dict[str, Any]:
        """The JSON line `photosearch duplicates --json` prints (an interface: keep its keys)."""
        d: dict[str, Any] = {"level": self.level, "keep": self.keep.path,
                             "others": [{"path": c.path, "score": round(s, 4), "companions": list(c.companions),
                                         **({"links": [p for _, p in c.links]} if c.links else {})}
                                        for c, s in self.others]}
        if self.protected:
            d["reference"] = [c.path for c in self.protected]
        return d

    @property
    def members(self) -> list[Candidate]:
        return [self.keep, *(c for c, _ in self.others), *self.protected]


def find_duplicates(library: Library, level: str = "copies", rules: Sequence[str] = DEFAULT_RULES,
                    reference: Sequence[str] = (), prefer: Sequence[str] = (),
                    fill_regions: RegionSource | None = None,
                    report: Callable[[int, int], None] | None = None) -> list[DuplicateGroup]:
    """The groups, best score first. A writable library's pairs are brought up to date first
    (only photos indexed since the last time are looked at); a read-only one uses them as stored."""
    if level not in LEVELS:
        raise PhotosearchError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
    if library.catalog.outdated is not None:
        raise PhotosearchError(f"library {library.name!r} was written by an older photosearch; its duplicates can "
                               "be found once it is brought up to date (photosearch index, or open it in the app)")
    if not library.catalog.readonly:
        update_pairs(library, fill_regions, report)
    reference, prefer = resolve_folders(reference), resolve_folders(prefer)  # one notion of a path: resolved
    threshold = LEVELS[level]
    pairs = stored_pairs(library, threshold)
    if not pairs:
        return []
    info = _candidates(library, {p.a for p in pairs} | {p.b for p in pairs})
    decided = decided_pairs(library.catalog)
    if decided:
        pairs = [p for p in pairs if (min(p.a, p.b), max(p.a, p.b)) not in decided]
    out = []
    for g in group(pairs, threshold):
        members = one_per_file([info[i][0] for i in g.members if i in info])
        if len(members) < 2:
            continue
        same = {g.centre, *(m for m, s in g.scores.items() if s >= LEVELS["identical"])}
        twins = {c.id for c in members if c.id in same or any(i in same for i, _ in c.links)}
        keep, others, protected = choose(members, rules, reference, prefer, twins)
        if not others:
            continue  # everything is protected or kept: nothing to review
        # a member's score: to the centre (a photo with links: its best name's); the centre's: its best member's
        best = max(g.scores.values())
        score_of = {**g.scores, g.centre: best}
        out.append(DuplicateGroup(level, keep, [(c, max(score_of.get(i, 0.0) for i in [c.id, *(i for i, _ in c.links)]))
                                                for c in others], protected))
    out.sort(key=lambda d: (-max(s for _, s in d.others), d.keep.path))
    return out


def _candidates(library: Library, ids: set[int]) -> dict[int, tuple[Candidate, str | None]]:
    catalog = library.catalog
    query = ("SELECT id, path, size, mtime_ns, width, height, fingerprint, taken, camera FROM photos "
             "WHERE status=1 AND id IN")
    rows = catalog.select_in(query, sorted(ids))
    # photos indexed before capture dates were recorded: read from their headers once, then kept
    unknown = [r for r in rows if r[8] is None]
    if unknown:
        facts = {r[0]: read_facts(r[1]) for r in unknown}
        if not catalog.readonly:
            with catalog.transaction() as c:
                c.executemany("UPDATE photos SET taken=?, camera=? WHERE id=?",
                              [(t, cam, pid) for pid, (t, cam) in facts.items()])
        rows = [r if r[8] is not None else (*r[:7], *facts[r[0]]) for r in rows]
    chosen = kept_ids(catalog)
    boxes = dict(catalog.select_in(f"SELECT photo_id, substr(data, {BLOB_BYTES + 1}) FROM regions WHERE photo_id IN",
                                   sorted(ids)))
    raws = catalog.companions_of(r[1] for r in rows)
    return {pid: (Candidate(pid, path, size, mtime, w or 0, h or 0, taken, camera or "", pid in chosen,
                            content_share(bytes(boxes.get(pid) or b"")), os.path.realpath(path),
                            tuple(raws.get(path, ()))), fp)
            for pid, path, size, mtime, w, h, fp, taken, camera in rows}
