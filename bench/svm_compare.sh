#!/usr/bin/env bash
# svm_compare.sh - the VMRUN/#VMEXIT round trip on QEMU TCG, Bochs and vx86 (see roundtrip.sh).
exec bash "$(dirname "${BASH_SOURCE[0]}")/roundtrip.sh" svm "$@"
