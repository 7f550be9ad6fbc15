"""Errors the user can act on.

Every exception raised on purpose by the core derives from PhotosearchError and
carries a one-line message meant for a person. Anything else escaping the core is
a bug in photosearch, and front ends show it as such.
"""


class PhotosearchError(Exception):
    """A problem in the user's environment or input, with a readable message."""


class LibraryNotFound(PhotosearchError):
    pass


class LibraryExists(PhotosearchError):
    pass


class LibraryLocked(PhotosearchError):
    """Another process is writing to the library."""


class LibraryIncompatible(PhotosearchError):
    """The library was built with another model or a newer photosearch."""


class ModelError(PhotosearchError):
    """A model file is missing, corrupt, or not usable as an image embedder."""


class ImageError(PhotosearchError):
    """An image cannot be read or decoded."""


class FolderError(PhotosearchError):
    """A folder does not exist or cannot be read."""


class StorageError(PhotosearchError):
    """The library's own files cannot be written (disk full, permissions, I/O error)."""


class ConfigError(PhotosearchError, ValueError):
    """A settings file holds an unknown key or a value of the wrong type."""


def storage_error(what: str, exc: BaseException) -> StorageError:
    """A StorageError that says what happened to `what` (a library's storage, a model folder):
    only a full disk or quota asks for space; read-only, permission and I/O errors say so."""
    import errno
    import sqlite3

    code = getattr(exc, "errno", None)
    sqlite_code = getattr(exc, "sqlite_errorcode", None) if isinstance(exc, sqlite3.Error) else None
    primary = sqlite_code & 0xFF if isinstance(sqlite_code, int) else None
    text = str(exc).lower()
    if code in (errno.ENOSPC, errno.EDQUOT) or primary == 13 or "disk is full" in text:
        problem = "the disk is full (or your quota is used up): free some space and try again"
    elif code == errno.EROFS or primary == 8 or "readonly" in text or "read-only" in text:
        problem = "the disk is read-only: make it writable, or move photosearch's data folder (PHOTOSEARCH_HOME)"
    elif code in (errno.EACCES, errno.EPERM) or primary == 3:
        problem = "permission denied: photosearch may not write there"
    elif code == errno.EIO or primary == 10 or "i/o error" in text:
        problem = "an input/output error: the disk may be failing or was disconnected"
    else:
        problem = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return StorageError(f"cannot write to {what}: {problem}. What was done before is kept")
