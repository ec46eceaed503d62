#!/usr/bin/env bash
# Check a Linux installer archive the way a person would use it, in a scratch home:
#     bash packaging/check_linux.sh [dist/inkling-<version>-linux-x86_64.tar.xz]
# (default: the archive build_linux.sh makes for this checkout's version)
# unpack, install.sh, `inkling --self-test` from the installed command (no display, no Python on
# PATH), start-up time to the first suggestion (median of runs), uninstall.sh leaves nothing behind.
# Fails when the bundle or the archive outgrow their budgets.
set -euo pipefail
ARCHIVE=${1:+$(realpath "$1")}
cd "$(dirname "$0")/.."
VERSION=$(awk -F'"' '/^version *=/ { print $2; exit }' pyproject.toml)
ARCHIVE=${ARCHIVE:-$PWD/dist/inkling-$VERSION-linux-$(uname -m).tar.xz}
[ -f "$ARCHIVE" ] || { echo "check_linux.sh: no archive at $ARCHIVE: run packaging/build_linux.sh" >&2; exit 1; }
MAX_BUNDLE_MB=${MAX_BUNDLE_MB:-200}
MAX_ARCHIVE_MB=${MAX_ARCHIVE_MB:-60}
MAX_START_MS=${MAX_START_MS:-1500}
RUNS=${START_RUNS:-5}

say() { echo "check_linux.sh: $*"; }
die() { echo "check_linux.sh: FAILED: $*" >&2; exit 1; }

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/inkling-check.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$SCRATCH/unpacked" "$SCRATCH/home"
tar -C "$SCRATCH/unpacked" -xJf "$ARCHIVE"
UNPACKED=$(find "$SCRATCH/unpacked" -mindepth 1 -maxdepth 1 -type d -print -quit)

archive_mb=$(awk -v b="$(stat -c %s "$ARCHIVE")" 'BEGIN { printf "%.1f", b / 1e6 }')
bundle_mb=$(awk -v b="$(du -sb "$UNPACKED/inkling" | cut -f1)" 'BEGIN { printf "%.1f", b / 1e6 }')
say "archive $archive_mb MB (budget $MAX_ARCHIVE_MB), bundle $bundle_mb MB (budget $MAX_BUNDLE_MB)"
awk -v a="$archive_mb" -v m="$MAX_ARCHIVE_MB" 'BEGIN { exit !(a <= m) }' ||
    die "the archive is $archive_mb MB, over $MAX_ARCHIVE_MB MB"
awk -v a="$bundle_mb" -v m="$MAX_BUNDLE_MB" 'BEGIN { exit !(a <= m) }' ||
    die "the bundle is $bundle_mb MB, over $MAX_BUNDLE_MB MB"

# A person's session without Python: a bare PATH, a fresh home, no display.
clean_vars=("HOME=$SCRATCH/home" "PATH=/usr/bin:/bin" "LANG=C.UTF-8" "TMPDIR=${TMPDIR:-/tmp}")
run_env=(env -i "${clean_vars[@]}")
"${run_env[@]}" sh "$UNPACKED/install.sh" >/dev/null
INKLING=$SCRATCH/home/.local/bin/inkling
for f in "$INKLING" "$SCRATCH/home/.local/share/applications/inkling.desktop" \
    "$SCRATCH/home/.local/share/icons/hicolor/256x256/apps/inkling.png" \
    "$SCRATCH/home/.local/opt/inkling/uninstall.sh"; do
    [ -e "$f" ] || die "install.sh did not create $f"
done
grep -q "^Exec=\"$SCRATCH/home/.local/opt/inkling/inkling\"" \
    "$SCRATCH/home/.local/share/applications/inkling.desktop" || die "the menu entry does not run the app"

say "frozen self-test (installed command)"
"${run_env[@]}" "$INKLING" --self-test || die "the frozen self-test failed (above)"

say "start-up to the first suggestion, $RUNS runs (offscreen)"
# Wall time of the whole process (bootloader, Python, imports, model, window, first suggestion, exit),
# beside the app's own ready_ms (from its run() to the first suggestion shown).
walls=()
readies=()
for _ in $(seq "$RUNS"); do
    t0=$(date +%s%N)
    line=$("${run_env[@]}" QT_QPA_PLATFORM=offscreen "$INKLING" --settings "$SCRATCH/settings.ini" \
        --exit-after-first-suggestion 2>/dev/null | tail -n 1)
    t1=$(date +%s%N)
    ready=$(echo "$line" | sed -n 's/.*"ready_ms": *\([0-9.]*\).*/\1/p')
    [ -n "$ready" ] || die "--exit-after-first-suggestion printed no ready_ms: $line"
    walls+=("$(((t1 - t0) / 1000000))")
    readies+=("$ready")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
wall=$(median "${walls[@]}")
say "process start to first suggestion and exit: ${walls[*]} ms, median $wall ms (budget $MAX_START_MS ms)"
say "in-app ready_ms: ${readies[*]}, median $(median "${readies[@]}") ms"
awk -v a="$wall" -v m="$MAX_START_MS" 'BEGIN { exit !(a <= m) }' ||
    die "start-up median $wall ms is over $MAX_START_MS ms"

# The X11 platform plugin (what a desktop uses) under a virtual display, where Xvfb is installed.
if command -v xvfb-run >/dev/null 2>&1; then
    # shellcheck disable=SC2016  # $DISPLAY and $XAUTHORITY are xvfb-run's, expanded inside it
    line=$(xvfb-run -a sh -c 'exec env -i "DISPLAY=$DISPLAY" "XAUTHORITY=$XAUTHORITY" "$@"' sh \
        "${clean_vars[@]}" QT_QPA_PLATFORM=xcb "$INKLING" --settings "$SCRATCH/settings.ini" \
        --exit-after-first-suggestion 2>"$SCRATCH/xcb.err" | tail -n 1) || true
    case "$line" in
        *'"shown": true'*) say "X11 (xcb, Xvfb): $line" ;;
        *) cat "$SCRATCH/xcb.err" >&2; die "the app did not start on X11 (xcb): ${line:-no output}" ;;
    esac
else
    say "xvfb-run is not installed: the X11 (xcb) start is not checked"
fi

"${run_env[@]}" sh "$SCRATCH/home/.local/opt/inkling/uninstall.sh" >/dev/null
left=$(find "$SCRATCH/home/.local" \( -type f -o -type l \) | awk 'NR <= 5')
[ -z "$left" ] || die "uninstall.sh left files behind: $left"
say "install, self-test, start-up and uninstall passed"
