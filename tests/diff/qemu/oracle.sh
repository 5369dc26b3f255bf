#!/usr/bin/env bash
# oracle.sh - the QEMU oracle: run one guest with the same command line on qemu-system-x86_64
# -accel tcg and on vx86, then require identical serial output and identical exit status.
#
# usage: oracle.sh NAME --vx86 PATH [--build-dir DIR]
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NAME=""
ARGS=()
VX86=""
while [ $# -gt 0 ]; do
    case "$1" in
        --vx86) VX86=$2; shift 2 ;;
        --build-dir) ARGS+=(--build-dir "$2"); shift 2 ;;
        *) NAME=$1; shift ;;
    esac
done
[ -n "$NAME" ] && [ -n "$VX86" ] || { echo "usage: oracle.sh NAME --vx86 PATH [--build-dir DIR]" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$HERE/run_guest.sh" "$NAME" --emulator qemu "${ARGS[@]}" --out "$tmp/qemu.txt" </dev/null
qs=$?
bash "$HERE/run_guest.sh" "$NAME" --vx86 "$VX86" "${ARGS[@]}" --out "$tmp/vx86.txt" </dev/null
vs=$?
fail=0
# A guest may document a known QEMU divergence (guests/<dir>/<name>.qemu-diff, with the manual
# section in its comments): then the outputs must differ by exactly those lines, no more.
ROOT=$(cd "$HERE/../../.." && pwd)
KNOWN=$(ls "$ROOT"/guests/*/"$NAME".qemu-diff 2>/dev/null | head -n 1)
diff -u "$tmp/qemu.txt" "$tmp/vx86.txt" > "$tmp/diff.txt"
grep -E '^[-+]' "$tmp/diff.txt" | grep -vE '^(---|\+\+\+) ' > "$tmp/changes.txt" || true
KNOWN_STATUS=""
if [ -n "$KNOWN" ]; then
    # A line "status qemu=Q vx86=V" documents a different exit status as part of the divergence.
    KNOWN_STATUS=$(grep -E '^status ' "$KNOWN" | head -n 1)
    grep -vE '^(#|status )' "$KNOWN" > "$tmp/known.txt"
    if ! diff -q "$tmp/known.txt" "$tmp/changes.txt" > /dev/null; then
        echo "oracle: '$NAME' differs from QEMU other than the documented divergence in $KNOWN:"
        cat "$tmp/diff.txt"
        fail=1
    else
        echo "oracle: '$NAME' differs from QEMU only by the documented divergence:"
        grep -E '^#' "$KNOWN"
    fi
elif [ -s "$tmp/changes.txt" ]; then
    echo "oracle: serial output of '$NAME' differs (--- qemu, +++ vx86):"
    cat "$tmp/diff.txt"
    fail=1
fi
if [ -n "$KNOWN_STATUS" ] && [ "$KNOWN_STATUS" = "status qemu=$qs vx86=$vs" ]; then
    :
elif [ "$qs" != "$vs" ]; then
    echo "oracle: exit status of '$NAME' differs: qemu $qs, vx86 $vs"
    fail=1
fi
[ $fail = 0 ] && [ -z "$KNOWN" ] && echo "oracle: '$NAME' identical on QEMU TCG and vx86 (status $vs)"
exit $fail
