// K-quant block formats (Q4_K, Q5_K, Q6_K) → float32, as GGML lays them out.
//
// Every K-quant block ("super-block") holds 256 elements. Multi-byte fields are little-endian.
//
// Q4_K, 144 bytes: f16 d | f16 dmin | scales[12] | qs[128]
//   8 sub-blocks of 32 elements, each with a 6-bit scale sc and a 6-bit min m packed in scales[]
//   (see unpackScaleMin). qs holds 4-bit quants: bytes 32k..32k+31 carry sub-block 2k in their
//   low nibbles and sub-block 2k+1 in their high nibbles.
//   x = (d * sc) * q - (dmin * m)
// Q5_K, 176 bytes: f16 d | f16 dmin | scales[12] | qh[32] | qs[128]
//   As Q4_K, plus a fifth bit per element: element l of sub-block s has bit s of qh[l].
//   x = (d * sc) * (q4 | hbit << 4) - (dmin * m)
// Q6_K, 210 bytes: ql[128] | qh[64] | int8 scales[16] | f16 d
//   Two halves of 128 elements; half h uses ql[64h..64h+63], qh[32h..32h+31], scales[8h..8h+7].
//   Within a half, for l in 0..31:
//     element l      : low nibble of ql[l]      | bits 0-1 of qh[l] << 4
//     element l + 32 : low nibble of ql[l + 32] | bits 2-3 of qh[l] << 4
//     element l + 64 : high nibble of ql[l]     | bits 4-5 of qh[l] << 4
//     element l + 96 : high nibble of ql[l + 32]| bits 6-7 of qh[l] << 4
//   Each 16 consecutive elements share one int8 scale; x = (d * scale) * (q6 - 32).
//
// The arithmetic order matches ggml's reference dequantisers (float32 throughout), so results
// are bit-identical to them when the compiler does not contract a*b - c into a fused multiply-add.
#include <cstring>

#include "core/dtype.h"

namespace attnscope {

namespace {

constexpr std::size_t kQK = 256;  // elements per K-quant super-block

inline float loadF16(const std::uint8_t* p) {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return f16ToF32(v);
}

// The 12-byte scales field of Q4_K/Q5_K packs eight 6-bit scales and eight 6-bit mins:
//   bytes 0..3 : low 6 bits = scale j (j = 0..3), top 2 bits = high bits of scale j + 4
//   bytes 4..7 : low 6 bits = min j,              top 2 bits = high bits of min j + 4
//   bytes 8..11: low nibble = low 4 bits of scale j + 4, high nibble = low 4 bits of min j + 4
inline void unpackScaleMin(const std::uint8_t* s, int j, std::uint8_t& sc, std::uint8_t& m) {
    if (j < 4) {
        sc = s[j] & 63;
        m = s[j + 4] & 63;
    } else {
        sc = static_cast<std::uint8_t>((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4));
        m = static_cast<std::uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

// Effective scale and min of sub-blocks 2*pair and 2*pair+1: x = d0 * q - min0 (resp. d1, min1).
struct PairScales {
    float d0, min0, d1, min1;
};
inline PairScales pairScales(float d, float dmin, const std::uint8_t* scales, int pair) {
    std::uint8_t sc0, m0, sc1, m1;
    unpackScaleMin(scales, 2 * pair, sc0, m0);
    unpackScaleMin(scales, 2 * pair + 1, sc1, m1);
    return {d * static_cast<float>(sc0), dmin * static_cast<float>(m0), d * static_cast<float>(sc1),
            dmin * static_cast<float>(m1)};
}

// Q4_K and Q5_K: blocks of `BlockBytes` starting f16 d | f16 dmin | scales[12], 8 sub-blocks
// taken in pairs. quants(block, pair, l) returns the two quants of element l of sub-blocks
// 2*pair and 2*pair+1.
template <std::size_t BlockBytes, typename Quants>
void dequantScaleMinBlocks(const std::uint8_t* p, float* y, std::size_t n, Quants quants) {
    for (std::size_t b = 0; b < n / kQK; ++b, p += BlockBytes) {
        const float d = loadF16(p);
        const float dmin = loadF16(p + 2);
        float* out = y + b * kQK;
        for (int pair = 0; pair < 4; ++pair) {
            const PairScales s = pairScales(d, dmin, p + 4, pair);
            for (int l = 0; l < 32; ++l) {
                const auto [v0, v1] = quants(p, pair, l);
                out[64 * pair + l] = s.d0 * static_cast<float>(v0) - s.min0;
                out[64 * pair + 32 + l] = s.d1 * static_cast<float>(v1) - s.min1;
            }
        }
    }
}

struct QuantPair {
    int v0, v1;
};

void dequantQ4_K(const std::uint8_t* p, float* y, std::size_t n) {
    dequantScaleMinBlocks<144>(p, y, n, [](const std::uint8_t* block, int pair, int l) {
        const std::uint8_t q = block[16 + 32 * pair + l];  // qs: low nibble sub-block 2*pair, high 2*pair+1
        return QuantPair{q & 0x0F, q >> 4};
    });
}

void dequantQ5_K(const std::uint8_t* p, float* y, std::size_t n) {
    dequantScaleMinBlocks<176>(p, y, n, [](const std::uint8_t* block, int pair, int l) {
        const std::uint8_t q = block[48 + 32 * pair + l];  // qs as Q4_K
        const std::uint8_t h = block[16 + l];              // qh: bit s is the fifth bit of sub-block s
        return QuantPair{(q & 0x0F) | (((h >> (2 * pair)) & 1) << 4), (q >> 4) | (((h >> (2 * pair + 1)) & 1) << 4)};
    });
}

void dequantQ6_K(const std::uint8_t* p, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / kQK; ++b, p += 210) {
        const std::uint8_t* ql = p;
        const std::uint8_t* qh = p + 128;
        const auto* sc = reinterpret_cast<const std::int8_t*>(p + 192);
        const float d = loadF16(p + 208);
        float* out = y + b * kQK;
        for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, out += 128) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                out[l] = (d * static_cast<float>(sc[is + 0])) * static_cast<float>(q1);
                out[l + 32] = (d * static_cast<float>(sc[is + 2])) * static_cast<float>(q2);
                out[l + 64] = (d * static_cast<float>(sc[is + 4])) * static_cast<float>(q3);
                out[l + 96] = (d * static_cast<float>(sc[is + 6])) * static_cast<float>(q4);
            }
        }
    }
}

}  // namespace

// Called by dequantizeRow (dtype.cpp) for the K-quant types; n is a multiple of 256.
void dequantizeKQuantRow(DType t, const std::uint8_t* src, float* dst, std::size_t n) {
    switch (t) {
        case DType::Q4_K: dequantQ4_K(src, dst, n); return;
        case DType::Q5_K: dequantQ5_K(src, dst, n); return;
        case DType::Q6_K: dequantQ6_K(src, dst, n); return;
        default: std::memset(dst, 0, n * sizeof(float)); return;  // not a K-quant: unreachable
    }
}

}  // namespace attnscope
