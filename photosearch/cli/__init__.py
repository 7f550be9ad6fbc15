"""The command line: the whole app, headless, over the same core as the GUI.

Never imports Qt. Exit codes: 0 success, 1 a problem the user can fix (the
message says which), 2 bad usage, 130 interrupted (the library is left consistent),
3 a bug in photosearch.
"""

from __future__ import annotations

import sys
import traceback

from ..core.app import App
from ..core.errors import ImageError, PhotosearchError
from .parser import build_parser

__all__ = ["build_parser", "main"]


def main(argv: list[str] | None = None, app: App | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.install_desktop or args.uninstall_desktop:
        return _desktop(install=args.install_desktop)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    if getattr(args, "k", 1) is not None and getattr(args, "k", 1) < 1:
        parser.error("-k must be at least 1")
    app = app or App(device=getattr(args, "device", "auto"),
                     on_notice=lambda text: print(f"note: {text}", file=sys.stderr))
    try:
        result: int = args.func(app, args)
        return result
    except ImageError as exc:
        print(f"photosearch: cannot read the image: {exc}", file=sys.stderr)
        return 1
    except PhotosearchError as exc:
        print(f"photosearch: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("photosearch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception:  # a bug in photosearch, not the user's doing
        traceback.print_exc()
        print("photosearch: internal error; this is a bug in photosearch, please report it with the text above",
              file=sys.stderr)
        return 3


def _desktop(install: bool) -> int:
    from .. import desktop_entry

    try:
        paths = desktop_entry.install() if install else desktop_entry.uninstall()
    except OSError as exc:
        print(f"photosearch: cannot write the desktop files: {exc.strerror or exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(("installed " if install else "removed ") + str(path))
    if install:
        print("photosearch is in your applications menu (log out and in if it does not show yet)")
    return 0
