"""The frozen app's entry point: PyInstaller runs a script, and desktop/__main__.py uses relative imports."""

import sys

from desktop.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
