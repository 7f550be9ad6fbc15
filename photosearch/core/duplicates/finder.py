"""Duplicates across a library: groups at a level from the stored pairs (brought up to date
first), minus what the user decided, each member proven against the photo kept. Missing photos
are never in a group (only searchable photos' pairs are used). A link and the file it points to
are one photo, never two members of a group."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import PhotosearchError
from ..library.libraries import Library
from ..vision.exif import read_facts
from ..vision.glance import content_share
from ..vision.regions import BLOB_BYTES
from .decisions import decided_pairs, kept_ids
from .glance_pairs import update_glance_pairs
from .grouping import Accepts, Group, star_groups
from .keep import DEFAULT_RULES, DRAWN_ON_WORDS, Candidate, choose, drawn_on, one_per_file, preference, resolve_folders
from .levels import CANDIDATE, IMPOSSIBLE, LEVELS, required
from .pairs import Pair, RegionSource, score_of, stored_pairs, update_pairs
from .verdicts import PixelSource, Verifier, key, stored_evidence
from .verify import DIFFERENT, IDENTICAL, SAME_VIEW

log = logging.getLogger(__name__)


@dataclass
class DuplicateGroup:
    level: str
    keep: Candidate
    others: list[tuple[Candidate, float]]  # with their look-alike score to the photo kept
    protected: list[Candidate]  # in reference folders: never removed
    evidence: dict[int, str] = field(default_factory=dict)  # member id -> why it is at the level
    check: str = ""  # what to look at before acting on the group (keep.drawn_on), or ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON line `photosearch duplicates --json` prints (an interface: keep its keys)."""
        d: dict[str, Any] = {"level": self.level, "keep": self.keep.path,
                             "others": [{"path": c.path, "score": round(s, 4), "companions": list(c.companions),
                                         **({"links": [p for _, p in c.links]} if c.links else {}),
                                         **({"evidence": self.evidence[c.id]} if c.id in self.evidence else {})}
                                        for c, s in self.others]}
        if self.protected:
            d["reference"] = [c.path for c in self.protected]
        if self.check:
            d["check"] = self.check
        return d

    @property
    def members(self) -> list[Candidate]:
        return [self.keep, *(c for c, _ in self.others), *self.protected]


def level_test(level: str, verifier: Verifier, info: dict[int, tuple[Candidate, str | None]],
               decided: Collection[tuple[int, int]] = ()) -> Accepts:
    """Does each pair reach the level? (levels.py says what each level asks.) A pair the user
    said is not a duplicate never does, however it is met (the second hop, the photo kept).

    Equal fingerprints prove nothing here: they read only the ends of a file, and two screenshots
    or scans of one size share them; byte copies have equal pixel records, which the verifier
    finds the same at once."""

    def need(a: int, b: int) -> int | None:
        ca, cb = info[a][0], info[b][0]
        if key(a, b) in decided:
            return IMPOSSIBLE
        if level == "identical" and (ca.width, ca.height) != (cb.width, cb.height):
            return IMPOSSIBLE  # the same pixels have the same size: no need to look
        return required(level, (ca.taken, cb.taken), (ca.camera, cb.camera), False)

    def accepts(pairs: list[tuple[int, int]]) -> list[bool]:
        needs = [need(a, b) for a, b in pairs]
        if IMPOSSIBLE in needs:
            out = accepts([p for p, n in zip(pairs, needs) if n != IMPOSSIBLE])
            it = iter(out)
            return [False if n == IMPOSSIBLE else next(it) for n in needs]
        verdict = verifier.verdicts([(a, b) for (a, b), n in zip(pairs, needs) if n is not None])
        return [n is None or verdict.get(key(a, b), 0) >= n for (a, b), n in zip(pairs, needs)]

    return accepts


def accepts_at(library: Library, level: str, fill_pixels: PixelSource | None = None) -> Accepts:
    """The level test for any pairs of the library's searchable photos (their facts read as met)."""
    info: dict[int, tuple[Candidate, str | None]] = {}
    test = level_test(level, Verifier(library, fill_pixels), info, decided_pairs(library.catalog))

    def accepts(pairs: list[tuple[int, int]]) -> list[bool]:
        unknown = {i for p in pairs for i in p} - info.keys()
        if unknown:
            info.update(_candidates(library, unknown))
        known = [p for p in pairs if p[0] in info and p[1] in info]
        ok = dict(zip(known, test(known)))
        return [ok.get(p, False) for p in pairs]

    return accepts


def regroup_around(library: Library, group: DuplicateGroup, chosen: Candidate,
                   fill_pixels: PixelSource | None = None) -> DuplicateGroup:
    """The group with `chosen` kept (the user's choice over the rules): its members were proven
    against the photo the rules kept, so each is proven again against `chosen`, and one that is
    not at the group's level against it leaves the group (a crop of the whole is no copy of
    another crop)."""
    rest = [m for m in group.members if m.id != chosen.id and m not in group.protected]
    ok = accepts_at(library, group.level, fill_pixels)([(chosen.id, m.id) for m in rest]) if rest else []
    stay = [m for m, good in zip(rest, ok) if good]
    scores = {k[0] if k[1] == chosen.id else k[1]: s
              for k, (s, _) in score_of(library, [key(chosen.id, m.id) for m in stay]).items()}
    return DuplicateGroup(group.level, chosen, [(m, scores.get(m.id, 0.0)) for m in stay], group.protected,
                          _evidence(library, (chosen.id, chosen.id), [m.id for m in stay]))


def find_duplicates(library: Library, level: str = "copies", rules: Sequence[str] = DEFAULT_RULES,
                    reference: Sequence[str] = (), prefer: Sequence[str] = (),
                    fill_regions: RegionSource | None = None, fill_pixels: PixelSource | None = None,
                    report: Callable[[int, int], None] | None = None,
                    proving: Callable[[int, int], None] | None = None) -> list[DuplicateGroup]:
    """The groups, best score first. A writable library's pairs are brought up to date first
    (only photos indexed since the last time are looked at) and its verdicts are stored; a
    read-only one uses the pairs as stored and keeps new verdicts in memory. Progress:
    `report(done, total)` over the photos whose neighbourhoods are looked at, then
    `proving(done, total)` over the photos with candidates, as their pairs are proven in pixels."""
    if level not in LEVELS:
        raise PhotosearchError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
    if library.catalog.outdated is not None:
        raise PhotosearchError(f"library {library.name!r} was written by an older photosearch; its duplicates can "
                               "be found once it is brought up to date (photosearch index, or open it in the app)")
    if not library.catalog.readonly:
        filled: list[int] = []  # photos from before glances, given theirs on the way: searched too

        def fill_and_note(ids: list[int]) -> dict[int, bytes]:
            assert fill_regions is not None
            found = fill_regions(ids)
            filled.extend(found)
            return found

        update_pairs(library, fill_and_note if fill_regions is not None else None, report)
        update_glance_pairs(library, filled)
    reference, prefer = resolve_folders(reference), resolve_folders(prefer)  # one notion of a path: resolved
    pairs = stored_pairs(library, CANDIDATE[level])
    if not pairs:
        return []
    info = _candidates(library, {p.a for p in pairs} | {p.b for p in pairs})
    pairs = [p for p in pairs if p.a in info and p.b in info]
    decided = decided_pairs(library.catalog)
    if decided:
        pairs = [p for p in pairs if (min(p.a, p.b), max(p.a, p.b)) not in decided]
    with Verifier(library, fill_pixels) as verifier:
        groups = _groups(library, level, pairs, info, level_test(level, verifier, info, decided), verifier, rules,
                         reference, prefer, decided, proving)
        verifier.check()
        return groups


def _groups(library: Library, level: str, pairs: list[Pair], info: dict[int, tuple[Candidate, str | None]],
            accepts: Accepts, verifier: Verifier, rules: Sequence[str], reference: Sequence[str],
            prefer: Sequence[str], decided: Collection[tuple[int, int]] = (),
            proving: Callable[[int, int], None] | None = None) -> list[DuplicateGroup]:
    order = sorted(info, key=lambda i: (preference(info[i][0], rules, reference, prefer), info[i][0].path))
    out: list[DuplicateGroup] = []
    placed: set[int] = set()
    for round_ in range(ROUNDS):
        released: set[int] = set()
        stars = star_groups(pairs, order, accepts, proving if round_ == 0 else None)
        # what each member lacks of its centre (keep.drawn_on, for each group's check), read at once
        verifier.added([key(g.centre, m) for g in stars for m in g.members if m != g.centre])
        finished = [(g, *_finish(library, level, g, info, accepts, verifier, rules, reference, prefer, decided))
                    for g in stars]
        for _star, group, dropped in _take_in(library, level, finished, pairs, info, accepts, verifier, rules,
                                              reference, prefer, decided):
            if group is not None:
                out.append(group)
                # a link is its file: grouped with it, never again elsewhere
                placed.update(i for c in group.members for i in (c.id, *(link for link, _ in c.links)))
            released |= dropped
        # a member that failed its proof against the photo kept (another than the centre) was
        # taken by the star all the same: it may still have copies of its own among the photos
        # no group holds
        released -= placed
        pairs = [p for p in pairs if p.a not in placed and p.b not in placed and (p.a in released or p.b in released)]
        if not pairs:
            break
    out.sort(key=lambda d: (-max(s for _, s in d.others), d.keep.path))
    return _one_group_each(out)


ROUNDS = 4  # groupings of what the last one released (one is nearly always enough)

Finished = tuple[Group, "DuplicateGroup | None", set[int]]


def _take_in(library: Library, level: str, finished: list[Finished], pairs: list[Pair],
             info: dict[int, tuple[Candidate, str | None]], accepts: Accepts, verifier: Verifier,
             rules: Sequence[str], reference: Sequence[str], prefer: Sequence[str],
             decided: Collection[tuple[int, int]]) -> list[Finished]:
    """A star's centre is not always the photo its group keeps (a framed copy is the largest
    picture, so the star forms around it). A photo the centre turned away as another shot of
    its scene, and that no star holds, may still be a copy of the photo kept: an overlay reads
    as things that came and went against the framed copy, not against the original. It is
    proven against the photo kept, and the group is finished again with it; the wider group
    stands only if it keeps the same photo and every member it had (a joiner that changed the
    photo kept would rest on a proof against another photo), else the group stays as it was."""
    def files(i: int) -> set[str]:
        return set(info[i][0].names)  # its path, the file it resolves to, its links

    busy = {f for g, _, _ in finished for m in g.members for f in files(m)}  # every star's, dropped ones too
    adjacent: dict[int, set[int]] = {}
    for p in pairs:
        adjacent.setdefault(p.a, set()).add(p.b)
        adjacent.setdefault(p.b, set()).add(p.a)
    nearby: list[tuple[int, Group, int, list[int]]] = []  # (place in `finished`, star, photo kept, photos)
    for n, (g, group, _) in enumerate(finished):
        if group is not None and group.keep.id != g.centre:  # else the photo kept judged them all itself
            near = sorted(x for x in {x for m in g.members for x in adjacent.get(m, ())} if not files(x) & busy)
            nearby.append((n, g, group.keep.id, near))
    # one read of the centres' verdicts for every group (a query each would be thousands at 1M)
    seen = verifier.stored([key(g.centre, x) for _, g, kept, near in nearby for x in (kept, *near)])
    asked: list[tuple[int, int, int]] = []  # (group's place in `finished`, the photo it keeps, a photo)
    for n, g, kept, near in nearby:
        if seen.get(key(g.centre, kept), 0) >= IDENTICAL:
            continue  # the photo kept has the centre's pixels: its verdicts would be the centre's
        asked += [(n, kept, x) for x in near if seen.get(key(g.centre, x), DIFFERENT) >= SAME_VIEW]
    if not asked:
        return finished
    ok = accepts([(kept, x) for _, kept, x in asked])
    proven: dict[int, list[int]] = {}
    for (n, _, x), good in zip(asked, ok):
        if good:
            proven.setdefault(n, []).append(x)
    out = list(finished)
    claimed: set[str] = set()  # files: a link and its file are one photo
    for n in sorted(proven):  # the first group (the best centre) that proves a photo and keeps it takes it
        g, was, dropped = finished[n]
        if was is None:  # never asked for (only finished groups take photos in)
            continue
        xs = [x for x in proven[n] if not files(x) & claimed]
        if not xs:
            continue
        wider = Group(g.centre, [*g.members, *xs], dict(g.scores))
        group, more = _finish(library, level, wider, info, accepts, verifier, rules, reference, prefer, decided)
        if (group is not None and group.keep.id == was.keep.id
                and {c.id for c in was.members} <= {c.id for c in group.members}):
            out[n] = (wider, group, dropped | more)
            # what the group holds is taken; a joiner it left out (the user's "not duplicates"
            # with a member) is still free for the next group that proved it
            held = {f for c in group.members for f in c.names}
            claimed |= {f for x in xs if files(x) & held for f in files(x)}
    return out


def _one_group_each(groups: list[DuplicateGroup]) -> list[DuplicateGroup]:
    """No photo in two groups, by any of its names: kept in one and removed with the other, all
    of its copies would go. The grouping never makes such groups; this is the net under it (a
    later group loses the member, or, when it is the photo kept, the whole group), logged."""
    seen: set[str] = set()
    out = []
    for g in groups:
        def again(c: Candidate) -> bool:
            return not seen.isdisjoint(c.names)

        if again(g.keep) or any(again(c) for c in g.members):
            log.error("a photo in two duplicate groups (a bug in photosearch): %s",
                      [c.path for c in g.members if again(c)])
            if again(g.keep):
                continue
            g = DuplicateGroup(g.level, g.keep, [(c, s) for c, s in g.others if not again(c)],
                               [c for c in g.protected if not again(c)], g.evidence, g.check)
            if not g.others:
                continue
        seen.update(f for c in g.members for f in c.names)
        out.append(g)
    return out


def _finish(library: Library, level: str, g: Group, info: dict[int, tuple[Candidate, str | None]],
            accepts: Accepts, verifier: Verifier, rules: Sequence[str], reference: Sequence[str],
            prefer: Sequence[str], decided: Collection[tuple[int, int]]) -> tuple[DuplicateGroup | None, set[int]]:
    """A star as the user sees it: one member per file, the photo kept by the rules, every member
    proven against it; and the members that left it (their proof against the photo kept failed)."""
    members = one_per_file([info[i][0] for i in g.members])
    if decided:  # two photos the user said are not duplicates never share a group (the first stays)
        apart: list[Candidate] = []
        for c in members:
            if not any(key(c.id, d.id) in decided for d in apart):
                apart.append(c)
        members = apart
    if len(members) < 2:
        return None, set()  # a link and its file: one photo
    twins = _twins(g.centre, members, verifier)
    keep, others, protected = choose(members, rules, reference, prefer, twins)
    scores = dict(g.scores)
    dropped: set[int] = set()
    # the photo kept has the centre's very pixels (a twin): what was proven against the one
    # holds for the other; else every member is proven against the photo kept
    if keep.id not in twins:
        # every member reaches the level against the photo actually kept, or leaves the group
        rest = [c for c in members if c is not keep]
        ok = accepts([(keep.id, c.id) for c in rest])
        stay = {c.id for c, good in zip(rest, ok) if good}
        dropped = {c.id for c in rest if c.id not in stay}
        others = [c for c in others if c.id in stay]
        protected = [c for c in protected if c.id in stay]
        scores = {}
    unscored = [c.id for c in others if c.id not in scores]
    if unscored:  # members proven through the second hop, or against another photo kept
        scores.update({k[0] if k[1] == keep.id else k[1]: s
                       for k, (s, _) in score_of(library, [key(keep.id, i) for i in unscored]).items()})
    if not others:
        return None, dropped  # everything is protected or kept: nothing to review
    check = ""
    if not keep.chosen:  # the user's own choice needs no warning
        # a photo kept with the centre's pixels was proven through the centre: its pairs are the centre's
        anchor, same = (g.centre, twins) if keep.id in twins else (keep.id, _twins(keep.id, [keep, *others], verifier))
        copies = [c.id for c in others if c.id not in same]
        found = verifier.added([key(anchor, i) for i in copies])  # unproven in pixels: nothing added
        check = DRAWN_ON_WORDS if drawn_on([found.get(key(anchor, i), 0.0) for i in copies]) else ""
    return DuplicateGroup(level, keep, [(c, scores.get(c.id, 0.0)) for c in others], protected,
                          _evidence(library, (keep.id, g.centre), [c.id for c in others]), check), dropped


def _twins(centre: int, members: list[Candidate], verifier: Verifier) -> set[int]:
    """The members proven identical to the centre (the same pixels up to re-encoding)."""
    ids = {c.id for c in members}
    proven = verifier.stored([key(centre, i) for i in ids if i != centre])
    same = {centre} | {a if b == centre else b for (a, b), v in proven.items() if v >= IDENTICAL}
    return {c.id for c in members if c.id in same or any(i in same for i, _ in c.links)}


def _evidence(library: Library, proven_against: tuple[int, int], others: list[int]) -> dict[int, str]:
    """Why each member is in its group, as verified against the photo kept (else against the
    centre, its twin); pairs proven by bytes or capture time have no words, nor a damaged row."""
    stored = stored_evidence(library, [key(anchor, other) for other in others for anchor in proven_against
                                       if anchor != other])
    out = {}
    for other in others:
        found = [stored[k] for k in (key(anchor, other) for anchor in proven_against if anchor != other) if k in stored]
        if found:
            out[other] = str(found[0].get("reason", ""))
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
