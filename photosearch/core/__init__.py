"""The Qt-free engine of photosearch.

Nothing below this package imports Qt, prints, or draws progress bars: it reports
through callbacks, return values and exceptions, so the command line, the GUI and
the tests drive the very same code.
"""

from .errors import PhotosearchError  # noqa: F401
