"""Moving one file without ever losing it or replacing another: what a file is (its facts), where
its drive is mounted, a rename that never overwrites, a copy to another drive that is whole and on
disk before the original goes, and where a file is after a move was interrupted.

A move from A to B leaves the file, at every instant, at A, at B, or (across drives, once the
original is gone) at B's temporary name `temp_for(B, n)`, which only photosearch makes. `settle`
looks at the three places after a crash and finishes or rolls back what was half done.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import stat as stat_mod
import sys
from collections.abc import Callable
from dataclasses import dataclass

from .. import faults
from ..pipeline.scanner import fingerprint_file


@dataclass(frozen=True)
class Facts:
    """What a file was: its size and modification time (nanoseconds), and its content fingerprint
    when known. None: not recorded (journal rows written by releases before the journal recorded them)."""

    size: int | None
    mtime_ns: int | None
    fingerprint: str | None = None


def facts_of(path: str, fingerprint: str | None = None) -> Facts:
    """The file itself, not what a link points to: a link moves as a link."""
    st = os.lstat(path)
    return Facts(st.st_size, st.st_mtime_ns, fingerprint)


def check(path: str, facts: Facts, what: str, follow: bool = True, moved: bool = False) -> str | None:
    """None when the file at `path` is the one `facts` describe, else why not, in words.
    A different size or time is another file. `moved`: a file photosearch moved, whose time another
    file system may have kept coarser (FAT's two seconds): with the same size, its content decides.
    A photo in place never gets that benefit: the fingerprint reads only the ends of a file, and a
    same-size edit in the middle (an uncompressed BMP or TIFF) would pass."""
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except FileNotFoundError:
        return f"{what} is not there any more (deleted, moved, or its drive unplugged)"
    except OSError as exc:
        return f"{what} cannot be read ({exc.strerror or exc})"
    if not (stat_mod.S_ISREG(st.st_mode) or stat_mod.S_ISLNK(st.st_mode)):
        return f"{what} is not a file"
    changed = f"{what} changed since the last scan (index the library again)"
    if facts.size is not None and st.st_size != facts.size:
        return changed
    if facts.mtime_ns is None or st.st_mtime_ns == facts.mtime_ns:
        return None
    if not moved or facts.fingerprint is None or stat_mod.S_ISLNK(st.st_mode):
        return changed
    try:
        return None if fingerprint_file(path) == facts.fingerprint else changed
    except OSError as exc:
        return f"{what} cannot be read ({exc.strerror or exc})"


def _up_until(path: str, stop: Callable[[str], bool]) -> str:
    """`path`, or its nearest parent for which `stop` holds (the root at worst)."""
    while not stop(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def existing_ancestor(path: str) -> str:
    """The deepest folder of `path` (or the path itself) that exists."""
    return _up_until(os.path.abspath(path), os.path.lexists)


def mount_point(path: str) -> str:
    """The mount point of the drive that holds `path` (or would hold it)."""
    return _up_until(os.path.realpath(existing_ancestor(path)), os.path.ismount)


def same_file(a: str, b: str) -> bool:
    """One file under two names (a hard link, or a link and its target)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def temp_for(dest: str, n: int) -> str:
    """The name a copy has beside `dest` until it is whole and its original is gone (ours alone)."""
    return os.path.join(os.path.dirname(dest), f".photosearch-{n}.part")


def fsync_dir(folder: str) -> None:
    with contextlib.suppress(OSError):  # some file systems cannot sync a folder: nothing more to do
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _renameat2() -> object | None:
    if sys.platform != "linux":
        return None
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    except OSError:
        return None


_renameat2_fn = _renameat2()


def rename_noreplace(src: str, dst: str) -> None:
    """Rename that fails (FileExistsError) rather than replace whatever is at `dst`."""
    fn = _renameat2_fn
    if fn is not None:
        if fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:  # type: ignore[operator]
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(err, os.strerror(err), dst)
    if sys.platform == "win32":  # pragma: no cover - Windows' rename never replaces
        os.rename(src, dst)
        return
    try:
        os.link(src, dst, follow_symlinks=False)  # a hard link cannot replace either
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK):
            raise
        # a file system with neither (FAT, some network shares): look, then rename at once
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dst) from None
        os.rename(src, dst)
        return
    os.unlink(src)  # killed before this line: the same file under two names; settle() drops the new one


def copy_synced(src: str, dst: str) -> None:
    """A copy of `src` at the new name `dst`, with its times, on disk before this returns. On any
    failure (a full disk, an unreadable source) the partial copy is removed and the error raised."""
    created = False
    try:
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
            created = True
            st = os.lstat(src)
            with contextlib.suppress(NotImplementedError, OSError):  # its time tells it is the same link
                os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
        else:
            fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            created = True
            with open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
                fout.flush()
                shutil.copystat(src, dst)
                os.fsync(fout.fileno())
        fsync_dir(os.path.dirname(dst))
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                os.unlink(dst)
        raise


def move_file(src: str, dst: str, temp: str, step: str) -> None:
    """Move a file to `dst` (which must not exist). One drive: a rename. Across drives: a synced
    copy under `temp`, then the original removed, then `temp` renamed to `dst`. `step` names the
    fault-injection points (apply or undo)."""
    try:
        rename_noreplace(src, dst)
        fsync_dir(os.path.dirname(dst))
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    copy_synced(src, temp)
    faults.point(f"{step}-copy-synced")
    if os.path.lexists(dst):  # taken meanwhile: nothing lost yet, the copy goes
        os.unlink(temp)
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dst)
    os.unlink(src)
    fsync_dir(os.path.dirname(src))
    faults.point(f"{step}-copy-unlinked")
    rename_noreplace(temp, dst)
    fsync_dir(os.path.dirname(dst))


def _one_inode(a: str, b: str) -> bool:
    """The same file under two names (links are not followed: a moved link is its own inode)."""
    try:
        sa, sb = os.lstat(a), os.lstat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _matches(path: str, facts: Facts) -> bool:
    return check(path, facts, "", follow=False, moved=True) is None


def settle(src: str, dst: str, temp: str, facts: Facts) -> tuple[str, str | None]:
    """Where the file of an interrupted move from `src` to `dst` is, after finishing or rolling back
    what was half done: ("src", None), ("dst", the name it has there) or ("lost", None).

    Rules: a copy under `temp` while the original is still there is dropped (the original is
    whole); without the original, the copy is whole (it was synced first) and takes its name.
    The same file under both names (a rename by hard link, cut short) keeps its first name.
    Two different files: the one that is what the journal says is ours; the other is left alone.
    """
    at_src, at_dst = os.path.lexists(src), os.path.lexists(dst)
    if os.path.lexists(temp):
        if at_src or (at_dst and _one_inode(temp, dst)):
            os.unlink(temp)
        else:
            name = dst
            n = 2
            while os.path.lexists(name):  # someone else's file took the name meanwhile
                stem, suffix = os.path.splitext(dst)
                name, n = f"{stem}.{n}{suffix}", n + 1
            rename_noreplace(temp, name)
            return "dst", name
    if at_src and at_dst:
        if _one_inode(src, dst):
            os.unlink(dst)
            return "src", None
        if _matches(dst, facts) and not _matches(src, facts):
            return "dst", dst
        return "src", None
    if at_src:
        return "src", None
    if at_dst:
        return "dst", dst
    return "lost", None
