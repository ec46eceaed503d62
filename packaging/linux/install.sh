#!/bin/sh
# Install Inkling for the current user (no root needed), from the unpacked archive:
#     ./install.sh
# puts the app in ~/.local/opt/inkling, a command ~/.local/bin/inkling, a menu entry and an icon.
# INKLING_PREFIX=/some/dir ./install.sh installs under that folder instead of ~/.local.
# Installing again replaces the installed version; ~/.local/opt/inkling/uninstall.sh removes it.
# Desktops notice the new menu entry and icon by themselves (no cache to refresh: no MIME types).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=${INKLING_PREFIX:-$HOME/.local}
APP_DIR=$PREFIX/opt/inkling
BIN=$PREFIX/bin/inkling
DESKTOP=$PREFIX/share/applications/inkling.desktop
ICON=$PREFIX/share/icons/hicolor/256x256/apps/inkling.png

if [ ! -x "$HERE/inkling/inkling" ]; then
    echo "install.sh: $HERE/inkling/inkling is missing: run install.sh from the unpacked archive" >&2
    exit 1
fi

mkdir -p "$PREFIX/opt" "$PREFIX/bin" "$(dirname "$DESKTOP")" "$(dirname "$ICON")"
# Copy beside the old version first, then swap, so a failed copy leaves the old one working.
rm -rf "$APP_DIR.new" "$APP_DIR.old"
cp -R "$HERE/inkling" "$APP_DIR.new"
cp "$HERE/uninstall.sh" "$APP_DIR.new/uninstall.sh"
chmod +x "$APP_DIR.new/uninstall.sh"
if [ -e "$APP_DIR" ]; then
    mv "$APP_DIR" "$APP_DIR.old"
fi
mv "$APP_DIR.new" "$APP_DIR"
rm -rf "$APP_DIR.old"

ln -sfn "$APP_DIR/inkling" "$BIN"
cp "$HERE/inkling.png" "$ICON"
# The menu entry names the program by its full path: ~/.local/bin is not on every PATH.
sed -e "s|^Exec=.*|Exec=\"$APP_DIR/inkling\"|" -e "s|^TryExec=.*|TryExec=$APP_DIR/inkling|" \
    "$HERE/inkling.desktop" > "$DESKTOP.tmp"
mv "$DESKTOP.tmp" "$DESKTOP"

echo "Inkling is installed in $APP_DIR"
echo "Start it from your applications menu, or run: $BIN"
case ":$PATH:" in
    *":$PREFIX/bin:"*) ;;
    *) echo "(Note: $PREFIX/bin is not on your PATH; the menu entry works anyway.)" ;;
esac
echo "To remove it: $APP_DIR/uninstall.sh"
