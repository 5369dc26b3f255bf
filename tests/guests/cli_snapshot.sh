#!/usr/bin/env bash
# cli_snapshot.sh - `-snapshot-at N,file=PATH,exit=on` then `-incoming file:PATH`: the two runs'
# serial outputs concatenated equal the uninterrupted run's, and the restored run ends with the
# same status; at several N for a guest that runs an SMM handler inside an SVM L2 guest and for
# a multiboot guest. Also: `vx86 inspect`, a snapshot restored on a different -cpu, a damaged
# file, and a save that cannot write (the old snapshot must survive).
# usage: cli_snapshot.sh VX86 BUILD_DIR
set -u
VX86=$1
BUILD=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=1; }
COMMON=(-m 64M -display none -device isa-debug-exit,iobase=0xf4,iosize=0x4 -serial stdio)

check_guest() {  # name, load option, image, cpu, machine, N...
    local name=$1 load=$2 image=$3 cpu=$4 machine=$5
    shift 5
    local args=("${COMMON[@]}" -machine "$machine" -cpu "$cpu" "$load" "$image")
    "$VX86" "${args[@]}" </dev/null >"$tmp/full" 2>/dev/null
    local want=$?
    for n in "$@"; do
        "$VX86" "${args[@]}" -snapshot-at "$n,file=$tmp/snap,exit=on" </dev/null >"$tmp/a" 2>"$tmp/a.err"
        local sa=$?
        [ $sa -eq 0 ] || { fail "$name: -snapshot-at $n exited $sa: $(cat "$tmp/a.err")"; continue; }
        "$VX86" "${args[@]}" -incoming "file:$tmp/snap" </dev/null >"$tmp/b" 2>"$tmp/b.err"
        local sb=$?
        [ $sb -eq $want ] || fail "$name: restored run at $n exited $sb, want $want: $(cat "$tmp/b.err")"
        cat "$tmp/a" "$tmp/b" | cmp -s - "$tmp/full" || fail "$name: output split at $n differs from the uninterrupted run"
    done
}

SVM_SMM="$BUILD/guests/tests/svm_smm.bin"
check_guest svm_smm -bios "$SVM_SMM" qemu64,+svm q35,smm=on 1 500 3000 6000 9000 12000 13500

# exit=off: save and run on; the output and status are the uninterrupted run's, and the file
# restores. A -snapshot-at point the restored guest has already passed is an error.
SMM_ARGS=("${COMMON[@]}" -machine q35,smm=on -cpu qemu64,+svm -bios "$SVM_SMM")
"$VX86" "${SMM_ARGS[@]}" </dev/null >"$tmp/full" 2>/dev/null
want=$?
"$VX86" "${SMM_ARGS[@]}" -snapshot-at "4000,file=$tmp/mid,exit=off" </dev/null >"$tmp/on" 2>/dev/null
st=$?
[ $st -eq $want ] || fail "exit=off: status $st, want $want"
cmp -s "$tmp/on" "$tmp/full" || fail "exit=off: output differs from the uninterrupted run"
"$VX86" "${SMM_ARGS[@]}" -incoming "file:$tmp/mid" </dev/null >/dev/null 2>&1
[ $? -eq $want ] || fail "exit=off: the snapshot it wrote does not restore"
"$VX86" "${SMM_ARGS[@]}" -incoming "file:$tmp/mid" -snapshot-at "10,file=$tmp/x" </dev/null >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] || fail "-snapshot-at behind the restored point: not an error"
grep -q "already retired" "$tmp/err" || fail "-snapshot-at behind the restored point: $(cat "$tmp/err")"
check_guest exceptions -kernel "$BUILD/guests/tests/exceptions.elf" qemu64 q35 2 20000 40000 60000

# inspect: sections, the vCPU in SMM entered from L2, the SMRAM map and VMCB12.
ARGS=("${COMMON[@]}" -machine q35,smm=on -cpu qemu64,+svm -bios "$SVM_SMM")
found=""
for n in $(seq 2000 200 13000); do
    "$VX86" "${ARGS[@]}" -snapshot-at "$n,file=$tmp/s,exit=on" </dev/null >/dev/null 2>&1
    if "$VX86" inspect "$tmp/s" >"$tmp/inspect" 2>&1 && grep -q "^svm.smm_suspended = 1" "$tmp/inspect"; then
        found=$n; break
    fi
done
if [ -z "$found" ]; then
    fail "inspect: no snapshot of svm_smm had SMM entered from L2"
else
    for section in "[machine configuration]" "[memory]" "[devices]" "[vcpu 0]" "[SMRAM state-save map" "[VMCB12 at"; do
        grep -qF "$section" "$tmp/inspect" || fail "inspect: no '$section' section"
    done
    grep -q "svm_guest_flag=1" "$tmp/inspect" || fail "inspect: SMRAM map lacks svm_guest_flag=1"
fi

# A different -cpu: refused with the difference, exit status 1.
"$VX86" "${COMMON[@]}" -machine q35,smm=on -cpu qemu64 -bios "$SVM_SMM" -incoming "file:$tmp/s" </dev/null >/dev/null 2>"$tmp/err"
st=$?
[ $st -eq 1 ] || fail "different -cpu: exit status $st, want 1"
grep -q "cpu=qemu64,+svm" "$tmp/err" || fail "different -cpu: message lacks the difference: $(cat "$tmp/err")"

# A damaged file: a flipped byte in the middle.
cp "$tmp/s" "$tmp/bad"
size=$(stat -c %s "$tmp/bad")
printf '\xff' | dd of="$tmp/bad" bs=1 seek=$((size / 2)) conv=notrunc status=none
"$VX86" "${ARGS[@]}" -incoming "file:$tmp/bad" </dev/null >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] || fail "damaged file accepted"
grep -qi "crc" "$tmp/err" || fail "damaged file: no CRC error: $(cat "$tmp/err")"
"$VX86" inspect "$tmp/bad" >/dev/null 2>&1 && fail "inspect accepted a damaged file"
"$VX86" inspect "$tmp/missing" >/dev/null 2>&1 && fail "inspect accepted a missing file"

# A save that cannot be written leaves the existing snapshot alone (PATH.tmp is a directory,
# which even root cannot open for writing).
mkdir -p "$tmp/keep/s.tmp" && cp "$tmp/s" "$tmp/keep/s"
"$VX86" "${ARGS[@]}" -snapshot-at "100,file=$tmp/keep/s,exit=on" </dev/null >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] || fail "unwritable snapshot path: no error"
grep -q "s.tmp" "$tmp/err" || fail "unwritable snapshot path: message lacks the path: $(cat "$tmp/err")"
cmp -s "$tmp/s" "$tmp/keep/s" || fail "a failed save changed the old snapshot"

# Bad option spellings.
"$VX86" "${ARGS[@]}" -snapshot-at "abc,file=$tmp/x" </dev/null >/dev/null 2>&1 && fail "-snapshot-at abc accepted"
"$VX86" "${ARGS[@]}" -snapshot-at "100" </dev/null >/dev/null 2>&1 && fail "-snapshot-at without file= accepted"
"$VX86" "${ARGS[@]}" -incoming "foo:bar" </dev/null >/dev/null 2>&1 && fail "-incoming foo:bar accepted"

[ $fails -eq 0 ] && echo "snapshot command line ok"
exit $fails
