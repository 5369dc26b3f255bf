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
# The monitor, live migration and on-demand snapshots.
expect_error "monitor backend" "-monitor: tcp::4444,server: not in this vx86" -monitor tcp::4444,server -bios "$tmp/odd.bin"
expect_error "monitor and serial on stdio" "cannot use stdio by multiple character devices" -monitor stdio -serial stdio -bios "$tmp/odd.bin"
expect_error "monitor and -nographic" "cannot use stdio by multiple character devices" -nographic -monitor stdio -bios "$tmp/odd.bin"
expect_error "incoming defer" "-incoming: defer: not in this vx86" -incoming defer -bios "$tmp/odd.bin"
expect_error "incoming unix" "not in this vx86" -incoming unix:/tmp/sock -bios "$tmp/odd.bin"
expect_error "incoming tcp without port" "expected HOST:PORT" -incoming tcp:localhost -bios "$tmp/odd.bin"
expect_error "incoming tcp bad port" "port 'http' is not a number" -incoming tcp:localhost:http -bios "$tmp/odd.bin"
expect_error "incoming tcp port range" "out of range" -incoming tcp::70000 -bios "$tmp/odd.bin"
expect_error "incoming tcp options" "not supported" -incoming tcp::4444,ipv4 -bios "$tmp/odd.bin"
expect_error "incoming tcp bad host" "cannot resolve" -incoming tcp:no-such-host.invalid:4444 -kernel "$BUILD/guests/tests/exceptions.elf"
expect_error "incoming file without path" "needs a PATH" -incoming file: -bios "$tmp/odd.bin"
expect_error "snapshot-on-signal without file" "file=PATH is required" -snapshot-on-signal exit=on -bios "$tmp/odd.bin"
expect_error "snapshot-on-signal bad property" "unknown property 'exit=maybe'" -snapshot-on-signal "file=$tmp/s,exit=maybe" -bios "$tmp/odd.bin"
expect_error "snapshot-on-signal missing value" "missing value" -snapshot-on-signal
# -incoming tcp: a port another listener holds, and a stream that is not a migration.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 47123)
"$VX86" -kernel "$BUILD/guests/tests/exceptions.elf" -incoming "tcp:127.0.0.1:$port" </dev/null >/dev/null 2>"$tmp/holder.err" &
holder=$!
for _ in $(seq 50); do ss -ltn 2>/dev/null | grep -q ":$port " && break; sleep 0.05; done
expect_error "incoming tcp port in use" "-incoming: tcp:127.0.0.1:$port: cannot listen" -kernel "$BUILD/guests/tests/exceptions.elf" -incoming "tcp:127.0.0.1:$port"
printf 'this is not a migration stream, just some bytes of text that go on for a while\n' >/dev/tcp/127.0.0.1/$port
wait $holder
st=$?
total=$((total + 1))
if [ $st -eq 1 ] && grep -q "^vx86: -incoming: " "$tmp/holder.err"; then
    echo "ok: incoming tcp garbage stream -> $(head -n1 "$tmp/holder.err")"
else
    echo "FAIL: incoming tcp garbage stream: status $st, stderr: $(cat "$tmp/holder.err")"
    fails=$((fails + 1))
fi
echo "cli errors: $((total - fails)) of $total cases gave a clear error"
[ $fails -eq 0 ]
