"""Verdicts on pairs of a library's photos: proven in pixels once, then kept with the pair.

Grouping (grouping.py) asks for the verdicts of the pairs it needs (a group's centre with each
candidate member; the photo kept with each other when it is not the centre); those already
verified come from `dup_pairs`, the rest are verified here from the photos' pixel records, on
every core (OpenCV lets go of the GIL), and stored. A photo whose record is missing (indexed
before records were kept) gets one from `fill`, which decodes it once; a photo that cannot be
read has no record, and a pair without records is never a copy (nothing proves it).

A pair's verdict is dropped with the pair when either photo gets a new vector (pairs.py).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import cv2

from ..library.libraries import Library
from ..vision.pixels import Pixels, load_pixels
from .alignment import FeatureCache
from .pairs import score_of
from .verify import DIFFERENT, Evidence, verify

PixelSource = Callable[[list[int]], dict[int, bytes]]
log = logging.getLogger(__name__)
UNVERIFIED = "could not be verified (an error in photosearch; it is asked again next time)"
# the rules verdicts were drawn by: stored verdicts of other rules are drawn again (a library
# keeps its verdicts across releases; a rule made stricter must reach them)
# 10, 11: identical sees the edge rows and corners no block held (a date stamp, a logo);
# 12: and the borders outside the content boxes (a logo drawn on a flat frame); 13: two frames of a
# still camera with people walking are not copies; 14: two crops of one photo shifted against each
# other are not copies (a copy lies wholly inside the other)
RULES_VERSION = "14"
Key = tuple[int, int]


def key(a: int, b: int) -> Key:
    return (a, b) if a < b else (b, a)


def goes_first(pa: Pixels, pb: Pixels, ids: tuple[int, int] | None = None) -> bool:
    """Whether a verification looks from `pa`, whatever order the pair was asked in (a verdict must
    not depend on it): the photo holding more pixels of its own (a crop is looked for inside its
    original), then the lower id, then the order given."""
    sa, sb = (p.full[0] * p.full[1] or p.width * p.height for p in (pa, pb))
    if sa != sb:
        return sa > sb
    return ids is None or ids[0] <= ids[1]


def stored_evidence(library: Library, pairs: Iterable[Key]) -> dict[Key, dict[str, Any]]:
    """The evidence stored with these pairs (keyed a < b), read at once: the words and numbers
    behind each verdict (verify.Evidence.summary). A row that is not a JSON object (damaged) is
    left out, as is a pair with none (proven by bytes or capture times, or not yet)."""
    wanted = set(pairs)
    if not wanted:
        return {}
    out = {}
    for a, b, evidence in library.catalog.select_in("SELECT a, b, evidence FROM dup_pairs WHERE evidence IS NOT NULL "
                                                    "AND a IN", sorted({a for a, _ in wanted})):
        if (a, b) in wanted:
            try:
                facts = json.loads(evidence)
            except (ValueError, TypeError, RecursionError):
                continue
            if isinstance(facts, dict):
                out[(a, b)] = facts
    return out


def pixel_records(library: Library, ids: Iterable[int], fill: PixelSource | None = None) -> dict[int, Pixels]:
    """The photos' pixel records; missing ones from `fill` (then stored, when writable)."""
    wanted = sorted(set(ids))
    if not library.catalog.has_table("pictures"):  # an older catalog opened read-only: none kept yet
        return {}
    out = {}
    for pid, blob in library.catalog.select_in("SELECT photo_id, data FROM pictures WHERE photo_id IN", wanted):
        try:
            out[int(pid)] = load_pixels(bytes(blob))
        except ValueError:  # a damaged record proves nothing: made again below, like a missing one
            continue
    lacking = [i for i in wanted if i not in out]
    if lacking and fill is not None:
        found = fill(lacking)
        if found and not library.catalog.readonly:
            with library.catalog.transaction() as c:
                c.executemany("INSERT OR REPLACE INTO pictures VALUES(?, ?)", list(found.items()))
        for pid, blob in found.items():
            try:
                out[int(pid)] = load_pixels(bytes(blob))
            except ValueError:  # the photo's own pixels make no record: the pair stays unproven
                continue
    return out


def _up_to_date(library: Library) -> bool:
    """Whether the stored verdicts were drawn by today's rules; a writable library's older ones
    are dropped (drawn again as grouping meets them), a read-only one's are not used."""
    catalog = library.catalog
    if not catalog.has_table("dup_pairs") or catalog.meta("verdict_rules") == RULES_VERSION:
        return True
    if catalog.readonly:
        return False
    with catalog.transaction() as c:
        c.execute("UPDATE dup_pairs SET verdict=NULL, evidence=NULL WHERE verdict IS NOT NULL")
        c.execute("INSERT OR REPLACE INTO meta VALUES('verdict_rules', ?)", (RULES_VERSION,))
    return True


_threads_lock = threading.Lock()
_pools_running = 0
_threads_before = 0


@contextmanager
def _opencv_single_threaded() -> Iterator[None]:
    """While pairs are verified on every core at once, OpenCV's own threads inside each pair
    would only contend for the same cores (measured on the benchmark's first grouping: 10-15 %
    faster with one each). Nested or concurrent pools restore the setting once, at the last."""
    global _pools_running, _threads_before
    with _threads_lock:
        if _pools_running == 0:
            _threads_before = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _pools_running += 1
    try:
        yield
    finally:
        with _threads_lock:
            _pools_running -= 1
            if _pools_running == 0:
                cv2.setNumThreads(_threads_before)


class Verifier:
    """Verdicts for pairs of one library, cached in `dup_pairs` (in memory too for a read-only
    library, which cannot store them)."""

    def __init__(self, library: Library, fill: PixelSource | None = None, workers: int | None = None):
        self.library = library
        self.fill = fill
        self.workers = workers or os.cpu_count() or 1
        self._memo: dict[Key, int] = {}
        self._added: dict[Key, float | None] = {}  # verify.py's `changed` of the pairs met (keep.drawn_on)
        self._pool: ThreadPoolExecutor | None = None
        self.verified = 0  # pairs verified by this verifier (not found stored)
        self.proved = 0  # ... of them with a verdict (not failed, both records read)
        self.failures: list[Exception] = []  # what verifications raised (logged; the pairs left out)
        self._trust_stored = _up_to_date(library)

    def __enter__(self) -> Verifier:
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="photosearch-verify")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def check(self) -> None:
        """Raise what verifying raised when no pair could be proven at all: a bug that every pair
        meets must not read as "no duplicates" (a few pairs that fail are only left out)."""
        if self.failures and self.proved == 0:
            raise self.failures[0]

    def stored(self, pairs: Sequence[Key]) -> dict[Key, int]:
        """Verdicts already known for these pairs."""
        out = {k: self._memo[k] for k in pairs if k in self._memo}
        rest = [k for k in pairs if k not in out] if self._trust_stored else []
        by_a: dict[int, list[int]] = {}
        for a, b in rest:
            by_a.setdefault(a, []).append(b)
        if by_a:
            rows = self.library.catalog.select_in(
                "SELECT a, b, verdict FROM dup_pairs WHERE verdict IS NOT NULL AND a IN", sorted(by_a))
            wanted = set(rest)
            out.update({(a, b): int(v) for a, b, v in rows if (a, b) in wanted})
        return out

    def added(self, pairs: Sequence[Key]) -> dict[Key, float]:
        """The share of each proven pair that differs by something added (verify.py's `changed`: a
        caption, a logo), from this run's proofs or the evidence stored with the pair; a pair with
        none (not proven in pixels, a damaged row) is left out of the answer."""
        rest = {k for k in pairs if k not in self._added} if self._trust_stored else set()
        if rest:
            for k, facts in stored_evidence(self.library, rest).items():
                try:
                    self._added[k] = float(facts["changed"])
                except (ValueError, TypeError, KeyError):
                    continue
            # asked once: a pair with none (a burst proven by its capture times) is not read again
            self._added.update({k: None for k in rest if k not in self._added})
        return {k: v for k in pairs if (v := self._added.get(k)) is not None}

    def verdicts(self, pairs: Iterable[Key]) -> dict[Key, int]:
        """The verdict of each pair, keyed (a, b) with a < b, verifying what is not known yet (each
        from the photo `goes_first` chooses: most often a group's centre, whose own work is done once)."""
        order = {key(a, b): (a, b) for a, b in pairs}
        wanted = list(order)
        known = self.stored(wanted)
        todo = [order[k] for k in wanted if k not in known]
        if todo:
            found = self._verify(todo)
            known.update({k: ev.verdict for k, ev in found.items()})
        return known

    def _verify(self, todo: list[tuple[int, int]]) -> dict[Key, Evidence]:
        records = pixel_records(self.library, {i for k in todo for i in k}, self.fill)
        cache = FeatureCache()

        def one(pair: tuple[int, int]) -> tuple[Key, Evidence]:
            a, b = pair
            if a not in records or b not in records:
                return key(a, b), Evidence(DIFFERENT, "no pixels to prove it (a photo could not be read)")
            if not goes_first(records[a], records[b], (a, b)):
                a, b = b, a
            try:
                return key(a, b), verify(records[a], records[b], cache, (a, b))
            except Exception as error:  # one pair's failure must not cost the whole grouping: never a copy
                log.exception("verifying photos %d and %d failed", a, b)
                self.failures.append(error)
                return key(a, b), Evidence(DIFFERENT, UNVERIFIED)

        if self.workers > 1 and len(todo) > 1:
            with _opencv_single_threaded():
                if self._pool is not None:  # inside `with`: one pool for every wave
                    found = dict(self._pool.map(one, todo))
                else:
                    with ThreadPoolExecutor(self.workers, thread_name_prefix="photosearch-verify") as pool:
                        found = dict(pool.map(one, todo))
        else:
            found = dict(map(one, todo))
        self.verified += len(found)
        self._memo.update({k: ev.verdict for k, ev in found.items()})
        # a pair judged without both records is not judged: asked again once they can be read
        # (and one whose verification failed, once photosearch is mended)
        proven = {k: ev for k, ev in found.items()
                  if k[0] in records and k[1] in records and ev.reason != UNVERIFIED}
        self.proved += len(proven)
        # rounded as the stored evidence is (Evidence.summary): a later grouping reads the same
        self._added.update({k: round(ev.facts["changed"], 3) for k, ev in proven.items() if "changed" in ev.facts})
        if proven and not self.library.catalog.readonly:
            self._store(proven)
        return found

    def _store(self, found: dict[Key, Evidence]) -> None:
        catalog = self.library.catalog
        with catalog.transaction() as c:
            c.executemany("UPDATE dup_pairs SET verdict=?, evidence=? WHERE a=? AND b=?",
                          [(ev.verdict, ev.summary(), a, b) for (a, b), ev in found.items()])
        # a pair grouping met that was never a stored neighbour pair (the photo kept against a
        # member found through the centre): stored now, with its score, so it is not verified again
        rows = catalog.select_in("SELECT a, b FROM dup_pairs WHERE a IN", sorted({a for a, _ in found}))
        have = {(int(a), int(b)) for a, b in rows}
        new = [k for k in found if k not in have]
        if new:
            scored = score_of(self.library, new)
            with catalog.transaction() as c:
                c.executemany("INSERT OR REPLACE INTO dup_pairs VALUES(?, ?, ?, ?, ?, ?)",
                              [(a, b, s, cos, found[(a, b)].verdict, found[(a, b)].summary())
                               for (a, b), (s, cos) in scored.items()])
