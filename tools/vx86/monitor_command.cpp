// The monitor's command language (see monitor_command.h). Names, units and ranges follow QEMU's
// HMP and migration parameters (qemu/migration/options.c: downtime-limit at most 2000 s, the
// throttle percentages 1..99).
#include "monitor_command.h"

#include <cctype>
#include <limits>
#include <sstream>
#include <vector>

namespace vx86::cli {

namespace {

constexpr uint64_t kMaxDowntimeMs = 2000 * 1000;  // QEMU's MAX_MIGRATE_DOWNTIME

std::vector<std::string> words(std::string_view line) {
    std::vector<std::string> out;
    std::istringstream in{std::string(line)};
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

Status error(const std::string& text) {
    return {ErrorCode::InvalidArgument, text};
}

// A plain decimal (or 0x-prefixed hexadecimal) number, nothing else: no sign, no spaces.
bool parse_number(const std::string& t, uint64_t& v) {
    const bool hex = t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X');
    const std::string digits = hex ? t.substr(2) : t;
    if (digits.empty()) return false;
    const unsigned base = hex ? 16 : 10;
    uint64_t n = 0;
    for (char c : digits) {
        unsigned d;
        if (c >= '0' && c <= '9')
            d = static_cast<unsigned>(c - '0');
        else if (hex && c >= 'a' && c <= 'f')
            d = static_cast<unsigned>(c - 'a' + 10);
        else if (hex && c >= 'A' && c <= 'F')
            d = static_cast<unsigned>(c - 'A' + 10);
        else
            return false;
        if (n > (std::numeric_limits<uint64_t>::max() - d) / base) return false;
        n = n * base + d;
    }
    v = n;
    return true;
}

Status expect_args(const std::vector<std::string>& w, size_t n, const std::string& usage) {
    if (w.size() != n + 1) return error("Error: usage: " + usage);
    return Status::ok();
}

}  // namespace

Result<MonitorCommand> parse_monitor_command(std::string_view line) {
    const std::vector<std::string> w = words(line);
    MonitorCommand c;
    if (w.empty()) return c;
    const std::string& v = w[0];
    auto simple = [&](MonitorVerb verb) -> Result<MonitorCommand> {
        if (w.size() != 1)
            return error("Error: " + v + ": extraneous characters at the end of line");
        c.verb = verb;
        return c;
    };
    if (v == "help" || v == "?") return simple(MonitorVerb::Help);
    if (v == "stop") return simple(MonitorVerb::Stop);
    if (v == "cont" || v == "c") return simple(MonitorVerb::Cont);
    if (v == "quit" || v == "q") return simple(MonitorVerb::Quit);
    if (v == "migrate_cancel") return simple(MonitorVerb::MigrateCancel);
    if (v == "info") {
        if (w.size() == 1) return simple(MonitorVerb::Info);
        const std::string& what = w[1];
        MonitorVerb verb = MonitorVerb::None;
        if (what == "status")
            verb = MonitorVerb::InfoStatus;
        else if (what == "migrate")
            verb = MonitorVerb::InfoMigrate;
        else if (what == "migrate_parameters")
            verb = MonitorVerb::InfoMigrateParameters;
        else if (what == "migrate_capabilities")
            verb = MonitorVerb::InfoMigrateCapabilities;
        else if (what == "registers")
            verb = MonitorVerb::InfoRegisters;
        else
            return error("unknown command: 'info " + what + "'");
        if (w.size() != 2)
            return error("Error: info " + what + ": extraneous characters at the end of line");
        c.verb = verb;
        return c;
    }
    if (v == "migrate") {
        c.verb = MonitorVerb::Migrate;
        size_t i = 1;
        for (; i < w.size() && w[i].size() > 1 && w[i][0] == '-'; ++i) {
            if (w[i] == "-d")
                c.detach = true;
            else
                return error("Error: migrate: option '" + w[i] +
                             "' is not supported by vx86 (only -d)");
        }
        if (i + 1 != w.size()) return error("Error: usage: migrate [-d] tcp:HOST:PORT | file:PATH");
        c.uri = w[i];
        return c;
    }
    if (v == "migrate_set_parameter" || v == "migrate_set_capability") {
        const bool param = v == "migrate_set_parameter";
        if (auto st = expect_args(
                w, 2,
                param ? "migrate_set_parameter NAME VALUE" : "migrate_set_capability NAME on|off");
            !st)
            return st;
        c.verb = param ? MonitorVerb::MigrateSetParameter : MonitorVerb::MigrateSetCapability;
        c.name = w[1];
        c.value = w[2];
        return c;
    }
    return error("unknown command: '" + v + "'");
}

std::string monitor_help() {
    return "help|?                                 -- this list\n"
           "info status                            -- whether the guest runs\n"
           "info migrate                           -- the state and figures of the migration\n"
           "info migrate_parameters                -- the migration parameters\n"
           "info migrate_capabilities              -- the migration capabilities\n"
           "info registers                         -- the vCPU's registers\n"
           "migrate [-d] tcp:HOST:PORT|file:PATH   -- migrate the guest (-d: do not wait)\n"
           "migrate_cancel                         -- cancel the migration\n"
           "migrate_set_parameter NAME VALUE       -- downtime-limit (ms), max-bandwidth "
           "(bytes/s;\n"
           "                                          bare number MiB/s, suffixes K M G T),\n"
           "                                          x-max-passes, cpu-throttle-initial,\n"
           "                                          cpu-throttle-increment, max-cpu-throttle "
           "(%)\n"
           "migrate_set_capability auto-converge on|off\n"
           "stop                                   -- pause the guest\n"
           "cont|c                                 -- resume the guest\n"
           "quit|q                                 -- exit vx86\n";
}

Result<uint64_t> parse_size_mib(const std::string& text) {
    constexpr std::string_view kSuffixes = "BKMGT";  // 1024^0 .. 1024^4
    std::string t = text;
    uint64_t mult = 1ull << 20;
    const auto unit =
        t.empty()
            ? std::string_view::npos
            : kSuffixes.find(static_cast<char>(std::toupper(static_cast<unsigned char>(t.back()))));
    if (unit != std::string_view::npos) {
        mult = uint64_t{1} << (10 * unit);
        t.pop_back();
    }
    uint64_t n;
    if (!parse_number(t, n))
        return error("Error: '" + text +
                     "' is not a size (a number of MiB, or with a suffix B K M G T)");
    if (n > std::numeric_limits<uint64_t>::max() / mult)
        return error("Error: '" + text + "' is too large");
    return n * mult;
}

Status set_migration_parameter(MigrationParameters& p, const std::string& name,
                               const std::string& value) {
    uint64_t n = 0;
    auto number_in = [&](uint64_t lo, uint64_t hi) -> Status {
        if (!parse_number(value, n) || n < lo || n > hi)
            return error("Error: parameter '" + name + "' expects an integer from " +
                         std::to_string(lo) + " to " + std::to_string(hi) + ", not '" + value +
                         "'");
        return Status::ok();
    };
    if (name == "downtime-limit") {
        if (auto st = number_in(0, kMaxDowntimeMs); !st) return st;
        p.downtime_limit_ms = n;
    } else if (name == "max-bandwidth") {
        auto bytes = parse_size_mib(value);
        if (!bytes) return bytes.status();
        p.max_bandwidth = *bytes;
    } else if (name == "x-max-passes") {
        if (auto st = number_in(0, std::numeric_limits<uint32_t>::max()); !st) return st;
        p.max_passes = static_cast<uint32_t>(n);
    } else if (name == "cpu-throttle-initial" || name == "cpu-throttle-increment" ||
               name == "max-cpu-throttle") {
        if (auto st = number_in(1, 99); !st) return st;
        uint32_t& field = name == "cpu-throttle-initial"     ? p.cpu_throttle_initial
                          : name == "cpu-throttle-increment" ? p.cpu_throttle_increment
                                                             : p.max_cpu_throttle;
        field = static_cast<uint32_t>(n);
    } else {
        return error(
            "Error: unknown migration parameter '" + name +
            "' (vx86 has downtime-limit, max-bandwidth, x-max-passes, cpu-throttle-initial, "
            "cpu-throttle-increment, max-cpu-throttle)");
    }
    return Status::ok();
}

Status set_migration_capability(MigrationParameters& p, const std::string& name,
                                const std::string& value) {
    if (name != "auto-converge")
        return error("Error: migration capability '" + name +
                     "' is not in this vx86 (it has auto-converge)");
    if (value != "on" && value != "off")
        return error("Error: capability '" + name + "' takes on or off, not '" + value + "'");
    p.auto_converge = value == "on";
    return Status::ok();
}

}  // namespace vx86::cli
