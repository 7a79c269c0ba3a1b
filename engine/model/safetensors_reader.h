#pragma once
// safetensors container parser. Layout:
//   u64 little-endian N | N bytes of JSON header | data section
// The header maps tensor names to {"dtype", "shape", "data_offsets": [begin, end)} with offsets
// relative to the data section; "__metadata__" (string → string) is ignored. Checks: N against a
// cap and the file size, the JSON shape, dtypes (F32/F16/BF16; others are Unsupported), sizes
// equal to product(shape) × element size (overflow-checked), ranges inside the file and not
// overlapping, no duplicate names. Memory-mapped; tensor bytes are never copied.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/mapped_file.h"

namespace attnscope {

struct SafetensorsTensor {
    std::string name;
    std::string dtypeName;  // as written in the header, e.g. "BF16"
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;  // outermost first; row-major, last dim contiguous
    std::uint64_t elements = 0;
    std::uint64_t begin = 0, end = 0;  // [begin, end) relative to the data section
    std::uint64_t fileOffset = 0;      // absolute offset of the first byte
    std::uint64_t bytes() const { return end - begin; }
};

struct SafetensorsLimits {
    std::uint64_t maxHeaderBytes = 100ull << 20;
    std::size_t maxDims = 8;
};

class SafetensorsFile {
public:
    static Result<SafetensorsFile> open(const std::string& path, const SafetensorsLimits& limits = {});
    static Result<SafetensorsFile> parse(std::shared_ptr<const MappedFile> file, const SafetensorsLimits& limits = {});

    const std::string& path() const { return file_->path(); }
    const std::shared_ptr<const MappedFile>& file() const { return file_; }
    std::uint64_t headerBytes() const { return headerBytes_; }
    std::uint64_t dataOffset() const { return 8 + headerBytes_; }

    const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }  // header order
    const SafetensorsTensor* findTensor(std::string_view name) const;
    const std::uint8_t* tensorData(const SafetensorsTensor& t) const { return file_->data() + t.fileOffset; }

private:
    std::shared_ptr<const MappedFile> file_;
    std::uint64_t headerBytes_ = 0;
    std::vector<SafetensorsTensor> tensors_;
    std::unordered_map<std::string, std::size_t> index_;
};

// Element size in bytes of a safetensors dtype name, 0 when unknown.
std::size_t safetensorsDtypeSize(std::string_view dtype);

}  // namespace attnscope
