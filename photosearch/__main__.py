"""`photosearch` with no arguments opens the app; with a subcommand it runs headless."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        return main_gui()
    from .cli import main as cli_main

    return cli_main(argv)


def main_gui() -> int:
    try:
        from .ui.app import run
    except ImportError:
        from .cli import build_parser

        build_parser().print_help()
        return 0
    return run(sys.argv)


if __name__ == "__main__":
    sys.exit(main())
