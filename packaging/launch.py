"""The frozen app's entry point: PyInstaller runs a script, and desktop/__main__.py uses relative imports."""

import os
import sys
from pathlib import Path

from inkling.desktop.__main__ import main


def prefer_x11_without_wayland_plugin() -> None:
    # The Linux bundle leaves Qt's Wayland plugin out (see packaging/inkling.spec): on a Wayland
    # desktop the app goes through XWayland, said explicitly so that Qt does not try Wayland first.
    bundle = getattr(sys, "_MEIPASS", None)
    if not bundle or not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    platforms = Path(bundle) / "PySide6" / "Qt" / "plugins" / "platforms"
    if os.environ.get("WAYLAND_DISPLAY") and not (platforms / "libqwayland.so").exists():
        os.environ["QT_QPA_PLATFORM"] = "xcb"


if __name__ == "__main__":
    prefer_x11_without_wayland_plugin()
    sys.exit(main())
