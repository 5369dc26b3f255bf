#!/usr/bin/env bash
# update_expected.sh - (re)record a guest's .expected file from QEMU TCG, refusing if the guest
# did not PASS (exit status 33). usage: update_expected.sh NAME_OR_PATH [--build-dir DIR]
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
GUEST=$1; shift
NAME=$(basename "$GUEST"); NAME=${NAME%.elf}; NAME=${NAME%.bin}
SRC=$(ls "$ROOT"/guests/*/"$NAME".asm 2>/dev/null | head -n 1)
[ -n "$SRC" ] || { echo "update_expected.sh: no source for $NAME" >&2; exit 2; }
TMP=$(mktemp)
"$HERE/run_guest.sh" "$GUEST" --emulator qemu --out "$TMP" "$@" </dev/null
STATUS=$?
if [ "$STATUS" -ne 33 ]; then
    cat "$TMP"; rm -f "$TMP"
    echo "update_expected.sh: $NAME exited with $STATUS, not recording" >&2; exit 1
fi
mv "$TMP" "${SRC%.asm}.expected"
echo "recorded ${SRC%.asm}.expected"
