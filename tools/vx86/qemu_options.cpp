// Parsing of QEMU's single-dash options. Option values keep QEMU's comma-separated property syntax
// (e.g. -machine q35,smm=on); anything vx86 does not implement is an error naming the option.
#include "qemu_options.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <map>
#include <sstream>

namespace vx86::cli {

namespace {

// QEMU options vx86 accepts and whether each takes a value.
const std::map<std::string, bool> kQemuOptions = {
    {"kernel", true},  {"bios", true},     {"append", true},     {"m", true},
    {"smp", true},     {"serial", true},   {"nographic", false}, {"display", true},
    {"device", true},  {"machine", true},  {"M", true},          {"cpu", true},
    {"no-reboot", false}, {"accel", true}, {"vga", true},        {"nodefaults", false},
    {"monitor", true}, {"name", true},     {"help", false},      {"h", false},
    {"version", false}, {"enable-kvm", false}, {"snapshot-at", true}, {"incoming", true},
    {"snapshot-on-signal", true},
};

Status bad(const std::string& opt, const std::string& why) {
    return {ErrorCode::InvalidArgument, "-" + opt + ": " + why};
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    std::istringstream in(s);
    while (std::getline(in, cur, sep)) out.push_back(cur);
    if (!s.empty() && s.back() == sep) out.emplace_back();
    return out;
}

bool parse_u64(const std::string& t, uint64_t& v) {
    if (t.empty()) return false;
    char* end = nullptr;
    errno = 0;
    v = std::strtoull(t.c_str(), &end, 0);
    return errno == 0 && end && *end == '\0';
}

// Applies "-machine q35[,smm=on|off][,accel=tcg]".
Status apply_machine(const std::string& v, Options& o) {
    const auto parts = split(v, ',');
    for (size_t i = 0; i < parts.size(); ++i) {
        std::string p = parts[i];
        if (i == 0 && p.find('=') == std::string::npos) p = "type=" + p;
        const auto eq = p.find('=');
        if (eq == std::string::npos) return bad("machine", "property '" + p + "' needs a value");
        const std::string key = p.substr(0, eq), val = p.substr(eq + 1);
        if (key == "type") {
            if (val != "q35" && val != "pc-q35-7.2")
                return bad("machine", "machine type '" + val + "' is not supported (vx86 emulates q35)");
        } else if (key == "smm") {
            if (val == "on" || val == "auto") o.machine.smm = true;
            else if (val == "off") o.machine.smm = false;
            else return bad("machine", "smm must be on, off or auto");
        } else if (key == "accel") {
            if (val != "tcg") return bad("machine", "only accel=tcg is accepted (vx86 is the accelerator)");
        } else {
            return bad("machine", "property '" + key + "' is not supported by vx86");
        }
    }
    return Status::ok();
}

Status apply_device(const std::string& v, Options& o) {
    const auto parts = split(v, ',');
    if (parts.empty() || parts[0] != "isa-debug-exit")
        return bad("device", "device '" + (parts.empty() ? v : parts[0]) +
                                 "' is not supported by vx86 (supported: isa-debug-exit)");
    o.machine.debug_exit = true;
    for (size_t i = 1; i < parts.size(); ++i) {
        const auto eq = parts[i].find('=');
        const std::string key = parts[i].substr(0, eq);
        uint64_t n;
        if (eq == std::string::npos || !parse_u64(parts[i].substr(eq + 1), n))
            return bad("device", "isa-debug-exit property '" + parts[i] + "' needs a number");
        if (key == "iobase" && n <= 0xffff) o.machine.debug_exit_iobase = static_cast<uint16_t>(n);
        else if (key == "iosize" && n >= 1 && n <= 4) o.machine.debug_exit_iosize = static_cast<uint16_t>(n);
        else return bad("device", "isa-debug-exit property '" + parts[i] + "' is out of range or unknown");
    }
    if (uint32_t{o.machine.debug_exit_iobase} + o.machine.debug_exit_iosize > 0x10000)
        return bad("device", "isa-debug-exit ports run past 0xffff");
    return Status::ok();
}

Status apply_smp(const std::string& v) {
    for (const auto& p : split(v, ',')) {
        std::string val = p;
        if (auto eq = p.find('='); eq != std::string::npos) {
            const std::string key = p.substr(0, eq);
            val = p.substr(eq + 1);
            if (key != "cpus" && key != "maxcpus" && key != "sockets" && key != "cores" && key != "threads")
                return bad("smp", "property '" + key + "' is not supported");
        }
        uint64_t n;
        if (!parse_u64(val, n)) return bad("smp", "'" + val + "' is not a number");
        if (n != 1) return bad("smp", "vx86 runs one vCPU; use -smp 1");
    }
    return Status::ok();
}

}  // namespace

Result<uint64_t> parse_memory_size(const std::string& text) {
    std::string t = text;
    if (auto comma = t.find(','); comma != std::string::npos) t = t.substr(0, comma);
    if (t.rfind("size=", 0) == 0) t = t.substr(5);
    if (t.empty()) return Status(ErrorCode::InvalidArgument, "-m: empty size");
    uint64_t mult = 1ull << 20;  // QEMU: a bare number is MiB
    const char suffix = static_cast<char>(std::toupper(static_cast<unsigned char>(t.back())));
    if (suffix == 'K' || suffix == 'M' || suffix == 'G' || suffix == 'T' || suffix == 'B') {
        mult = suffix == 'K' ? 1ull << 10 : suffix == 'M' ? 1ull << 20 : suffix == 'G' ? 1ull << 30
             : suffix == 'T' ? 1ull << 40 : 1;
        t.pop_back();
    }
    uint64_t n;
    if (!parse_u64(t, n) || n == 0 || n > (1ull << 40) / mult)
        return Status(ErrorCode::InvalidArgument, "-m: '" + text + "' is not a valid memory size");
    return n * mult;
}

namespace {
// -snapshot-at N,file=PATH[,exit=on|off]
Status apply_snapshot_at(const std::string& text, Options& o) {
    const auto parts = split(text, ',');
    if (parts.empty() || !parse_u64(parts[0], o.snapshot_at))
        return bad("snapshot-at", "'" + text + "': expected N,file=PATH[,exit=on]");
    o.snapshot_armed = true;
    for (size_t i = 1; i < parts.size(); ++i) {
        const std::string& p = parts[i];
        if (p.rfind("file=", 0) == 0 && p.size() > 5) o.snapshot_file = p.substr(5);
        else if (p == "exit=on") o.snapshot_exit = true;
        else if (p == "exit=off") o.snapshot_exit = false;
        else return bad("snapshot-at", "unknown property '" + p + "' (file=PATH, exit=on|off)");
    }
    if (o.snapshot_file.empty()) return bad("snapshot-at", "'" + text + "': file=PATH is required");
    return Status::ok();
}

// -snapshot-on-signal file=PATH[,exit=on|off]
Status apply_snapshot_on_signal(const std::string& text, Options& o) {
    o.signal_snapshot_armed = true;
    for (const std::string& p : split(text, ',')) {
        if (p.rfind("file=", 0) == 0 && p.size() > 5) o.signal_snapshot_file = p.substr(5);
        else if (p == "exit=on") o.signal_snapshot_exit = true;
        else if (p == "exit=off") o.signal_snapshot_exit = false;
        else return bad("snapshot-on-signal", "unknown property '" + p + "' (file=PATH, exit=on|off)");
    }
    if (o.signal_snapshot_file.empty())
        return bad("snapshot-on-signal", "'" + text + "': file=PATH is required");
    return Status::ok();
}

// -incoming file:PATH | tcp:[HOST]:PORT
Status apply_incoming(const std::string& text, Options& o) {
    if (text.rfind("file:", 0) == 0 && text.size() > 5) {
        o.incoming_file = text.substr(5);
        return Status::ok();
    }
    if (text == "file:") return bad("incoming", "file: needs a PATH");
    if (text.rfind("tcp:", 0) == 0) {
        auto a = parse_tcp_address(text.substr(4));
        if (!a) return bad("incoming", a.message());
        o.incoming_tcp = *a;
        return Status::ok();
    }
    return bad("incoming", text + ": not in this vx86 (use tcp:HOST:PORT or file:PATH)");
}

// -monitor stdio|none. QEMU's other backends (tcp:, unix:, telnet ...) are not in vx86.
Status apply_monitor(const std::string& text, Options& o) {
    if (text == "stdio") o.monitor_stdio = true;
    else if (text == "none" || text == "null") o.monitor_stdio = false;
    else return bad("monitor", text + ": not in this vx86 (use stdio or none)");
    return Status::ok();
}
}  // namespace

std::string usage() {
    return "usage: vx86 [QEMU options] (-kernel FILE | -bios FILE)\n"
           "  -kernel FILE        multiboot v1 ELF32 kernel\n"
           "  -append TEXT        kernel command line\n"
           "  -bios FILE          flat firmware image, mapped to end at 4 GiB\n"
           "  -m SIZE             guest RAM (default 128M; suffixes K M G)\n"
           "  -smp 1              one vCPU\n"
           "  -cpu NAME[,+f,-f]   CPU model: qemu64 (default), max, vx86\n"
           "  -machine q35[,smm=on|off]\n"
           "  -serial stdio|file:PATH|none\n"
           "  -device isa-debug-exit[,iobase=N][,iosize=N]\n"
           "  -monitor stdio|none QEMU's human monitor (help, info status|migrate, migrate,\n"
           "                      migrate_cancel, migrate_set_parameter, stop, cont, quit)\n"
           "  -nographic, -display none, -vga none, -nodefaults, -no-reboot\n"
           "  -accel tcg          accepted (vx86 is a software CPU)\n"
           "vx86 options:\n"
           "  -snapshot-at N,file=PATH[,exit=on]\n"
           "                      save a snapshot once N guest instructions have retired (and\n"
           "                      stop there with exit=on, exit status 0)\n"
           "  -snapshot-on-signal file=PATH[,exit=on]\n"
           "                      on SIGUSR1, save a snapshot at the next slice boundary (and\n"
           "                      stop there with exit=on, exit status 0)\n"
           "  -incoming file:PATH restore a snapshot taken with the same options, then run on\n"
           "  -incoming tcp:[HOST]:PORT\n"
           "                      wait for one live migration on PORT, then run the guest on\n"
           "  vx86 inspect PATH   print a snapshot decoded section by section\n"
           "  --max-insns N       stop after N instructions\n"
           "  --stats             print instructions retired and MIPS to stderr\n";
}

Result<Options> parse_options(const std::vector<std::string>& args) {
    // QEMU spells long options with one dash; CLI11 wants two. Rewrite known names, reject the rest.
    std::vector<std::string> rewritten;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a.size() > 1 && a[0] == '-' && a[1] != '-') {
            std::string name = a.substr(1);
            std::string inline_value;
            if (auto eq = name.find('='); eq != std::string::npos) {
                inline_value = name.substr(eq + 1);
                name = name.substr(0, eq);
            }
            auto it = kQemuOptions.find(name);
            if (it == kQemuOptions.end())
                return Status(ErrorCode::InvalidArgument, a + ": unknown option (see vx86 -help)");
            if (name == "M") name = "machine";
            if (name == "h") name = "help";
            rewritten.push_back("--" + name);
            if (it->second) {
                if (!inline_value.empty()) {
                    rewritten.push_back(inline_value);
                } else {
                    if (i + 1 >= args.size()) return Status(ErrorCode::InvalidArgument, a + ": missing value");
                    rewritten.push_back(args[++i]);
                }
            }
        } else {
            rewritten.push_back(a);
        }
    }

    Options o;
    CLI::App app{"vx86"};
    app.set_help_flag();
    std::string kernel, bios, append, mem, smp, serial, display, cpu = "qemu64", accel, vga, monitor, name;
    std::string snapshot_at, incoming, snapshot_on_signal;
    std::vector<std::string> devices, machines;
    bool nographic = false, no_reboot = false, nodefaults = false, help = false, version = false, kvm = false;
    app.add_option("--kernel", kernel);
    app.add_option("--bios", bios);
    app.add_option("--append", append);
    app.add_option("--m", mem);
    app.add_option("--smp", smp);
    app.add_option("--serial", serial);
    app.add_option("--display", display);
    app.add_option("--device", devices);
    app.add_option("--machine", machines);
    app.add_option("--cpu", cpu);
    app.add_option("--accel", accel);
    app.add_option("--vga", vga);
    app.add_option("--monitor", monitor);
    app.add_option("--name", name);
    app.add_option("--snapshot-at", snapshot_at);
    app.add_option("--incoming", incoming);
    app.add_option("--snapshot-on-signal", snapshot_on_signal);
    app.add_flag("--nographic", nographic);
    app.add_flag("--no-reboot", no_reboot);
    app.add_flag("--nodefaults", nodefaults);
    app.add_flag("--help", help);
    app.add_flag("--version", version);
    app.add_flag("--enable-kvm", kvm);
    app.add_option("--max-insns", o.max_insns);
    // QEMU lets a later occurrence of an option override an earlier one.
    for (CLI::Option* opt : app.get_options())
        if (opt->get_expected_max() == 1) opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_flag("--stats", o.stats);
    try {
        std::vector<std::string> rev(rewritten.rbegin(), rewritten.rend());
        app.parse(rev);
    } catch (const CLI::ParseError& e) {
        return Status(ErrorCode::InvalidArgument, e.what());
    }
    if (help) {
        o.show_help = true;
        return o;
    }
    if (version) {
        o.show_version = true;
        return o;
    }
    if (kvm) return Status(ErrorCode::InvalidArgument, "-enable-kvm: vx86 is a software CPU; drop the option");
    o.machine.kernel_path = kernel;
    o.machine.bios_path = bios;
    o.machine.kernel_cmdline = append;
    o.machine.cpu = cpu;
    o.machine.no_reboot = no_reboot;
    if (!mem.empty()) {
        auto m = parse_memory_size(mem);
        if (!m) return m.status();
        o.machine.ram_bytes = *m;
    }
    if (!smp.empty())
        if (auto st = apply_smp(smp); !st) return st;
    for (const auto& m : machines)
        if (auto st = apply_machine(m, o); !st) return st;
    for (const auto& d : devices)
        if (auto st = apply_device(d, o); !st) return st;
    if (!accel.empty() && split(accel, ',')[0] != "tcg")
        return Status(ErrorCode::InvalidArgument, "-accel " + accel + ": only tcg is accepted (vx86 is a software CPU)");
    if (!display.empty() && split(display, ',')[0] != "none")
        return Status(ErrorCode::InvalidArgument, "-display " + display + ": vx86 has no display; use -display none");
    if (!vga.empty() && vga != "none" && vga != "std")
        return Status(ErrorCode::InvalidArgument, "-vga " + vga + ": not supported (use none)");
    if (!monitor.empty())
        if (auto st = apply_monitor(monitor, o); !st) return st;
    if (nographic) o.serial = "stdio";
    if (!serial.empty()) {
        if (serial == "stdio" || serial == "mon:stdio") o.serial = "stdio";
        else if (serial == "none" || serial == "null") o.serial = "none";
        else if (serial.rfind("file:", 0) == 0 && serial.size() > 5) o.serial = serial;
        else return Status(ErrorCode::InvalidArgument, "-serial " + serial + ": use stdio, file:PATH or none");
    }
    if (o.monitor_stdio && o.serial == "stdio")
        return bad("monitor", "stdio: cannot use stdio by multiple character devices (the serial port "
                              "has it; give -serial file:PATH or none)");
    if (!snapshot_at.empty())
        if (auto st = apply_snapshot_at(snapshot_at, o); !st) return st;
    if (!snapshot_on_signal.empty())
        if (auto st = apply_snapshot_on_signal(snapshot_on_signal, o); !st) return st;
    if (!incoming.empty())
        if (auto st = apply_incoming(incoming, o); !st) return st;
    if (kernel.empty() && bios.empty())
        return Status(ErrorCode::InvalidArgument, "nothing to run: give -kernel FILE or -bios FILE");
    return o;
}

}  // namespace vx86::cli
