#!/usr/bin/env bash
# run_guest.sh - run one vx86 test guest on QEMU TCG (the reference) or on vx86 with the standard
# q35 command line; serial output goes to stdout (or --out FILE), exit status is the emulator's.
#
# usage: run_guest.sh NAME_OR_PATH [--emulator qemu|vx86] [--vx86 PATH] [--build-dir DIR]
#                     [--out FILE] [--timeout SECS]
#   NAME_OR_PATH: an .elf (multiboot, -kernel) / .bin (-bios) image, or a guest name such as
#   "modes", "tests/modes" or "demo/hello" looked up under BUILD_DIR/guests.
#   Exit status: the emulator's (33 = guest PASS), 124 on timeout, 2 on usage errors.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
EMU=qemu
VX86=""
BUILD_DIR=${VX86_BUILD_DIR:-$ROOT/build}
OUT=""
TIMEOUT=20
GUEST=""
while [ $# -gt 0 ]; do
    case "$1" in
        --emulator) EMU=$2; shift 2 ;;
        --vx86) VX86=$2; EMU=vx86; shift 2 ;;
        --build-dir) BUILD_DIR=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) if [ -z "$GUEST" ]; then GUEST=$1; shift; else echo "run_guest.sh: unexpected '$1'" >&2; exit 2; fi ;;
    esac
done
[ -n "$GUEST" ] || { echo "run_guest.sh: no guest given" >&2; exit 2; }

# Resolve the image.
IMAGE=""
if [ -f "$GUEST" ]; then
    IMAGE=$GUEST
else
    base=${GUEST%.elf}; base=${base%.bin}
    for cand in "$BUILD_DIR/guests/$base".{elf,bin} "$BUILD_DIR"/guests/*/"$base".{elf,bin}; do
        if [ -f "$cand" ]; then IMAGE=$cand; break; fi
    done
fi
[ -n "$IMAGE" ] || { echo "run_guest.sh: no image for '$GUEST' under $BUILD_DIR/guests" >&2; exit 2; }
NAME=$(basename "$IMAGE"); NAME=${NAME%.*}
case "$IMAGE" in
    *.elf) LOAD=(-kernel "$IMAGE") ;;
    *.bin) LOAD=(-bios "$IMAGE") ;;
    *) echo "run_guest.sh: image must end in .elf or .bin: $IMAGE" >&2; exit 2 ;;
esac

# Extra arguments from the guest's .args file next to its source (guests/<dir>/<name>.args).
EXTRA=()
ARGS_FILE=$(ls "$ROOT"/guests/*/"$NAME".args 2>/dev/null | head -n 1)
if [ -n "$ARGS_FILE" ]; then read -r -a EXTRA < "$ARGS_FILE" || true; fi

# The QEMU binary: qemu-system-x86_64, unless the guest names another in guests/<dir>/<name>.qemu
# (e.g. qemu-system-i386, whose CPU saves the 32-bit SMRAM map).
QEMU_BIN=qemu-system-x86_64
QEMU_FILE=$(ls "$ROOT"/guests/*/"$NAME".qemu 2>/dev/null | head -n 1)
if [ -n "$QEMU_FILE" ]; then read -r QEMU_BIN < "$QEMU_FILE"; fi

STD=(-machine q35 -cpu qemu64 -m 128 -display none -serial stdio
     -device isa-debug-exit,iobase=0xf4,iosize=0x4 -no-reboot -accel tcg)
case "$EMU" in
    qemu) CMD=("$QEMU_BIN" "${STD[@]}" "${LOAD[@]}" "${EXTRA[@]}") ;;
    vx86) [ -n "$VX86" ] || { echo "run_guest.sh: --emulator vx86 needs --vx86 PATH" >&2; exit 2; }
          CMD=("$VX86" "${STD[@]}" "${LOAD[@]}" "${EXTRA[@]}") ;;
    *) echo "run_guest.sh: unknown emulator '$EMU'" >&2; exit 2 ;;
esac

if [ -n "$OUT" ]; then
    timeout -k 2 "$TIMEOUT" "${CMD[@]}" </dev/null >"$OUT"
else
    timeout -k 2 "$TIMEOUT" "${CMD[@]}" </dev/null
fi
