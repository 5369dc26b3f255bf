#!/usr/bin/env bash
# smi_compare.sh - the SMI round trip on QEMU TCG and vx86 (see roundtrip.sh for options).
exec bash "$(dirname "${BASH_SOURCE[0]}")/roundtrip.sh" smi "$@"
