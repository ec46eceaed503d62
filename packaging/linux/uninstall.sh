#!/bin/sh
# Remove Inkling installed by install.sh (from ~/.local, or INKLING_PREFIX). Your drawings and
# settings (~/.config/Inkling) are left alone.
set -eu
PREFIX=${INKLING_PREFIX:-$HOME/.local}
APP_DIR=$PREFIX/opt/inkling
BIN=$PREFIX/bin/inkling

# Only the command that points at this installation: another "inkling" there is not ours.
if [ -L "$BIN" ] && [ "$(readlink "$BIN")" = "$APP_DIR/inkling" ]; then
    rm -f "$BIN"
fi
rm -f "$PREFIX/share/applications/inkling.desktop" "$PREFIX/share/icons/hicolor/256x256/apps/inkling.png"
rm -rf "$APP_DIR" "$APP_DIR.new" "$APP_DIR.old"
echo "Inkling is uninstalled (settings in ~/.config/Inkling are kept; delete that folder to remove them)."
