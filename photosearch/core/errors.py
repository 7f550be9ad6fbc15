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
