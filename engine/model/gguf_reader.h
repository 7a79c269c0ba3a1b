#pragma once
// GGUF container parser (versions 2 and 3, little-endian). Reads the header, every metadata
// key/value and the tensor table from a memory-mapped file and checks them all before anything
// is used: every count and length against a cap and the bytes left (before allocating), sizes
// overflow-checked, tensor data ranges aligned, inside the file and not overlapping, no duplicate
// keys or tensor names. Knows nothing about models: the GGUF model loader gives keys meaning.
//
// File layout (all integers little-endian):
//   u32 magic "GGUF" | u32 version | u64 tensor count | u64 kv count
//   kv*:      string key | u32 value type | value
//   tensor*:  string name | u32 n_dims | u64 ne[n_dims] | u32 ggml type | u64 offset
//   padding to `general.alignment` (default 32) | tensor data (offsets relative to here)
// where string = u64 length + bytes, array value = u32 element type + u64 count + elements.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/mapped_file.h"

namespace attnscope {

// GGUF metadata value types (numbering fixed by the format).
enum class GgufType : std::uint32_t {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
};
const char* ggufTypeName(GgufType t);
// Size in bytes of one element of a fixed-size type; 0 for String and Array.
std::size_t ggufTypeSize(GgufType t);

// One metadata value. Scalars keep their exact value; arrays of fixed-size elements keep the raw
// little-endian bytes (compact for 150k-entry vocabularies), arrays of strings keep strings, and
// arrays of arrays keep nested values.
struct GgufValue {
    GgufType type = GgufType::U8;
    std::uint64_t u = 0;  // U8/U16/U32/U64/Bool
    std::int64_t i = 0;   // I8/I16/I32/I64
    double f = 0;         // F32/F64
    std::string s;        // String

    // Array (type == Array):
    GgufType elemType = GgufType::U8;
    std::uint64_t count = 0;           // number of elements
    std::vector<std::uint8_t> raw;     // fixed-size elements: count * ggufTypeSize(elemType) bytes
    std::vector<std::string> strings;  // elemType == String
    std::vector<GgufValue> nested;     // elemType == Array

    bool isArray() const { return type == GgufType::Array; }
    bool isString() const { return type == GgufType::String; }
    bool isInteger() const;  // any integer type (not Bool)
    bool isNumber() const;   // integer or float

    // Scalar conversions; nullopt when the type does not fit (e.g. a string, a negative value
    // asked as unsigned, a u64 above INT64_MAX asked as signed).
    std::optional<std::int64_t> toInt() const;
    std::optional<std::uint64_t> toUint() const;
    std::optional<double> toDouble() const;  // any number
    std::optional<bool> toBool() const;      // Bool, or an integer 0/1

    // Element `idx` of a fixed-size numeric array as double / int64 (nullopt if not numeric).
    std::optional<double> arrayNumber(std::uint64_t idx) const;
    std::optional<std::int64_t> arrayInt(std::uint64_t idx) const;

    // Short human-readable form for `info`: arrays show their type, length and first items.
    std::string display(std::size_t maxItems = 8) const;
};

struct GgufTensorInfo {
    std::string name;
    std::uint32_t nDims = 0;
    std::array<std::uint64_t, 4> ne{1, 1, 1, 1};  // ne[0] is the row length (contiguous)
    std::uint32_t ggmlType = 0;                   // raw type id from the file
    DType dtype = DType::F32;
    std::uint64_t elements = 0;
    std::uint64_t bytes = 0;
    std::uint64_t offset = 0;      // relative to the data section
    std::uint64_t fileOffset = 0;  // absolute offset of the data in the file
    std::uint64_t infoOffset = 0;  // where this tensor's info record starts (for errors)
};

// Parser caps (all generous; they exist to bound allocations on hostile input).
struct GgufLimits {
    std::uint64_t maxTensors = 1u << 20;
    std::uint64_t maxKeys = 1u << 20;
    std::uint64_t maxKeyLength = 1u << 16;
    std::uint64_t maxStringLength = 1u << 28;
    std::uint64_t maxArrayLength = 1u << 28;
    int maxArrayDepth = 8;
    std::uint64_t maxAlignment = 1u << 24;
};

class GgufFile {
public:
    static Result<GgufFile> open(const std::string& path, const GgufLimits& limits = {});
    static Result<GgufFile> parse(std::shared_ptr<const MappedFile> file, const GgufLimits& limits = {});

    const std::string& path() const { return file_->path(); }
    const std::shared_ptr<const MappedFile>& file() const { return file_; }
    std::uint32_t version() const { return version_; }
    std::uint64_t alignment() const { return alignment_; }
    std::uint64_t dataOffset() const { return dataOffset_; }  // start of the tensor data section

    // Metadata in file order, and lookup by key (nullptr when absent).
    const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
    const GgufValue* find(std::string_view key) const;
    // Byte offset where key `key`'s record starts (0 when absent): for loader errors.
    std::uint64_t keyOffset(std::string_view key) const;

    const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
    const GgufTensorInfo* findTensor(std::string_view name) const;
    // Pointer to the tensor's bytes inside the mapping (valid while the file is alive).
    const std::uint8_t* tensorData(const GgufTensorInfo& t) const { return file_->data() + t.fileOffset; }

private:
    friend class GgufParser;
    std::shared_ptr<const MappedFile> file_;
    std::uint32_t version_ = 0;
    std::uint64_t alignment_ = 32;
    std::uint64_t dataOffset_ = 0;
    std::vector<std::pair<std::string, GgufValue>> kv_;
    std::vector<std::uint64_t> kvOffsets_;
    std::unordered_map<std::string, std::size_t> kvIndex_;
    std::vector<GgufTensorInfo> tensors_;
    std::unordered_map<std::string, std::size_t> tensorIndex_;
};

}  // namespace attnscope
