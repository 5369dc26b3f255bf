// The running guest as the monitor sees it (see session.h).
#include "session.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <chrono>

#include "migration_report.h"
#include "monitor_command.h"
#include "net.h"

namespace vx86::cli {

namespace {
constexpr int kConnectTimeoutMs = 10'000;
constexpr uint64_t kStepMs = 50;
}  // namespace

const char* run_state_text(RunState s) {
    switch (s) {
        case RunState::Running:
            return "running";
        case RunState::Paused:
            return "paused";
        case RunState::PostMigrate:
            return "paused (postmigrate)";
    }
    return "unknown";
}

Session::Session(Machine& machine, std::FILE* serial, std::FILE* log)
    : m_machine(machine), m_serial(serial), m_log(log) {}

Session::~Session() {
    if (!migrating()) return;
    m_migration->cancel();
    log("vx86: migration cancelled: vx86 is exiting\n");
}

void Session::stop() {
    if (m_state == RunState::Running) m_state = RunState::Paused;
}

void Session::cont() {
    m_state = RunState::Running;
}

void Session::log(const std::string& text) {
    // stdio, not fmt::print: a closed stderr must not end the guest (fmt throws).
    std::fputs(text.c_str(), m_log);
    std::fflush(m_log);
}

void Session::flush_serial() {
    if (m_serial) std::fflush(m_serial);
}

Status Session::set_parameter(const std::string& name, const std::string& value) {
    if (auto st = set_migration_parameter(m_params, name, value); !st) return st;
    if (migrating()) set_migration_parameter(m_migration->parameters(), name, value);
    return Status::ok();
}

Status Session::set_capability(const std::string& name, const std::string& value) {
    if (migrating())
        return {ErrorCode::State,
                "Error: capabilities cannot be changed while a migration is active"};
    return set_migration_capability(m_params, name, value);
}

bool Session::migrating() const {
    if (!m_migration) return false;
    const MigrationStatus s = m_migration->info().status;
    return s == MigrationStatus::Setup || s == MigrationStatus::Active;
}

MigrationInfo Session::migration_info() const {
    return m_migration ? m_migration->info() : m_last;
}

uint64_t Session::throttle_percent() const {
    return migrating() ? m_migration->info().throttle_percent : 0;
}

uint64_t Session::guest_slice_ms() const {
    return migrating() ? m_migration->guest_slice_ms() : kStepMs;
}

void Session::report_end(const MigrationInfo& info) {
    log(format_end_line(info));
}

void Session::record(MigrationStatus status, const std::string& error, uint64_t ms,
                     uint64_t bytes) {
    m_migration.reset();
    m_last = MigrationInfo{};
    m_last.status = status;
    m_last.error = error;
    m_last.total_time_ms = ms;
    m_last.downtime_ms = status == MigrationStatus::Completed ? ms : 0;
    m_last.bytes_sent = bytes;
    m_last.switchover_icount = m_machine.vcpu().instructions_retired();
}

Status Session::start_migration(const std::string& uri) {
    if (migrating())
        return {ErrorCode::State,
                "Error: a migration is already in progress (migrate_cancel ends it)"};
    if (uri.rfind("file:", 0) == 0 && uri.size() > 5) return migrate_to_file(uri.substr(5));
    if (uri.rfind("tcp:", 0) == 0) {
        auto addr = parse_tcp_address(uri.substr(4));
        if (!addr) return {addr.status().code(), "Error: migrate: " + addr.message()};
        return migrate_to_tcp(*addr);
    }
    return {ErrorCode::InvalidArgument,
            "Error: migrate: '" + uri + "' is not in this vx86 (use tcp:HOST:PORT or file:PATH)"};
}

Status Session::migrate_to_file(const std::string& path) {
    const auto t0 = std::chrono::steady_clock::now();
    flush_serial();
    const Status st = m_machine.save_snapshot_file(path);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0);
    struct stat sb {};
    const bool sized = st && ::stat(path.c_str(), &sb) == 0;
    record(st ? MigrationStatus::Completed : MigrationStatus::Failed, st.message(),
           static_cast<uint64_t>(ms.count()), sized ? static_cast<uint64_t>(sb.st_size) : 0);
    if (!st) {
        report_end(m_last);
        return {st.code(), "Error: " + st.message()};
    }
    m_state = RunState::PostMigrate;
    log(fmt::format("vx86: migration completed: saved to {} at instruction {}\n", path,
                    m_last.switchover_icount));
    return Status::ok();
}

Status Session::migrate_to_tcp(const TcpAddress& where) {
    Status st;
    if (auto fd = tcp_connect(where, kConnectTimeoutMs); !fd) {
        st = fd.status();
    } else if (auto m = m_machine.migrate(*fd, m_params); !m) {
        st = m.status();
    } else {
        m_migration = std::move(*m);
        m_pages_at_last_pass = 0;
        return Status::ok();
    }
    // Could not start: `info migrate` and stderr say so as for a migration that failed later.
    record(MigrationStatus::Failed, st.message(), 0, 0);
    report_end(m_last);
    return {st.code(), "Error: " + st.message()};
}

void Session::cancel_migration() {
    if (!migrating()) return;
    m_migration->cancel();
    report_end(m_migration->info());
}

void Session::step_migration() {
    if (!migrating()) return;
    flush_serial();  // the switchover may happen in this step
    const uint64_t passes = m_migration->info().passes;
    const MigrationStatus s = m_migration->step(kStepMs);
    const MigrationInfo& info = m_migration->info();
    if (info.passes > passes) {
        const uint64_t pages = info.pages_sent + info.zero_pages;
        log(format_pass_line(info, pages - m_pages_at_last_pass));
        m_pages_at_last_pass = pages;
    }
    if (s == MigrationStatus::Setup || s == MigrationStatus::Active) return;
    if (s == MigrationStatus::Completed) m_state = RunState::PostMigrate;
    report_end(info);
}

}  // namespace vx86::cli
