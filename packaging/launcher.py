"""The bundle's entry point: PyInstaller runs a script, and photosearch/__main__.py is a module
(its relative imports need the package), so this starts it as one."""

import sys

from photosearch.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
