// CPUID models and QEMU's -cpu syntax: model names, +feat/-feat/feat=on|off, the AMD mirror of
// leaf-1 EDX bits, and errors for unknown or unimplemented features.
#include "cpu/state/cpuid_model.h"

#include <gtest/gtest.h>

namespace vx86::cpu {
namespace {

TEST(CpuidModel, Qemu64IsAnAmdLongModeCpuWithSvmButNoFpu) {
    auto m = CpuidModel::from_cpu_option("qemu64");
    ASSERT_TRUE(m) << m.message();
    const CpuidLeaf l0 = m->query(0, 0);
    EXPECT_EQ(l0.ebx, 0x68747541u);  // "Auth"
    EXPECT_EQ(l0.edx, 0x69746e65u);  // "enti"
    EXPECT_EQ(l0.ecx, 0x444d4163u);  // "cAMD"
    EXPECT_TRUE(m->has("lm"));
    EXPECT_TRUE(m->has("nx"));
    EXPECT_TRUE(m->has("syscall"));
    EXPECT_FALSE(m->has("fpu")) << "vx86 reports only what it implements";
    // QEMU's qemu64 has SVM with no optional SVM features (Fn8000_000A_EDX = 0).
    EXPECT_TRUE(m->has("svm"));
    EXPECT_FALSE(m->has("npt"));
    EXPECT_EQ(m->query(0x80000000, 0).eax, 0x8000000au);
    EXPECT_EQ(m->query(0x8000000a, 0).eax, 1u);
    EXPECT_EQ(m->query(0x8000000a, 0).ebx, 8u);
    EXPECT_EQ(m->query(0x8000000a, 0).edx, 0u);
    EXPECT_FALSE(m->has("popcnt"));
    EXPECT_EQ(m->query(0x80000008, 0).eax & 0xff, 40u);
    // Leaves past the maximum read as zeros (AMD).
    const CpuidLeaf high = m->query(0x40000000, 0);
    EXPECT_EQ(high.eax | high.ebx | high.ecx | high.edx, 0u);
}

TEST(CpuidModel, FeatureSwitchesFollowQemuSyntaxAndTheLastWins) {
    auto m = CpuidModel::from_cpu_option("qemu64,+popcnt,abm=on,-nx,bmi1=off,+bmi1");
    ASSERT_TRUE(m) << m.message();
    EXPECT_TRUE(m->has("popcnt"));
    EXPECT_TRUE(m->has("abm"));
    EXPECT_FALSE(m->has("nx"));
    EXPECT_TRUE(m->has("bmi1"));
    // Leaf-1 EDX bits are mirrored into 0x80000001 EDX on AMD.
    auto p = CpuidModel::from_cpu_option("qemu64,-pse");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->query(1, 0).edx & (1u << 3), 0u);
    EXPECT_EQ(p->query(0x80000001, 0).edx & (1u << 3), 0u);
    // Removing a feature vx86 never has is harmless, as it would be on QEMU.
    EXPECT_TRUE(CpuidModel::from_cpu_option("qemu64,-sse2"));
}

TEST(CpuidModel, MaxHasEveryImplementedFeature) {
    auto m = CpuidModel::from_cpu_option("max");
    ASSERT_TRUE(m);
    for (const CpuidFeature& f : cpuid_features())
        EXPECT_EQ(m->has(f.name), f.implemented) << f.name;
}

TEST(CpuidModel, BadOptionsAreErrorsNamingTheProblem) {
    auto a = CpuidModel::from_cpu_option("pentium9");
    EXPECT_FALSE(a);
    EXPECT_NE(a.message().find("pentium9"), std::string::npos);
    auto b = CpuidModel::from_cpu_option("qemu64,+warpdrive");
    EXPECT_FALSE(b);
    EXPECT_NE(b.message().find("warpdrive"), std::string::npos);
    auto c = CpuidModel::from_cpu_option("qemu64,+sse2");
    EXPECT_EQ(c.status().code(), ErrorCode::Unsupported);
    EXPECT_FALSE(CpuidModel::from_cpu_option("qemu64,nx=maybe"));
}


TEST(CpuidModel, SvmFeaturesFollowTheSvmSwitch) {
    auto max = CpuidModel::from_cpu_option("max");
    ASSERT_TRUE(max);
    // npt, nrip-save, vmcb-clean, flushbyasid, vgif, svme-addr-chk.
    EXPECT_EQ(max->query(0x8000000a, 0).edx, (1u << 0) | (1u << 3) | (1u << 5) | (1u << 6) | (1u << 16) | (1u << 28));
    auto nosvm = CpuidModel::from_cpu_option("max,-svm");
    ASSERT_TRUE(nosvm);
    const CpuidLeaf l = nosvm->query(0x8000000a, 0);
    EXPECT_EQ(l.eax | l.ebx | l.ecx | l.edx, 0u);
    EXPECT_FALSE(CpuFeatures::of(*nosvm).npt);
    auto q = CpuidModel::from_cpu_option("qemu64,+svm,+npt,+nrip-save");
    ASSERT_TRUE(q);
    EXPECT_TRUE(CpuFeatures::of(*q).npt);
    EXPECT_TRUE(CpuFeatures::of(*q).nrips);
    EXPECT_FALSE(CpuFeatures::of(*q).vgif);
    EXPECT_EQ(CpuidModel::from_cpu_option("qemu64,+avic").status().code(), ErrorCode::Unsupported);
}

}  // namespace
}  // namespace vx86::cpu
