"""The desktop's trash, by the freedesktop.org Trash specification (1.0), so that file managers
show and restore what photosearch trashed.

- The home trash is $XDG_DATA_HOME/Trash (~/.local/share/Trash).
- A file on another drive goes to that drive's trash, so that trashing it is a rename and never a
  copy: $topdir/.Trash/$uid when $topdir/.Trash is a real folder (not a link) with the sticky bit,
  else $topdir/.Trash-$uid (made when missing). When neither can be used, the home trash, by a copy.
- A name in the trash is reserved by creating its `info/NAME.trashinfo` with O_EXCL before the
  file goes to `files/NAME`: two trashings (ours, a file manager's) never take the same name.
- `Path=` is absolute in the home trash, relative to $topdir in a drive's trash (the drive may be
  mounted elsewhere next time), percent-encoded.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import stat as stat_mod
from dataclasses import dataclass
from urllib.parse import quote, unquote

from .fileops import existing_ancestor, fsync_dir, mount_point


@dataclass(frozen=True)
class Trash:
    root: str  # the folder holding files/ and info/
    topdir: str | None = None  # the drive's mount point; None for the home trash

    @property
    def files(self) -> str:
        return os.path.join(self.root, "files")

    @property
    def info(self) -> str:
        return os.path.join(self.root, "info")

    def info_for(self, name: str) -> str:
        return os.path.join(self.info, name + ".trashinfo")


def home_trash() -> Trash:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Trash(os.path.join(os.path.abspath(base), "Trash"))


def _uid() -> int:
    return os.getuid() if hasattr(os, "getuid") else 0


def _usable(folder: str, make: bool) -> bool:
    """A folder of ours, not a link, that we can write (made, private, when missing and `make`)."""
    if make and not os.path.lexists(folder):
        try:
            os.mkdir(folder, 0o700)
        except OSError:
            return False
    try:
        st = os.lstat(folder)
    except OSError:
        return False
    return (stat_mod.S_ISDIR(st.st_mode) and st.st_uid == _uid() and os.access(folder, os.W_OK | os.X_OK))


def _ready(trash: Trash) -> bool:
    return all(_usable(sub, make=True) for sub in (trash.files, trash.info))


def _home() -> Trash:
    home = home_trash()
    try:
        os.makedirs(home.root, 0o700, exist_ok=True)
    except OSError as exc:
        raise PermissionError(exc.errno, f"the trash folder cannot be made ({exc.strerror})", home.root) from None
    if not _ready(home):
        raise PermissionError(13, "the trash folder cannot be used", home.root)
    return home


def trash_for(path: str) -> Trash:
    """The trash this file goes to (its folders made if need be): the home trash when the file is on
    the home trash's drive, else its own drive's trash when usable, else the home trash (a copy)."""
    home = home_trash()
    try:
        device = os.lstat(path).st_dev
        home_device = os.stat(existing_ancestor(home.root)).st_dev
    except OSError:
        device, home_device = 0, 0
    if device == home_device:
        return _home()
    top = mount_point(os.path.dirname(path))
    uid = _uid()
    shared = os.path.join(top, ".Trash")
    with contextlib.suppress(OSError):
        st = os.lstat(shared)
        if stat_mod.S_ISDIR(st.st_mode) and st.st_mode & stat_mod.S_ISVTX:
            own = Trash(os.path.join(shared, str(uid)), top)
            if _usable(own.root, make=True) and _ready(own):
                return own
    own = Trash(os.path.join(top, f".Trash-{uid}"), top)
    if _usable(own.root, make=True) and _ready(own):
        return own
    return _home()


def trash_of(dest: str) -> Trash:
    """The trash a trashed file (`.../files/NAME`) lies in."""
    root = os.path.dirname(os.path.dirname(dest))
    home = home_trash()
    if os.path.abspath(root) == home.root:
        return home
    parent = os.path.dirname(root)
    if os.path.basename(root).startswith(".Trash-"):
        return Trash(root, parent)
    if os.path.basename(parent) == ".Trash":
        return Trash(root, os.path.dirname(parent))
    return Trash(root)


def free_name(trash: Trash, names: list[str]) -> list[str]:
    """Names for these files (a photo and what goes with it), free both in files/ and info/, with
    one number for all of them: IMG.jpg and IMG.dng become IMG.2.jpg and IMG.2.dng together."""
    n = 1
    while True:
        chosen = [numbered(name, n) for name in names]
        if not any(os.path.lexists(os.path.join(trash.files, c)) or os.path.lexists(trash.info_for(c))
                   for c in chosen):
            return chosen
        n += 1


def numbered(name: str, n: int) -> str:
    if n == 1:
        return name
    stem, suffix = os.path.splitext(name)
    return f"{stem}.{n}{suffix}"


def claim(trash: Trash, name: str, original: str) -> bool:
    """Reserve `name` for `original`: create its .trashinfo, never over an existing one (False then)."""
    if trash.topdir is not None and _under(original, trash.topdir):
        shown = os.path.relpath(original, trash.topdir)
    else:
        shown = os.path.abspath(original)
    stamp = datetime.datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    text = f"[Trash Info]\nPath={quote(shown)}\nDeletionDate={stamp}\n"
    try:
        fd = os.open(trash.info_for(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(OSError):  # a full disk: no half-written entry left behind
            os.unlink(trash.info_for(name))
        raise
    fsync_dir(trash.info)
    return True


def _under(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip(os.sep) + os.sep)


def named_path(trash: Trash, name: str) -> str | None:
    """The original path a .trashinfo names (None when there is none, or it cannot be read)."""
    try:
        with open(trash.info_for(name), encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        if line.startswith("Path="):
            value = unquote(line[5:])
            if not os.path.isabs(value) and trash.topdir is not None:
                value = os.path.join(trash.topdir, value)
            return os.path.normpath(value)
    return None


def release(trash: Trash, name: str, original: str) -> None:
    """Remove a .trashinfo of ours: only when it still names `original`."""
    if named_path(trash, name) == os.path.normpath(original):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(trash.info_for(name))
