#!/usr/bin/env bash
# roundtrip.sh - time one kind of world switch on QEMU TCG, Bochs (where it can run it) and vx86 in
# the same run: ns per round trip = (t_large - t_small) / (N_large - N_small), each time the best
# wall clock of R runs of the case's guest, which prints "done <count>" (its own count of round
# trips, so a peer that loses some gets no figure).
#   smi: OUT 0xB2 -> SMI -> handler (inc, nop, rsm) -> RSM       bench/guests/smi_loop.asm
#   svm: VMRUN -> CPUID in L2 -> CPUID intercept -> #VMEXIT       bench/guests/svm_loop.asm
#
# usage: roundtrip.sh smi|svm --vx86 PATH [--small N] [--large N] [--runs R] [--no-qemu] [--no-bochs]
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
source "$HERE/lib.sh"
CASE=${1:-}
shift || true
case "$CASE" in
    smi) GUEST=smi_loop; TITLE="SMI round trip, OUT 0xB2 -> handler (inc, nop, rsm) -> RSM"
         UNIT="SMI round trip"; MACHINE=(-machine q35,smm=on -cpu qemu64)
         # Bochs' i440FX model raises APM SMIs through PIIX4 ports the guest does not program.
         BOCHS_CPU="" ;;
    svm) GUEST=svm_loop; TITLE="VMRUN -> CPUID in L2 -> CPUID intercept -> #VMEXIT"
         UNIT="VMRUN/#VMEXIT round trip"; MACHINE=(-machine q35 -cpu qemu64,+svm)
         BOCHS_CPU="cpu: model=ryzen, ips=100000000" ;;  # ryzen has SVM
    *) echo "usage: roundtrip.sh smi|svm --vx86 PATH [options]" >&2; exit 2 ;;
esac
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
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "roundtrip.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ -n "$BOCHS_CPU" ] && command -v bochs >/dev/null || DO_BOCHS=0
WORK=$(mktemp -d /tmp/vx86-roundtrip.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
for n in "$SMALL" "$LARGE"; do
    nasm -f bin -I "$ROOT/guests/lib/" -D ITER="$n" "$HERE/guests/$GUEST.asm" -o "$WORK/$GUEST-$n.bin" \
        || { echo "roundtrip.sh: nasm failed" >&2; exit 1; }
done
STD=("${MACHINE[@]}" -m 128 -display none -serial stdio
     -device isa-debug-exit,iobase=0xf4,iosize=0x4 -no-reboot -accel tcg)

# best_time EMU N: minimum nanoseconds over RUNS runs, or n/a when the count is wrong.
best_time() {
    local emu=$1 n=$2 best="" t0 t1 dt img="$WORK/$GUEST-$2.bin"
    for _ in $(seq "$RUNS"); do
        t0=$(date +%s%N)
        case "$emu" in
            qemu) timeout 600 qemu-system-x86_64 "${STD[@]}" -bios "$img" </dev/null >"$WORK/out" 2>"$WORK/err" ;;
            vx86) timeout 600 "$VX86" "${STD[@]}" -bios "$img" </dev/null >"$WORK/out" 2>"$WORK/err" ;;
            bochs) bench_run_bochs "$img" "$WORK/out" "$WORK" "$BOCHS_CPU" ;;
        esac
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
        printf '%-6s n/a (the guest did not report %s round trips)\n' "$emu" "$LARGE"
        return
    fi
    awk -v e="$emu" -v u="$UNIT" -v ts="$ts" -v tl="$tl" -v ns="$SMALL" -v nl="$LARGE" \
        'BEGIN { printf "%-6s %8.1f ns per %s (%d: %.3f s, %d: %.3f s)\n", e, (tl - ts) / (nl - ns), u, nl, tl / 1e9, ns, ts / 1e9 }'
}

echo "$TITLE; best of $RUNS runs"
[ "$DO_QEMU" = 1 ] && report qemu
[ "$DO_BOCHS" = 1 ] && report bochs
[ -n "$VX86" ] && report vx86
exit 0
