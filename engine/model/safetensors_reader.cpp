#include "model/safetensors_reader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/json.h"

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

}  // namespace

Result<SafetensorsFile> SafetensorsFile::parse(std::shared_ptr<const MappedFile> file, const SafetensorsLimits& lim) {
    if (!file) return makeError(ErrorKind::Internal, "no file to parse");
    const std::string& path = file->path();
    const std::uint64_t size = file->size();
    auto format = [&](std::string msg, std::uint64_t at) { return makeError(ErrorKind::Format, std::move(msg), path, at); };

    if (size < 8)
        return format("truncated file: " + std::to_string(size) + " bytes is too short for a safetensors header", 0);
    std::uint64_t n;
    std::memcpy(&n, file->data(), 8);
    if (n > lim.maxHeaderBytes)
        return format("safetensors header length " + std::to_string(n) + " exceeds the limit of " +
                          std::to_string(lim.maxHeaderBytes) + " bytes",
                      0);
    if (n > size - 8)
        return format("safetensors header length " + std::to_string(n) + " runs past the end of the file (" +
                          std::to_string(size) + " bytes)",
                      0);
    if (n < 2) return format("safetensors header of " + std::to_string(n) + " bytes cannot hold a JSON object", 0);

    std::string_view text(reinterpret_cast<const char*>(file->data() + 8), static_cast<std::size_t>(n));
    auto parsed = Json::parse(text, path);
    if (!parsed) {
        Error e = parsed.takeError();
        e.file = path;
        e.offset = 8 + e.offset.value_or(0);
        e.message = "safetensors header: " + e.message;
        return e;
    }
    if (!parsed->isObject()) return format("safetensors header is not a JSON object", 8);

    SafetensorsFile out;
    out.file_ = file;
    out.headerBytes_ = n;
    const std::uint64_t dataSize = size - 8 - n;

    for (const auto& [name, entry] : parsed->asObject()) {
        if (name == "__metadata__") continue;
        auto bad = [&](const std::string& why) { return format("tensor '" + name + "': " + why, 8); };
        if (out.index_.count(name)) return bad("duplicate tensor name");
        if (!entry.isObject()) return bad("header entry is not an object");
        const Json* dtype = entry.find("dtype");
        const Json* shape = entry.find("shape");
        const Json* offsets = entry.find("data_offsets");
        if (!dtype || !dtype->isString()) return bad("missing or non-string \"dtype\"");
        if (!shape || !shape->isArray()) return bad("missing or non-array \"shape\"");
        if (!offsets || !offsets->isArray() || offsets->size() != 2) return bad("\"data_offsets\" must be [begin, end]");

        SafetensorsTensor t;
        t.name = name;
        t.dtypeName = dtype->asString();
        std::size_t esize = safetensorsDtypeSize(t.dtypeName);
        if (esize == 0) return bad("unknown dtype \"" + t.dtypeName + "\"");
        if (t.dtypeName == "F32") t.dtype = DType::F32;
        else if (t.dtypeName == "F16") t.dtype = DType::F16;
        else if (t.dtypeName == "BF16") t.dtype = DType::BF16;
        else
            return makeError(ErrorKind::Unsupported,
                             "tensor '" + name + "' has dtype " + t.dtypeName + ", which is not supported (F32, F16, BF16)",
                             path, 8);

        if (shape->size() > lim.maxDims) return bad("more than " + std::to_string(lim.maxDims) + " dimensions");
        std::uint64_t elements = 1;
        for (const Json& d : shape->asArray()) {
            std::uint64_t v;
            if (!asIndex(d, v)) return bad("shape entries must be non-negative integers");
            if (v != 0 && elements > UINT64_MAX / v) return bad("element count overflows");
            elements *= v;
            t.shape.push_back(static_cast<std::int64_t>(v));
        }
        t.elements = elements;
        if (elements > UINT64_MAX / esize) return bad("byte size overflows");
        std::uint64_t expect = elements * esize;

        if (!asIndex(offsets->asArray()[0], t.begin) || !asIndex(offsets->asArray()[1], t.end))
            return bad("\"data_offsets\" must be non-negative integers");
        if (t.end < t.begin) return bad("data_offsets end " + std::to_string(t.end) + " is before begin " + std::to_string(t.begin));
        if (t.end > dataSize)
            return format("tensor '" + name + "': data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                              ") run past the end of the data section (" + std::to_string(dataSize) + " bytes; truncated?)",
                          8 + n);
        if (t.end - t.begin != expect)
            return bad("size mismatch: shape × " + t.dtypeName + " needs " + std::to_string(expect) +
                       " bytes but data_offsets cover " + std::to_string(t.end - t.begin));
        t.fileOffset = 8 + n + t.begin;
        out.index_.emplace(name, out.tensors_.size());
        out.tensors_.push_back(std::move(t));
    }

    std::vector<std::size_t> order(out.tensors_.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return out.tensors_[a].begin < out.tensors_[b].begin; });
    const SafetensorsTensor* prev = nullptr;
    for (std::size_t idx : order) {
        const auto& t = out.tensors_[idx];
        if (t.bytes() == 0) continue;
        if (prev && t.begin < prev->end)
            return format("tensor '" + t.name + "': data_offsets overlap tensor '" + prev->name + "'", t.fileOffset);
        prev = &t;
    }
    return out;
}

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path, const SafetensorsLimits& limits) {
    auto f = MappedFile::open(path);
    if (!f) return f.takeError();
    return parse(std::move(*f), limits);
}

}  // namespace attnscope
