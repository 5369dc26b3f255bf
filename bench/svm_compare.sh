#!/usr/bin/env bash
# svm_compare.sh - VMRUN -> intercepted CPUID in L2 -> #VMEXIT round trip on QEMU TCG and vx86 in
# the same run: ns per round trip = (t_large - t_small) / (N_large - N_small), each time the best
# wall clock of R runs of bench/guests/svm_loop.asm with -cpu qemu64,+svm.
#
# Bochs runs the same image with its "ryzen" CPU model (SVM, NRIPS, NPT) unless --no-bochs.
#
# usage: svm_compare.sh --vx86 PATH [--small N] [--large N] [--runs R] [--no-qemu] [--no-bochs]
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SMALL=10000
LARGE=1000000
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
        --no-qemu) DO_QEMU=0; shift ;;
        --no-bochs) DO_BOCHS=0; shift ;;
        -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
        *) echo "svm_compare.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
WORK=$(mktemp -d /tmp/vx86-svmbench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
for n in "$SMALL" "$LARGE"; do
    nasm -f bin -I "$ROOT/guests/lib/" -D ITER="$n" "$HERE/guests/svm_loop.asm" -o "$WORK/svm-$n.bin" \
        || { echo "svm_compare.sh: nasm failed" >&2; exit 1; }
done
STD=(-machine q35 -cpu qemu64,+svm -m 128 -display none -serial stdio
     -device isa-debug-exit,iobase=0xf4,iosize=0x4 -no-reboot -accel tcg)

# best_time EMU N: minimum seconds over RUNS runs; checks that the handler ran N times.
best_time() {
    local emu=$1 n=$2 best="" t0 t1 dt cmd
    case "$emu" in qemu) cmd=(qemu-system-x86_64) ;; vx86) cmd=("$VX86") ;; esac
    for _ in $(seq "$RUNS"); do
        t0=$(date +%s%N)
        if [ "$emu" = bochs ]; then
            rm -f "$WORK/out"
            # As in compare.sh: no VGA ROM, rfb without waiting, the debugger fed "continue".
            cat >"$WORK/bochsrc" <<RC
romimage: file=$WORK/svm-$n.bin
megs: 32
cpu: model=ryzen, ips=100000000
display_library: rfb, options="timeout=0"
vga: extension=none
clock: sync=none
com1: enabled=1, mode=file, dev=$WORK/out
log: $WORK/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
RC
            printf 'c\nquit\n' >"$WORK/bochs.rc"
            timeout 600 bochs -q -f "$WORK/bochsrc" -rc "$WORK/bochs.rc" </dev/null >"$WORK/err" 2>&1
        else
            timeout 600 "${cmd[@]}" "${STD[@]}" -bios "$WORK/svm-$n.bin" </dev/null >"$WORK/out" 2>"$WORK/err"
        fi
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
        printf '%-6s n/a (the guest did not report %s exits)\n' "$emu" "$LARGE"
        return
    fi
    awk -v e="$emu" -v ts="$ts" -v tl="$tl" -v ns="$SMALL" -v nl="$LARGE" \
        'BEGIN { printf "%-6s %8.1f ns per VMRUN/#VMEXIT round trip (%d: %.3f s, %d: %.3f s)\n", e, (tl - ts) / (nl - ns), nl, tl / 1e9, ns, ts / 1e9 }'
}

echo "VMRUN -> CPUID in L2 -> CPUID intercept -> #VMEXIT; best of $RUNS runs"
[ "$DO_QEMU" = 1 ] && report qemu
[ "$DO_BOCHS" = 1 ] && command -v bochs >/dev/null && report bochs
[ -n "$VX86" ] && report vx86
exit 0
