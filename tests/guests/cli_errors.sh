#!/usr/bin/env bash
# cli_errors.sh - the vx86 program's answers to bad command lines and bad files: a clear message
# naming the option or file on stderr and exit status 1, never a crash.
# usage: cli_errors.sh VX86 BUILD_DIR
set -u
VX86=$1
BUILD=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
total=0
expect_error() {  # expect_error "what" "stderr substring" args...
    local what=$1 want=$2
    total=$((total + 1))
    shift 2
    "$VX86" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
    local st=$?
    if [ $st -ne 1 ] || ! grep -qF -- "$want" "$tmp/err"; then
        echo "FAIL: $what: status $st, stderr: $(cat "$tmp/err")"
        fails=$((fails + 1))
    else
        echo "ok: $what -> $(head -n1 "$tmp/err")"
    fi
}
printf 'not an elf' > "$tmp/garbage.elf"
head -c 5000 /dev/urandom > "$tmp/odd.bin"
: > "$tmp/empty.bin"
expect_error "unknown option" "-frobnicate" -frobnicate
expect_error "missing value" "-kernel: missing value" -kernel
expect_error "missing kernel file" "cannot open" -kernel "$tmp/nope.elf"
expect_error "kernel without multiboot header" "multiboot" -kernel "$tmp/garbage.elf"
expect_error "firmware not a multiple of 4 KiB" "4 KiB" -bios "$tmp/odd.bin"
expect_error "empty firmware" "empty" -bios "$tmp/empty.bin"
expect_error "bad memory size" "-m" -m lots -bios "$tmp/odd.bin"
expect_error "unknown cpu model" "unknown CPU model" -cpu pentium9 -bios "$tmp/odd.bin"
expect_error "unknown cpu feature" "unknown CPU feature" -cpu qemu64,+warpdrive -bios "$tmp/odd.bin"
expect_error "unsupported machine" "machine type" -machine pc99 -bios "$tmp/odd.bin"
expect_error "bad smm value" "smm" -machine q35,smm=maybe -bios "$tmp/odd.bin"
expect_error "unsupported device" "not supported" -device e1000 -bios "$tmp/odd.bin"
expect_error "bad debug-exit iobase" "iobase" -device isa-debug-exit,iobase=zz -bios "$tmp/odd.bin"
expect_error "smp 2" "one vCPU" -smp 2 -bios "$tmp/odd.bin"
expect_error "kvm accel" "tcg" -accel kvm -bios "$tmp/odd.bin"
expect_error "nothing to run" "nothing to run" -m 64
echo "cli errors: $((total - fails)) of $total cases gave a clear error"
[ $fails -eq 0 ]
