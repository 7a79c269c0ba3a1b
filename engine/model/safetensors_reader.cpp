#include "model/safetensors_reader.h"

#include <cmath>
#include <cstring>

#include "core/json.h"
#include "model/byte_ranges.h"

namespace attnscope {

std::size_t safetensorsDtypeSize(std::string_view d) {
    if (d == "F64" || d == "I64" || d == "U64") return 8;
    if (d == "F32" || d == "I32" || d == "U32") return 4;
    if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
    if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
    return 0;
}

const SafetensorsTensor* SafetensorsFile::findTensor(std::string_view name) const {
    auto it = index_.find(std::string(name));
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

// A JSON number that is a non-negative integer exactly representable in a double.
bool asIndex(const Json& j, std::uint64_t& out) {
    if (!j.isNumber()) return false;
    double d = j.asNumber();
    if (!std::isfinite(d) || d < 0 || d > 9007199254740992.0 || std::floor(d) != d) return false;
    out = static_cast<std::uint64_t>(d);
    return true;
}

// Reads one safetensors file's header and checks its entries.
class SafetensorsHeaderReader {
public:
    SafetensorsHeaderReader(const MappedFile& file, const SafetensorsLimits& lim) : file_(file), lim_(lim) {}

    // u64 N against the cap and the file size; the N bytes after it as a JSON object.
    Result<Json> readHeader() {
        const std::uint64_t size = file_.size();
        if (size < 8)
            return format("truncated file: " + std::to_string(size) + " bytes is too short for a safetensors header",
                          0);
        std::memcpy(&n_, file_.data(), 8);
        if (n_ > lim_.maxHeaderBytes)
            return format("safetensors header length " + std::to_string(n_) + " exceeds the limit of " +
                              std::to_string(lim_.maxHeaderBytes) + " bytes",
                          0);
        if (n_ > size - 8)
            return format("safetensors header length " + std::to_string(n_) + " runs past the end of the file (" +
                              std::to_string(size) + " bytes)",
                          0);
        if (n_ < 2)
            return format("safetensors header of " + std::to_string(n_) + " bytes cannot hold a JSON object", 0);
        dataSize_ = size - 8 - n_;
        std::string_view text(reinterpret_cast<const char*>(file_.data() + 8), static_cast<std::size_t>(n_));
        auto parsed = Json::parse(text, file_.path());
        if (!parsed) {
            Error e = parsed.takeError();
            e.file = file_.path();
            e.offset = 8 + e.offset.value_or(0);
            e.message = "safetensors header: " + e.message;
            return e;
        }
        if (!parsed->isObject()) return format("safetensors header is not a JSON object", 8);
        return parsed;
    }

    std::uint64_t headerBytes() const { return n_; }

    // A fault of tensor `name`'s header entry (located at the header's start).
    Error bad(const std::string& name, const std::string& why) const {
        return format("tensor '" + name + "': " + why, 8);
    }

    // One header entry {"dtype", "shape", "data_offsets"} → a tensor whose bytes lie in the data
    // section and match its shape × dtype.
    Result<SafetensorsTensor> readTensor(const std::string& name, const Json& entry) const {
        if (!entry.isObject()) return bad(name, "header entry is not an object");
        const Json* dtype = entry.find("dtype");
        const Json* shape = entry.find("shape");
        const Json* offsets = entry.find("data_offsets");
        if (!dtype || !dtype->isString()) return bad(name, "missing or non-string \"dtype\"");
        if (!shape || !shape->isArray()) return bad(name, "missing or non-array \"shape\"");
        if (!offsets || !offsets->isArray() || offsets->size() != 2)
            return bad(name, "\"data_offsets\" must be [begin, end]");
        SafetensorsTensor t;
        t.name = name;
        ATTN_TRY(readDtype(*dtype, t));
        ATTN_TRY(readShape(*shape, t));
        ATTN_TRY(readDataOffsets(*offsets, t));
        return t;
    }

private:
    Error format(std::string msg, std::uint64_t at) const {
        return makeError(ErrorKind::Format, std::move(msg), file_.path(), at);
    }

    // F32, F16 or BF16 (other known dtypes are Unsupported).
    Result<void> readDtype(const Json& dtype, SafetensorsTensor& t) const {
        t.dtypeName = dtype.asString();
        if (safetensorsDtypeSize(t.dtypeName) == 0) return bad(t.name, "unknown dtype \"" + t.dtypeName + "\"");
        if (t.dtypeName == "F32") t.dtype = DType::F32;
        else if (t.dtypeName == "F16") t.dtype = DType::F16;
        else if (t.dtypeName == "BF16") t.dtype = DType::BF16;
        else
            return makeError(
                ErrorKind::Unsupported,
                "tensor '" + t.name + "' has dtype " + t.dtypeName + ", which is not supported (F32, F16, BF16)",
                file_.path(), 8);
        return {};
    }

    // Non-negative integer dims; the element count and byte size must not overflow.
    Result<void> readShape(const Json& shape, SafetensorsTensor& t) const {
        if (shape.size() > lim_.maxDims)
            return bad(t.name, "more than " + std::to_string(lim_.maxDims) + " dimensions");
        std::uint64_t elements = 1;
        for (const Json& d : shape.asArray()) {
            std::uint64_t v;
            if (!asIndex(d, v)) return bad(t.name, "shape entries must be non-negative integers");
            if (v != 0 && elements > UINT64_MAX / v) return bad(t.name, "element count overflows");
            elements *= v;
            t.shape.push_back(static_cast<std::int64_t>(v));
        }
        t.elements = elements;
        if (elements > UINT64_MAX / safetensorsDtypeSize(t.dtypeName)) return bad(t.name, "byte size overflows");
        return {};
    }

    // [begin, end) inside the data section, exactly elements × element size bytes.
    Result<void> readDataOffsets(const Json& offsets, SafetensorsTensor& t) const {
        const std::uint64_t expect = t.elements * safetensorsDtypeSize(t.dtypeName);
        if (!asIndex(offsets.asArray()[0], t.begin) || !asIndex(offsets.asArray()[1], t.end))
            return bad(t.name, "\"data_offsets\" must be non-negative integers");
        if (t.end < t.begin)
            return bad(t.name,
                       "data_offsets end " + std::to_string(t.end) + " is before begin " + std::to_string(t.begin));
        if (t.end > dataSize_)
            return format("tensor '" + t.name + "': data_offsets [" + std::to_string(t.begin) + ", " +
                              std::to_string(t.end) + ") run past the end of the data section (" +
                              std::to_string(dataSize_) + " bytes; truncated?)",
                          8 + n_);
        if (t.end - t.begin != expect)
            return bad(t.name, "size mismatch: shape × " + t.dtypeName + " needs " + std::to_string(expect) +
                                   " bytes but data_offsets cover " + std::to_string(t.end - t.begin));
        t.fileOffset = 8 + n_ + t.begin;
        return {};
    }

    const MappedFile& file_;
    const SafetensorsLimits& lim_;
    std::uint64_t n_ = 0;         // header length
    std::uint64_t dataSize_ = 0;  // bytes after the header
};

}  // namespace

Result<SafetensorsFile> SafetensorsFile::parse(std::shared_ptr<const MappedFile> file, const SafetensorsLimits& lim) {
    if (!file) return makeError(ErrorKind::Internal, "no file to parse");
    SafetensorsHeaderReader reader(*file, lim);
    ATTN_ASSIGN(header, reader.readHeader());
    SafetensorsFile out;
    out.file_ = file;
    out.headerBytes_ = reader.headerBytes();
    for (const auto& [name, entry] : header.asObject()) {
        if (name == "__metadata__") continue;
        if (out.index_.count(name)) return reader.bad(name, "duplicate tensor name");
        ATTN_ASSIGN(t, reader.readTensor(name, entry));
        out.index_.emplace(name, out.tensors_.size());
        out.tensors_.push_back(std::move(t));
    }
    std::vector<ByteRange> ranges;
    for (const auto& t : out.tensors_) ranges.push_back({t.begin, t.bytes()});
    if (auto o = findOverlap(ranges)) {
        const SafetensorsTensor& t = out.tensors_[o->later];
        return makeError(ErrorKind::Format,
                         "tensor '" + t.name + "': data_offsets overlap tensor '" + out.tensors_[o->earlier].name + "'",
                         file->path(), t.fileOffset);
    }
    return out;
}

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path, const SafetensorsLimits& limits) {
    auto f = MappedFile::open(path);
    if (!f) return f.takeError();
    return parse(std::move(*f), limits);
}

}  // namespace attnscope
