#!/usr/bin/env bash
# cli_serial_file.sh - `-serial file:PATH` puts COM1 output in the file and nothing on stdout;
# `-nographic` routes it to stdout; the exit status follows isa-debug-exit.
# usage: cli_serial_file.sh VX86 BUILD_DIR
set -u
VX86=$1
BUILD=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
KERNEL="$BUILD/guests/demo/hello.elf"
COMMON=(-machine q35,smm=on -cpu qemu64 -m 64M -display none
        -device isa-debug-exit,iobase=0xf4,iosize=0x4 -no-reboot -accel tcg -kernel "$KERNEL")
"$VX86" "${COMMON[@]}" -serial "file:$tmp/com1.txt" </dev/null >"$tmp/stdout" 2>"$tmp/stderr"
st=$?
fails=0
[ $st -eq 33 ] || { echo "FAIL: exit status $st, want 33"; fails=1; }
grep -q "^vx86 demo guest$" "$tmp/com1.txt" || { echo "FAIL: serial file lacks the banner"; fails=1; }
[ ! -s "$tmp/stdout" ] || { echo "FAIL: output leaked to stdout"; fails=1; }
"$VX86" "${COMMON[@]}" -nographic </dev/null >"$tmp/stdout2" 2>/dev/null
grep -q "^PASS$" "$tmp/stdout2" || { echo "FAIL: -nographic did not route COM1 to stdout"; fails=1; }
[ $fails -eq 0 ] && echo "serial file and -nographic routing ok"
exit $fails
