"""Walk a library's folders and work out what changed since the last scan.

Unchanged files (same size and mtime) cost one stat each. A file that vanished
from one place and appeared in another with the same size is checked by content
fingerprint: if it matches, it is a move, and it keeps its vector.

A file not found is *gone* (its photo becomes missing, keeping its vector), unless
the user put it out of the library (a folder removed, an exclude pattern added):
then it is *removed*. A missing photo whose file is seen again has *returned*.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import stat as stat_mod
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..library.catalog import INDEXED, MISSING, Known
from ..vision.imageio import is_image_name
from ..vision.raw import is_raw_name

# Folders that photo tools, NAS boxes and desktops fill with their own thumbnails and
# trash: never photos of the user's, skipped even when hidden folders are indexed.
TOOL_FOLDERS = frozenset({".thumbnails", "@eaDir", ".@__thumb", "@Recycle", "#recycle", "$RECYCLE.BIN",
                          ".Trash", ".Trashes", ".fseventsd", ".Spotlight-V100", "lost+found",
                          ".photostructure", ".dtrash"})
TOOL_FOLDER_PREFIXES = (".Trash-",)

FINGERPRINT_CHUNK = 64 * 1024


def fingerprint_bytes(data: bytes) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(len(data).to_bytes(8, "little"))
    h.update(data[:FINGERPRINT_CHUNK])
    h.update(data[-FINGERPRINT_CHUNK:])
    return h.hexdigest()


def fingerprint_file(path: str) -> str:
    """Size + hash of the first and last 64 KiB: the same value as fingerprint_bytes."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        h = hashlib.blake2b(digest_size=16)
        h.update(size.to_bytes(8, "little"))
        h.update(f.read(FINGERPRINT_CHUNK))
        f.seek(max(0, size - FINGERPRINT_CHUNK))
        h.update(f.read(FINGERPRINT_CHUNK))
    return h.hexdigest()


@dataclass
class FileInfo:
    path: str
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    new: list[FileInfo] = field(default_factory=list)
    changed: list[tuple[int, FileInfo]] = field(default_factory=list)
    moved: list[tuple[int, FileInfo]] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)  # not found: to be marked missing
    removed: list[int] = field(default_factory=list)  # no longer in the library's folders
    returned: list[int] = field(default_factory=list)  # missing photos found again (moved ones too)
    unchanged: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    # RAW files beside a JPEG/HEIC of the same name: one photo to a person (photo path -> RAW paths)
    companions: dict[str, list[str]] = field(default_factory=dict)
    seen: int = 0

    @property
    def has_changes(self) -> bool:
        return bool(self.new or self.changed or self.moved or self.gone or self.removed or self.returned)


@dataclass
class ScanOptions:
    exclude: list[str] = field(default_factory=list)
    skip_hidden: bool = True
    follow_symlinks: bool = True


def _excluded(name: str, path: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(path, p) for p in patterns)


def walk(
    roots: Iterable[str],
    options: ScanOptions,
    problems: list[tuple[str, str]],
    cancel: threading.Event | None = None,
    on_file: Callable[[int], None] | None = None,
    companions: dict[str, list[str]] | None = None,
) -> dict[str, FileInfo]:
    """Every photo under the roots, by path. Problems are appended, not raised. A RAW file
    with a JPEG or HEIC of the same name beside it is not a photo of its own: it is put in
    `companions` under that photo."""
    found: dict[str, FileInfo] = {}
    visited: set[tuple[int, int]] = set()
    stack: list[str] = []
    for root in roots:
        if not os.path.isdir(root):
            problems.append((root, "folder is missing (unplugged drive?)"))
            continue
        stack.append(root)
    while stack:
        if cancel is not None and cancel.is_set():
            break
        folder = stack.pop()
        try:
            st = os.stat(folder)
        except OSError as exc:
            problems.append((folder, f"cannot open folder: {exc.strerror or exc}"))
            continue
        key = (st.st_dev, st.st_ino)
        if key in visited:
            continue  # a symlink loop, or two links to one folder
        visited.add(key)
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            problems.append((folder, f"cannot read folder: {exc.strerror or exc}"))
            continue
        in_folder: dict[str, FileInfo] = {}
        for entry in entries:
            name = entry.name
            if name in TOOL_FOLDERS or name.startswith(TOOL_FOLDER_PREFIXES):
                continue
            if options.skip_hidden and name.startswith("."):
                continue
            if options.exclude and _excluded(name, entry.path, options.exclude):
                continue
            try:
                if entry.is_dir(follow_symlinks=options.follow_symlinks):
                    stack.append(entry.path)
                    continue
                if not is_image_name(name):
                    continue
                est = entry.stat(follow_symlinks=True)
            except OSError as exc:
                problems.append((entry.path, f"cannot read: {exc.strerror or exc}"))
                continue
            if not stat_mod.S_ISREG(est.st_mode):
                continue
            path = entry.path
            try:
                path.encode("utf-8")
            except UnicodeEncodeError:
                problems.append((path.encode("utf-8", "replace").decode(), "file name is not valid UTF-8"))
                continue
            in_folder[path] = FileInfo(path, est.st_size, est.st_mtime_ns)
        _pair_raws(in_folder, companions)
        for path, info in in_folder.items():
            found[path] = info
            if on_file is not None and len(found) % 1000 == 0:
                on_file(len(found))
    return found


def _pair_raws(in_folder: dict[str, FileInfo], companions: dict[str, list[str]] | None) -> None:
    """Take RAW files that have a developed sibling (same name, another extension) out of
    `in_folder`, recording them as that sibling's companions."""
    raws = [p for p in in_folder if is_raw_name(p)]
    if not raws:
        return
    developed = {os.path.splitext(p)[0].lower(): p for p in in_folder if not is_raw_name(p)}
    for path in raws:
        sibling = developed.get(os.path.splitext(path)[0].lower())
        if sibling is not None:
            del in_folder[path]
            if companions is not None:
                companions.setdefault(sibling, []).append(path)


def in_scope(path: str, roots: Iterable[str], options: ScanOptions) -> bool:
    """Whether a walk of the roots with these options would look at this file if it were there."""
    for root in roots:
        base = root.rstrip(os.sep)
        if not path.startswith(base + os.sep):
            continue
        current = base
        names = path[len(base) + 1:].split(os.sep)
        for name in names:
            current = current + os.sep + name
            if name in TOOL_FOLDERS or name.startswith(TOOL_FOLDER_PREFIXES):
                return False
            if options.skip_hidden and name.startswith("."):
                return False
            if options.exclude and _excluded(name, current, options.exclude):
                return False
        return is_image_name(names[-1])
    return False


def diff(found: dict[str, FileInfo], known: dict[str, Known],
         in_library: Callable[[str], bool] = lambda path: True) -> ScanResult:
    """Compare a walk with the catalog; `in_library` tells a file the user left out of the library."""
    result = ScanResult(seen=len(found))
    for path, info in found.items():
        k = known.get(path)
        if k is None:
            result.new.append(info)
        elif k.size != info.size or k.mtime_ns != info.mtime_ns:
            result.changed.append((k.id, info))
        elif k.status == MISSING:
            result.returned.append(k.id)
        else:
            # unchanged; a pending one is picked up from the catalog by the indexer,
            # and a failed one is retried only once it changes
            result.unchanged += 1
    not_found = {path: k for path, k in known.items() if path not in found}
    result.removed = [k.id for path, k in not_found.items() if not in_library(path)]
    gone = {path: k for path, k in not_found.items() if in_library(path)}
    if gone and result.new:
        _detect_moves(result, gone)
    result.gone = [k.id for k in gone.values() if k.status != MISSING]
    return result


MOVE_TIME_NS = 2_000_000_000


def _detect_moves(result: ScanResult, gone: dict[str, Known]) -> None:
    by_size: dict[int, list[tuple[str, Known]]] = {}
    for path, k in gone.items():
        if k.fingerprint and k.status in (INDEXED, MISSING):
            by_size.setdefault(k.size, []).append((path, k))
    if not by_size:
        return
    still_new = []
    for info in result.new:
        candidates = by_size.get(info.size)
        if not candidates:
            still_new.append(info)
            continue
        try:
            fp = fingerprint_file(info.path)
        except OSError:
            still_new.append(info)
            continue
        # the fingerprint reads only a file's ends: two screenshots or scans of one size can share
        # them. A move keeps a file's time (rename, mv, file managers, rsync -a; FAT keeps it to
        # 2 s); a new file with another time is embedded as the new photo it may be
        match = next((c for c in candidates if c[1].fingerprint == fp
                      and abs(c[1].mtime_ns - info.mtime_ns) <= MOVE_TIME_NS), None)
        if match is None:
            still_new.append(info)
            continue
        candidates.remove(match)
        del gone[match[0]]
        result.moved.append((match[1].id, info))
        if match[1].status == MISSING:
            result.returned.append(match[1].id)
    result.new = still_new


def scan(
    roots: Iterable[str],
    known: dict[str, Known],
    options: ScanOptions | None = None,
    cancel: threading.Event | None = None,
    on_file: Callable[[int], None] | None = None,
) -> ScanResult:
    problems: list[tuple[str, str]] = []
    roots = list(roots)
    options = options or ScanOptions()
    companions: dict[str, list[str]] = {}
    found = walk(roots, options, problems, cancel, on_file, companions)
    paired = {raw_path for raws in companions.values() for raw_path in raws}
    # a RAW that now has a developed sibling is represented by it: its old photo leaves
    result = diff(found, known, lambda path: path not in paired and in_scope(path, roots, options))
    result.problems = problems
    result.companions = companions
    return result
