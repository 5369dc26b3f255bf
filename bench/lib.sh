# bench/lib.sh - shared by the comparison scripts (source it): runs a -bios image on Bochs.
#
# bench_run_bochs IMAGE SERIAL_OUT WORKDIR [CPU_LINE]: one run of IMAGE on Bochs 2.7, COM1 to
# SERIAL_OUT, logs in WORKDIR. No VGA ROM is needed with extension=none; Debian's Bochs lacks
# "nogui", and rfb with timeout=0 starts without waiting for a VNC client. This build has its
# debugger compiled in, so -rc feeds it "continue" instead of reading stdin. The guest ends the
# run with "Shutdown" on port 0x8900 (EXIT_ANY in guests/lib/assert.inc).
bench_run_bochs() {
    local img=$1 out=$2 work=$3 cpu=${4:-"cpu: ips=100000000"}
    rm -f "$out"
    cat >"$work/bochsrc" <<RC
romimage: file=$img
megs: 32
display_library: rfb, options="timeout=0"
vga: extension=none
$cpu
clock: sync=none
com1: enabled=1, mode=file, dev=$out
log: $work/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
RC
    printf 'c\nquit\n' >"$work/bochs.rc"
    timeout 600 bochs -q -f "$work/bochsrc" -rc "$work/bochs.rc" </dev/null >"$work/err" 2>&1
    return 0
}
