"""`photosearch library ...`: create, list and change libraries."""

from __future__ import annotations

import argparse

from ..core.app import App


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    lib = sub.add_parser("library", help="create, list and change libraries")
    lsub = lib.add_subparsers(dest="library_action", metavar="ACTION", required=True)
    p = lsub.add_parser("create", help="create a library of folders")
    p.add_argument("name")
    p.add_argument("folders", nargs="+", metavar="FOLDER")
    p.add_argument("--model", help="model to index with: an installed name or an ONNX file")
    p.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                   help="skip files or folders matching this pattern (e.g. '*/Screenshots', '*.gif'); repeatable")
    p.add_argument("--include-hidden", action="store_true", help="also index hidden folders and files")
    p.add_argument("--precision", choices=("auto", "fp32", "int8"), default="auto",
                   help="the model's arithmetic (default auto: int8 on a CPU when it passes its check, "
                        "about twice as fast; fp32 on a GPU)")
    p.set_defaults(func=create)
    lsub.add_parser("list", help="list libraries").set_defaults(func=list_libraries)
    p = lsub.add_parser("add-folder", help="add folders to a library")
    p.add_argument("name")
    p.add_argument("folders", nargs="+", metavar="FOLDER")
    p.set_defaults(func=add_folder)
    p = lsub.add_parser("remove-folder", help="remove folders")
    p.add_argument("name")
    p.add_argument("folders", nargs="+", metavar="FOLDER")
    p.set_defaults(func=remove_folder)
    p = lsub.add_parser("delete", help="delete a library (never your photos)")
    p.add_argument("name")
    p.set_defaults(func=delete)
    p = lsub.add_parser("rename", help="rename a library")
    p.add_argument("name")
    p.add_argument("new_name")
    p.set_defaults(func=rename)
    p = lsub.add_parser("forget-missing", help="forget the photos whose files are missing (their vectors too)")
    p.add_argument("name", nargs="?", help="library (default: the default library)")
    p.set_defaults(func=forget_missing)
    p = lsub.add_parser("default", help="choose the default library")
    p.add_argument("name")
    p.set_defaults(func=default)


def create(app: App, args: argparse.Namespace) -> int:
    model = app.model_spec(args.model).describe() if args.model else None
    config = app.libraries.create(args.name, args.folders, model=model, precision=args.precision)
    if args.exclude or args.include_hidden:
        config = app.libraries.set_scan_options(config.name, args.exclude, args.include_hidden)
    print(f"created library {config.name!r} with {len(config.roots)} folder(s); "
          f"run 'photosearch index {config.name}' to index it")
    return 0


def list_libraries(app: App, args: argparse.Namespace) -> int:
    libs = app.libraries
    names = libs.names()
    if not names:
        print("no libraries yet; create one with 'photosearch library create NAME FOLDER...'")
    default_name = libs.default_name()
    for name in names:
        config = libs.config(name)
        mark = "*" if name == default_name else " "
        model = (config.model or {}).get("name", "no model yet")
        print(f"{mark} {name}  ({len(config.roots)} folder(s), model: {model})")
        for root in config.roots:
            print(f"      {root}")
    return 0


def add_folder(app: App, args: argparse.Namespace) -> int:
    config = app.libraries.add_folders(args.name, args.folders)
    print(f"library {config.name!r} now has {len(config.roots)} folder(s); run 'photosearch index' to index them")
    return 0


def remove_folder(app: App, args: argparse.Namespace) -> int:
    config = app.libraries.remove_folders(args.name, args.folders)
    print(f"library {config.name!r} now has {len(config.roots)} folder(s); "
          "its photos leave the index at the next 'photosearch index'")
    return 0


def delete(app: App, args: argparse.Namespace) -> int:
    app.libraries.delete(args.name)
    print(f"deleted library {args.name!r} (your photos were not touched)")
    return 0


def rename(app: App, args: argparse.Namespace) -> int:
    app.libraries.rename(args.name, args.new_name)
    print(f"renamed library {args.name!r} to {args.new_name!r}")
    return 0


def default(app: App, args: argparse.Namespace) -> int:
    app.libraries.resolve(args.name)
    app.libraries.update_settings(default_library=args.name)
    print(f"{args.name!r} is now the default library")
    return 0


def forget_missing(app: App, args: argparse.Namespace) -> int:
    with app.libraries.open(args.name, write=True) as library:
        n = library.forget_missing()
    print(f"forgot {n:,} missing photo(s) of library {library.name!r}" if n else
          f"library {library.name!r} has no missing photos")
    return 0
