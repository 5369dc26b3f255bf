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
if ! diff -u "$tmp/qemu.txt" "$tmp/vx86.txt" > "$tmp/diff.txt"; then
    echo "oracle: serial output of '$NAME' differs (--- qemu, +++ vx86):"
    cat "$tmp/diff.txt"
    fail=1
fi
if [ "$qs" != "$vs" ]; then
    echo "oracle: exit status of '$NAME' differs: qemu $qs, vx86 $vs"
    fail=1
fi
[ $fail = 0 ] && echo "oracle: '$NAME' identical on QEMU TCG and vx86 (status $vs)"
exit $fail
