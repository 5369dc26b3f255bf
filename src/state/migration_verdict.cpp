#include "state/migration_verdict.h"

#include <string>

#include "state/byte_io.h"

namespace vx86::state {

using base::ErrorCode;
using base::Status;

void add_verdict(ContainerWriter& out, bool accepted, std::string_view reason) {
    ByteWriter w;
    w.u8(accepted ? 1 : 0);
    w.bytes({reinterpret_cast<const uint8_t*>(reason.data()), std::min<size_t>(reason.size(), 60000)});
    out.add(kRecVerdict, kVerdictVersion, kRecordCritical, w.data());
}

Status decode_verdict(const Record& rec) {
    if (rec.type != kRecVerdict || rec.payload.empty())
        return {ErrorCode::BadImage, "the destination's answer is not a verdict"};
    const std::string reason(reinterpret_cast<const char*>(rec.payload.data()) + 1, rec.payload.size() - 1);
    if (rec.payload[0] == 1) return Status::ok();
    if (rec.payload[0] != 0) return {ErrorCode::BadImage, "the destination's verdict is neither yes nor no"};
    return {ErrorCode::InvalidArgument, "the destination refused the stream: " + reason};
}

uint16_t verdict_supported_version(uint32_t type) {
    return type == kRecVerdict ? kVerdictVersion : 0;
}

}  // namespace vx86::state
