#!/usr/bin/env bash
# compare.sh - peer comparison: runs bench/guests/intloop.asm (small and large ITER) on QEMU TCG,
# Bochs and optionally vx86, and prints MIPS = 15*(ITER_large-ITER_small) / (t_large - t_small).
#
# usage: compare.sh [--vx86 PATH] [--small N] [--large N] [--runs R] [--no-bochs] [--no-qemu]
#   Each timing is the best (minimum) wall clock of R runs. Needs nasm; no standard input used.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SMALL=2000000
LARGE=100000000
RUNS=3
VX86=""
DO_QEMU=1
DO_BOCHS=1
while [ $# -gt 0 ]; do
    case "$1" in
        --vx86) VX86=$2; shift 2 ;;
        --small) SMALL=$2; shift 2 ;;
        --large) LARGE=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --no-bochs) DO_BOCHS=0; shift ;;
        --no-qemu) DO_QEMU=0; shift ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "compare.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
INSNS_PER_ITER=15                  # see the comment at the top of intloop.asm
source "$HERE/lib.sh"
WORK=$(mktemp -d /tmp/vx86-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

for n in "$SMALL" "$LARGE"; do
    nasm -f bin -I "$ROOT/guests/lib/" -D ITER="$n" "$HERE/guests/intloop.asm" -o "$WORK/intloop-$n.bin" \
        || { echo "compare.sh: nasm failed" >&2; exit 1; }
done

now_ns() { date +%s%N; }

# run_one EMU IMAGE OUTFILE: run once, leave the serial output in OUTFILE.
run_one() {
    local emu=$1 img=$2 out=$3
    local std=(-machine q35 -cpu qemu64 -m 128 -display none -serial stdio
               -device isa-debug-exit,iobase=0xf4,iosize=0x4 -no-reboot -accel tcg -bios "$img")
    case "$emu" in
        qemu) timeout 600 qemu-system-x86_64 "${std[@]}" </dev/null >"$out" 2>"$WORK/err" ;;
        vx86) timeout 600 "$VX86" "${std[@]}" </dev/null >"$out" 2>"$WORK/err" ;;
        bochs) bench_run_bochs "$img" "$out" "$WORK" ;;
    esac
    return 0
}

# best_time EMU N: minimum wall-clock seconds over RUNS runs of the ITER=N image; checks "done".
best_time() {
    local emu=$1 n=$2 best="" t0 t1 dt
    for _ in $(seq "$RUNS"); do
        t0=$(now_ns)
        run_one "$emu" "$WORK/intloop-$n.bin" "$WORK/out"
        t1=$(now_ns)
        if ! grep -q '^done [0-9a-f]\{8\}' "$WORK/out" 2>/dev/null; then
            echo "compare.sh: $emu ITER=$n produced no 'done' line" >&2; tail -5 "$WORK/err" >&2
            echo "FAILED"; return
        fi
        dt=$(( t1 - t0 ))
        if [ -z "$best" ] || [ "$dt" -lt "$best" ]; then best=$dt; fi
    done
    awk -v ns="$best" 'BEGIN { printf "%.3f", ns / 1e9 }'
}

EMUS=()
[ "$DO_QEMU" = 1 ] && EMUS+=(qemu)
[ "$DO_BOCHS" = 1 ] && EMUS+=(bochs)
[ -n "$VX86" ] && EMUS+=(vx86)
DELTA=$(( (LARGE - SMALL) * INSNS_PER_ITER ))
echo "intloop: ITER small=$SMALL large=$LARGE, $INSNS_PER_ITER insns/iter, delta=$DELTA instructions, best of $RUNS"
declare -A MIPS
printf '%-8s %10s %10s %10s\n' emulator t_small_s t_large_s MIPS
for e in "${EMUS[@]}"; do
    ts=$(best_time "$e" "$SMALL")
    tl=$(best_time "$e" "$LARGE")
    if [ "$ts" = FAILED ] || [ "$tl" = FAILED ]; then
        printf '%-8s %10s %10s %10s\n' "$e" "$ts" "$tl" "-"; continue
    fi
    m=$(awk -v d="$DELTA" -v a="$ts" -v b="$tl" 'BEGIN { if (b <= a) print "n/a"; else printf "%.1f", d / (b - a) / 1e6 }')
    MIPS[$e]=$m
    printf '%-8s %10s %10s %10s\n' "$e" "$ts" "$tl" "$m"
done
echo "ratios (row MIPS / column MIPS):"
for a in "${!MIPS[@]}"; do
    for b in "${!MIPS[@]}"; do
        [ "$a" = "$b" ] && continue
        awk -v x="${MIPS[$a]}" -v y="${MIPS[$b]}" -v a="$a" -v b="$b" \
            'BEGIN { if (x + 0 > 0 && y + 0 > 0) printf "  %s/%s = %.2f\n", a, b, x / y }'
    done
done
