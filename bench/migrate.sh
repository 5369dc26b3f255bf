#!/usr/bin/env bash
# migrate.sh - live-migration total time and downtime (state.md 6.8) on vx86 and on QEMU TCG in the
# same run: the G-inc guest (guests/tests/migrate_inc.asm, 4 KiB pages of 8..64 MiB rewritten in a
# loop, DELAY spin iterations between two page writes) runs on a source with `-monitor stdio`,
# which gets `migrate -d tcp:` to a destination started with `-incoming tcp:` on loopback.
#   vx86: figures from the source's "vx86: migration completed: P passes, T ms total, downtime D ms,
#         X MiB sent" line; the dirty rate from its last "vx86: migration: pass N: ..." line.
#   QEMU: figures from `info migrate`, polled every 0.1 s (total time, downtime, dirty sync count,
#         transferred ram; the dirty pages rate is the last one shown while the migration was
#         active: QEMU computes it once a second, so short migrations show none, "-").
# "passes" is each one's own count: vx86's passes over the dirty log, QEMU's dirty sync count.
# The same DELAY dirties memory at very different rates on the two (QEMU runs the guest about ten
# times faster), so "guest pg/s" gives the guest's own page-write rate without a migration, from
# two runs of a 4 MiB variant: (P2 - P1) * 1024 pages / (t2 - t1), startup cancelled out; "mig pg/s"
# is the dirty rate the emulator reported during the migration: distinct pages dirtied per second
# of a pass, so it saturates at the 14336-page working set per pass interval (and vx86 runs the
# guest and the migration on one thread). Each cell is the median of RUNS migrations; a
# migration still running after TIMEOUT seconds is cancelled and counted as "n/c".
#
# usage: migrate.sh --vx86 PATH [--delays "0 1000 10000 100000"] [--runs R] [--timeout SECS]
#                   [--bandwidth MIB_PER_S] [--downtime MS] [--warmup SECS] [--no-qemu]
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
VX86=""
DELAYS="0 1000 10000 100000"
RUNS=3
TIMEOUT=30
BANDWIDTH=102400            # MiB/s: as fast as the loopback socket goes, on both
DOWNTIME=300                # ms: QEMU's default downtime-limit
WARMUP=1
DO_QEMU=1
while [ $# -gt 0 ]; do
    case "$1" in
        --vx86) VX86=$2; shift 2 ;;
        --delays) DELAYS=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --bandwidth) BANDWIDTH=$2; shift 2 ;;
        --downtime) DOWNTIME=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --no-qemu) DO_QEMU=0; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "migrate.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
command -v qemu-system-x86_64 >/dev/null || DO_QEMU=0
[ -n "$VX86" ] || [ "$DO_QEMU" = 1 ] || { echo "migrate.sh: nothing to run (no --vx86, no QEMU)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/vx86-migrate.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap '' PIPE

# build NAME NASM_DEFINES...: $WORK/NAME.elf from migrate_inc.asm.
build() {
    local name=$1
    shift
    nasm -f elf32 -I "$ROOT/guests/lib/" -I "$ROOT/guests/tests/" "$@" \
        "$ROOT/guests/tests/migrate_inc.asm" -o "$WORK/$name.o" \
        && ld -m elf_i386 -T "$ROOT/guests/lib/multiboot.ld" --build-id=none -z max-page-size=0x1000 \
              -o "$WORK/$name.elf" "$WORK/$name.o" \
        || { echo "migrate.sh: building the guest failed" >&2; exit 1; }
}
# The migrated guest never ends by itself: the destination is stopped once the figures are in.
for d in $DELAYS; do build "inc-$d" -D DELAY="$d" -D PASSES=1000000; done
STD=(-machine q35 -cpu qemu64 -m 128 -display none -device isa-debug-exit,iobase=0xf4,iosize=0x4
     -no-reboot -accel tcg)

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
listening() {  # PORT: some socket listens on 127.0.0.1:PORT or *:PORT
    grep -qE "^ *[0-9]+: (0100007F|00000000):$(printf '%04X' "$1") [0-9A-F]+:[0-9A-F]+ 0A " /proc/net/tcp
}
# HMP output on a pipe still carries the readline's escape sequences and CRs.
clean() { sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' -e 's/\r//g' "$1" 2>/dev/null; }

# one_run EMU DELAY: one migration; prints "passes total_ms downtime_ms sent_mib dirty_pages_per_s"
# or "n/c" (no convergence before TIMEOUT) or "fail <why>".
one_run() {
    local emu=$1 delay=$2 bin port dst src fd i t0 out
    case "$emu" in
        vx86) bin=$VX86 ;;
        qemu) bin=qemu-system-x86_64 ;;
    esac
    local dir=$WORK/$emu-$delay
    rm -rf "$dir" && mkdir -p "$dir"
    port=$(free_port)
    "$bin" "${STD[@]}" -kernel "$WORK/inc-$delay.elf" -serial "file:$dir/dst.log" \
        -incoming "tcp:127.0.0.1:$port" </dev/null >"$dir/dst.out" 2>"$dir/dst.err" &
    dst=$!
    PIDS+=("$dst")
    for ((i = 0; i < 200; i++)); do listening "$port" && break; sleep 0.05; done
    mkfifo "$dir/mon"
    ("$bin" "${STD[@]}" -kernel "$WORK/inc-$delay.elf" -serial "file:$dir/src.log" -monitor stdio \
        <"$dir/mon" >"$dir/src.out" 2>"$dir/src.err") &
    src=$!
    PIDS+=("$src")
    trap "kill -9 $src $dst 2>/dev/null" EXIT   # this runs in a \$(...) subshell: its own trap
    exec {fd}>"$dir/mon"
    sleep "$WARMUP"
    echo "migrate_set_parameter max-bandwidth $BANDWIDTH" >&"$fd"
    echo "migrate_set_parameter downtime-limit $DOWNTIME" >&"$fd"
    echo "migrate -d tcp:127.0.0.1:$port" >&"$fd"
    t0=$(date +%s)
    out=""
    while [ $(($(date +%s) - t0)) -lt "$TIMEOUT" ]; do
        sleep 0.1
        if [ "$emu" = qemu ]; then
            echo "info migrate" >&"$fd" 2>/dev/null
            sleep 0.02
            clean "$dir/src.out" | grep -qE "^Migration status: (completed|failed|cancelled)" && break
        else
            grep -qE "^vx86: migration (completed|failed|cancelled)" "$dir/src.err" && break
        fi
        kill -0 "$src" 2>/dev/null || break
    done
    if [ "$emu" = qemu ]; then
        local st
        st=$(clean "$dir/src.out" | sed -nE 's/^Migration status: //p' | tail -n 1)
        case "$st" in
            completed)
                out=$(clean "$dir/src.out" | awk '
                    /^total time:/ { t = $3 } /^downtime:/ { d = $2 } /^dirty sync count:/ { p = $4 }
                    /^transferred ram:/ { s = $3 / 1024 } /^dirty pages rate:/ { r = $4 }
                    END { printf "%s %s %s %.1f %s\n", p, t, d, s, (r == "" ? "-" : r) }') ;;
            failed|cancelled) out="fail $st" ;;
            *) out="n/c" ;;
        esac
    else
        local line
        line=$(grep -E "^vx86: migration (completed|failed|cancelled)" "$dir/src.err" | head -n 1)
        case "$line" in
            *completed*)
                local rate
                rate=$(sed -nE 's/.*dirty rate ([0-9]+) pages\/s.*/\1/p' "$dir/src.err" | tail -n 1)
                out=$(echo "$line" | sed -nE \
                    's/.*completed: ([0-9]+) passes, ([0-9]+) ms total, downtime ([0-9]+) ms, ([0-9.]+) MiB sent.*/\1 \2 \3 \4/p')
                [ -n "$out" ] && out="$out ${rate:--}" || out="fail unparsed: $line" ;;
            "") out="n/c" ;;
            *) out="fail ${line#vx86: migration }" ;;
        esac
    fi
    [ "$out" = "n/c" ] && { echo "migrate_cancel" >&"$fd" 2>/dev/null; sleep 0.3; }
    # A completed migration must have left a destination that runs the guest on.
    if [ "${out%% *}" != fail ] && [ "$out" != "n/c" ] && ! kill -0 "$dst" 2>/dev/null; then
        out="fail the destination exited: $(tail -n 1 "$dir/dst.err")"
    fi
    echo "quit" >&"$fd" 2>/dev/null
    exec {fd}>&-
    for ((i = 0; i < 40; i++)); do kill -0 "$src" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$src" "$dst" 2>/dev/null
    wait "$src" "$dst" 2>/dev/null
    echo "$out"
}

# guest_rate EMU DELAY: pages written per second by the guest alone (4 MiB range, two run lengths
# aimed at about 0.3 s and 1.2 s of guest time: about 2 * DELAY + 200 instructions a page at
# 150 MIPS on vx86, 2000 on QEMU).
guest_rate() {
    local emu=$1 d=$2 bin mips p1 p2 t1 t2 t0 st
    case "$emu" in
        vx86) bin=$VX86; mips=150 ;;
        qemu) bin=qemu-system-x86_64; mips=2000 ;;
    esac
    p2=$(( mips * 1200000 / (1024 * (2 * d + 200)) ))
    [ "$p2" -ge 4 ] || p2=4
    p1=$(( p2 / 4 ))
    for p in "$p1" "$p2"; do
        [ -f "$WORK/cal-$d-$p.elf" ] || build "cal-$d-$p" -D DELAY="$d" -D PASSES="$p" -D RANGE_END=0xc00000
        t0=$(date +%s%N)
        timeout 120 "$bin" "${STD[@]}" -kernel "$WORK/cal-$d-$p.elf" -serial none </dev/null >/dev/null 2>&1
        st=$?
        [ "$st" -eq 33 ] || { echo "-"; return; }
        if [ "$p" = "$p1" ]; then t1=$(( $(date +%s%N) - t0 )); else t2=$(( $(date +%s%N) - t0 )); fi
    done
    awk -v p1="$p1" -v p2="$p2" -v t1="$t1" -v t2="$t2" \
        'BEGIN { if (t2 > t1) printf "%d\n", (p2 - p1) * 1024 / ((t2 - t1) / 1e9); else print "-" }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# report EMU DELAY: a table row from RUNS migrations.
report() {
    local emu=$1 delay=$2 r results=() ok=() bad=""
    for _ in $(seq "$RUNS"); do
        r=$(one_run "$emu" "$delay")
        case "$r" in
            fail*|n/c) bad="$r" ;;
            *) ok+=("$r") ;;
        esac
    done
    if [ ${#ok[@]} -eq 0 ]; then
        printf '%-5s %7s  %s\n' "$emu" "$delay" "${bad:-no result}"
        return
    fi
    col() { printf '%s\n' "${ok[@]}" | awk -v c="$1" '{ print $c }' | median; }
    printf '%-5s %7s %11s %10s %7s %9s %12s %9s' "$emu" "$delay" "$(guest_rate "$emu" "$delay")" \
        "$(col 5)" "$(col 1)" "$(col 2)" "$(col 3)" "$(col 4)"
    [ ${#ok[@]} -lt "$RUNS" ] && printf '  (%d of %d runs; other: %s)' ${#ok[@]} "$RUNS" "$bad"
    printf '\n'
}

echo "Live migration of G-inc (128 MiB guest, pages 8..64 MiB rewritten in a loop) over loopback TCP;"
echo "max-bandwidth $BANDWIDTH MiB/s, downtime-limit $DOWNTIME ms, migrate after ${WARMUP} s, median of $RUNS runs"
printf '%-5s %7s %11s %10s %7s %9s %12s %9s\n' emu delay "guest pg/s" "mig pg/s" passes "total ms" \
    "downtime ms" "sent MiB"
for d in $DELAYS; do
    [ -n "$VX86" ] && report vx86 "$d"
    [ "$DO_QEMU" = 1 ] && report qemu "$d"
done
exit 0
