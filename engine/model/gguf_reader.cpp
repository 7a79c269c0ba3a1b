#include "model/gguf_reader.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "model/byte_ranges.h"

namespace attnscope {

const char* ggufTypeName(GgufType t) {
    switch (t) {
        case GgufType::U8: return "u8";
        case GgufType::I8: return "i8";
        case GgufType::U16: return "u16";
        case GgufType::I16: return "i16";
        case GgufType::U32: return "u32";
        case GgufType::I32: return "i32";
        case GgufType::F32: return "f32";
        case GgufType::Bool: return "bool";
        case GgufType::String: return "string";
        case GgufType::Array: return "array";
        case GgufType::U64: return "u64";
        case GgufType::I64: return "i64";
        case GgufType::F64: return "f64";
    }
    return "?";
}

std::size_t ggufTypeSize(GgufType t) {
    switch (t) {
        case GgufType::U8:
        case GgufType::I8:
        case GgufType::Bool: return 1;
        case GgufType::U16:
        case GgufType::I16: return 2;
        case GgufType::U32:
        case GgufType::I32:
        case GgufType::F32: return 4;
        case GgufType::U64:
        case GgufType::I64:
        case GgufType::F64: return 8;
        case GgufType::String:
        case GgufType::Array: return 0;
    }
    return 0;
}

namespace {

bool isUnsignedType(GgufType t) {
    return t == GgufType::U8 || t == GgufType::U16 || t == GgufType::U32 || t == GgufType::U64;
}
bool isSignedType(GgufType t) {
    return t == GgufType::I8 || t == GgufType::I16 || t == GgufType::I32 || t == GgufType::I64;
}
bool isFloatType(GgufType t) { return t == GgufType::F32 || t == GgufType::F64; }

// The little-endian value of type T at p.
template <typename T>
T load(const std::uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// Decodes one fixed-size little-endian element of type t at p into the three slots.
void decodeScalar(GgufType t, const std::uint8_t* p, std::uint64_t& u, std::int64_t& i, double& f) {
    switch (t) {
        case GgufType::U8: u = p[0]; break;
        case GgufType::Bool: u = p[0] != 0 ? 1 : 0; break;
        case GgufType::I8: i = static_cast<std::int8_t>(p[0]); break;
        case GgufType::U16: u = load<std::uint16_t>(p); break;
        case GgufType::I16: i = load<std::int16_t>(p); break;
        case GgufType::U32: u = load<std::uint32_t>(p); break;
        case GgufType::I32: i = load<std::int32_t>(p); break;
        case GgufType::F32: f = load<float>(p); break;
        case GgufType::U64: u = load<std::uint64_t>(p); break;
        case GgufType::I64: i = load<std::int64_t>(p); break;
        case GgufType::F64: f = load<double>(p); break;
        case GgufType::String:
        case GgufType::Array: break;
    }
}

}  // namespace

bool GgufValue::isInteger() const { return isUnsignedType(type) || isSignedType(type); }
bool GgufValue::isNumber() const { return isInteger() || isFloatType(type); }

std::optional<std::int64_t> GgufValue::toInt() const {
    if (isSignedType(type)) return i;
    if (isUnsignedType(type) || type == GgufType::Bool) {
        if (u > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
        return static_cast<std::int64_t>(u);
    }
    return std::nullopt;
}

std::optional<std::uint64_t> GgufValue::toUint() const {
    if (isUnsignedType(type) || type == GgufType::Bool) return u;
    if (isSignedType(type) && i >= 0) return static_cast<std::uint64_t>(i);
    return std::nullopt;
}

std::optional<double> GgufValue::toDouble() const {
    if (isFloatType(type)) return f;
    if (isUnsignedType(type)) return static_cast<double>(u);
    if (isSignedType(type)) return static_cast<double>(i);
    return std::nullopt;
}

std::optional<bool> GgufValue::toBool() const {
    if (type == GgufType::Bool) return u != 0;
    if (auto v = toInt(); v && (*v == 0 || *v == 1)) return *v == 1;
    return std::nullopt;
}

std::optional<double> GgufValue::arrayNumber(std::uint64_t idx) const {
    std::size_t sz = ggufTypeSize(elemType);
    if (!isArray() || sz == 0 || idx >= count || elemType == GgufType::Bool) return std::nullopt;
    std::uint64_t uu = 0;
    std::int64_t ii = 0;
    double ff = 0;
    decodeScalar(elemType, raw.data() + idx * sz, uu, ii, ff);
    if (isFloatType(elemType)) return ff;
    if (isSignedType(elemType)) return static_cast<double>(ii);
    return static_cast<double>(uu);
}

std::optional<std::int64_t> GgufValue::arrayInt(std::uint64_t idx) const {
    std::size_t sz = ggufTypeSize(elemType);
    if (!isArray() || sz == 0 || idx >= count || isFloatType(elemType)) return std::nullopt;
    std::uint64_t uu = 0;
    std::int64_t ii = 0;
    double ff = 0;
    decodeScalar(elemType, raw.data() + idx * sz, uu, ii, ff);
    if (isSignedType(elemType)) return ii;
    if (uu > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(uu);
}

std::string GgufValue::display(std::size_t maxItems) const {
    std::ostringstream os;
    switch (type) {
        case GgufType::String: return s;
        case GgufType::Bool: return u ? "true" : "false";
        case GgufType::F32:
        case GgufType::F64: os << f; return os.str();
        case GgufType::Array: {
            os << "[" << ggufTypeName(elemType) << " × " << count << "]";
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(count, maxItems));
            if (n == 0) return os.str();
            os << " ";
            for (std::size_t k = 0; k < n; ++k) {
                if (k) os << ", ";
                if (elemType == GgufType::String) os << '"' << strings[k] << '"';
                else if (elemType == GgufType::Array) os << nested[k].display(2);
                else if (elemType == GgufType::Bool) os << (raw[k] ? "true" : "false");
                else if (isFloatType(elemType)) os << *arrayNumber(k);
                else os << *arrayInt(k);
            }
            if (count > n) os << ", …";
            return os.str();
        }
        default:
            if (isSignedType(type)) return std::to_string(i);
            return std::to_string(u);
    }
}

const GgufValue* GgufFile::find(std::string_view key) const {
    auto it = kvIndex_.find(std::string(key));
    return it == kvIndex_.end() ? nullptr : &kv_[it->second].second;
}

std::uint64_t GgufFile::keyOffset(std::string_view key) const {
    auto it = kvIndex_.find(std::string(key));
    return it == kvIndex_.end() ? 0 : kvOffsets_[it->second];
}

const GgufTensorInfo* GgufFile::findTensor(std::string_view name) const {
    auto it = tensorIndex_.find(std::string(name));
    return it == tensorIndex_.end() ? nullptr : &tensors_[it->second];
}

// The parser: a cursor over the mapping. Every read checks the bytes left first.
class GgufParser {
public:
    GgufParser(std::shared_ptr<const MappedFile> file, const GgufLimits& limits)
        : file_(std::move(file)), lim_(limits), size_(file_->size()), base_(file_->data()) {}

    Result<GgufFile> run();

private:
    std::shared_ptr<const MappedFile> file_;
    GgufLimits lim_;
    std::uint64_t size_;
    const std::uint8_t* base_;
    std::uint64_t pos_ = 0;

    std::uint64_t left() const { return size_ - pos_; }

    Error fail(ErrorKind kind, std::string msg, std::uint64_t at) const {
        return makeError(kind, std::move(msg), file_->path(), at);
    }
    Error format(std::string msg, std::uint64_t at) const { return fail(ErrorKind::Format, std::move(msg), at); }

    Result<void> need(std::uint64_t n, const char* what) const {
        if (n > left())
            return format("truncated file: " + std::string(what) + " needs " + std::to_string(n) + " bytes but only " +
                              std::to_string(left()) + " remain",
                          pos_);
        return {};
    }

    template <typename T>
    Result<T> read(const char* what) {
        ATTN_TRY(need(sizeof(T), what));
        T v;
        std::memcpy(&v, base_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }

    // u64 length + bytes; `cap` bounds the length before anything is allocated.
    Result<std::string> readString(const char* what, std::uint64_t cap) {
        std::uint64_t at = pos_;
        auto len = read<std::uint64_t>(what);
        if (!len) return len.takeError();
        if (*len > cap)
            return format(std::string(what) + " length " + std::to_string(*len) + " exceeds the limit of " +
                              std::to_string(cap) + " bytes",
                          at);
        if (*len > left())
            return format(std::string(what) + " length " + std::to_string(*len) + " runs past the end of the file (" +
                              std::to_string(left()) + " bytes remain)",
                          at);
        std::string s(reinterpret_cast<const char*>(base_ + pos_), static_cast<std::size_t>(*len));
        pos_ += *len;
        return s;
    }

    Result<GgufType> readType(const char* what) {
        std::uint64_t at = pos_;
        auto t = read<std::uint32_t>(what);
        if (!t) return t.takeError();
        if (*t > static_cast<std::uint32_t>(GgufType::F64))
            return format("unknown metadata value type " + std::to_string(*t) + " for " + what, at);
        return static_cast<GgufType>(*t);
    }

    Result<GgufValue> readValue(GgufType type, const std::string& key, int depth);
    Result<void> readArray(GgufValue& v, const std::string& key, int depth);

    // The steps of run(), in file order.
    Result<std::uint32_t> readMagicAndVersion();
    struct Counts {
        std::uint64_t tensors = 0, keys = 0;
    };
    Result<Counts> readCounts();
    Result<void> readMetadata(GgufFile& out, std::uint64_t nKeys);
    Result<void> readAlignment(GgufFile& out) const;
    Result<void> readTensorInfos(GgufFile& out, std::uint64_t nTensors);
    Result<GgufTensorInfo> readTensorInfo(const GgufFile& out, std::uint64_t index);
    Result<void> readTensorShape(GgufTensorInfo& t);
    Result<void> readTensorType(GgufTensorInfo& t, std::uint64_t dimsAt);
    Result<void> placeTensorData(GgufFile& out) const;
};

Result<GgufValue> GgufParser::readValue(GgufType type, const std::string& key, int depth) {
    GgufValue v;
    v.type = type;
    if (type == GgufType::String) {
        auto s = readString("string value", lim_.maxStringLength);
        if (!s) return s.takeError();
        v.s = std::move(*s);
    } else if (type == GgufType::Array) {
        ATTN_TRY(readArray(v, key, depth));
    } else {
        std::size_t sz = ggufTypeSize(type);
        ATTN_TRY(need(sz, "metadata value"));
        decodeScalar(type, base_ + pos_, v.u, v.i, v.f);
        pos_ += sz;
    }
    return v;
}

// u32 element type + u64 count + elements; the count is checked against the cap and against
// the bytes left (at the smallest size an element can take) before anything is allocated.
Result<void> GgufParser::readArray(GgufValue& v, const std::string& key, int depth) {
    std::uint64_t at = pos_;
    if (depth >= lim_.maxArrayDepth)
        return format(
            "metadata '" + key + "': arrays nested deeper than " + std::to_string(lim_.maxArrayDepth) + " levels", at);
    ATTN_ASSIGN(et, readType("array element type"));
    std::uint64_t countAt = pos_;
    ATTN_ASSIGN(n, read<std::uint64_t>("array length"));
    v.elemType = et;
    v.count = n;
    if (n > lim_.maxArrayLength)
        return format("metadata '" + key + "': array length " + std::to_string(n) + " exceeds the limit of " +
                          std::to_string(lim_.maxArrayLength),
                      countAt);
    // Smallest encoding of one element: its size, a bare string length, or an empty array header.
    std::uint64_t minElem = et == GgufType::String ? 8 : et == GgufType::Array ? 12 : ggufTypeSize(et);
    if (n > left() / minElem)
        return format("metadata '" + key + "': array of " + std::to_string(n) + " " + ggufTypeName(et) +
                          " elements needs at least " + std::to_string(n) + " × " + std::to_string(minElem) +
                          " bytes but only " + std::to_string(left()) + " remain",
                      countAt);
    if (et == GgufType::String) {
        v.strings.reserve(static_cast<std::size_t>(n));
        for (std::uint64_t k = 0; k < n; ++k) {
            ATTN_ASSIGN(s, readString("array string", lim_.maxStringLength));
            v.strings.push_back(std::move(s));
        }
    } else if (et == GgufType::Array) {
        v.nested.reserve(static_cast<std::size_t>(n));
        for (std::uint64_t k = 0; k < n; ++k) {
            ATTN_ASSIGN(inner, readValue(GgufType::Array, key, depth + 1));
            v.nested.push_back(std::move(inner));
        }
    } else {
        std::uint64_t bytes = n * minElem;  // cannot overflow: checked against left() above
        v.raw.assign(base_ + pos_, base_ + pos_ + bytes);
        pos_ += bytes;
    }
    return {};
}

// "GGUF", then version 2 or 3 (1, big-endian files and others are Unsupported).
Result<std::uint32_t> GgufParser::readMagicAndVersion() {
    if (size_ < 4)
        return format("truncated file: " + std::to_string(size_) + " bytes is too short for a GGUF header", 0);
    if (std::memcmp(base_, "GGUF", 4) != 0) {
        std::string got;
        for (int k = 0; k < 4; ++k) {
            char c = static_cast<char>(base_[k]);
            if (c >= 32 && c < 127) {
                got += c;
            } else {
                char hex[8];
                std::snprintf(hex, sizeof hex, "\\x%02X", base_[k]);
                got += hex;
            }
        }
        return format("bad magic '" + got + "': not a GGUF file", 0);
    }
    pos_ = 4;
    ATTN_ASSIGN(version, read<std::uint32_t>("version"));
    if (version == 1) return fail(ErrorKind::Unsupported, "GGUF version 1 is not supported (only versions 2 and 3)", 4);
    if (version != 2 && version != 3) {
        if ((version & 0xFFFFu) == 0 && (version >> 16) != 0)
            return fail(ErrorKind::Unsupported, "big-endian GGUF files are not supported", 4);
        return fail(ErrorKind::Unsupported,
                    "unsupported GGUF version " + std::to_string(version) + " (only versions 2 and 3)", 4);
    }
    return version;
}

// Tensor and metadata counts, each against its cap and against the bytes left.
Result<GgufParser::Counts> GgufParser::readCounts() {
    Counts n;
    std::uint64_t nTensorsAt = pos_;
    ATTN_SET(n.tensors, read<std::uint64_t>("tensor count"));
    std::uint64_t nKvAt = pos_;
    ATTN_SET(n.keys, read<std::uint64_t>("metadata count"));

    // Smallest records: tensor info = name length 8 + 1 name byte + n_dims 4 + ne 8 + type 4 +
    // offset 8; kv = key length 8 + 1 key byte + type 4 + 1 value byte.
    constexpr std::uint64_t kMinTensorInfo = 33, kMinKv = 14;
    auto check = [&](const char* what, std::uint64_t count, std::uint64_t cap, std::uint64_t minRecord,
                     std::uint64_t at) -> Result<void> {
        if (count > cap)
            return format(
                std::string(what) + " " + std::to_string(count) + " exceeds the limit of " + std::to_string(cap), at);
        if (count > left() / minRecord)
            return format(std::string(what) + " " + std::to_string(count) + " cannot fit in the " +
                              std::to_string(left()) + " bytes that remain",
                          at);
        return {};
    };
    ATTN_TRY(check("tensor count", n.tensors, lim_.maxTensors, kMinTensorInfo, nTensorsAt));
    ATTN_TRY(check("metadata count", n.keys, lim_.maxKeys, kMinKv, nKvAt));
    return n;
}

// Key/value records: non-empty, unique keys.
Result<void> GgufParser::readMetadata(GgufFile& out, std::uint64_t nKeys) {
    out.kv_.reserve(static_cast<std::size_t>(nKeys));
    out.kvOffsets_.reserve(static_cast<std::size_t>(nKeys));
    for (std::uint64_t k = 0; k < nKeys; ++k) {
        std::uint64_t at = pos_;
        ATTN_ASSIGN(key, readString("metadata key", lim_.maxKeyLength));
        if (key.empty()) return format("empty metadata key (entry " + std::to_string(k) + ")", at);
        if (out.kvIndex_.count(key)) return format("duplicate metadata key '" + key + "'", at);
        ATTN_ASSIGN(type, readType("metadata value type"));
        ATTN_ASSIGN(value, readValue(type, key, 0));
        out.kvIndex_.emplace(key, out.kv_.size());
        out.kv_.emplace_back(std::move(key), std::move(value));
        out.kvOffsets_.push_back(at);
    }
    return {};
}

// general.alignment, when present: a power of two up to the cap.
Result<void> GgufParser::readAlignment(GgufFile& out) const {
    const GgufValue* a = out.find("general.alignment");
    if (!a) return {};
    std::uint64_t at = out.keyOffset("general.alignment");
    auto v = a->toUint();
    if (!a->isInteger() || !v)
        return format("general.alignment must be an unsigned integer, not " + std::string(ggufTypeName(a->type)), at);
    if (*v == 0 || (*v & (*v - 1)) != 0 || *v > lim_.maxAlignment)
        return format("general.alignment " + std::to_string(*v) + " is not a power of two up to " +
                          std::to_string(lim_.maxAlignment),
                      at);
    out.alignment_ = *v;
    return {};
}

Result<void> GgufParser::readTensorInfos(GgufFile& out, std::uint64_t nTensors) {
    out.tensors_.reserve(static_cast<std::size_t>(nTensors));
    for (std::uint64_t k = 0; k < nTensors; ++k) {
        ATTN_ASSIGN(t, readTensorInfo(out, k));
        out.tensorIndex_.emplace(t.name, out.tensors_.size());
        out.tensors_.push_back(std::move(t));
    }
    return {};
}

// One tensor info record: unique name, shape, type, aligned offset.
Result<GgufTensorInfo> GgufParser::readTensorInfo(const GgufFile& out, std::uint64_t index) {
    GgufTensorInfo t;
    t.infoOffset = pos_;
    ATTN_SET(t.name, readString("tensor name", lim_.maxKeyLength));
    if (t.name.empty()) return format("empty tensor name (tensor " + std::to_string(index) + ")", t.infoOffset);
    if (out.tensorIndex_.count(t.name)) return format("duplicate tensor name '" + t.name + "'", t.infoOffset);
    const std::uint64_t dimsAt = pos_;
    ATTN_TRY(readTensorShape(t));
    ATTN_TRY(readTensorType(t, dimsAt));
    std::uint64_t offAt = pos_;
    ATTN_SET(t.offset, read<std::uint64_t>("tensor offset"));
    if (t.offset % out.alignment_ != 0)
        return format("tensor '" + t.name + "' data offset " + std::to_string(t.offset) +
                          " is not a multiple of the alignment " + std::to_string(out.alignment_),
                      offAt);
    return t;
}

// u32 n_dims (at most 4) + u64 ne[n_dims]; the element count must not overflow.
Result<void> GgufParser::readTensorShape(GgufTensorInfo& t) {
    const std::uint64_t dimsAt = pos_;
    ATTN_SET(t.nDims, read<std::uint32_t>("tensor dimension count"));
    if (t.nDims > 4)
        return format("tensor '" + t.name + "' has " + std::to_string(t.nDims) + " dimensions (at most 4)", dimsAt);
    std::uint64_t elements = 1;
    bool overflow = false;
    for (std::uint32_t d = 0; d < t.nDims; ++d) {
        std::uint64_t neAt = pos_;
        ATTN_ASSIGN(ne, read<std::uint64_t>("tensor dimension"));
        if (ne > static_cast<std::uint64_t>(INT64_MAX))
            return format("tensor '" + t.name + "' dimension " + std::to_string(d) + " is negative", neAt);
        t.ne[d] = ne;
        if (ne != 0 && elements > static_cast<std::uint64_t>(INT64_MAX) / ne) overflow = true;
        elements *= ne;
    }
    if (overflow) return format("tensor '" + t.name + "' element count overflows", dimsAt);
    t.elements = elements;
    return {};
}

// u32 ggml type: one we can read, whose block size divides the rows; sets the byte size.
Result<void> GgufParser::readTensorType(GgufTensorInfo& t, std::uint64_t dimsAt) {
    std::uint64_t typeAt = pos_;
    ATTN_SET(t.ggmlType, read<std::uint32_t>("tensor type"));
    auto dt = dtypeFromGgml(t.ggmlType);
    if (!dt)
        return fail(ErrorKind::Unsupported,
                    "tensor '" + t.name + "' has unsupported ggml type " + ggmlTypeName(t.ggmlType), typeAt);
    t.dtype = *dt;
    auto block = static_cast<std::uint64_t>(dtypeInfo(*dt).blockSize);
    if (t.ne[0] % block != 0)
        return format("tensor '" + t.name + "' row length " + std::to_string(t.ne[0]) + " is not a multiple of the " +
                          dtypeName(*dt) + " block size " + std::to_string(block),
                      dimsAt);
    auto bytes = dtypeBytes(*dt, t.elements);
    if (!bytes) return format("tensor '" + t.name + "' byte size overflows", dimsAt);
    t.bytes = *bytes;
    return {};
}

// The data section starts at the next alignment boundary; every tensor's bytes lie inside the
// file and overlap no other tensor's.
Result<void> GgufParser::placeTensorData(GgufFile& out) const {
    std::uint64_t rem = pos_ % out.alignment_;
    out.dataOffset_ = pos_ + (rem ? out.alignment_ - rem : 0);  // pos_ <= size_, no overflow
    std::vector<ByteRange> ranges;
    ranges.reserve(out.tensors_.size());
    for (auto& t : out.tensors_) {
        if (t.offset > UINT64_MAX - out.dataOffset_ || t.offset + out.dataOffset_ > UINT64_MAX - t.bytes)
            return format("tensor '" + t.name + "' data offset overflows", t.infoOffset);
        t.fileOffset = out.dataOffset_ + t.offset;
        if (t.fileOffset > size_ || t.bytes > size_ - t.fileOffset)
            return format("tensor '" + t.name + "' data [" + std::to_string(t.fileOffset) + ", " +
                              std::to_string(t.fileOffset + t.bytes) + ") runs past the end of the file (" +
                              std::to_string(size_) + " bytes; truncated?)",
                          t.fileOffset);
        ranges.push_back({t.offset, t.bytes});
    }
    if (auto o = findOverlap(ranges)) {
        const GgufTensorInfo& t = out.tensors_[o->later];
        return format("tensor '" + t.name + "' data overlaps tensor '" + out.tensors_[o->earlier].name + "'",
                      t.fileOffset);
    }
    // Tensors are packed, each padded to the alignment: more unused bytes after one means its
    // type tag or shape gives it fewer bytes than were written for it (an F32 tensor tagged F16).
    const std::uint64_t dataBytes = size_ > out.dataOffset_ ? size_ - out.dataOffset_ : 0;
    if (auto s = findSlack(ranges, dataBytes, out.alignment_)) {
        const GgufTensorInfo& t = out.tensors_[s->range];
        return format("tensor '" + t.name + "' is tagged " + ggmlTypeName(t.ggmlType) + " (" + std::to_string(t.bytes) +
                          " bytes) but is followed by " + std::to_string(s->unused) +
                          " unused bytes: its type tag or shape does not match its data",
                      t.infoOffset);
    }
    return {};
}

Result<GgufFile> GgufParser::run() {
    GgufFile out;
    out.file_ = file_;
    ATTN_SET(out.version_, readMagicAndVersion());
    ATTN_ASSIGN(counts, readCounts());
    ATTN_TRY(readMetadata(out, counts.keys));
    ATTN_TRY(readAlignment(out));
    ATTN_TRY(readTensorInfos(out, counts.tensors));
    ATTN_TRY(placeTensorData(out));
    return out;
}

Result<GgufFile> GgufFile::parse(std::shared_ptr<const MappedFile> file, const GgufLimits& limits) {
    if (!file) return makeError(ErrorKind::Internal, "no file to parse");
    return GgufParser(std::move(file), limits).run();
}

Result<GgufFile> GgufFile::open(const std::string& path, const GgufLimits& limits) {
    auto f = MappedFile::open(path);
    if (!f) return f.takeError();
    return parse(std::move(*f), limits);
}

}  // namespace attnscope
