#!/usr/bin/env bash
# cli_monitor.sh - the monitor (-monitor stdio) and the on-demand saves of a running guest:
# `info status`, stop/cont (a stopped guest retires nothing), a bad command, `quit`;
# `migrate file:PATH` at some moment of a run, then `-incoming file:PATH` prints the rest (the two
# outputs concatenated equal the uninterrupted run's); SIGUSR1 with -snapshot-on-signal, with
# exit=on (the same concatenation) and exit=off (the run is unchanged and the file resumes to its
# tail); a sliced run (monitor open) equals one run; SIGUSR1 without the option kills as usual.
# The saves happen at whatever instruction the clock gives: every check holds at any point.
# usage: cli_monitor.sh VX86 BUILD_DIR        (exit 77: the long-running guest is not built)
set -u
VX86=$1
BUILD=$2
GUEST="$BUILD/guests/tests/migrate_inc.elf"
[ -f "$GUEST" ] || { echo "skipped: $GUEST is not built"; exit 77; }
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=1; }
ARGS=(-machine q35 -m 128M -display none -device isa-debug-exit,iobase=0xf4,iosize=0x4 -kernel "$GUEST")

"$VX86" "${ARGS[@]}" -serial "file:$tmp/full" </dev/null 2>/dev/null
want=$?
[ "$want" -ne 0 ] && [ -s "$tmp/full" ] || { echo "FAIL: the reference run gave status $want"; exit 1; }
lines=$(wc -l <"$tmp/full")

retired() { grep -o 'instructions retired=[0-9]*' "$1" | sed -n "${2}p" | cut -d= -f2; }

# 1. The monitor: status, stop/cont, a bad command, quit (status 0, before the guest's end).
{
    echo "info status"; sleep 0.3
    echo "stop"; echo "info status"; echo "info registers"; sleep 0.3
    echo "info registers"; echo "cont"; echo "info status"; sleep 0.2
    echo "info registers"; echo "frobnicate 1 2"; echo "info migrate"; echo "quit"
} | "$VX86" "${ARGS[@]}" -serial "file:$tmp/q.log" -monitor stdio >"$tmp/mon" 2>"$tmp/q.err"
st=$?
[ $st -eq 0 ] || fail "quit: exit status $st, want 0: $(cat "$tmp/q.err")"
[ "$(grep -c '^VM status: ' "$tmp/mon")" -eq 3 ] || fail "monitor: want 3 status lines: $(cat "$tmp/mon")"
grep '^VM status: ' "$tmp/mon" | tr '\n' '|' | grep -qx 'VM status: running|VM status: paused|VM status: running|' ||
    fail "monitor: info status sequence: $(grep '^VM status' "$tmp/mon" | tr '\n' '|')"
a=$(retired "$tmp/mon" 1); b=$(retired "$tmp/mon" 2); c=$(retired "$tmp/mon" 3)
[ -n "$a" ] && [ "$a" = "$b" ] || fail "stop: the guest retired instructions while stopped ($a -> $b)"
[ -n "$c" ] && [ "$c" -gt "$b" ] || fail "cont: the guest did not go on ($b -> $c)"
grep -qx "unknown command: 'frobnicate'" "$tmp/mon" || fail "bad command: $(cat "$tmp/mon")"
grep -qx "Migration status: none" "$tmp/mon" || fail "info migrate without a migration: $(cat "$tmp/mon")"
[ "$(wc -l <"$tmp/q.log")" -lt "$lines" ] || fail "quit: the guest ran to its end anyway"
cmp -s "$tmp/q.log" <(head -c "$(stat -c %s "$tmp/q.log")" "$tmp/full") || fail "quit: the output so far is not the run's beginning"

# 2. -serial stdio with -monitor stdio is refused, as in QEMU.
"$VX86" "${ARGS[@]}" -serial stdio -monitor stdio </dev/null >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "cannot use stdio by multiple character devices" "$tmp/err" ||
    fail "-serial stdio -monitor stdio: $(cat "$tmp/err")"

# 3. migrate file: at some moment, then -incoming file: runs the rest.
{ sleep 0.5; echo "migrate -d file:$tmp/mig"; echo "info status"; echo "info migrate"; } |
    "$VX86" "${ARGS[@]}" -serial "file:$tmp/src" -monitor stdio >"$tmp/mon" 2>"$tmp/src.err"
st=$?
[ $st -eq 0 ] || fail "migrate -d file: source exit status $st, want 0: $(cat "$tmp/src.err")"
grep -qx "VM status: paused (postmigrate)" "$tmp/mon" || fail "migrate -d file: not postmigrate: $(cat "$tmp/mon")"
grep -qx "Migration status: completed" "$tmp/mon" || fail "migrate -d file: info migrate: $(cat "$tmp/mon")"
grep -q "vx86: migration completed: saved to $tmp/mig at instruction [1-9]" "$tmp/src.err" ||
    fail "migrate -d file: stderr: $(cat "$tmp/src.err")"
"$VX86" "${ARGS[@]}" -serial "file:$tmp/dst" -incoming "file:$tmp/mig" </dev/null 2>"$tmp/dst.err"
st=$?
[ $st -eq $want ] || fail "migrate -d file: restored run exit status $st, want $want: $(cat "$tmp/dst.err")"
cat "$tmp/src" "$tmp/dst" | cmp -s - "$tmp/full" || fail "migrate -d file: source + destination output differs from one run"
[ -s "$tmp/dst" ] || fail "migrate -d file: the guest had finished before the migration"
# A file that cannot be written: an error on the monitor, the guest runs on to its end (the
# whole run sliced, since the monitor stays open: the same output as one run).
mkdir -p "$tmp/ro/m.tmp"
{ sleep 0.2; echo "migrate file:$tmp/ro/m"; echo "info status"; } |
    "$VX86" "${ARGS[@]}" -serial "file:$tmp/src" -monitor stdio >"$tmp/mon" 2>"$tmp/src.err"
st=$?
[ $st -eq $want ] || fail "unwritable migrate file: exit status $st, want the guest's $want"
grep -q "^Error: .*m.tmp" "$tmp/mon" || fail "unwritable migrate file: monitor: $(cat "$tmp/mon")"
grep -qx "VM status: running" "$tmp/mon" || fail "unwritable migrate file: the guest stopped: $(cat "$tmp/mon")"
grep -q "vx86: migration failed: .*; the guest keeps running" "$tmp/src.err" || fail "unwritable migrate file: stderr: $(cat "$tmp/src.err")"
cmp -s "$tmp/src" "$tmp/full" || fail "unwritable migrate file: output differs from one run"

# 4. SIGUSR1 with exit=on: the save ends the run with status 0; the file runs the rest.
"$VX86" "${ARGS[@]}" -serial "file:$tmp/src" -snapshot-on-signal "file=$tmp/sig,exit=on" </dev/null 2>"$tmp/src.err" &
pid=$!; pids+=("$pid")
sleep 0.5
kill -USR1 "$pid"
wait "$pid"
st=$?
[ $st -eq 0 ] || fail "SIGUSR1 exit=on: exit status $st, want 0: $(cat "$tmp/src.err")"
grep -q "^vx86: snapshot saved to $tmp/sig at instruction [1-9][0-9]*$" "$tmp/src.err" || fail "SIGUSR1: stderr: $(cat "$tmp/src.err")"
"$VX86" "${ARGS[@]}" -serial "file:$tmp/dst" -incoming "file:$tmp/sig" </dev/null 2>"$tmp/dst.err"
st=$?
[ $st -eq $want ] || fail "SIGUSR1 exit=on: restored run exit status $st, want $want: $(cat "$tmp/dst.err")"
cat "$tmp/src" "$tmp/dst" | cmp -s - "$tmp/full" || fail "SIGUSR1 exit=on: source + restored output differs from one run"

# 5. SIGUSR1 without exit: two saves, the run itself is unchanged, the (second) file resumes
#    to the run's tail.
"$VX86" "${ARGS[@]}" -serial "file:$tmp/src" -snapshot-on-signal "file=$tmp/sig2" </dev/null 2>"$tmp/src.err" &
pid=$!; pids+=("$pid")
sleep 0.3; kill -USR1 "$pid"; sleep 0.4; kill -USR1 "$pid"
wait "$pid"
st=$?
[ $st -eq $want ] || fail "SIGUSR1 exit=off: exit status $st, want $want: $(cat "$tmp/src.err")"
[ "$(grep -c "^vx86: snapshot saved to $tmp/sig2 at instruction" "$tmp/src.err")" -eq 2 ] ||
    fail "SIGUSR1 exit=off: want two saves: $(cat "$tmp/src.err")"
cmp -s "$tmp/src" "$tmp/full" || fail "SIGUSR1 exit=off: the run's output changed"
"$VX86" "${ARGS[@]}" -serial "file:$tmp/dst" -incoming "file:$tmp/sig2" </dev/null 2>"$tmp/dst.err"
st=$?
[ $st -eq $want ] || fail "SIGUSR1 exit=off: restored run exit status $st, want $want"
size=$(stat -c %s "$tmp/dst")
[ "$size" -gt 0 ] && tail -c "$size" "$tmp/full" | cmp -s - "$tmp/dst" ||
    fail "SIGUSR1 exit=off: the restored output is not the run's tail"

# 6. Without -snapshot-on-signal, SIGUSR1 keeps its default action (the process dies by it).
"$VX86" "${ARGS[@]}" -serial none </dev/null 2>/dev/null &
pid=$!; pids+=("$pid")
sleep 0.2; kill -USR1 "$pid"
wait "$pid" 2>/dev/null
st=$?
[ $st -eq $((128 + 10)) ] || fail "SIGUSR1 without the option: exit status $st, want 138"

# 7. -snapshot-at is the same point with the monitor open (sliced run): byte-identical files.
"$VX86" "${ARGS[@]}" -serial none -snapshot-at "5000000,file=$tmp/at1,exit=on" </dev/null 2>/dev/null
"$VX86" "${ARGS[@]}" -serial none -monitor stdio -snapshot-at "5000000,file=$tmp/at2,exit=on" </dev/null >/dev/null 2>&1
cmp -s "$tmp/at1" "$tmp/at2" || fail "-snapshot-at with the monitor open saved a different state"

[ $fails -eq 0 ] && echo "monitor command line ok"
exit $fails
