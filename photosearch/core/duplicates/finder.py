"""Duplicates across a library: groups at a level, minus what the user decided, with the
photo to keep chosen by rules. Missing photos are never in a group (they are not in the index)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import PhotosearchError
from ..library.libraries import Library
from .decisions import decided_pairs
from .grouping import LEVELS, candidate_pairs, group
from .keep import DEFAULT_RULES, Candidate, choose


@dataclass
class DuplicateGroup:
    level: str
    keep: Candidate
    others: list[tuple[Candidate, float]]  # with their score to the group's centre
    protected: list[Candidate]  # in reference folders: never removed

    def to_dict(self) -> dict[str, Any]:
        """The JSON line `photosearch duplicates --json` prints (an interface: keep its keys)."""
        d: dict[str, Any] = {"level": self.level, "keep": self.keep.path,
                             "others": [{"path": c.path, "score": round(s, 4)} for c, s in self.others]}
        if self.protected:
            d["reference"] = [c.path for c in self.protected]
        return d


def find_duplicates(library: Library, level: str = "copies", rules: Sequence[str] = DEFAULT_RULES,
                    reference: Sequence[str] = ()) -> list[DuplicateGroup]:
    if level not in LEVELS:
        raise PhotosearchError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
    threshold = LEVELS[level]
    pairs = candidate_pairs(library, threshold)
    if not pairs:
        return []
    catalog = library.catalog
    info = _candidates(library, {p.a for p in pairs} | {p.b for p in pairs})
    decided = decided_pairs(catalog)
    if decided:
        fps = {i: fp for i, (_, fp) in info.items()}
        pairs = [p for p in pairs if tuple(sorted((fps.get(p.a) or "", fps.get(p.b) or ""))) not in decided]
    out = []
    for g in group(pairs, threshold):
        members = [info[i][0] for i in g.members if i in info]
        if len(members) < 2:
            continue
        keep, others, protected = choose(members, rules, reference)
        if not others:
            continue  # everything is protected or kept: nothing to review
        score_of = {g.centre: 1.0, **g.scores}
        out.append(DuplicateGroup(level, keep, [(c, score_of.get(c.id, 0.0)) for c in others], protected))
    out.sort(key=lambda d: (-max(s for _, s in d.others), d.keep.path))
    return out


def _candidates(library: Library, ids: set[int]) -> dict[int, tuple[Candidate, str | None]]:
    query = "SELECT id, path, size, mtime_ns, width, height, fingerprint FROM photos WHERE status=1 AND id IN"
    return {pid: (Candidate(pid, path, size, mtime, w or 0, h or 0), fp)
            for pid, path, size, mtime, w, h, fp in library.catalog.select_in(query, sorted(ids))}
