#include "state/migration_target.h"

#include <cstring>
#include <fmt/format.h>

#include "state/container.h"
#include "state/fd_transport.h"
#include "state/machine_image.h"
#include "state/migration_verdict.h"

namespace vx86::state {

using base::ErrorCode;
using base::Status;

namespace {

class Receiver {
public:
    Receiver(machine::Board& b, ByteSource& in, const ReplySink& sink)
        : m_board(b), m_sink(sink), m_reader(in, supported_version), m_reply(reply_header(b)) {}

    Status run() {
        auto h = m_reader.header();
        if (!h) return fail(h.status());
        if (!(h->flags & kHeaderStream))
            return fail({ErrorCode::BadImage, "a snapshot file, not a migration stream (use -incoming file:)"});
        for (;;) {
            auto r = m_reader.next();
            if (!r) return fail(r.status());
            if (!*r) break;
            if (auto st = take(**r); !st) return fail(st);
        }
        if (!m_accepted) return fail({ErrorCode::BadImage, "the stream ended before its memory layout"});
        if (auto st = check_complete(m_image); !st) return fail(st);
        for (uint32_t blk = 0; blk < kNumBlocks; ++blk)
            for (uint64_t p = 0; p < m_board.ram_block_size(blk) / kPage; ++p)
                if (!((m_seen[blk][p / 64] >> (p % 64)) & 1))
                    return fail({ErrorCode::BadImage,
                                 fmt::format("RAM block {} page {} never arrived", blk, p)});
        commit(m_board, m_image);
        answer(true, "");
        return Status::ok();
    }

private:
    static Header reply_header(machine::Board& b) {
        Header h;
        h.flags = kHeaderStream;
        h.producer = {0, 1, 0};
        h.fingerprint = fingerprint(config_text(b));
        return h;
    }

    void answer(bool ok, const std::string& why) {
        add_verdict(m_reply, ok, why);
        m_sink(m_reply.drain());
    }

    Status fail(const Status& st) {
        answer(false, st.message());
        if (m_ram_touched) {
            for (uint32_t blk = 0; blk < kNumBlocks; ++blk)
                for (uint64_t off = 0; off < m_board.ram_block_size(blk); off += kPage)
                    store_page(m_board.ram_block(blk) + off, nullptr);
            m_board.set_dirty_logging(false);
            m_board.reset();
        }
        return st;
    }

    Status take(const Record& rec) {
        bool handled = false;
        if (auto st = decode_state_record(rec, m_image, handled); !st) return st;
        if (handled) {
            if (rec.type == kRecMemoryLayout) {
                if (m_image.config.empty()) return bad_record(rec, "memory layout before the configuration");
                if (auto st = check_same_machine(m_board, m_image); !st) return st;
                for (uint32_t blk = 0; blk < kNumBlocks; ++blk)
                    m_seen[blk].assign((m_board.ram_block_size(blk) / kPage + 63) / 64, 0);
                m_accepted = true;
                answer(true, "");
            }
            return Status::ok();
        }
        if (rec.type == kRecIteration) return Status::ok();
        if (rec.type != kRecRamPages) return bad_record(rec, "record type not valid in a migration stream");
        if (m_image.cpu) return bad_record(rec, "RAM after the vCPU");
        uint32_t block = 0;
        if (auto st = decode_ram_record(rec, m_image, block, m_pages); !st) return st;
        uint8_t* const ram = m_board.ram_block(block);
        for (const RamRecordPage& pg : m_pages) {
            uint8_t* dst = ram + pg.index * kPage;
            store_page(dst, pg.data);
            m_seen[block][pg.index / 64] |= uint64_t{1} << (pg.index % 64);
        }
        m_ram_touched = true;
        return Status::ok();
    }

    machine::Board& m_board;
    const ReplySink& m_sink;
    ContainerReader m_reader;
    ContainerWriter m_reply;
    MachineImage m_image;
    bool m_accepted = false;
    bool m_ram_touched = false;
    std::array<std::vector<uint64_t>, kNumBlocks> m_seen;
    std::vector<RamRecordPage> m_pages;
};

}  // namespace

Status receive_migration(machine::Board& board, ByteSource& in, const ReplySink& reply) {
    Receiver r(board, in, reply);
    return r.run();
}

Status receive_migration(machine::Board& board, int fd) {
    FdSource in(fd);
    // A source that is gone cannot be told; the error here is the stream's.
    const ReplySink reply = [fd](std::span<const uint8_t> bytes) { (void)send_all(fd, bytes); };
    return receive_migration(board, in, reply);
}

}  // namespace vx86::state
