// The source side of pre-copy live migration (shared/spec/state.md 3.4, 3.6): setup and the
// destination's early verdict, a bulk pass over all RAM, then passes over the pages the dirty
// log reports, then stop-and-copy once the rest fits the downtime limit at the measured
// bandwidth, and the destination's final verdict. Single-threaded: the caller alternates step()
// with guest slices, so every pass sees the pages the guest dirtied meanwhile.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "machine/board.h"
#include "state/container.h"
#include "state/fd_transport.h"
#include "state/machine_image.h"
#include "vx86/migration.h"

namespace vx86::state {

class MigrationSource final : public OutgoingMigration {
public:
    // Takes ownership of `fd` (a connected stream socket or pipe). `busy` is held while the
    // migration is active (the owner refuses a second one meanwhile).
    MigrationSource(machine::Board& board, int fd, const MigrationParameters& params,
                    std::shared_ptr<bool> busy = nullptr);
    ~MigrationSource() override;
    MigrationSource(const MigrationSource&) = delete;
    MigrationSource& operator=(const MigrationSource&) = delete;

    MigrationStatus step(uint64_t slice_ms) override;
    void cancel() override;
    const MigrationInfo& info() const override { return m_info; }
    uint64_t guest_slice_ms() const override;
    MigrationParameters& parameters() override { return m_params; }

private:
    using Clock = std::chrono::steady_clock;
    bool active() const {
        return m_info.status == MigrationStatus::Setup || m_info.status == MigrationStatus::Active;
    }
    base::Status setup();
    base::Status send_pending_window(bool& sent_something);
    base::Status flush();
    // Harvests the dirty log into the pages to send; returns how many were dirty.
    uint64_t harvest();
    void end_of_pass();
    base::Status switchover();
    // The destination's next verdict record (waits up to timeout_ms).
    base::Status read_verdict(int timeout_ms);
    // A failed send: the destination may have said why before closing.
    base::Status explain(const base::Status& transport_error);
    void finish(MigrationStatus status, std::string error);
    uint64_t elapsed_ms(Clock::time_point since) const;

    machine::Board& m_board;
    int m_fd;
    MigrationParameters m_params;
    MigrationInfo m_info;
    ContainerWriter m_out;
    bool m_was_logging = false;
    bool m_logging_started = false;
    std::array<std::vector<uint64_t>, kNumBlocks> m_pending;  // to send in the current pass
    std::array<std::vector<uint64_t>, kNumBlocks> m_sent;     // sent, not yet acknowledged
    uint32_t m_block = 0;  // where the current pass has got to
    uint64_t m_page = 0;
    Clock::time_point m_start, m_pass_start;
    uint64_t m_pass_bytes = 0;          // sent in the current pass
    uint64_t m_pass_send_us = 0;        // time spent sending in the current pass
    uint64_t m_rate_bytes = 0;          // for max-bandwidth: bytes since m_rate_start
    Clock::time_point m_rate_start;
    unsigned m_dirty_high_count = 0;    // auto-converge: passes in a row that dirtied too much
    // Reading the destination's verdicts (its own small container on the same socket).
    std::unique_ptr<FdSource> m_reply_src;
    std::unique_ptr<ContainerReader> m_reply;
    bool m_reply_header_read = false;
    std::shared_ptr<bool> m_busy;
};

}  // namespace vx86::state
