"""Which photo of a duplicate group to keep: an ordered list of rules, and reference folders
whose photos are never chosen for removal."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import PhotosearchError

# resolution first, then the larger file, then the older file, then the shorter path
DEFAULT_RULES = ("resolution", "size", "date", "path")


@dataclass(frozen=True)
class Candidate:
    id: int
    path: str
    size: int
    mtime_ns: int
    width: int
    height: int


def _key(c: Candidate, rule: str) -> float:
    if rule == "resolution":
        return -(c.width * c.height)
    if rule == "size":
        return -c.size
    if rule == "date":
        return c.mtime_ns
    if rule == "path":
        return len(c.path)
    raise PhotosearchError(f"unknown keep rule {rule!r}; use {', '.join(DEFAULT_RULES)}")


def parse_rules(text: str | None) -> tuple[str, ...]:
    if not text:
        return DEFAULT_RULES
    rules = tuple(r.strip() for r in text.split(",") if r.strip())
    for rule in rules:
        if rule not in DEFAULT_RULES:
            raise PhotosearchError(f"unknown keep rule {rule!r}; use a comma-separated list of "
                                   f"{', '.join(DEFAULT_RULES)}")
    return rules


def in_folders(path: str, folders: Sequence[str]) -> bool:
    return any(path.startswith(os.path.abspath(f).rstrip(os.sep) + os.sep) for f in folders)


def choose(members: Sequence[Candidate], rules: Sequence[str] = DEFAULT_RULES,
           reference: Sequence[str] = ()) -> tuple[Candidate, list[Candidate], list[Candidate]]:
    """(the photo to keep, the others that may go, the protected ones in reference folders)."""
    protected = [m for m in members if reference and in_folders(m.path, reference)]
    pool = protected or list(members)
    keep = min(pool, key=lambda c: (*(_key(c, r) for r in rules), c.path))
    others = [m for m in members if m is not keep and m not in protected]
    return keep, others, [p for p in protected if p is not keep]
