#include "common/model_writers.h"

#include "model/model_loader.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <type_traits>
#include <unistd.h>

namespace fs = std::filesystem;

namespace attnscope::test {

// ---------------------------------------------------------------------------------------------
// Values

namespace {

template <typename T>
GgufValue scalar(GgufType type, T v) {
    GgufValue g;
    g.type = type;
    if constexpr (std::is_floating_point_v<T>) g.f = static_cast<double>(v);
    else if constexpr (std::is_signed_v<T>) g.i = static_cast<std::int64_t>(v);
    else g.u = static_cast<std::uint64_t>(v);
    return g;
}

template <typename T>
GgufValue numericArray(GgufType elem, const std::vector<T>& v) {
    GgufValue g;
    g.type = GgufType::Array;
    g.elemType = elem;
    g.count = v.size();
    g.raw.resize(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(g.raw.data(), v.data(), g.raw.size());
    return g;
}

}  // namespace

GgufValue ggufU8(std::uint8_t v) { return scalar(GgufType::U8, v); }
GgufValue ggufI8(std::int8_t v) { return scalar(GgufType::I8, v); }
GgufValue ggufU16(std::uint16_t v) { return scalar(GgufType::U16, v); }
GgufValue ggufI16(std::int16_t v) { return scalar(GgufType::I16, v); }
GgufValue ggufU32(std::uint32_t v) { return scalar(GgufType::U32, v); }
GgufValue ggufI32(std::int32_t v) { return scalar(GgufType::I32, v); }
GgufValue ggufU64(std::uint64_t v) { return scalar(GgufType::U64, v); }
GgufValue ggufI64(std::int64_t v) { return scalar(GgufType::I64, v); }
GgufValue ggufF32(float v) { return scalar(GgufType::F32, v); }
GgufValue ggufF64(double v) { return scalar(GgufType::F64, v); }
GgufValue ggufBool(bool v) {
    GgufValue g;
    g.type = GgufType::Bool;
    g.u = v ? 1 : 0;
    return g;
}
GgufValue ggufString(std::string v) {
    GgufValue g;
    g.type = GgufType::String;
    g.s = std::move(v);
    return g;
}
GgufValue ggufStringArray(std::vector<std::string> v) {
    GgufValue g;
    g.type = GgufType::Array;
    g.elemType = GgufType::String;
    g.count = v.size();
    g.strings = std::move(v);
    return g;
}
GgufValue ggufF32Array(const std::vector<float>& v) { return numericArray(GgufType::F32, v); }
GgufValue ggufI32Array(const std::vector<std::int32_t>& v) { return numericArray(GgufType::I32, v); }
GgufValue ggufU32Array(const std::vector<std::uint32_t>& v) { return numericArray(GgufType::U32, v); }
GgufValue ggufNestedArray(std::vector<GgufValue> arrays) {
    for (const auto& a : arrays)
        if (!a.isArray()) throw std::invalid_argument("ggufNestedArray: every element must be an array");
    GgufValue g;
    g.type = GgufType::Array;
    g.elemType = GgufType::Array;
    g.count = arrays.size();
    g.nested = std::move(arrays);
    return g;
}

std::uint32_t ggmlTypeOf(DType t) {
    switch (t) {
        case DType::F32: return 0;
        case DType::F16: return 1;
        case DType::Q4_0: return 2;
        case DType::Q5_0: return 6;
        case DType::Q8_0: return 8;
        case DType::Q4_K: return 12;
        case DType::Q5_K: return 13;
        case DType::Q6_K: return 14;
        case DType::BF16: return 30;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------------
// Encoding helpers

namespace {

std::uint64_t alignUp(std::uint64_t x, std::uint64_t a) { return a ? (x + a - 1) / a * a : x; }

std::uint64_t product(const std::vector<std::uint64_t>& ne) {
    std::uint64_t n = 1;
    for (auto d : ne) n *= d;
    return n;
}

// float row → bytes of dtype (F32/F16/BF16/Q8_0).
void encodeRow(DType dtype, const float* src, std::size_t n, std::uint8_t* dst) {
    switch (dtype) {
        case DType::F32: std::memcpy(dst, src, n * 4); break;
        case DType::F16:
            for (std::size_t i = 0; i < n; ++i) {
                std::uint16_t h = f32ToF16(src[i]);
                std::memcpy(dst + 2 * i, &h, 2);
            }
            break;
        case DType::BF16:
            for (std::size_t i = 0; i < n; ++i) {
                std::uint16_t h = f32ToBf16(src[i]);
                std::memcpy(dst + 2 * i, &h, 2);
            }
            break;
        case DType::Q8_0: quantizeRowQ8_0(src, dst, n); break;
        default: throw std::invalid_argument(std::string("cannot encode dtype ") + dtypeName(dtype));
    }
}

void requireWritable(DType dtype) {
    if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16 && dtype != DType::Q8_0)
        throw std::invalid_argument(std::string("the writer cannot encode ") + dtypeName(dtype));
}

std::vector<std::uint8_t> encodeValues(DType dtype, const std::vector<float>& values) {
    auto bytes = dtypeBytes(dtype, values.size());
    if (!bytes) throw std::invalid_argument("value count is not a whole number of blocks");
    std::vector<std::uint8_t> out(static_cast<std::size_t>(*bytes));
    if (!values.empty()) encodeRow(dtype, values.data(), values.size(), out.data());
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// GGUF writer

struct GgufWriter::Sink {
    virtual ~Sink() = default;
    virtual void put(const void* p, std::size_t n) = 0;
    std::uint64_t pos = 0;
    void write(const void* p, std::size_t n) {
        put(p, n);
        pos += n;
    }
    template <typename T>
    void pod(T v) { write(&v, sizeof v); }
    void str(const std::string& s) {
        pod<std::uint64_t>(s.size());
        write(s.data(), s.size());
    }
    void zeros(std::uint64_t n) {
        static const std::uint8_t z[256] = {};
        while (n > 0) {
            std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(n, sizeof z));
            write(z, k);
            n -= k;
        }
    }
};

void GgufWriter::setAlignment(std::uint64_t alignment, bool writeKey) {
    alignment_ = alignment;
    if (writeKey) add("general.alignment", ggufU32(static_cast<std::uint32_t>(alignment)));
}

void GgufWriter::add(const std::string& key, GgufValue value) { kv_.emplace_back(key, std::move(value)); }

void GgufWriter::addTensor(const std::string& name, std::vector<std::uint64_t> ne, DType dtype, std::vector<float> values) {
    requireWritable(dtype);
    if (product(ne) != values.size()) throw std::invalid_argument("addTensor '" + name + "': value count does not match the shape");
    Tensor t;
    t.name = name;
    t.ne = std::move(ne);
    t.dtype = dtype;
    t.ggmlType = ggmlTypeOf(dtype);
    t.values = std::move(values);
    tensors_.push_back(std::move(t));
}

void GgufWriter::addTensor(const std::string& name, std::vector<std::uint64_t> ne, DType dtype, RowFn rows) {
    requireWritable(dtype);
    if (ne.empty()) throw std::invalid_argument("addTensor '" + name + "': no dimensions");
    Tensor t;
    t.name = name;
    t.ne = std::move(ne);
    t.dtype = dtype;
    t.ggmlType = ggmlTypeOf(dtype);
    t.rows = std::move(rows);
    tensors_.push_back(std::move(t));
}

void GgufWriter::addRawTensor(const std::string& name, std::vector<std::uint64_t> ne, std::uint32_t ggmlType,
                              std::vector<std::uint8_t> bytes, std::optional<std::uint64_t> offsetOverride) {
    Tensor t;
    t.name = name;
    t.ne = std::move(ne);
    t.ggmlType = ggmlType;
    t.raw = true;
    t.rawBytes = std::move(bytes);
    t.offsetOverride = offsetOverride;
    tensors_.push_back(std::move(t));
}

std::uint64_t GgufWriter::Tensor::byteSize() const {
    if (raw) return rawBytes.size();
    auto b = dtypeBytes(dtype, product(ne));
    if (!b) throw std::invalid_argument("tensor '" + name + "': shape is not a whole number of blocks");
    return *b;
}

namespace {

void writeValueBody(GgufWriter::Sink& out, const GgufValue& v);

void writeArrayBody(GgufWriter::Sink& out, const GgufValue& v) {
    out.pod<std::uint32_t>(static_cast<std::uint32_t>(v.elemType));
    out.pod<std::uint64_t>(v.count);
    if (v.elemType == GgufType::String) {
        for (const auto& s : v.strings) out.str(s);
    } else if (v.elemType == GgufType::Array) {
        for (const auto& n : v.nested) writeArrayBody(out, n);
    } else {
        out.write(v.raw.data(), v.raw.size());
    }
}

void writeValueBody(GgufWriter::Sink& out, const GgufValue& v) {
    switch (v.type) {
        case GgufType::U8: out.pod(static_cast<std::uint8_t>(v.u)); break;
        case GgufType::I8: out.pod(static_cast<std::int8_t>(v.i)); break;
        case GgufType::U16: out.pod(static_cast<std::uint16_t>(v.u)); break;
        case GgufType::I16: out.pod(static_cast<std::int16_t>(v.i)); break;
        case GgufType::U32: out.pod(static_cast<std::uint32_t>(v.u)); break;
        case GgufType::I32: out.pod(static_cast<std::int32_t>(v.i)); break;
        case GgufType::F32: out.pod(static_cast<float>(v.f)); break;
        case GgufType::Bool: out.pod(static_cast<std::uint8_t>(v.u ? 1 : 0)); break;
        case GgufType::String: out.str(v.s); break;
        case GgufType::Array: writeArrayBody(out, v); break;
        case GgufType::U64: out.pod(static_cast<std::uint64_t>(v.u)); break;
        case GgufType::I64: out.pod(static_cast<std::int64_t>(v.i)); break;
        case GgufType::F64: out.pod(static_cast<double>(v.f)); break;
    }
}

struct CountingSink : GgufWriter::Sink {
    void put(const void*, std::size_t) override {}
};
struct BytesSink : GgufWriter::Sink {
    std::vector<std::uint8_t> bytes;
    void put(const void* p, std::size_t n) override {
        const auto* b = static_cast<const std::uint8_t*>(p);
        bytes.insert(bytes.end(), b, b + n);
    }
};
struct FileSink : GgufWriter::Sink {
    std::ofstream f;
    void put(const void* p, std::size_t n) override { f.write(static_cast<const char*>(p), static_cast<std::streamsize>(n)); }
};

}  // namespace

void GgufWriter::emit(Sink& out) const {
    out.write("GGUF", 4);
    out.pod<std::uint32_t>(version_);
    out.pod<std::uint64_t>(tensors_.size());
    out.pod<std::uint64_t>(kv_.size());
    for (const auto& [key, value] : kv_) {
        out.str(key);
        out.pod<std::uint32_t>(static_cast<std::uint32_t>(value.type));
        writeValueBody(out, value);
    }
    std::vector<std::uint64_t> offsets;
    std::uint64_t cursor = 0;
    for (const auto& t : tensors_) {
        offsets.push_back(cursor);
        cursor = alignUp(cursor + t.byteSize(), alignment_);
    }
    for (std::size_t k = 0; k < tensors_.size(); ++k) {
        const Tensor& t = tensors_[k];
        out.str(t.name);
        out.pod<std::uint32_t>(static_cast<std::uint32_t>(t.ne.size()));
        for (auto d : t.ne) out.pod<std::uint64_t>(d);
        out.pod<std::uint32_t>(t.ggmlType);
        out.pod<std::uint64_t>(t.offsetOverride.value_or(offsets[k]));
    }
    const std::uint64_t dataStart = alignUp(out.pos, alignment_);
    out.zeros(dataStart - out.pos);
    std::vector<float> rowBuf;
    std::vector<std::uint8_t> enc;
    for (std::size_t k = 0; k < tensors_.size(); ++k) {
        const Tensor& t = tensors_[k];
        out.zeros(dataStart + offsets[k] - out.pos);
        if (t.raw) {
            out.write(t.rawBytes.data(), t.rawBytes.size());
        } else if (!t.values.empty() || !t.rows) {
            enc = encodeValues(t.dtype, t.values);
            out.write(enc.data(), enc.size());
        } else {
            const std::uint64_t cols = t.ne[0];
            const std::uint64_t rows = cols ? product(t.ne) / cols : 0;
            rowBuf.assign(static_cast<std::size_t>(cols), 0.0f);
            enc.resize(static_cast<std::size_t>(*dtypeBytes(t.dtype, cols)));
            for (std::uint64_t r = 0; r < rows; ++r) {
                t.rows(r, rowBuf.data());
                encodeRow(t.dtype, rowBuf.data(), rowBuf.size(), enc.data());
                out.write(enc.data(), enc.size());
            }
        }
    }
}

GgufWriter::Layout GgufWriter::layout() const {
    Layout l;
    std::uint64_t pos = 24;
    for (const auto& [key, value] : kv_) {
        l.kvOffsets.push_back(pos);
        CountingSink c;
        c.str(key);
        c.pod<std::uint32_t>(0);
        writeValueBody(c, value);
        pos += c.pos;
    }
    std::uint64_t cursor = 0;
    std::vector<std::uint64_t> offsets;
    for (const auto& t : tensors_) {
        l.tensorInfoOffsets.push_back(pos);
        pos += 8 + t.name.size() + 4 + 8 * t.ne.size() + 4 + 8;
        offsets.push_back(cursor);
        cursor = alignUp(cursor + t.byteSize(), alignment_);
    }
    l.dataOffset = alignUp(pos, alignment_);
    for (auto o : offsets) l.tensorDataOffsets.push_back(l.dataOffset + o);
    l.fileSize = tensors_.empty() ? l.dataOffset
                                  : l.tensorDataOffsets.back() + tensors_.back().byteSize();
    return l;
}

std::vector<std::uint8_t> GgufWriter::bytes() const {
    BytesSink s;
    emit(s);
    return std::move(s.bytes);
}

Result<void> GgufWriter::write(const std::string& path) const {
    FileSink s;
    s.f.open(path, std::ios::binary | std::ios::trunc);
    if (!s.f) return makeError(ErrorKind::Io, "cannot create file", path);
    try {
        emit(s);
    } catch (const std::exception& e) {
        return makeError(ErrorKind::InvalidInput, e.what(), path);
    }
    s.f.flush();
    if (!s.f) return makeError(ErrorKind::Io, "write failed", path);
    return {};
}

// ---------------------------------------------------------------------------------------------
// safetensors

namespace {

const char* safetensorsDtypeOf(DType t) {
    switch (t) {
        case DType::F32: return "F32";
        case DType::F16: return "F16";
        case DType::BF16: return "BF16";
        default: throw std::invalid_argument(std::string("safetensors cannot store ") + dtypeName(t));
    }
}

}  // namespace

void SafetensorsWriter::add(const std::string& name, std::vector<std::int64_t> shape, DType dtype,
                            const std::vector<float>& values) {
    std::uint64_t n = 1;
    for (auto d : shape) n *= static_cast<std::uint64_t>(d);
    if (n != values.size()) throw std::invalid_argument("safetensors '" + name + "': value count does not match the shape");
    addRaw(name, safetensorsDtypeOf(dtype), std::move(shape), encodeValues(dtype, values));
}

void SafetensorsWriter::addRaw(const std::string& name, const std::string& dtype, std::vector<std::int64_t> shape,
                               std::vector<std::uint8_t> bytes) {
    tensors_.push_back(Tensor{name, dtype, std::move(shape), std::move(bytes)});
}

void SafetensorsWriter::setMetadata(const std::string& key, const std::string& value) {
    metadata_.emplace_back(key, value);
}

std::string SafetensorsWriter::headerJson() const {
    Json h = Json::object();
    if (!metadata_.empty()) {
        Json m = Json::object();
        for (const auto& [k, v] : metadata_) m[k] = v;
        h["__metadata__"] = std::move(m);
    }
    std::uint64_t cursor = 0;
    for (const auto& t : tensors_) {
        Json e = Json::object();
        e["dtype"] = t.dtype;
        Json shape = Json::array();
        for (auto d : t.shape) shape.push(static_cast<long long>(d));
        e["shape"] = std::move(shape);
        Json offs = Json::array();
        offs.push(static_cast<unsigned long long>(cursor));
        offs.push(static_cast<unsigned long long>(cursor + t.bytes.size()));
        e["data_offsets"] = std::move(offs);
        cursor += t.bytes.size();
        h.asObject().emplace_back(t.name, std::move(e));  // keep duplicates if a test adds them
    }
    std::string s = h.dump();
    while ((s.size() % 8) != 0) s += ' ';
    return s;
}

std::vector<std::uint8_t> SafetensorsWriter::bytes() const {
    std::vector<std::uint8_t> data;
    for (const auto& t : tensors_) data.insert(data.end(), t.bytes.begin(), t.bytes.end());
    return safetensorsFromParts(headerJson(), data);
}

Result<void> SafetensorsWriter::write(const std::string& path) const {
    try {
        writeBytes(path, bytes());
    } catch (const std::exception& e) {
        return makeError(ErrorKind::Io, e.what(), path);
    }
    return {};
}

std::vector<std::uint8_t> safetensorsFromParts(const std::string& header, const std::vector<std::uint8_t>& data,
                                               std::optional<std::uint64_t> lengthOverride) {
    std::vector<std::uint8_t> out(8 + header.size() + data.size());
    const std::uint64_t n = lengthOverride.value_or(header.size());
    std::memcpy(out.data(), &n, 8);
    if (!header.empty()) std::memcpy(out.data() + 8, header.data(), header.size());
    if (!data.empty()) std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
    return out;
}

// ---------------------------------------------------------------------------------------------
// Hugging Face folders

Result<void> writeHfFolder(const std::string& dirArg, const HfFolder& folder) {
    const fs::path dir(dirArg);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return makeError(ErrorKind::Io, "cannot create folder: " + ec.message(), dirArg);
    ATTN_TRY(writeFileAtomic((dir / "config.json").string(), folder.config.dump(2) + "\n"));

    const int shards = std::max(1, folder.shards);
    const std::size_t n = folder.tensors.size();
    try {
        if (shards == 1) {
            SafetensorsWriter w;
            w.setMetadata("format", "pt");
            for (const auto& t : folder.tensors) w.add(t.name, t.shape, folder.dtype, t.values);
            ATTN_TRY(w.write((dir / "model.safetensors").string()));
        } else {
            Json weightMap = Json::object();
            std::uint64_t total = 0;
            for (int s = 0; s < shards; ++s) {
                char fname[64];
                std::snprintf(fname, sizeof fname, "model-%05d-of-%05d.safetensors", s + 1, shards);
                SafetensorsWriter w;
                w.setMetadata("format", "pt");
                const std::size_t begin = n * static_cast<std::size_t>(s) / static_cast<std::size_t>(shards);
                const std::size_t end = n * static_cast<std::size_t>(s + 1) / static_cast<std::size_t>(shards);
                for (std::size_t i = begin; i < end; ++i) {
                    const auto& t = folder.tensors[i];
                    w.add(t.name, t.shape, folder.dtype, t.values);
                    weightMap[t.name] = fname;
                    total += *dtypeBytes(folder.dtype, t.values.size());
                }
                ATTN_TRY(w.write((dir / fname).string()));
            }
            Json index = Json::object();
            Json meta = Json::object();
            meta["total_size"] = static_cast<unsigned long long>(total);
            index["metadata"] = std::move(meta);
            index["weight_map"] = std::move(weightMap);
            ATTN_TRY(writeFileAtomic((dir / "model.safetensors.index.json").string(), index.dump(2) + "\n"));
        }
    } catch (const std::exception& e) {
        return makeError(ErrorKind::InvalidInput, e.what(), dirArg);
    }
    if (!folder.tokenizerModel.empty()) {
        fs::copy_file(folder.tokenizerModel, dir / "tokenizer.model", fs::copy_options::overwrite_existing, ec);
        if (ec) return makeError(ErrorKind::Io, "cannot copy tokenizer: " + ec.message(), folder.tokenizerModel);
    }
    return {};
}

Json hfConfigJson(const ModelConfig& c) {
    Json j = Json::object();
    const bool qwen = c.arch == Architecture::Qwen2;
    Json archs = Json::array();
    archs.push(qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM");
    j["architectures"] = std::move(archs);
    j["model_type"] = qwen ? "qwen2" : "llama";
    j["hidden_size"] = c.dim;
    j["intermediate_size"] = c.ffnDim;
    j["num_hidden_layers"] = c.nLayers;
    j["num_attention_heads"] = c.nHeads;
    j["num_key_value_heads"] = c.nKvHeads;
    j["head_dim"] = c.headDim;
    j["hidden_act"] = "silu";
    j["rms_norm_eps"] = static_cast<double>(c.normEps);
    j["rope_theta"] = static_cast<double>(c.ropeTheta);
    j["max_position_embeddings"] = c.contextLength;
    j["vocab_size"] = c.vocabSize;
    j["tie_word_embeddings"] = c.tiedOutput;
    if (c.ropeScaling.kind != RopeScaling::Kind::None) {
        Json rs = Json::object();
        rs["rope_type"] = c.ropeScaling.kind == RopeScaling::Kind::Linear ? "linear" : "llama3";
        rs["factor"] = static_cast<double>(c.ropeScaling.factor);
        if (c.ropeScaling.kind == RopeScaling::Kind::Llama3) {
            rs["low_freq_factor"] = static_cast<double>(c.ropeScaling.lowFreqFactor);
            rs["high_freq_factor"] = static_cast<double>(c.ropeScaling.highFreqFactor);
            rs["original_max_position_embeddings"] = c.ropeScaling.originalContextLength;
        }
        j["rope_scaling"] = std::move(rs);
    } else {
        j["rope_scaling"] = nullptr;
    }
    return j;
}

std::int64_t hfRowFromGgufRow(std::int64_t r, int headDim) {
    const std::int64_t hd = headDim, h = r / hd, within = r % hd;
    const std::int64_t i = within / 2, j = within % 2;
    return h * hd + j * (hd / 2) + i;
}

std::vector<float> tensorToFloats(const TensorView& t) {
    const auto rows = static_cast<std::size_t>(t.rows), cols = static_cast<std::size_t>(t.cols);
    std::vector<float> out(rows * cols);
    for (std::size_t r = 0; r < rows; ++r)
        dequantizeRow(t.dtype, t.row(static_cast<std::int64_t>(r)), out.data() + r * cols, cols);
    return out;
}

Result<HfFolder> hfFolderFromModel(const LoadedModel& model, DType dtype, int shards, const std::string& tokenizerModel) {
    const ModelConfig& c = model.config;
    if (c.arch != Architecture::Llama && c.arch != Architecture::Qwen2)
        return makeError(ErrorKind::Unsupported,
                         std::string("writing ") + architectureName(c.arch) + " as a Hugging Face folder is not supported");
    HfFolder f;
    f.dtype = dtype;
    f.shards = shards;
    f.tokenizerModel = tokenizerModel;
    f.config = hfConfigJson(c);
    if (model.tokenizer.bosId >= 0) f.config["bos_token_id"] = model.tokenizer.bosId;
    if (model.tokenizer.eosId >= 0) f.config["eos_token_id"] = model.tokenizer.eosId;
    f.config["torch_dtype"] = dtype == DType::BF16 ? "bfloat16" : dtype == DType::F16 ? "float16" : "float32";

    const bool unpermute = c.ropeLayout == RopeLayout::AdjacentPairs;
    auto mat = [&](const std::string& name, const TensorView& t) {
        f.tensors.push_back(HfTensor{name, {t.rows, t.cols}, tensorToFloats(t)});
    };
    auto vec = [&](const std::string& name, const TensorView& t) {
        f.tensors.push_back(HfTensor{name, {t.rows * t.cols}, tensorToFloats(t)});
    };
    // Rows of a [heads*hd][cols] matrix (cols = 1 for a bias) from adjacent-pairs to rotate-half order.
    auto rotateHalf = [&](std::vector<float> v, std::int64_t rows, std::int64_t cols) {
        if (!unpermute) return v;
        std::vector<float> out(v.size());
        for (std::int64_t r = 0; r < rows; ++r) {
            const std::int64_t dst = hfRowFromGgufRow(r, c.headDim);
            std::copy_n(v.begin() + r * cols, cols, out.begin() + dst * cols);
        }
        return out;
    };

    mat("model.embed_tokens.weight", model.weights.tokenEmbedding);
    for (int i = 0; i < c.nLayers; ++i) {
        const LayerWeights& L = model.weights.layers[static_cast<std::size_t>(i)];
        const std::string p = "model.layers." + std::to_string(i) + ".";
        vec(p + "input_layernorm.weight", L.attnNorm);
        f.tensors.push_back(HfTensor{p + "self_attn.q_proj.weight", {L.wq.rows, L.wq.cols},
                                     rotateHalf(tensorToFloats(L.wq), L.wq.rows, L.wq.cols)});
        f.tensors.push_back(HfTensor{p + "self_attn.k_proj.weight", {L.wk.rows, L.wk.cols},
                                     rotateHalf(tensorToFloats(L.wk), L.wk.rows, L.wk.cols)});
        mat(p + "self_attn.v_proj.weight", L.wv);
        mat(p + "self_attn.o_proj.weight", L.wo);
        if (L.bq.present()) {
            f.tensors.push_back(HfTensor{p + "self_attn.q_proj.bias", {L.bq.cols}, rotateHalf(tensorToFloats(L.bq), L.bq.cols, 1)});
            f.tensors.push_back(HfTensor{p + "self_attn.k_proj.bias", {L.bk.cols}, rotateHalf(tensorToFloats(L.bk), L.bk.cols, 1)});
            vec(p + "self_attn.v_proj.bias", L.bv);
        }
        vec(p + "post_attention_layernorm.weight", L.ffnNorm);
        mat(p + "mlp.gate_proj.weight", L.wGate);
        mat(p + "mlp.up_proj.weight", L.wUp);
        mat(p + "mlp.down_proj.weight", L.wDown);
    }
    vec("model.norm.weight", model.weights.outputNorm);
    if (!c.tiedOutput) mat("lm_head.weight", model.weights.output);
    return f;
}

Result<void> writeHfFolderFromModel(const LoadedModel& model, const std::string& dir, DType dtype,
                                    const std::string& tokenizerModel, int shards) {
    auto f = hfFolderFromModel(model, dtype, shards, tokenizerModel);
    if (!f) return f.takeError();
    return writeHfFolder(dir, *f);
}

// ---------------------------------------------------------------------------------------------
// Random llama GGUF

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

std::uint64_t fnv1a(const std::string& s) {
    std::uint64_t h = 0xCBF29CE484222325ull;
    for (unsigned char ch : s) h = (h ^ ch) * 0x100000001B3ull;
    return h;
}

}  // namespace

float randomWeight(std::uint64_t seed, const std::string& tensor, std::uint64_t row, std::uint64_t col, float stddev) {
    std::uint64_t x = splitmix64(splitmix64(splitmix64(seed ^ fnv1a(tensor)) ^ row) ^ col);
    const double u1 = (static_cast<double>(x >> 32) + 0.5) / 4294967296.0;
    const double u2 = (static_cast<double>(x & 0xFFFFFFFFull) + 0.5) / 4294967296.0;
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    return static_cast<float>(z * stddev);
}

Result<void> writeRandomLlamaGguf(const std::string& path, const RandomLlamaSpec& s) {
    auto bad = [&](const std::string& why) { return makeError(ErrorKind::InvalidInput, why, path); };
    if (s.dim <= 0 || s.layers <= 0 || s.heads <= 0 || s.kvHeads <= 0 || s.ffn <= 0 || s.vocab <= 0)
        return bad("every size must be positive");
    if (s.dim % s.heads != 0) return bad("heads must divide dim");
    if (s.heads % s.kvHeads != 0) return bad("kv heads must divide heads");
    if ((s.dim / s.heads) % 2 != 0) return bad("the head size must be even");
    if (s.dtype != DType::F32 && s.dtype != DType::F16 && s.dtype != DType::BF16 && s.dtype != DType::Q8_0)
        return bad(std::string("unsupported dtype ") + dtypeName(s.dtype));
    if (s.dtype == DType::Q8_0 && (s.dim % 32 != 0 || s.ffn % 32 != 0))
        return bad("Q8_0 needs dim and ffn to be multiples of 32");

    GgufWriter w(3);
    w.add("general.architecture", ggufString("llama"));
    w.add("general.name", ggufString(s.name));
    const std::uint32_t fileType = s.dtype == DType::F32 ? 0 : s.dtype == DType::F16 ? 1 : s.dtype == DType::Q8_0 ? 7 : 32;
    w.add("general.file_type", ggufU32(fileType));
    w.setAlignment(32);
    w.add("llama.context_length", ggufU32(static_cast<std::uint32_t>(s.contextLength)));
    w.add("llama.embedding_length", ggufU32(static_cast<std::uint32_t>(s.dim)));
    w.add("llama.feed_forward_length", ggufU32(static_cast<std::uint32_t>(s.ffn)));
    w.add("llama.block_count", ggufU32(static_cast<std::uint32_t>(s.layers)));
    w.add("llama.attention.head_count", ggufU32(static_cast<std::uint32_t>(s.heads)));
    w.add("llama.attention.head_count_kv", ggufU32(static_cast<std::uint32_t>(s.kvHeads)));
    w.add("llama.rope.dimension_count", ggufU32(static_cast<std::uint32_t>(s.dim / s.heads)));
    w.add("llama.rope.freq_base", ggufF32(s.ropeTheta));
    w.add("llama.attention.layer_norm_rms_epsilon", ggufF32(s.normEps));
    w.add("llama.vocab_size", ggufU32(static_cast<std::uint32_t>(s.vocab)));
    if (s.tokenizerFrom) {
        const GgufValue* tokens = s.tokenizerFrom->find("tokenizer.ggml.tokens");
        if (!tokens || !tokens->isArray()) return bad("the tokenizer source has no tokenizer.ggml.tokens");
        if (tokens->count != static_cast<std::uint64_t>(s.vocab))
            return bad("vocab " + std::to_string(s.vocab) + " differs from the tokenizer's " +
                       std::to_string(tokens->count) + " tokens");
        for (const auto& [key, value] : s.tokenizerFrom->metadata())
            if (key.rfind("tokenizer.", 0) == 0) w.add(key, value);
    }

    const std::uint64_t d = static_cast<std::uint64_t>(s.dim), f = static_cast<std::uint64_t>(s.ffn),
                        v = static_cast<std::uint64_t>(s.vocab), hd = d / static_cast<std::uint64_t>(s.heads),
                        kvd = hd * static_cast<std::uint64_t>(s.kvHeads);
    const std::uint64_t seed = s.seed;
    const float sd = s.stddev;
    auto random = [&](const std::string& name, std::uint64_t cols, std::uint64_t rows) {
        w.addTensor(name, {cols, rows}, s.dtype, [name, cols, seed, sd](std::uint64_t r, float* dst) {
            for (std::uint64_t c = 0; c < cols; ++c) dst[c] = randomWeight(seed, name, r, c, sd);
        });
    };
    auto ones = [&](const std::string& name, std::uint64_t n) {
        w.addTensor(name, {n}, DType::F32, std::vector<float>(static_cast<std::size_t>(n), 1.0f));
    };
    random("token_embd.weight", d, v);
    ones("output_norm.weight", d);
    if (!s.tiedOutput) random("output.weight", d, v);
    for (int i = 0; i < s.layers; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        ones(p + "attn_norm.weight", d);
        random(p + "attn_q.weight", d, d);
        random(p + "attn_k.weight", d, kvd);
        random(p + "attn_v.weight", d, kvd);
        random(p + "attn_output.weight", d, d);
        ones(p + "ffn_norm.weight", d);
        random(p + "ffn_gate.weight", d, f);
        random(p + "ffn_down.weight", f, d);
        random(p + "ffn_up.weight", d, f);
    }
    return w.write(path);
}

// ---------------------------------------------------------------------------------------------
// Files

std::string testModelsDir() {
    std::error_code ec;
    if (const char* env = std::getenv("ATTNSCOPE_MODELS"); env && *env && fs::is_directory(env, ec)) return env;
    return findModelsDir();
}

TempDir::TempDir(const std::string& tag) {
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string templ = (base / ("attnscope-" + tag + "-XXXXXX")).string();
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) throw std::runtime_error("cannot create a temporary folder in " + base.string());
    path_ = buf.data();
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

void writeBytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) throw std::runtime_error("cannot create " + path);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw std::runtime_error("cannot write " + path);
}

std::vector<std::uint8_t> readBytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open " + path);
    return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace attnscope::test
