// How the command line reports a migration (see migration_report.h). QEMU's `info migrate`
// counts RAM in kbytes (1024 bytes), throughput in mbps (10^6 bits/s) and pages of 4 KiB.
#include "migration_report.h"

#include <fmt/format.h>

namespace vx86::cli {

namespace {
constexpr uint64_t kPageKiB = 4;
}

std::string format_info_migrate(const MigrationInfo& i) {
    std::string s = fmt::format("Migration status: {}", migration_status_name(i.status));
    if (!i.error.empty() &&
        (i.status == MigrationStatus::Failed || i.status == MigrationStatus::Cancelled))
        s += fmt::format(" ({})", i.error);
    s += "\n";
    if (i.status == MigrationStatus::None) return s;
    s += fmt::format("total time: {} ms\n", i.total_time_ms);
    s += fmt::format("expected downtime: {} ms\n", i.expected_downtime_ms);
    s += fmt::format("downtime: {} ms\n", i.downtime_ms);
    s += fmt::format("transferred ram: {} kbytes\n", i.bytes_sent >> 10);
    s += fmt::format("throughput: {:.2f} mbps\n", static_cast<double>(i.bandwidth) * 8 / 1e6);
    s += fmt::format("remaining ram: {} kbytes\n", i.remaining_pages * kPageKiB);
    s += fmt::format("total ram: {} kbytes\n", i.total_pages * kPageKiB);
    s += fmt::format("duplicate: {} pages\n", i.zero_pages);
    s += fmt::format("normal: {} pages\n", i.pages_sent);
    s += fmt::format("normal bytes: {} kbytes\n", i.pages_sent * kPageKiB);
    s += fmt::format("dirty sync count: {}\n", i.passes);
    s += fmt::format("page size: {} kbytes\n", kPageKiB);
    s += fmt::format("dirty pages rate: {} pages\n", i.dirty_pages_rate);
    s += fmt::format("cpu throttle percentage: {}\n", i.throttle_percent);
    return s;
}

std::string format_migrate_parameters(const MigrationParameters& p) {
    return fmt::format(
        "downtime-limit: {} ms\n"
        "max-bandwidth: {} bytes/second\n"
        "cpu-throttle-initial: {}\n"
        "cpu-throttle-increment: {}\n"
        "max-cpu-throttle: {}\n"
        "x-max-passes: {}\n",
        p.downtime_limit_ms, p.max_bandwidth, p.cpu_throttle_initial, p.cpu_throttle_increment,
        p.max_cpu_throttle, p.max_passes);
}

std::string format_migrate_capabilities(const MigrationParameters& p) {
    return fmt::format("auto-converge: {}\n", p.auto_converge ? "on" : "off");
}

std::string format_pass_line(const MigrationInfo& i, uint64_t pages_in_pass) {
    return fmt::format(
        "vx86: migration: pass {}: {} pages sent, {} pages remaining, dirty rate {} pages/s, "
        "bandwidth {:.1f} MB/s, expected downtime {} ms\n",
        i.passes, pages_in_pass, i.remaining_pages, i.dirty_pages_rate,
        static_cast<double>(i.bandwidth) / 1e6, i.expected_downtime_ms);
}

std::string format_end_line(const MigrationInfo& i) {
    switch (i.status) {
        case MigrationStatus::Completed:
            return fmt::format(
                "vx86: migration completed: {} passes, {} ms total, downtime {} ms, {:.1f} MiB "
                "sent\n",
                i.passes, i.total_time_ms, i.downtime_ms,
                static_cast<double>(i.bytes_sent) / (1 << 20));
        case MigrationStatus::Failed:
            return fmt::format("vx86: migration failed: {}; the guest keeps running\n", i.error);
        case MigrationStatus::Cancelled:
            return "vx86: migration cancelled; the guest keeps running\n";
        default:
            return "";
    }
}

}  // namespace vx86::cli
