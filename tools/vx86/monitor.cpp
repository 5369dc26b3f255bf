// `-monitor stdio` (see monitor.h). QEMU prints a command's errors on the monitor itself, not on
// stderr, and so does vx86; progress of a migration goes to stderr (Session).
#include "monitor.h"

#include <fmt/core.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "migration_report.h"

namespace vx86::cli {

Monitor::Monitor(Session& session, int in_fd, std::FILE* out)
    : m_session(session), m_fd(in_fd), m_out(out) {
    m_interactive = ::isatty(in_fd) && ::isatty(::fileno(out));
    if (m_interactive) {
        std::fputs("vx86 monitor - type 'help' for more information\n", m_out);
        prompt();
    }
}

void Monitor::prompt() {
    if (m_interactive && !m_eof) {
        std::fputs("(vx86) ", m_out);
        std::fflush(m_out);
    }
}

bool Monitor::waiting() const {
    return m_wait_migration && m_session.migrating();
}

void Monitor::poll(int timeout_ms) {
    if (m_wait_migration && !m_session.migrating()) {
        m_wait_migration = false;
        prompt();
    }
    run_buffered();
    if (m_eof || m_quit || waiting()) return;
    pollfd p{m_fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return;  // nothing yet, or a signal
    char chunk[4096];
    const ssize_t n = ::read(m_fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0)
        m_eof = true;
    else
        m_buf.append(chunk, static_cast<size_t>(n));
    run_buffered();
}

void Monitor::run_buffered() {
    while (!m_quit && !waiting()) {
        const auto nl = m_buf.find('\n');
        if (nl == std::string::npos && !(m_eof && !m_buf.empty())) break;
        const std::string line = nl == std::string::npos ? m_buf : m_buf.substr(0, nl);
        m_buf.erase(0, nl == std::string::npos ? m_buf.size() : nl + 1);
        auto c = parse_monitor_command(line);
        const std::string text = c ? execute(*c) : c.message() + "\n";
        // stdio, not fmt::print: a reader that went away must not end the guest (fmt throws).
        std::fwrite(text.data(), 1, text.size(), m_out);
        std::fflush(m_out);
        if (!waiting() && !m_quit) prompt();
    }
}

std::string Monitor::execute(const MonitorCommand& c) {
    Session& s = m_session;
    auto status_line = [](const Status& st) { return st ? std::string() : st.message() + "\n"; };
    switch (c.verb) {
        case MonitorVerb::None:
            return "";
        case MonitorVerb::Help:
            return monitor_help();
        case MonitorVerb::Info:
            return "info status|migrate|migrate_parameters|migrate_capabilities|registers\n";
        case MonitorVerb::InfoStatus:
            return fmt::format("VM status: {}\n", run_state_text(s.state()));
        case MonitorVerb::InfoMigrate:
            return format_info_migrate(s.migration_info());
        case MonitorVerb::InfoMigrateParameters:
            return format_migrate_parameters(s.parameters());
        case MonitorVerb::InfoMigrateCapabilities:
            return format_migrate_capabilities(s.parameters());
        case MonitorVerb::InfoRegisters:
            return format_registers(s.machine().vcpu());
        case MonitorVerb::Migrate: {
            const Status st = s.start_migration(c.uri);
            if (st && !c.detach && s.migrating()) m_wait_migration = true;
            return status_line(st);
        }
        case MonitorVerb::MigrateCancel:
            s.cancel_migration();
            return "";
        case MonitorVerb::MigrateSetParameter:
            return status_line(s.set_parameter(c.name, c.value));
        case MonitorVerb::MigrateSetCapability:
            return status_line(s.set_capability(c.name, c.value));
        case MonitorVerb::Stop:
            s.stop();
            return "";
        case MonitorVerb::Cont:
            s.cont();
            return "";
        case MonitorVerb::Quit:
            m_quit = true;
            return "";
    }
    return "";
}

std::string format_registers(Vcpu& vcpu) {
    const Regs r = vcpu.get_regs();
    const Sregs sr = vcpu.get_sregs();
    std::string s;
    s += fmt::format("RAX={:016x} RBX={:016x} RCX={:016x} RDX={:016x}\n", r.rax, r.rbx, r.rcx,
                     r.rdx);
    s += fmt::format("RSI={:016x} RDI={:016x} RBP={:016x} RSP={:016x}\n", r.rsi, r.rdi, r.rbp,
                     r.rsp);
    s += fmt::format("R8 ={:016x} R9 ={:016x} R10={:016x} R11={:016x}\n", r.r8, r.r9, r.r10, r.r11);
    s += fmt::format("R12={:016x} R13={:016x} R14={:016x} R15={:016x}\n", r.r12, r.r13, r.r14,
                     r.r15);
    s += fmt::format("RIP={:016x} RFL={:08x} CPL={}\n", r.rip, r.rflags, sr.cs.dpl);
    auto seg = [&](const char* name, const Segment& g) {
        s += fmt::format("{}={:04x} {:016x} {:08x} type={:x} dpl={} p={} db={} l={}\n", name,
                         g.selector, g.base, g.limit, g.type, g.dpl, g.present, g.db, g.l);
    };
    seg("ES ", sr.es);
    seg("CS ", sr.cs);
    seg("SS ", sr.ss);
    seg("DS ", sr.ds);
    seg("FS ", sr.fs);
    seg("GS ", sr.gs);
    seg("LDT", sr.ldt);
    seg("TR ", sr.tr);
    s += fmt::format("GDT=     {:016x} {:08x}\n", sr.gdt.base, sr.gdt.limit);
    s += fmt::format("IDT=     {:016x} {:08x}\n", sr.idt.base, sr.idt.limit);
    s += fmt::format("CR0={:08x} CR2={:016x} CR3={:016x} CR4={:08x}\n", sr.cr0, sr.cr2, sr.cr3,
                     sr.cr4);
    s +=
        fmt::format("EFER={:016x} instructions retired={}\n", sr.efer, vcpu.instructions_retired());
    return s;
}

}  // namespace vx86::cli
