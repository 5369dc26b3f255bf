#!/usr/bin/env bash
# smi_compare.sh - SMI round trip (OUT 0xB2 -> SMI -> 3-instruction handler -> RSM) on QEMU TCG
# and vx86 in the same run: ns per round trip = (t_large - t_small) / (N_large - N_small), each
# time the best wall clock of R runs of bench/guests/smi_loop.asm with -machine q35,smm=on.
#
# usage: smi_compare.sh --vx86 PATH [--small N] [--large N] [--runs R] [--no-qemu]
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SMALL=10000
LARGE=1000000
RUNS=3
VX86=""
DO_QEMU=1
while [ $# -gt 0 ]; do
    case "$1" in
        --vx86) VX86=$2; shift 2 ;;
        --small) SMALL=$2; shift 2 ;;
        --large) LARGE=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --no-qemu) DO_QEMU=0; shift ;;
        -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
        *) echo "smi_compare.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
WORK=$(mktemp -d /tmp/vx86-smibench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
for n in "$SMALL" "$LARGE"; do
    nasm -f bin -I "$ROOT/guests/lib/" -D ITER="$n" "$HERE/guests/smi_loop.asm" -o "$WORK/smi-$n.bin" \
        || { echo "smi_compare.sh: nasm failed" >&2; exit 1; }
done
STD=(-machine q35,smm=on -cpu qemu64 -m 128 -display none -serial stdio
     -device isa-debug-exit,iobase=0xf4,iosize=0x4 -no-reboot -accel tcg)

# best_time EMU N: minimum seconds over RUNS runs; checks that the handler ran N times.
best_time() {
    local emu=$1 n=$2 best="" t0 t1 dt cmd
    case "$emu" in qemu) cmd=(qemu-system-x86_64) ;; vx86) cmd=("$VX86") ;; esac
    for _ in $(seq "$RUNS"); do
        t0=$(date +%s%N)
        timeout 600 "${cmd[@]}" "${STD[@]}" -bios "$WORK/smi-$n.bin" </dev/null >"$WORK/out" 2>"$WORK/err"
        t1=$(date +%s%N)
        if ! grep -q "^done $(printf '%08x' "$n")" "$WORK/out"; then
            echo "n/a"; return
        fi
        dt=$((t1 - t0))
        if [ -z "$best" ] || [ "$dt" -lt "$best" ]; then best=$dt; fi
    done
    echo "$best"
}

report() {
    local emu=$1 ts tl
    ts=$(best_time "$emu" "$SMALL")
    tl=$(best_time "$emu" "$LARGE")
    if [ "$ts" = "n/a" ] || [ "$tl" = "n/a" ]; then
        printf '%-6s n/a (the guest did not report %s SMIs)\n' "$emu" "$LARGE"
        return
    fi
    awk -v e="$emu" -v ts="$ts" -v tl="$tl" -v ns="$SMALL" -v nl="$LARGE" \
        'BEGIN { printf "%-6s %8.1f ns per SMI round trip (%d SMIs: %.3f s, %d SMIs: %.3f s)\n", e, (tl - ts) / (nl - ns), nl, tl / 1e9, ns, ts / 1e9 }'
}

echo "SMI round trip, OUT 0xB2 -> handler (inc, nop, rsm) -> RSM; best of $RUNS runs"
[ "$DO_QEMU" = 1 ] && report qemu
[ -n "$VX86" ] && report vx86
exit 0
