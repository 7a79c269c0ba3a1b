#pragma once
// Test helpers that WRITE model files: GGUF (any metadata, F32/F16/BF16/Q8_0 or raw tensors,
// chosen version and alignment), safetensors files and Hugging Face folders, plus a random-weight
// llama GGUF generator. Used to build the corrupt-file catalogue and synthetic models.
//
// Misuse (an unsupported dtype, a value count that does not match the shape) throws
// std::invalid_argument: these are test tools, not engine code.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/json.h"
#include "model/gguf_reader.h"
#include "model/loaded_model.h"

namespace attnscope::test {

// ---------------------------------------------------------------------------------------------
// GGUF values
GgufValue ggufU8(std::uint8_t v);
GgufValue ggufI8(std::int8_t v);
GgufValue ggufU16(std::uint16_t v);
GgufValue ggufI16(std::int16_t v);
GgufValue ggufU32(std::uint32_t v);
GgufValue ggufI32(std::int32_t v);
GgufValue ggufU64(std::uint64_t v);
GgufValue ggufI64(std::int64_t v);
GgufValue ggufF32(float v);
GgufValue ggufF64(double v);
GgufValue ggufBool(bool v);
GgufValue ggufString(std::string v);
GgufValue ggufStringArray(std::vector<std::string> v);
GgufValue ggufF32Array(const std::vector<float>& v);
GgufValue ggufI32Array(const std::vector<std::int32_t>& v);
GgufValue ggufU32Array(const std::vector<std::uint32_t>& v);
// Array of arrays (each element must itself be an array value).
GgufValue ggufNestedArray(std::vector<GgufValue> arrays);

// ggml type id of a DType (F32 0, F16 1, Q8_0 8, BF16 30, ...).
std::uint32_t ggmlTypeOf(DType t);

// ---------------------------------------------------------------------------------------------
// GGUF writer. Metadata and tensors are written in the order added; nothing is de-duplicated or
// validated, so corrupt files are easy to make. Tensor data is laid out contiguously, each
// tensor aligned, starting at the aligned end of the tensor infos.
class GgufWriter {
public:
    // Produces row `row` (ne0 floats) of a tensor at write time, so large tensors are streamed.
    using RowFn = std::function<void(std::uint64_t row, float* dst)>;

    explicit GgufWriter(std::uint32_t version = 3) : version_(version) {}

    void setVersion(std::uint32_t v) { version_ = v; }
    // Data alignment used for the layout. The `general.alignment` key is written only when
    // writeKey is true (readers default to 32 without it).
    void setAlignment(std::uint64_t alignment, bool writeKey = true);

    void add(const std::string& key, GgufValue value);

    // ne in GGUF order (ne[0] = row length); `values` hold product(ne) floats, rows of ne[0].
    // dtype: F32, F16, BF16 or Q8_0 (ne[0] a multiple of 32).
    void addTensor(const std::string& name, std::vector<std::uint64_t> ne, DType dtype, std::vector<float> values);
    void addTensor(const std::string& name, std::vector<std::uint64_t> ne, DType dtype, RowFn rows);
    // Bytes as given with any ggml type id. `offsetOverride` replaces only the offset recorded in
    // the tensor info (the bytes stay where the normal layout puts them).
    void addRawTensor(const std::string& name, std::vector<std::uint64_t> ne, std::uint32_t ggmlType,
                      std::vector<std::uint8_t> bytes, std::optional<std::uint64_t> offsetOverride = {});

    struct Layout {
        std::uint64_t versionOffset = 4, tensorCountOffset = 8, kvCountOffset = 16;
        std::vector<std::uint64_t> kvOffsets;          // start of each key/value record
        std::vector<std::uint64_t> tensorInfoOffsets;  // start of each tensor info record
        std::uint64_t dataOffset = 0;                  // aligned start of the data section
        std::vector<std::uint64_t> tensorDataOffsets;  // absolute start of each tensor's bytes
        std::uint64_t fileSize = 0;
    };
    Layout layout() const;

    std::vector<std::uint8_t> bytes() const;               // the whole file in memory
    Result<void> write(const std::string& path) const;     // streamed to disk

    struct Sink;  // output stream used internally by bytes() / write()

private:
    struct Tensor {
        std::string name;
        std::vector<std::uint64_t> ne;
        std::uint32_t ggmlType = 0;
        DType dtype = DType::F32;
        bool raw = false;
        std::vector<std::uint8_t> rawBytes;
        std::vector<float> values;
        RowFn rows;
        std::optional<std::uint64_t> offsetOverride;
        std::uint64_t byteSize() const;
    };
    void emit(Sink& out) const;

    std::uint32_t version_;
    std::uint64_t alignment_ = 32;
    std::vector<std::pair<std::string, GgufValue>> kv_;
    std::vector<Tensor> tensors_;
};

// ---------------------------------------------------------------------------------------------
// safetensors writer: header in insertion order, data contiguous, header padded with spaces to a
// multiple of 8 bytes.
class SafetensorsWriter {
public:
    // shape outermost first; values row-major; dtype F32, F16 or BF16.
    void add(const std::string& name, std::vector<std::int64_t> shape, DType dtype, const std::vector<float>& values);
    // Any dtype string with the bytes as given (for corrupt or unsupported cases).
    void addRaw(const std::string& name, const std::string& dtype, std::vector<std::int64_t> shape,
                std::vector<std::uint8_t> bytes);
    void setMetadata(const std::string& key, const std::string& value);

    std::string headerJson() const;
    std::vector<std::uint8_t> bytes() const;
    Result<void> write(const std::string& path) const;
    std::size_t size() const { return tensors_.size(); }

private:
    struct Tensor {
        std::string name, dtype;
        std::vector<std::int64_t> shape;
        std::vector<std::uint8_t> bytes;
    };
    std::vector<Tensor> tensors_;
    std::vector<std::pair<std::string, std::string>> metadata_;
};

// A safetensors file from a literal header text and data bytes; `lengthOverride` replaces the
// u64 header length (for corrupt-header tests).
std::vector<std::uint8_t> safetensorsFromParts(const std::string& header, const std::vector<std::uint8_t>& data,
                                               std::optional<std::uint64_t> lengthOverride = {});

// ---------------------------------------------------------------------------------------------
// Hugging Face folders.
struct HfTensor {
    std::string name;                 // e.g. "model.layers.0.self_attn.q_proj.weight"
    std::vector<std::int64_t> shape;  // [out][in] for matrices, [n] for vectors
    std::vector<float> values;        // row-major
};

struct HfFolder {
    Json config;                      // written as config.json
    std::vector<HfTensor> tensors;
    DType dtype = DType::F32;         // storage type of every tensor: F32, F16 or BF16
    int shards = 1;                   // > 1: model-0000i-of-0000N.safetensors + model.safetensors.index.json
    std::string tokenizerModel;       // when not empty, this file is copied to tokenizer.model
};

// Creates `dir` (and parents) and writes the folder.
Result<void> writeHfFolder(const std::string& dir, const HfFolder& folder);

// config.json for a llama-family ModelConfig (model_type "llama"; qwen2 → "qwen2").
Json hfConfigJson(const ModelConfig& config);

// The Hugging Face form of a loaded llama/qwen2 model: HF tensor names, every tensor dequantised
// to float, config.json from the config. When the model uses AdjacentPairs RoPE (llama GGUF),
// Q and K rows (and biases) are put back in rotate-half order, the inverse of llama.cpp's
// convert permute. Within each head of size hd (q: nHeads heads, k: nKvHeads heads):
//     HF row  h*hd + j*(hd/2) + i   =   GGUF row  h*hd + 2*i + j        (i < hd/2, j ∈ {0, 1})
// i.e. HF order lists the first element of every rotary pair, then every second element.
Result<HfFolder> hfFolderFromModel(const LoadedModel& model, DType dtype = DType::F32, int shards = 1,
                                   const std::string& tokenizerModel = {});
Result<void> writeHfFolderFromModel(const LoadedModel& model, const std::string& dir, DType dtype = DType::F32,
                                    const std::string& tokenizerModel = {}, int shards = 1);

// Row index maps for the permutation above (hd even): GGUF (adjacent-pairs) row → HF row.
std::int64_t hfRowFromGgufRow(std::int64_t ggufRow, int headDim);

// Any tensor view as float32 (rows × cols, row-major).
std::vector<float> tensorToFloats(const TensorView& t);

// ---------------------------------------------------------------------------------------------
// Random-weight llama GGUF (architecture "llama", AdjacentPairs layout). Matrices ~ N(0, stddev²)
// from a counter-based generator (same seed → same file on every platform), norms = 1. Written
// row by row, never holding a whole tensor.
struct RandomLlamaSpec {
    std::string name = "random-llama";
    int dim = 64, layers = 2, heads = 4, kvHeads = 4, ffn = 128, vocab = 256;
    int contextLength = 2048;
    float ropeTheta = 10000.0f, normEps = 1e-5f, stddev = 0.02f;
    DType dtype = DType::F32;         // matrices: F32, F16, BF16 or Q8_0 (norms are always F32)
    bool tiedOutput = false;          // true: no output.weight
    std::uint64_t seed = 1;
    const GgufFile* tokenizerFrom = nullptr;  // copy every tokenizer.ggml.* key; vocab must equal its token count
};
Result<void> writeRandomLlamaGguf(const std::string& path, const RandomLlamaSpec& spec);
// The value the generator puts at (tensor, row, col): exposed so tests can check a file.
float randomWeight(std::uint64_t seed, const std::string& tensor, std::uint64_t row, std::uint64_t col, float stddev);

// The shared models folder for tests: $ATTNSCOPE_MODELS (set by CTest) or findModelsDir();
// empty when neither exists.
std::string testModelsDir();

// A fresh empty temporary folder (under $TMPDIR or /tmp) named after `tag`, removed with
// everything in it when this object goes (a `static` one goes at exit). Tests write their model
// files here, so a run leaves nothing behind.
class TempDir {
public:
    explicit TempDir(const std::string& tag);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};
// Writes bytes to a file (creating it); throws std::runtime_error on failure.
void writeBytes(const std::string& path, const std::vector<std::uint8_t>& bytes);
std::vector<std::uint8_t> readBytes(const std::string& path);

}  // namespace attnscope::test
