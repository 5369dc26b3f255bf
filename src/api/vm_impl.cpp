// Public Vm and Machine factories: the only place that sees both machine/ and the public types.
// Each Vm owns its memory, port bus and vCPU; two Vms never share state.
#include <unistd.h>

#include <memory>

#include "api/vcpu_impl.h"
#include "machine/board.h"
#include "state/migration_source.h"
#include "state/migration_target.h"
#include "state/snapshot.h"
#include "vx86/machine.h"
#include "vx86/vm.h"

namespace vx86 {

namespace {

class VmImpl final : public Vm {
public:
    explicit VmImpl(cpu::CpuidModel model) : m_model(std::move(model)) {}

    Status set_user_memory_region(const MemoryRegion& r) override {
        return m_memory.set_slot({r.slot, r.address_space, r.guest_phys_addr, r.memory_size,
                                  static_cast<uint8_t*>(r.userspace_addr), r.flags});
    }

    Result<Vcpu*> create_vcpu() override {
        if (m_vcpu) return {ErrorCode::Unsupported, "vx86 supports one vCPU per Vm (-smp 1)"};
        m_vcpu = std::make_unique<cpu::Vcpu>(m_memory, m_pio, m_model);
        m_vcpu->set_mmio_exits(true);  // as with KVM, unbacked memory is the embedder's to emulate
        m_api = std::make_unique<api::VcpuImpl>(*m_vcpu);
        return static_cast<Vcpu*>(m_api.get());
    }

    Result<std::vector<uint64_t>> get_dirty_log(uint32_t slot) override {
        return m_memory.get_and_clear_dirty(slot);
    }

    Status read_phys(uint64_t gpa, void* out, uint64_t size, uint8_t as) override {
        if (as > 1) return {ErrorCode::InvalidArgument, "address space must be 0 or 1"};
        if (!m_memory.read(as, gpa, {static_cast<uint8_t*>(out), size}))
            return {ErrorCode::InvalidArgument, "part of the range is not guest RAM"};
        return Status::ok();
    }

    Status write_phys(uint64_t gpa, const void* in, uint64_t size, uint8_t as) override {
        if (as > 1) return {ErrorCode::InvalidArgument, "address space must be 0 or 1"};
        if (!m_memory.write(as, gpa, {static_cast<const uint8_t*>(in), size}))
            return {ErrorCode::InvalidArgument, "part of the range is not writable guest RAM"};
        return Status::ok();
    }

private:
    cpu::CpuidModel m_model;
    bus::MmioBus m_mmio;
    mem::GuestMemory m_memory{&m_mmio};
    bus::PioBus m_pio;
    std::unique_ptr<cpu::Vcpu> m_vcpu;
    std::unique_ptr<api::VcpuImpl> m_api;
};

class MachineImpl final : public Machine {
public:
    explicit MachineImpl(std::unique_ptr<machine::Board> b) : m_board(std::move(b)), m_api(m_board->vcpu()) {}

    MachineResult run(uint64_t max_insns) override {
        m_used = true;
        const machine::RunResult r = m_board->run(max_insns);
        MachineOutcome o = MachineOutcome::Halted;
        switch (r.outcome) {
            case machine::Outcome::DebugExit: o = MachineOutcome::DebugExit; break;
            case machine::Outcome::Shutdown: o = MachineOutcome::Shutdown; break;
            case machine::Outcome::Halted: o = MachineOutcome::Halted; break;
            case machine::Outcome::InsnLimit: o = MachineOutcome::InsnLimit; break;
        }
        return MachineResult{o, r.exit_status, r.instructions};
    }

    Vcpu& vcpu() override { return m_api; }

    std::vector<uint8_t> save_snapshot() override { return state::save_machine(*m_board); }
    Status restore_snapshot(std::span<const uint8_t> snapshot) override {
        Status st = state::restore_machine(*m_board, snapshot);
        if (st) m_used = true;
        return st;
    }
    Status save_snapshot_file(const std::string& path) override {
        return state::write_file_atomically(path, state::save_machine(*m_board));
    }
    Status restore_snapshot_file(const std::string& path) override {
        auto bytes = state::read_snapshot_file(path);
        if (!bytes) return bytes.status();
        if (auto st = state::restore_machine(*m_board, *bytes); !st)
            return {st.code(), path + ": " + st.message()};
        m_used = true;
        return Status::ok();
    }

    Result<std::unique_ptr<OutgoingMigration>> migrate(int fd, const MigrationParameters& p) override {
        if (*m_migrating) {
            ::close(fd);
            return {ErrorCode::State, "a migration of this machine is already active"};
        }
        return std::unique_ptr<OutgoingMigration>(
            std::make_unique<state::MigrationSource>(*m_board, fd, p, m_migrating));
    }
    Status migrate_incoming(int fd) override {
        if (m_used) {
            ::close(fd);
            return {ErrorCode::State, "incoming migration needs a machine that has not run yet"};
        }
        m_used = true;
        Status st = state::receive_migration(*m_board, fd);
        ::close(fd);
        if (!st) m_used = false;  // back at power-on
        return st;
    }

private:
    std::unique_ptr<machine::Board> m_board;
    api::VcpuImpl m_api;
    std::shared_ptr<bool> m_migrating = std::make_shared<bool>(false);
    bool m_used = false;  // has run or been restored: no longer a migration target
};

}  // namespace

const char* migration_status_name(MigrationStatus s) {
    switch (s) {
        case MigrationStatus::None: return "none";
        case MigrationStatus::Setup: return "setup";
        case MigrationStatus::Active: return "active";
        case MigrationStatus::Completed: return "completed";
        case MigrationStatus::Failed: return "failed";
        case MigrationStatus::Cancelled: return "cancelled";
    }
    return "unknown";
}

Result<std::string> describe_snapshot(std::span<const uint8_t> snapshot) {
    return state::describe_snapshot(snapshot);
}

Result<std::string> describe_snapshot_file(const std::string& path) {
    auto bytes = state::read_snapshot_file(path);
    if (!bytes) return bytes.status();
    auto text = state::describe_snapshot(*bytes);
    if (!text) return Status(text.status().code(), path + ": " + text.message());
    return text;
}

Result<std::unique_ptr<Vm>> Vm::create(std::string_view cpu) {
    auto model = cpu::CpuidModel::from_cpu_option(cpu);
    if (!model) return model.status();
    return std::unique_ptr<Vm>(std::make_unique<VmImpl>(std::move(*model)));
}

Result<std::unique_ptr<Machine>> Machine::create(const MachineConfig& c) {
    machine::BoardConfig bc;
    bc.ram_bytes = c.ram_bytes;
    bc.cpu = c.cpu;
    bc.bios_path = c.bios_path;
    bc.kernel_path = c.kernel_path;
    bc.kernel_cmdline = c.kernel_cmdline;
    bc.smm = c.smm;
    bc.no_reboot = c.no_reboot;
    bc.debug_exit = c.debug_exit;
    bc.debug_exit_iobase = c.debug_exit_iobase;
    bc.debug_exit_iosize = c.debug_exit_iosize;
    bc.serial_out = c.serial_out;
    auto board = machine::Board::create(bc);
    if (!board) return board.status();
    return std::unique_ptr<Machine>(std::make_unique<MachineImpl>(std::move(*board)));
}

}  // namespace vx86
