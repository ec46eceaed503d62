#!/usr/bin/env bash
# Build Inkling's Linux installer archive with PyInstaller (one-folder bundle):
#     bash packaging/build_linux.sh        ->  dist/inkling-<version>-linux-x86_64.tar.xz
# Needs a Python environment with the app and `pip install '.[package]'` (PyInstaller); PYTHON picks
# it (default: .venv/bin/python when there is one, else python3). Needs objdump (binutils) and xz.
# Then `bash packaging/check_linux.sh dist/inkling-*.tar.xz` installs the archive into a scratch home
# and runs the frozen self-test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
VERSION=$(awk -F'"' '/^version *=/ { print $2; exit }' pyproject.toml)
ARCH=$(uname -m)
NAME="inkling-$VERSION-linux-$ARCH"
WORK=build/linux
BUNDLE=$WORK/dist/inkling
ARCHIVE=dist/$NAME.tar.xz

say() { echo "build_linux.sh: $*"; }
die() { echo "build_linux.sh: $*" >&2; exit 1; }

# --- tools and inputs -----------------------------------------------------------------------------
if ! command -v objdump >/dev/null 2>&1; then  # PyInstaller reads libraries' dependencies with it
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing binutils (objdump) for PyInstaller"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq binutils >/dev/null
    else
        die "objdump is missing: install binutils (e.g. sudo apt-get install binutils)"
    fi
fi
# Qt's X11 platform plugin links these; the bundle ships them, so the build machine needs them.
XCB_PACKAGES="libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-randr0
    libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0"
missing_xcb=$(for p in $XCB_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing_xcb" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing the X11 libraries Qt's xcb plugin needs: $(echo $missing_xcb)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing_xcb >/dev/null
fi
command -v xz >/dev/null 2>&1 || die "xz is missing: install xz-utils"
"$PYTHON" -c "import PyInstaller" 2>/dev/null ||
    die "PyInstaller is missing in $PYTHON: pip install '.[package]'"
[ -f resources/models/default.onnx ] || die "the default model is missing: resources/models/default.onnx"
[ -f resources/reference/references.ndjson ] ||
    die "the reference drawings are missing: resources/reference/references.ndjson"
[ -f resources/icons/inkling.png ] || QT_QPA_PLATFORM=offscreen "$PYTHON" packaging/make_icon.py

# --- the bundle -----------------------------------------------------------------------------------
say "PyInstaller bundle of Inkling $VERSION with $("$PYTHON" --version)"
start=$(date +%s)
rm -rf "$WORK"
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$WORK/dist" --workpath "$WORK/work" packaging/inkling.spec
say "bundle built in $(($(date +%s) - start)) s"

# Every library in the bundle must find its dependencies in the bundle or in the base system.
missing=$(find "$BUNDLE" -type f \( -name '*.so' -o -name '*.so.*' \) -print0 |
    LD_LIBRARY_PATH="$BUNDLE/_internal" xargs -0 -n 50 ldd 2>/dev/null | grep 'not found' | sort -u || true)
if [ -n "$missing" ]; then
    echo "$missing" >&2
    die "libraries in the bundle have unresolved dependencies (above)"
fi

# --- the archive ----------------------------------------------------------------------------------
STAGE=$WORK/stage/$NAME
mkdir -p "$STAGE"
cp -R "$BUNDLE" "$STAGE/inkling"
cp packaging/linux/install.sh packaging/linux/uninstall.sh packaging/linux/inkling.desktop "$STAGE/"
cp resources/icons/inkling.png "$STAGE/inkling.png"
cp packaging/linux/README.txt "$STAGE/README.txt"
chmod +x "$STAGE/install.sh" "$STAGE/uninstall.sh"

mkdir -p dist
start=$(date +%s)
# xz -9 (-9e gains nothing here); 64 MiB blocks let two cores share the work (about 3 minutes on
# two busy cores; about 1 MB smaller than -6, which is a minute faster: INKLING_XZ_OPTS="-6 -T0").
# shellcheck disable=SC2086  # the options are words
tar -C "$WORK/stage" --owner=0 --group=0 --numeric-owner -cf - "$NAME" |
    xz ${INKLING_XZ_OPTS:--9 -T2 --block-size=64MiB} > "$ARCHIVE.tmp"
mv "$ARCHIVE.tmp" "$ARCHIVE"
say "archive written in $(($(date +%s) - start)) s"

bundle_bytes=$(du -sb "$BUNDLE" | cut -f1)
archive_bytes=$(stat -c %s "$ARCHIVE")
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
say "bundle:  $BUNDLE  $(mb "$bundle_bytes") ($bundle_bytes bytes)"
say "archive: $ROOT/$ARCHIVE  $(mb "$archive_bytes") ($archive_bytes bytes)"
say "largest files of the bundle:"
# awk reads all its input (no `head`): under pipefail an early exit would kill sort with SIGPIPE.
find "$BUNDLE" -type f -printf '%s %P\n' | sort -rn |
    awk 'NR <= 8 { printf "    %6.1f MB  %s\n", $1 / 1e6, $2 }'
