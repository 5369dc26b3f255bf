// The VMCB layout and the exit-code table: the offsets are compile-time checked in vmcb.h; here
// the byte image of a filled VMCB is checked at the manual's offsets, and exit codes by name.
#include "arch/vmcb.h"

#include <gtest/gtest.h>

#include <cstring>

#include "arch/svm_exit.h"

namespace vx86::arch {
namespace {

template <typename T>
T at(const uint8_t* p, size_t off) {
    T v;
    std::memcpy(&v, p + off, sizeof v);
    return v;
}

TEST(Vmcb, FieldsLandAtTheManualOffsets) {
    Vmcb v{};
    v.control.intercept_misc2 = 1;  // VMRUN
    v.control.guest_asid = 7;
    v.control.exit_code = svm_exit_code(SvmExit::INVALID);
    v.control.event_inj = EventInj::V | (EventInj::TYPE_EXCEPTION << EventInj::TYPE_SHIFT) | 14;
    v.save.cs = {0x10, 0x29b, 0xffffffff, 0};
    v.save.efer = 0x1500;
    v.save.rip = 0xffffffff81000000ull;
    v.save.rax = 0x1234;
    v.save.g_pat = 0x0007040600070406ull;
    uint8_t b[sizeof v];
    std::memcpy(b, &v, sizeof b);
    EXPECT_EQ(at<uint32_t>(b, 0x010), 1u);
    EXPECT_EQ(at<uint32_t>(b, 0x058), 7u);
    EXPECT_EQ(at<uint64_t>(b, 0x070), ~uint64_t{0});
    EXPECT_EQ(at<uint32_t>(b, 0x0a8), 0x8000030eu);
    EXPECT_EQ(at<uint16_t>(b, 0x410), 0x10);
    EXPECT_EQ(at<uint16_t>(b, 0x412), 0x29b);
    EXPECT_EQ(at<uint64_t>(b, 0x4d0), 0x1500u);
    EXPECT_EQ(at<uint64_t>(b, 0x578), 0xffffffff81000000ull);
    EXPECT_EQ(at<uint64_t>(b, 0x5f8), 0x1234u);
    EXPECT_EQ(at<uint64_t>(b, 0x668), 0x0007040600070406ull);
}

TEST(SvmExit, CodesAndNames) {
    EXPECT_EQ(svm_exit_code(SvmExit::CPUID), 0x72u);
    EXPECT_EQ(svm_exit_code(SvmExit::NPF), 0x400u);
    EXPECT_STREQ(svm_exit_name(0x7b), "IOIO");
    EXPECT_STREQ(svm_exit_name(0x62), "SMI");
    EXPECT_STREQ(svm_exit_name(~uint64_t{0}), "INVALID");
    EXPECT_EQ(svm_exit_name(0xf0000000), nullptr);  // KVM's internal SVM_EXIT_SW is not an exit
    for (unsigned bit = 0; bit < 32; ++bit) EXPECT_NE(svm_exit_name(svm_exit_for_intercept(3, bit)), nullptr) << bit;
}

}  // namespace
}  // namespace vx86::arch
