#!/usr/bin/env bash
# cli_migrate.sh - live migration through the command line (state.md 6.5, 6.6): a source vx86
# driven by `-monitor stdio` migrates the G-inc guest (guests/tests/migrate_inc.asm, which checks
# every page it wrote and prints a checksum) to `vx86 -incoming tcp:` while the guest writes memory.
# vx86 is deterministic, so the oracle is exact: the source's serial output followed by the
# destination's equals the uninterrupted run's. Covered: M1 (rate limited, several passes), M2 (e)
# (the same with the incrementer as an SVM L2 guest: migrate_inc_l2.asm), M7 (A->B->C), I2
# (destination killed, then a second migration to a fresh destination), I4 (-m differs), I3 (a
# proxy flips one byte), migrate_cancel, nobody listening, `migrate file:`.
# Every failed or cancelled migration must leave the source running to the uninterrupted output.
# usage: cli_migrate.sh VX86 BUILD_DIR [SCENARIO...]   (default: all scenarios)
#   CLI_MIGRATE_KEEP=1 keeps the logs of every process.
set -u
VX86=$1
BUILD=$2
shift 2
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(m1 l2 m7 i2 i4 i3 cancel refused file)
GUEST=$BUILD/guests/tests/migrate_inc_long.elf
GUEST_L2=$BUILD/guests/tests/migrate_inc_l2_long.elf
[ -x "$VX86" ] || { echo "cli_migrate.sh: no vx86 at $VX86" >&2; exit 2; }
for g in "$GUEST" "$GUEST_L2"; do
    [ -f "$g" ] || { echo "cli_migrate.sh: no guest $g (build the guests target)" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "cli_migrate.sh: needs python3" >&2; exit 2; }

tmp=$(mktemp -d)
PIDS=()
declare -A MONFD
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ -n "${CLI_MIGRATE_KEEP:-}" ]; then echo "files kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap '' PIPE                      # a monitor that already exited must not kill this script
fails=0
fail() { echo "FAIL: $*"; fails=1; }
MACHINE=(-machine q35 -m 128M -display none -device isa-debug-exit,iobase=0xf4,iosize=0x04
         -kernel "$GUEST")
REF=$tmp/ref.log                  # the uninterrupted run of the guest in MACHINE
PASS_STATUS=33                    # isa-debug-exit status of the guest's PASS

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# listening PORT: true once some socket listens on 127.0.0.1:PORT or *:PORT (/proc/net/tcp, state 0A).
listening() {
    local hex
    hex=$(printf '%04X' "$1")
    grep -qE "^ *[0-9]+: (0100007F|00000000):$hex [0-9A-F]+:[0-9A-F]+ 0A " /proc/net/tcp
}

# wait_for FILE REGEX SECS: true once FILE has a line matching REGEX (grep -E), false after SECS.
wait_for() {
    local i
    for ((i = 0; i < $3 * 20; i++)); do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# wait_status PID SECS: STATUS = the exit status of PID (a child of this shell, so not called in
# a $(...) subshell); after SECS kill it and STATUS = 124.
wait_status() {
    local i
    for ((i = 0; i < $2 * 20; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$1" 2>/dev/null; then
        kill -9 "$1" 2>/dev/null
        wait "$1" 2>/dev/null
        STATUS=124
        return
    fi
    wait "$1"
    STATUS=$?
}

# start_dest NAME PORT [options...]: a destination listening on PORT; its pid in DEST_PID.
start_dest() {
    local name=$1 port=$2 i
    shift 2
    (close_monitors; exec "$VX86" "${MACHINE[@]}" -serial "file:$tmp/$name.log" "$@" \
        -incoming "tcp:127.0.0.1:$port" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err") &
    DEST_PID=$!
    PIDS+=("$DEST_PID")
    for ((i = 0; i < 200; i++)); do
        listening "$port" && return 0
        kill -0 "$DEST_PID" 2>/dev/null || break
        sleep 0.05
    done
    fail "$name: not listening on port $port: $(cat "$tmp/$name.err")"
    return 1
}

# start_mon NAME [options...]: a vx86 with -monitor stdio fed from a FIFO kept open in MONFD[NAME]
# (closing it is EOF on the monitor); its pid in MON_PID.
start_mon() {
    local name=$1 fd
    shift
    mkfifo "$tmp/$name.in"
    (close_monitors; exec "$VX86" "${MACHINE[@]}" -serial "file:$tmp/$name.log" -monitor stdio "$@" \
        <"$tmp/$name.in" >"$tmp/$name.out" 2>"$tmp/$name.err") &
    MON_PID=$!
    PIDS+=("$MON_PID")
    exec {fd}>"$tmp/$name.in"
    MONFD[$name]=$fd
}
# In a child: close the other monitors' FIFOs, or their EOF would never come.
close_monitors() {
    local fd
    for fd in "${MONFD[@]}"; do eval "exec $fd>&-"; done
}
mon() { echo "$2" >&"${MONFD[$1]}" 2>/dev/null; }
mon_close() { eval "exec ${MONFD[$1]}>&-"; }

# The end of a migration on the source's stderr, and its pass count.
END_RE='vx86: migration (completed|failed|cancelled)'
passes_of() { sed -nE 's/.*vx86: migration completed: ([0-9]+) passes.*/\1/p' "$1" | head -n 1; }

# same_output NAME FILES...: the files concatenated equal the uninterrupted run's output.
same_output() {
    local name=$1
    shift
    if ! cat "$@" | cmp -s - "$REF"; then
        fail "$name: serial output differs from the uninterrupted run:"
        cat "$@" | diff "$REF" - | head -n 10
    fi
}

# reference: the uninterrupted run of MACHINE into REF, the oracle; CHECKSUM = its checksum line.
reference() {
    local st
    "$VX86" "${MACHINE[@]}" -serial "file:$REF" </dev/null >/dev/null 2>"$REF.err"
    st=$?
    [ $st -eq $PASS_STATUS ] || { echo "FAIL: uninterrupted run: status $st: $(cat "$REF.err")"; exit 1; }
    CHECKSUM=$(grep -E '^verify ok, checksum ' "$REF")
    [ -n "$CHECKSUM" ] || { echo "FAIL: uninterrupted run printed no checksum"; exit 1; }
}
reference

# The guest runs this long before a migration starts, so that it has written every page once.
WARMUP=0.4

# live_migration NAME (M1): live while the guest rewrites 56 MiB in a loop. As QEMU's tests do,
# first keep it from converging (1 ms downtime limit at 128 MiB/s), and once the dirty log has
# been walked twice let it converge; then the destination finishes the guest.
live_migration() {
    local n=$1 port sd ss passes
    port=$(free_port)
    start_dest "$n.dst" "$port" || return
    local dst=$DEST_PID
    start_mon "$n.src"
    local src=$MON_PID
    sleep "$WARMUP"
    mon "$n.src" "migrate_set_parameter max-bandwidth 128"
    mon "$n.src" "migrate_set_parameter downtime-limit 1"
    mon "$n.src" "migrate -d tcp:127.0.0.1:$port"
    wait_for "$tmp/$n.src.err" "^vx86: migration: pass 2: |$END_RE" 30 || fail "$n: no pass 2 in 30 s"
    mon "$n.src" "migrate_set_parameter downtime-limit 300"
    mon "$n.src" "migrate_set_parameter max-bandwidth 4096"
    wait_for "$tmp/$n.src.err" "$END_RE" 60 || fail "$n: the migration did not end in 60 s"
    mon "$n.src" "info migrate"
    mon "$n.src" "info status"
    mon "$n.src" "quit"
    wait_status "$src" 10; ss=$STATUS
    wait_status "$dst" 60; sd=$STATUS
    grep -q "vx86: migration completed" "$tmp/$n.src.err" \
        || fail "$n: no completion: $(grep -E 'vx86: migration' "$tmp/$n.src.err" | tail -n 3)"
    [ "$ss" -eq 0 ] || fail "$n: source exit status $ss after quit, want 0"
    [ "$sd" -eq $PASS_STATUS ] || fail "$n: destination status $sd: $(cat "$tmp/$n.dst.err")"
    passes=$(passes_of "$tmp/$n.src.err")
    [ -n "$passes" ] && [ "$passes" -ge 2 ] || fail "$n: $passes passes, want >= 2"
    grep -qE '^vx86: migration: pass 1: ' "$tmp/$n.src.err" || fail "$n: no progress line for pass 1"
    grep -qE 'downtime [0-9]+ ms' "$tmp/$n.src.err" || fail "$n: the completion line names no downtime"
    grep -q "Migration status: completed" "$tmp/$n.src.out" || fail "$n: info migrate: $(cat "$tmp/$n.src.out")"
    grep -q "paused (postmigrate)" "$tmp/$n.src.out" || fail "$n: info status after completion: $(cat "$tmp/$n.src.out")"
    grep -qxF "$CHECKSUM" "$tmp/$n.dst.log" || fail "$n: the destination's checksum is not '$CHECKSUM'"
    grep -q "pass 1 ok" "$tmp/$n.src.log" || fail "$n: the source had not finished pass 1 (warm-up too short)"
    same_output "$n" "$tmp/$n.src.log" "$tmp/$n.dst.log"
    [ -n "$passes" ] && echo "$n: $(grep -E 'vx86: migration completed' "$tmp/$n.src.err")"
}

# M1: the plain incrementer.
scenario_m1() { live_migration m1; }

# M2 (e): the same while the incrementer runs as an SVM L2 guest, so the switchover finds the vCPU
# in guest mode (VMCB, host save area and nested state in the stream).
scenario_l2() {
    local saved=("${MACHINE[@]}") saved_ref=$REF saved_sum=$CHECKSUM
    MACHINE=(-machine q35 -cpu qemu64,+svm -m 128M -display none
             -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$GUEST_L2")
    REF=$tmp/ref_l2.log
    reference
    # The guest spends its time in L2: a snapshot taken 100M instructions in shows guest mode.
    "$VX86" "${MACHINE[@]}" -serial none -snapshot-at "100000000,file=$tmp/l2.snap,exit=on" \
        </dev/null >/dev/null 2>&1
    "$VX86" inspect "$tmp/l2.snap" 2>&1 | grep -qx "svm.guest_mode = 1" \
        || fail "l2: the guest is not in L2 100M instructions in"
    live_migration l2
    MACHINE=("${saved[@]}")
    REF=$saved_ref
    CHECKSUM=$saved_sum
}

# M7: A -> B -> C, where B is a destination with a monitor that migrates on.
scenario_m7() {
    local pb pc sa sb sc
    pb=$(free_port)
    pc=$(free_port)
    start_mon m7.b -incoming "tcp:127.0.0.1:$pb"
    local b=$MON_PID
    local i
    for ((i = 0; i < 200; i++)); do listening "$pb" && break; sleep 0.05; done
    listening "$pb" || { fail "m7: B not listening: $(cat "$tmp/m7.b.err")"; return; }
    start_dest m7.c "$pc" || return
    local c=$DEST_PID
    start_mon m7.a
    local a=$MON_PID
    sleep "$WARMUP"
    mon m7.a "migrate -d tcp:127.0.0.1:$pb"
    wait_for "$tmp/m7.a.err" "$END_RE" 60 || fail "m7: A->B did not end in 60 s"
    mon m7.a "quit"
    # B reads the command once it runs the guest.
    mon m7.b "migrate -d tcp:127.0.0.1:$pc"
    wait_for "$tmp/m7.b.err" "$END_RE" 60 || fail "m7: B->C did not end in 60 s"
    mon m7.b "quit"
    wait_status "$a" 10; sa=$STATUS
    wait_status "$b" 10; sb=$STATUS
    wait_status "$c" 60; sc=$STATUS
    grep -q "vx86: migration completed" "$tmp/m7.a.err" || fail "m7: A->B: $(grep 'vx86:' "$tmp/m7.a.err" | tail -n 2)"
    grep -q "vx86: migration completed" "$tmp/m7.b.err" || fail "m7: B->C: $(grep 'vx86:' "$tmp/m7.b.err" | tail -n 2)"
    [ "$sa" -eq 0 ] && [ "$sb" -eq 0 ] || fail "m7: A status $sa, B status $sb, want 0 after quit"
    [ "$sc" -eq $PASS_STATUS ] || fail "m7: C status $sc: $(cat "$tmp/m7.c.err")"
    [ -s "$tmp/m7.b.log" ] || echo "m7: note: B printed nothing between the hops"
    same_output m7 "$tmp/m7.a.log" "$tmp/m7.b.log" "$tmp/m7.c.log"
}

# I2: the destination is killed mid-migration; the source keeps running; a second migration to a
# fresh destination then completes (the pages the dead one had were dirty again).
scenario_i2() {
    local p1 p2 ss sd
    p1=$(free_port)
    start_dest i2.dst1 "$p1" || return
    local d1=$DEST_PID
    start_mon i2.src
    local src=$MON_PID
    sleep "$WARMUP"
    mon i2.src "migrate_set_parameter max-bandwidth 8"
    mon i2.src "migrate -d tcp:127.0.0.1:$p1"
    sleep 0.5
    kill -9 "$d1"
    wait "$d1" 2>/dev/null
    wait_for "$tmp/i2.src.err" "$END_RE" 20 || fail "i2: no verdict 20 s after the destination died"
    grep -q "vx86: migration failed" "$tmp/i2.src.err" \
        || fail "i2: want 'migration failed': $(grep 'vx86:' "$tmp/i2.src.err" | tail -n 2)"
    kill -0 "$src" 2>/dev/null || fail "i2: the source did not survive the failed migration"
    p2=$(free_port)
    start_dest i2.dst2 "$p2" || return
    local d2=$DEST_PID
    mon i2.src "migrate_set_parameter max-bandwidth 4096"
    mon i2.src "migrate -d tcp:127.0.0.1:$p2"
    wait_for "$tmp/i2.src.err" "vx86: migration completed" 60 \
        || fail "i2: the second migration did not complete: $(grep 'vx86:' "$tmp/i2.src.err" | tail -n 2)"
    mon i2.src "quit"
    wait_status "$src" 10; ss=$STATUS
    wait_status "$d2" 60; sd=$STATUS
    [ "$ss" -eq 0 ] || fail "i2: source status $ss after quit, want 0"
    [ "$sd" -eq $PASS_STATUS ] || fail "i2: second destination status $sd: $(cat "$tmp/i2.dst2.err")"
    same_output i2 "$tmp/i2.src.log" "$tmp/i2.dst2.log"
    echo "i2: $(grep -m1 'vx86: migration failed' "$tmp/i2.src.err")"
}

# After a failed or cancelled migration: EOF on the monitor, and the source runs the guest to the
# uninterrupted run's end.
source_runs_on() {
    local name=$1 src=$2 ss
    mon_close "$name.src"
    wait_status "$src" 60; ss=$STATUS
    [ "$ss" -eq $PASS_STATUS ] || fail "$name: the source ended with status $ss, want $PASS_STATUS: $(tail -n 3 "$tmp/$name.src.err")"
    same_output "$name" "$tmp/$name.src.log"
}

# I4: the destination has another -m: it refuses the stream with the reason, and the source
# reports that reason and goes on.
scenario_i4() {
    local port sd
    port=$(free_port)
    start_dest i4.dst "$port" -m 256M || return
    local dst=$DEST_PID
    start_mon i4.src
    local src=$MON_PID
    sleep "$WARMUP"
    mon i4.src "migrate -d tcp:127.0.0.1:$port"
    wait_for "$tmp/i4.src.err" "$END_RE" 30 || fail "i4: no verdict in 30 s"
    wait_status "$dst" 10; sd=$STATUS
    [ "$sd" -eq 1 ] || fail "i4: destination status $sd, want 1"
    grep -q "^vx86: -incoming: " "$tmp/i4.dst.err" || fail "i4: destination error: $(cat "$tmp/i4.dst.err")"
    grep -qiE "ram|memory|-m " "$tmp/i4.dst.err" || fail "i4: the destination does not say RAM differs: $(cat "$tmp/i4.dst.err")"
    # The reason may span lines: the failure line, then the differences.
    grep -q "vx86: migration failed: " "$tmp/i4.src.err" \
        || fail "i4: want 'migration failed': $(grep 'vx86:' "$tmp/i4.src.err" | tail -n 2)"
    sed -n '/vx86: migration failed: /,$p' "$tmp/i4.src.err" | grep -qiE "ram|memory" \
        || fail "i4: the source lacks the destination's reason: $(cat "$tmp/i4.src.err")"
    source_runs_on i4 "$src"
    echo "i4: $(grep -m1 'vx86: migration failed' "$tmp/i4.src.err")"
}

# I3: a proxy between source and destination flips one byte 1 MiB into the stream.
scenario_i3() {
    local pd pp sd i
    pd=$(free_port)
    pp=$(free_port)
    start_dest i3.dst "$pd" || return
    local dst=$DEST_PID
    cat >"$tmp/flip.py" <<'EOF'
import socket, sys, threading
listen_port, dest_port, flip_at = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(1)
src, _ = srv.accept()
dst = socket.create_connection(("127.0.0.1", dest_port))
def pump(a, b, flip):
    seen = 0
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            if flip is not None and seen <= flip < seen + len(data):
                data = bytearray(data)
                data[flip - seen] ^= 0x40
                data = bytes(data)
            seen += len(data)
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
t = threading.Thread(target=pump, args=(dst, src, None), daemon=True)
t.start()
pump(src, dst, flip_at)
t.join(5)
EOF
    (close_monitors; exec python3 "$tmp/flip.py" "$pp" "$pd" $((1024 * 1024)) 2>"$tmp/i3.proxy.err") &
    local proxy=$!
    PIDS+=("$proxy")
    for ((i = 0; i < 100; i++)); do listening "$pp" && break; sleep 0.05; done
    start_mon i3.src
    local src=$MON_PID
    sleep "$WARMUP"
    mon i3.src "migrate -d tcp:127.0.0.1:$pp"
    wait_for "$tmp/i3.src.err" "$END_RE" 30 || fail "i3: no verdict in 30 s"
    wait_status "$dst" 10; sd=$STATUS
    [ "$sd" -eq 1 ] || fail "i3: destination status $sd, want 1"
    grep -qi "crc" "$tmp/i3.dst.err" || fail "i3: the destination does not name the CRC: $(cat "$tmp/i3.dst.err")"
    grep -q "vx86: migration failed" "$tmp/i3.src.err" \
        || fail "i3: want 'migration failed': $(grep 'vx86:' "$tmp/i3.src.err" | tail -n 2)"
    source_runs_on i3 "$src"
    kill "$proxy" 2>/dev/null
    echo "i3: $(grep -m1 'vx86: -incoming' "$tmp/i3.dst.err")"
}

# migrate_cancel while the bulk pass crawls at 1 MiB/s.
scenario_cancel() {
    local port sd
    port=$(free_port)
    start_dest cancel.dst "$port" || return
    local dst=$DEST_PID
    start_mon cancel.src
    local src=$MON_PID
    sleep "$WARMUP"
    mon cancel.src "migrate_set_parameter max-bandwidth 1"
    mon cancel.src "migrate -d tcp:127.0.0.1:$port"
    sleep 0.5
    mon cancel.src "migrate_cancel"
    wait_for "$tmp/cancel.src.err" "$END_RE" 20 || fail "cancel: no verdict in 20 s"
    grep -q "vx86: migration cancelled" "$tmp/cancel.src.err" \
        || fail "cancel: want 'migration cancelled': $(grep 'vx86:' "$tmp/cancel.src.err" | tail -n 2)"
    mon cancel.src "info migrate"
    wait_for "$tmp/cancel.src.out" "Migration status: cancelled" 5 || fail "cancel: info migrate: $(cat "$tmp/cancel.src.out")"
    wait_status "$dst" 20; sd=$STATUS
    [ "$sd" -ne 0 ] && [ "$sd" -ne $PASS_STATUS ] && [ "$sd" -ne 124 ] \
        || fail "cancel: destination status $sd, want a failure: $(cat "$tmp/cancel.dst.err")"
    source_runs_on cancel "$src"
}

# Nobody listens on the port: a clear error, the guest runs on.
scenario_refused() {
    local port
    port=$(free_port)
    start_mon refused.src
    local src=$MON_PID
    sleep "$WARMUP"
    mon refused.src "migrate -d tcp:127.0.0.1:$port"
    mon refused.src "info status"
    wait_for "$tmp/refused.src.out" "VM status" 10
    sleep 0.2
    grep -qi "refused" "$tmp/refused.src.out" "$tmp/refused.src.err" \
        || fail "refused: no 'connection refused' error: $(cat "$tmp/refused.src.out" "$tmp/refused.src.err")"
    grep -q "VM status: running" "$tmp/refused.src.out" || fail "refused: info status: $(cat "$tmp/refused.src.out")"
    source_runs_on refused "$src"
}

# `migrate file:PATH` from the monitor, then `-incoming file:PATH` in a new process.
scenario_file() {
    local ss sr
    start_mon file.src
    local src=$MON_PID
    sleep "$WARMUP"
    mon file.src "migrate file:$tmp/file.snap"
    mon file.src "info status"
    wait_for "$tmp/file.src.out" "VM status" 10 || fail "file: no answer to info status"
    mon file.src "quit"
    wait_status "$src" 60; ss=$STATUS
    [ -s "$tmp/file.snap" ] || { fail "file: no snapshot written: $(cat "$tmp/file.src.out" "$tmp/file.src.err")"; return; }
    "$VX86" "${MACHINE[@]}" -serial "file:$tmp/file.dst.log" -incoming "file:$tmp/file.snap" \
        </dev/null >/dev/null 2>"$tmp/file.dst.err"
    sr=$?
    [ $sr -eq $PASS_STATUS ] || fail "file: the restored run's status $sr: $(cat "$tmp/file.dst.err")"
    if [ "$ss" -eq 0 ]; then
        # The source stopped after the save (QEMU's postmigrate): the two halves make the run.
        same_output file "$tmp/file.src.log" "$tmp/file.dst.log"
    else
        # The source ran on to the end: the restored run must print exactly a tail of the run.
        [ "$ss" -eq $PASS_STATUS ] || fail "file: source status $ss"
        same_output file "$tmp/file.src.log"
        local n
        n=$(stat -c %s "$tmp/file.dst.log")
        tail -c "$n" "$REF" | cmp -s - "$tmp/file.dst.log" \
            || fail "file: the restored run's output is not a tail of the uninterrupted run's"
        echo "file: note: the source ran on after 'migrate file:' (status $ss)"
    fi
}

for s in "${SCENARIOS[@]}"; do
    before=$fails
    fails=0
    t0=$(date +%s%N)
    "scenario_$s"
    t=$(( ($(date +%s%N) - t0) / 1000000 ))
    if [ $fails -eq 0 ]; then echo "ok: $s ($t ms)"; else echo "FAILED: $s ($t ms)"; fi
    [ $before -eq 0 ] || fails=1
done
[ $fails -eq 0 ] && echo "live migration command line ok"
exit $fails
