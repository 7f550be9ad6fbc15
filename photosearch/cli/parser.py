"""The argument parser: options every command shares, and one module per command group."""

from __future__ import annotations

import argparse

from .. import __version__
from . import doctor, duplicates, indexing, info, library, model, searching


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-l", "--library", help="library name (default: the default library)")
    common.add_argument("--model", help="model name or ONNX file (default: the library's model)")
    common.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where the model runs (default: auto = GPU if usable)")

    parser = argparse.ArgumentParser(
        prog="photosearch",
        description="Find similar photos in your own photo library, privately, on your own machine. "
                    "Run without arguments to open the app.",
    )
    parser.add_argument("--version", action="version", version=f"photosearch {__version__}")
    parser.add_argument("--install-desktop", action="store_true",
                        help="add photosearch to your desktop's applications menu (XDG data folders)")
    parser.add_argument("--uninstall-desktop", action="store_true", help="remove it from the menu again")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in (library, model, indexing, searching, duplicates, info, doctor):
        group.register(sub, common)
    duplicates.register_compare(sub, common)
    return parser
