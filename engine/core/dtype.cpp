#include "core/dtype.h"

#include <bit>
#include <cmath>
#include <cstring>

namespace attnscope {

namespace {
const DTypeInfo kInfo[] = {
    {"F32", 1, 4},    {"F16", 1, 2},      {"BF16", 1, 2},     {"Q8_0", 32, 34},   {"Q4_0", 32, 18},
    {"Q5_0", 32, 22}, {"Q4_K", 256, 144}, {"Q5_K", 256, 176}, {"Q6_K", 256, 210},
};

inline std::uint16_t load16(const std::uint8_t* p) {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
}  // namespace

const DTypeInfo& dtypeInfo(DType t) { return kInfo[static_cast<int>(t)]; }
const char* dtypeName(DType t) { return dtypeInfo(t).name; }

std::optional<DType> dtypeFromGgml(std::uint32_t g) {
    switch (g) {
        case 0: return DType::F32;
        case 1: return DType::F16;
        case 2: return DType::Q4_0;
        case 6: return DType::Q5_0;
        case 8: return DType::Q8_0;
        case 12: return DType::Q4_K;
        case 13: return DType::Q5_K;
        case 14: return DType::Q6_K;
        case 30: return DType::BF16;
        default: return std::nullopt;
    }
}

std::string ggmlTypeName(std::uint32_t g) {
    static const char* names[] = {"F32",     "F16",    "Q4_0",    "Q4_1",  "Q4_2",   "Q4_3",  "Q5_0",  "Q5_1",
                                  "Q8_0",    "Q8_1",   "Q2_K",    "Q3_K",  "Q4_K",   "Q5_K",  "Q6_K",  "Q8_K",
                                  "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS",
                                  "I8",      "I16",    "I32",     "I64",   "F64",    "IQ1_M", "BF16"};
    if (g < sizeof(names) / sizeof(names[0])) return names[g];
    return "type " + std::to_string(g);
}

std::optional<std::uint64_t> dtypeBytes(DType t, std::uint64_t elements) {
    const auto& info = dtypeInfo(t);
    if (elements % static_cast<std::uint64_t>(info.blockSize) != 0) return std::nullopt;
    std::uint64_t blocks = elements / static_cast<std::uint64_t>(info.blockSize);
    if (blocks > UINT64_MAX / static_cast<std::uint64_t>(info.bytesPerBlock)) return std::nullopt;
    return blocks * static_cast<std::uint64_t>(info.bytesPerBlock);
}

float f16ToF32(std::uint16_t h) {
    std::uint32_t sign = (h & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1F;
    std::uint32_t mant = h & 0x3FF;
    std::uint32_t bits;
    if (exp == 0) {
        if (mant == 0) bits = sign;
        else bits = sign | std::bit_cast<std::uint32_t>(std::ldexp(static_cast<float>(mant), -24));  // subnormal
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    return std::bit_cast<float>(bits);
}

std::uint16_t f32ToF16(float f) {
    const auto x = std::bit_cast<std::uint32_t>(f);
    std::uint32_t sign = (x >> 16) & 0x8000u;
    std::uint32_t absx = x & 0x7FFFFFFFu;
    if (absx >= 0x7F800000u) return static_cast<std::uint16_t>(sign | 0x7C00u | (absx > 0x7F800000u ? 0x200u : 0u));
    if (absx >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // overflow → inf
    if (absx < 0x38800000u) {                                                    // subnormal or zero in half
        const auto a = std::bit_cast<float>(absx);
        auto m = static_cast<std::uint32_t>(std::nearbyint(a * 16777216.0f));  // a / 2^-24
        return static_cast<std::uint16_t>(sign | m);
    }
    std::uint32_t mant = absx & 0x7FFFFFu;
    std::uint32_t exp = (absx >> 23) - 112;
    std::uint32_t h = (exp << 10) | (mant >> 13);
    std::uint32_t rest = mant & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
    return static_cast<std::uint16_t>(sign | h);
}

float bf16ToF32(std::uint16_t h) { return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16); }

std::uint16_t f32ToBf16(float f) {
    auto x = std::bit_cast<std::uint32_t>(f);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);  // quiet NaN
    x += 0x7FFFu + ((x >> 16) & 1u);
    return static_cast<std::uint16_t>(x >> 16);
}

namespace {

// Q8_0: blocks of 32: f16 scale d, then 32 int8 q; x = d * q.
void dequantQ8_0(const std::uint8_t* p, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, p += 34) {
        float d = f16ToF32(load16(p));
        const auto* q = reinterpret_cast<const std::int8_t*>(p + 2);
        for (int i = 0; i < 32; ++i) y[b * 32 + i] = d * static_cast<float>(q[i]);
    }
}

// Q4_0: blocks of 32: f16 d, 16 bytes of nibbles; low nibbles are elements 0..15, high 16..31;
// x = d * (nibble - 8).
void dequantQ4_0(const std::uint8_t* p, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, p += 18) {
        float d = f16ToF32(load16(p));
        const std::uint8_t* qs = p + 2;
        for (int i = 0; i < 16; ++i) {
            y[b * 32 + i] = d * static_cast<float>((qs[i] & 0x0F) - 8);
            y[b * 32 + i + 16] = d * static_cast<float>((qs[i] >> 4) - 8);
        }
    }
}

// Q5_0: blocks of 32: f16 d, 4 bytes qh (5th bits), 16 bytes of nibbles; x = d * (q - 16).
void dequantQ5_0(const std::uint8_t* p, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, p += 22) {
        float d = f16ToF32(load16(p));
        std::uint32_t qh;
        std::memcpy(&qh, p + 2, 4);
        const std::uint8_t* qs = p + 6;
        for (int i = 0; i < 16; ++i) {
            int lo = (qs[i] & 0x0F) | static_cast<int>(((qh >> i) & 1u) << 4);
            int hi = (qs[i] >> 4) | static_cast<int>(((qh >> (i + 16)) & 1u) << 4);
            y[b * 32 + i] = d * static_cast<float>(lo - 16);
            y[b * 32 + i + 16] = d * static_cast<float>(hi - 16);
        }
    }
}

}  // namespace

void dequantizeKQuantRow(DType t, const std::uint8_t* src, float* dst, std::size_t n);  // dtype_kquants.cpp

void dequantizeRow(DType t, const void* src, float* dst, std::size_t n) {
    const auto* p = static_cast<const std::uint8_t*>(src);
    switch (t) {
        case DType::F32: std::memcpy(dst, p, n * 4); break;
        case DType::F16:
            for (std::size_t i = 0; i < n; ++i) dst[i] = f16ToF32(load16(p + 2 * i));
            break;
        case DType::BF16:
            for (std::size_t i = 0; i < n; ++i) dst[i] = bf16ToF32(load16(p + 2 * i));
            break;
        case DType::Q8_0: dequantQ8_0(p, dst, n); break;
        case DType::Q4_0: dequantQ4_0(p, dst, n); break;
        case DType::Q5_0: dequantQ5_0(p, dst, n); break;
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K: dequantizeKQuantRow(t, p, dst, n); break;
    }
}

void quantizeRowQ8_0(const float* x, void* dst, std::size_t n) {
    auto* p = static_cast<std::uint8_t*>(dst);
    for (std::size_t b = 0; b < n / 32; ++b, p += 34) {
        float amax = 0;
        for (int i = 0; i < 32; ++i) amax = std::fmax(amax, std::fabs(x[b * 32 + i]));
        float d = amax / 127.0f;
        float id = d != 0 ? 1.0f / d : 0.0f;
        std::uint16_t dh = f32ToF16(d);
        std::memcpy(p, &dh, 2);
        auto* q = reinterpret_cast<std::int8_t*>(p + 2);
        for (int i = 0; i < 32; ++i) q[i] = static_cast<std::int8_t>(std::lround(x[b * 32 + i] * id));
    }
}

}  // namespace attnscope
