"""`photosearch` with no arguments opens the app; with a subcommand it runs headless."""

from __future__ import annotations

import os
import sys

from . import bundle


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if bundle.frozen():
        bundle.settle_environment()
    if not argv:
        return main_gui()
    if _opened_files(argv):
        return main_gui(files=[os.path.abspath(a) for a in argv])
    from .cli import main as cli_main

    return cli_main(argv)


def _opened_files(argv: list[str]) -> bool:
    """Photos opened with the app (the desktop entry's `Exec=photosearch %F`: a file manager's
    Open With): the window opens and searches with them. A command's name wins over a file
    that happens to have it."""
    if not all(os.path.isfile(a) for a in argv):
        return False
    import argparse

    from .cli import build_parser

    commands = {name for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)
                for name in action.choices}
    return argv[0] not in commands


def _no_display() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main_gui(files: list[str] | None = None) -> int:
    if _no_display():  # Qt would abort with a core dump; say what to do instead
        print("photosearch: no display to open the app on; start it from your desktop, "
              "or use a command (photosearch --help)", file=sys.stderr)
        return 1
    from . import qtcheck

    check = qtcheck.check()
    if check.problem:  # Qt would abort with one unhelpful line: say what is missing instead
        print(f"photosearch: the app cannot start. {check.advice()[0]}", file=sys.stderr)
        for line in check.advice()[1:]:
            print(line, file=sys.stderr)
        print("('photosearch doctor' checks everything else; every command works without the app)",
              file=sys.stderr)
        return 1
    try:
        from .ui.launch import run
    except ImportError:
        from .cli import build_parser

        build_parser().print_help()
        return 0
    return run(sys.argv[:1], files or [])


if __name__ == "__main__":
    sys.exit(main())
