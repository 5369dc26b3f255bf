// The vCPU record of a snapshot (type kRecVcpu + index, version 1): every field of the
// architectural state vx86 keeps, by name, in one fixed order. One field table drives encoding,
// decoding, `vx86 inspect` and the negative-control test that drops one field at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "cpu/state/cpu_state.h"
#include "cpu/state/cpuid_model.h"

namespace vx86::state {

inline constexpr uint16_t kVcpuRecordVersion = 1;

// The encoded vCPU state. `drop_field` (tests only) writes that field's reset value instead of
// its value, so a test can prove that losing any single field is detected.
std::vector<uint8_t> encode_cpu(const cpu::CpuState& s, int drop_field = -1);

// Decodes into `out` (only on success) and checks the invariants a real CPU cannot violate and
// vx86 relies on, e.g. EFER.LMA without CR0.PG, RFLAGS reserved bits, SMM flags outside SMM,
// guest mode without EFER.SVME; the message names the field(s). Derived fields (mode, CPL,
// segment checks) are recomputed; the caller still has to tell the vCPU (Vcpu::state_changed).
base::Status decode_cpu(std::span<const uint8_t> payload, const cpu::CpuFeatures& features,
                        cpu::CpuState& out);

// Tests only: a state in which every field holds a nonzero value of its own (not a state a CPU
// can be in), and decoding without the invariant checks, so that a test can show that every
// field survives the round trip and that dropping any one of them is visible.
cpu::CpuState cpu_state_all_fields_set();
base::Status decode_cpu_unchecked(std::span<const uint8_t> payload, cpu::CpuState& out);

// Number of fields in the record, and their names in record order.
size_t cpu_field_count();
std::vector<std::string> cpu_field_names();

// One line per field, "name = value" (hex), for `vx86 inspect`.
void describe_cpu(const cpu::CpuState& s, const std::function<void(std::string_view name,
                                                                   std::string_view value)>& out);

}  // namespace vx86::state
