// One binder per instruction family: given a decoded Insn, return the handler specialised for its
// operand sizes and forms, or nullptr when the form is not valid (the dispatcher then binds #UD).
#pragma once

#include "cpu/decode/insn.h"

namespace vx86::cpu {

Handler bind_alu(const Insn& in);        // alu.cpp: ADD..CMP, TEST, INC, DEC, NEG, NOT
Handler bind_data_move(const Insn& in);  // data_move.cpp: MOV, MOVZX/SX, XCHG, LEA, CMOVcc, SETcc...
Handler bind_control(const Insn& in);    // control.cpp: JMP, Jcc, CALL, RET, LOOPcc, JrCXZ
Handler bind_stack(const Insn& in);      // stack.cpp: PUSH, POP, PUSHF/POPF, PUSHA/POPA, ENTER, LEAVE
Handler bind_shift(const Insn& in);      // shift.cpp: SHL/SHR/SAR/ROL/ROR/RCL/RCR, SHLD/SHRD
Handler bind_muldiv(const Insn& in);     // muldiv.cpp: MUL, IMUL, DIV, IDIV
Handler bind_bit(const Insn& in);        // bit.cpp: BT*, BSF/BSR, LZCNT/TZCNT/POPCNT, BMI1
Handler bind_bcd(const Insn& in);        // bcd.cpp: DAA, DAS, AAA, AAS, AAM, AAD
Handler bind_atomic(const Insn& in);     // atomic.cpp: CMPXCHG, CMPXCHG8B/16B, XADD
Handler bind_string(const Insn& in);     // string.cpp: MOVS, STOS, LODS, CMPS, SCAS (REP forms)
Handler bind_io(const Insn& in);         // io.cpp: IN, OUT, INS, OUTS
Handler bind_system(const Insn& in);     // system.cpp: CLI/STI/HLT, CPUID, MSRs, CRs, DRs, tables
Handler bind_segment(const Insn& in);    // segment.cpp: MOV Sreg, LxS, far JMP/CALL/RET, LAR/LSL...
Handler bind_interrupt(const Insn& in);  // interrupt.cpp: INT n, INT3, INTO, IRET, BOUND, UD2
Handler bind_fast_call(const Insn& in);  // fast_call.cpp: SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS
Handler bind_svm(const Insn& in);        // svm_insn.cpp: VMRUN, VMLOAD/VMSAVE, STGI/CLGI, VMMCALL...
Handler bind_no_fpu(const Insn& in);     // no_fpu.cpp: x87/MMX/SSE/AVX on a CPU without them

// Handlers shared by every family.
ExecStatus exec_ud(Cpu& c, const Insn& in);     // #UD
ExecStatus exec_gp0(Cpu& c, const Insn& in);    // #GP(0), e.g. over-long instructions
ExecStatus exec_nop(Cpu& c, const Insn& in);

}  // namespace vx86::cpu
