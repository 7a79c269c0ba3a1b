#pragma once
// Element types of weight tensors and how to turn a row of them into float32.
// Quantised types are stored in blocks: a row of n elements takes n / blockSize blocks.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace attnscope {

enum class DType : std::uint8_t { F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K };

struct DTypeInfo {
    const char* name;
    int blockSize;      // elements per block (1 for plain types)
    int bytesPerBlock;  // bytes per block
};

const DTypeInfo& dtypeInfo(DType t);
const char* dtypeName(DType t);
// GGUF/ggml type id → DType (nullopt for types we do not read).
std::optional<DType> dtypeFromGgml(std::uint32_t ggmlType);
std::string ggmlTypeName(std::uint32_t ggmlType);  // for error messages, e.g. "Q3_K"

// Bytes needed for `elements` values (elements must be a multiple of the block size);
// nullopt on overflow or a partial block.
std::optional<std::uint64_t> dtypeBytes(DType t, std::uint64_t elements);

float f16ToF32(std::uint16_t h);
std::uint16_t f32ToF16(float f);
float bf16ToF32(std::uint16_t h);
std::uint16_t f32ToBf16(float f);  // round to nearest even

// Convert `n` consecutive elements starting at `src` (which must start on a block boundary)
// into float32. n must be a multiple of the block size.
void dequantizeRow(DType t, const void* src, float* dst, std::size_t n);

// Quantise float32 to Q8_0 (used by tests and the random-model generator).
void quantizeRowQ8_0(const float* src, void* dst, std::size_t n);

}  // namespace attnscope
