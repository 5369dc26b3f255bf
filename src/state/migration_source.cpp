#include "state/migration_source.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <bit>

#include <fmt/format.h>

#include "state/byte_io.h"
#include "state/migration_verdict.h"

namespace vx86::state {

using base::ErrorCode;
using base::Status;

namespace {

constexpr int kSetupVerdictTimeoutMs = 30'000;
constexpr int kFinalVerdictTimeoutMs = 120'000;

Header stream_header(machine::Board& b) {
    Header h;
    h.flags = kHeaderStream;
    h.producer = {0, 1, 0};
    h.fingerprint = fingerprint(config_text(b));
    return h;
}

uint64_t popcount(const std::vector<uint64_t>& bits) {
    uint64_t n = 0;
    for (uint64_t w : bits) n += static_cast<uint64_t>(std::popcount(w));
    return n;
}

}  // namespace

MigrationSource::MigrationSource(machine::Board& board, int fd, const MigrationParameters& params,
                                 std::shared_ptr<bool> busy)
    : m_board(board), m_fd(fd), m_params(params), m_out(stream_header(board)), m_busy(std::move(busy)) {
    m_info.status = MigrationStatus::Setup;
    m_start = m_pass_start = m_rate_start = Clock::now();
    for (uint32_t blk = 0; blk < kNumBlocks; ++blk) m_info.total_pages += board.ram_block_size(blk) / kPage;
    if (m_busy) *m_busy = true;
}

MigrationSource::~MigrationSource() {
    if (active()) finish(MigrationStatus::Cancelled, "the migration was abandoned");
    if (m_fd >= 0) ::close(m_fd);
}

uint64_t MigrationSource::elapsed_ms(Clock::time_point since) const {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

uint64_t MigrationSource::guest_slice_ms() const {
    // The guest and the migration take turns on one host thread; the throttle takes the
    // guest's share away (QEMU's cpu-throttle-percentage: the vCPU sleeps that share of time).
    const uint64_t base = 50;
    return base * (100 - std::min<uint64_t>(m_info.throttle_percent, 99)) / 100;
}

void MigrationSource::finish(MigrationStatus status, std::string error) {
    m_info.status = status;
    m_info.error = std::move(error);
    m_info.total_time_ms = elapsed_ms(m_start);
    if (m_logging_started) {
        if (m_was_logging) {
            // Someone else was logging: give back every page this migration harvested.
            for (uint32_t blk = 0; blk < kNumBlocks; ++blk) {
                m_board.mark_dirty(blk, m_sent[blk]);
                m_board.mark_dirty(blk, m_pending[blk]);
            }
        } else {
            m_board.set_dirty_logging(false);
        }
        m_logging_started = false;
    }
    if (m_fd >= 0) {
        ::shutdown(m_fd, SHUT_RDWR);
        ::close(m_fd);
        m_fd = -1;
    }
    if (m_busy) *m_busy = false;
}

void MigrationSource::cancel() {
    if (active()) finish(MigrationStatus::Cancelled, "cancelled by the user");
}

Status MigrationSource::flush() {
    const std::vector<uint8_t> bytes = m_out.drain();
    if (auto st = send_all(m_fd, bytes); !st) return st;
    m_info.bytes_sent += bytes.size();
    m_pass_bytes += bytes.size();
    m_rate_bytes += bytes.size();
    return Status::ok();
}

Status MigrationSource::read_verdict(int timeout_ms) {
    if (!m_reply) {
        m_reply_src = std::make_unique<FdSource>(m_fd);
        m_reply = std::make_unique<ContainerReader>(*m_reply_src, verdict_supported_version);
    }
    m_reply_src->set_timeout_ms(timeout_ms);
    const uint64_t before = m_reply_src->offset();
    auto closed = [&](const Status& st) -> Status {
        if (m_reply_src->offset() == before && st.code() == ErrorCode::BadImage)
            return {ErrorCode::Io, "the destination closed the connection"};
        return {st.code(), "the destination's answer: " + st.message()};
    };
    if (!m_reply_header_read) {
        auto h = m_reply->header();
        if (!h) return closed(h.status());
        m_reply_header_read = true;
    }
    auto rec = m_reply->next();
    if (!rec) return closed(rec.status());
    if (!*rec) return {ErrorCode::Io, "the destination ended its answers early"};
    return decode_verdict(**rec);
}

Status MigrationSource::explain(const Status& transport_error) {
    if (m_fd < 0) return transport_error;
    if (auto v = read_verdict(500); !v && v.code() != ErrorCode::Io) return v;
    return transport_error;
}

Status MigrationSource::setup() {
    add_setup_records(m_out, m_board, false);
    if (auto st = flush(); !st) return explain(st);
    if (auto st = read_verdict(kSetupVerdictTimeoutMs); !st) return st;
    // Logging starts before the bulk pass reads anything, so no write can slip between them.
    m_was_logging = m_board.dirty_logging();
    for (uint32_t blk = 0; blk < kNumBlocks; ++blk) {
        const uint64_t pages = m_board.ram_block_size(blk) / kPage;
        m_sent[blk].assign((pages + 63) / 64, 0);
        if (m_was_logging) m_sent[blk] = m_board.dirty_pages(blk, true);
        // Bulk stage: every page once (QEMU starts with an all-ones migration bitmap).
        m_pending[blk].assign((pages + 63) / 64, ~uint64_t{0});
        if (pages % 64) m_pending[blk].back() = (uint64_t{1} << (pages % 64)) - 1;
    }
    m_board.set_dirty_logging(true);
    m_logging_started = true;
    m_block = 0;
    m_page = 0;
    return Status::ok();
}

Status MigrationSource::send_pending_window(bool& sent) {
    sent = false;
    while (m_block < kNumBlocks) {
        const uint64_t npages = m_board.ram_block_size(m_block) / kPage;
        std::vector<uint64_t>& bits = m_pending[m_block];
        // The next page still to send in this block.
        uint64_t first = npages;
        for (uint64_t w = m_page / 64; w < bits.size(); ++w) {
            uint64_t word = bits[w];
            if (w == m_page / 64) word &= ~uint64_t{0} << (m_page % 64);
            if (word) {
                first = w * 64 + static_cast<uint64_t>(std::countr_zero(word));
                break;
            }
        }
        if (first >= npages) {
            ++m_block;
            m_page = 0;
            continue;
        }
        const uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(kPagesPerChunk, npages - first));
        const uint32_t data = add_ram_record(m_out, m_board, m_block, first, count, bits.data());
        uint64_t n = 0;
        for (uint64_t p = first; p < first + count; ++p) {
            const uint64_t bit = uint64_t{1} << (p % 64);
            if (!(bits[p / 64] & bit)) continue;
            bits[p / 64] &= ~bit;
            m_sent[m_block][p / 64] |= bit;
            ++n;
        }
        m_info.pages_sent += data;
        m_info.zero_pages += n - data;
        m_page = first + count;
        sent = true;
        return flush();
    }
    return Status::ok();
}

uint64_t MigrationSource::harvest() {
    uint64_t dirty = 0;
    for (uint32_t blk = 0; blk < kNumBlocks; ++blk) {
        if (!m_board.ram_block_size(blk)) continue;
        const std::vector<uint64_t> bits = m_board.dirty_pages(blk, true);
        for (size_t w = 0; w < bits.size(); ++w) m_pending[blk][w] |= bits[w];
        dirty += popcount(m_pending[blk]);
    }
    m_block = 0;
    m_page = 0;
    return dirty;
}

void MigrationSource::end_of_pass() {
    ByteWriter marker;
    marker.u64(m_info.passes + 1);
    m_out.add(kRecIteration, kIterationVersion, 0, marker.data());
    if (auto st = flush(); !st) return finish(MigrationStatus::Failed, explain(st).message());
    ++m_info.passes;

    const double pass_s = std::max(1e-6, std::chrono::duration<double>(Clock::now() - m_pass_start).count());
    const double send_s = std::max(1e-6, m_pass_send_us / 1e6);
    uint64_t bandwidth = static_cast<uint64_t>(m_pass_bytes / send_s);
    if (m_params.max_bandwidth) bandwidth = std::min(bandwidth, m_params.max_bandwidth);
    m_info.bandwidth = bandwidth;
    const uint64_t dirty = harvest();
    m_info.remaining_pages = dirty;
    m_info.dirty_pages_rate = static_cast<uint64_t>(dirty / pass_s);
    m_info.expected_downtime_ms = bandwidth ? dirty * kPage * 1000 / bandwidth : 0;
    m_info.total_time_ms = elapsed_ms(m_start);

    // Auto-converge (QEMU migration_trigger_throttle): from the second pass on, a pass that
    // dirtied more than half of what it sent counts; two such raise the throttle.
    if (m_params.auto_converge && m_info.passes >= 2 && dirty * kPage > m_pass_bytes / 2 &&
        ++m_dirty_high_count >= 2) {
        m_dirty_high_count = 0;
        m_info.throttle_percent =
            m_info.throttle_percent == 0
                ? m_params.cpu_throttle_initial
                : std::min<uint64_t>(m_info.throttle_percent + m_params.cpu_throttle_increment,
                                     m_params.max_cpu_throttle);
    }
    m_pass_start = Clock::now();
    m_pass_bytes = 0;
    m_pass_send_us = 0;

    if (dirty * kPage <= bandwidth * m_params.downtime_limit_ms / 1000) {
        if (auto st = switchover(); !st) finish(MigrationStatus::Failed, st.message());
        return;
    }
    if (m_params.max_passes && m_info.passes >= m_params.max_passes)
        finish(MigrationStatus::Failed,
               fmt::format("did not converge after {} passes ({} s): {} pages still dirty, expected "
                           "downtime {} ms over the {} ms limit",
                           m_info.passes, m_info.total_time_ms / 1000.0, dirty,
                           m_info.expected_downtime_ms, m_params.downtime_limit_ms));
}

Status MigrationSource::switchover() {
    // The guest is stopped from here on: the caller runs it again only if this fails.
    const auto stop = Clock::now();
    m_info.switchover_icount = m_board.vcpu().state().icount;
    harvest();
    for (bool sent = true; sent;)
        if (auto st = send_pending_window(sent); !st) return explain(st);
    add_state_records(m_out, m_board, false);
    const std::vector<uint8_t> rest = m_out.finish();
    if (auto st = send_all(m_fd, rest); !st) return explain(st);
    m_info.bytes_sent += rest.size();
    // The destination answers after it has checked and loaded everything.
    if (auto st = read_verdict(kFinalVerdictTimeoutMs); !st) return st;
    m_info.remaining_pages = 0;
    m_info.downtime_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stop).count());
    finish(MigrationStatus::Completed, "");
    return Status::ok();
}

MigrationStatus MigrationSource::step(uint64_t slice_ms) {
    if (!active()) return m_info.status;
    const auto t0 = Clock::now();
    if (m_info.status == MigrationStatus::Setup) {
        if (auto st = setup(); !st) {
            finish(MigrationStatus::Failed, st.message());
            return m_info.status;
        }
        m_info.status = MigrationStatus::Active;
        m_pass_start = m_rate_start = Clock::now();
    }
    // At least one window per step, then more while the slice lasts.
    for (bool first = true; first || elapsed_ms(t0) < slice_ms; first = false) {
        if (m_params.max_bandwidth) {
            const double since = std::chrono::duration<double>(Clock::now() - m_rate_start).count();
            if (m_rate_bytes > m_params.max_bandwidth * since) break;  // over the rate: let the guest run
        }
        const auto ts = Clock::now();
        bool sent = false;
        if (auto st = send_pending_window(sent); !st) {
            finish(MigrationStatus::Failed, explain(st).message());
            return m_info.status;
        }
        m_pass_send_us += static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - ts).count());
        if (!sent) {
            end_of_pass();
            return m_info.status;
        }
        // A destination that refused the stream says so and closes; don't keep sending.
        if (readable(m_fd, 0)) {
            auto v = read_verdict(1000);
            finish(MigrationStatus::Failed,
                   v ? std::string("the destination answered before the end of the stream") : v.message());
            return m_info.status;
        }
    }
    m_info.total_time_ms = elapsed_ms(m_start);
    return m_info.status;
}

}  // namespace vx86::state
