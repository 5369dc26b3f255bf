#!/usr/bin/env bash
# check_guest.sh - run a guest (via run_guest.sh) and compare its serial output with the guest's
# .expected file and its exit status with 33 (PASS), or with the number in guests/<dir>/<name>.status
# for guests whose correct end is not PASS (e.g. a shutdown: 0 with -no-reboot); prints a unified
# diff on mismatch. For ctest.
#
# usage: check_guest.sh NAME_OR_PATH [--expected FILE] [run_guest.sh options...]
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
GUEST=""
EXPECTED=""
PASS_ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --expected) EXPECTED=$2; shift 2 ;;
        --emulator|--vx86|--build-dir|--timeout) PASS_ARGS+=("$1" "$2"); shift 2 ;;
        *) GUEST=$1; shift ;;
    esac
done
[ -n "$GUEST" ] || { echo "check_guest.sh: no guest given" >&2; exit 2; }
NAME=$(basename "$GUEST"); NAME=${NAME%.elf}; NAME=${NAME%.bin}
if [ -z "$EXPECTED" ]; then
    EXPECTED=$(ls "$ROOT"/guests/*/"$NAME".expected 2>/dev/null | head -n 1)
fi
[ -f "$EXPECTED" ] || { echo "check_guest.sh: no .expected file for '$NAME'" >&2; exit 2; }

ACTUAL=$(mktemp)
trap 'rm -f "$ACTUAL"' EXIT
"$HERE/run_guest.sh" "$GUEST" "${PASS_ARGS[@]}" --out "$ACTUAL" </dev/null
STATUS=$?
ok=1
if ! diff -u --label "$NAME.expected" --label "$NAME.actual" "$EXPECTED" "$ACTUAL"; then ok=0; fi
WANT=33
STATUS_FILE=$(ls "$ROOT"/guests/*/"$NAME".status 2>/dev/null | head -n 1)
if [ -n "$STATUS_FILE" ]; then read -r WANT < "$STATUS_FILE"; fi
if [ "$STATUS" -ne "$WANT" ]; then
    echo "check_guest.sh: $NAME: exit status $STATUS, want $WANT (124 = timeout)"
    ok=0
fi
if [ $ok -eq 1 ]; then echo "check_guest.sh: $NAME: ok"; exit 0; fi
echo "check_guest.sh: $NAME: MISMATCH"
exit 1
