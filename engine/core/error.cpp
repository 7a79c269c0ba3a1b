#include "core/error.h"

namespace attnscope {

std::string Error::describe() const {
    std::string s;
    if (!file.empty()) s += file + ": ";
    if (offset) s += "at byte " + std::to_string(*offset) + ": ";
    s += message;
    return s;
}

Error makeError(ErrorKind kind, std::string message, std::string file, std::optional<std::uint64_t> offset) {
    Error e;
    e.kind = kind;
    e.message = std::move(message);
    e.file = std::move(file);
    e.offset = offset;
    return e;
}

const char* errorKindName(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::Io: return "io";
        case ErrorKind::Format: return "format";
        case ErrorKind::Unsupported: return "unsupported";
        case ErrorKind::InvalidInput: return "invalid-input";
        case ErrorKind::Cancelled: return "cancelled";
        case ErrorKind::Backend: return "backend";
        case ErrorKind::NonFinite: return "non-finite";
        case ErrorKind::Internal: return "internal";
    }
    return "unknown";
}

}  // namespace attnscope
