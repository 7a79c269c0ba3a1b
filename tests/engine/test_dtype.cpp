// Element types: f16/bf16 conversions (exhaustive where cheap), block sizes, and every quantised
// block format against fixtures dequantised by the gguf package's reference implementation
// (tests/data/kquants.json, made by tests/reference/make_kquant_fixtures.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/json.h"

namespace attnscope {
namespace {

std::string testDataDir() {
    const char* env = std::getenv("ATTNSCOPE_TEST_DATA");
    return env && *env ? std::string(env) : std::string("tests/data");
}

float bitsToFloat(std::uint32_t u) { return std::bit_cast<float>(u); }
std::uint32_t floatToBits(float f) { return std::bit_cast<std::uint32_t>(f); }

std::vector<std::uint8_t> fromHex(const std::string& hex) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::vector<std::uint8_t> out;
    if (hex.size() % 2 != 0) return out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
        if (hi < 0 || lo < 0) return {};
        out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
    }
    return out;
}

std::optional<DType> dtypeByName(const std::string& name) {
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q4_K,
                    DType::Q5_K, DType::Q6_K})
        if (name == dtypeName(t)) return t;
    return std::nullopt;
}

// Independent reference for f16 → f32: value = (-1)^s · 2^(e-15) · (1 + m/1024), subnormals
// 2^-24 · m.
double f16Reference(std::uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 0x1F, m = h & 0x3FF;
    double v;
    if (e == 0) v = std::ldexp(static_cast<double>(m), -24);
    else if (e == 31) v = m ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
    else v = std::ldexp(1024.0 + m, e - 25);
    return s ? -v : v;
}

// ------------------------------------------------------------------------------------------
// Block formats against the fixture

TEST(DType, BlockLayoutsMatchGgml) {
    struct Row { DType t; int block, bytes; };
    for (Row r : {Row{DType::F32, 1, 4}, Row{DType::F16, 1, 2}, Row{DType::BF16, 1, 2}, Row{DType::Q8_0, 32, 34},
                  Row{DType::Q4_0, 32, 18}, Row{DType::Q5_0, 32, 22}, Row{DType::Q4_K, 256, 144},
                  Row{DType::Q5_K, 256, 176}, Row{DType::Q6_K, 256, 210}}) {
        EXPECT_EQ(dtypeInfo(r.t).blockSize, r.block) << dtypeName(r.t);
        EXPECT_EQ(dtypeInfo(r.t).bytesPerBlock, r.bytes) << dtypeName(r.t);
    }
}

TEST(DType, QuantFixturesMatchReference) {
    const std::string path = testDataDir() + "/kquants.json";
    auto doc = Json::parseFile(path);
    ASSERT_TRUE(doc.ok()) << doc.error().describe();
    const Json* cases = doc->find("cases");
    ASSERT_TRUE(cases && cases->isArray()) << path;
    ASSERT_GE(cases->size(), 6u);

    std::map<std::string, int> perType;
    for (const Json& c : cases->asArray()) {
        const std::string typeName = c.find("type")->asString();
        const std::string label = typeName + " / " + c.find("name")->asString();
        auto t = dtypeByName(typeName);
        ASSERT_TRUE(t.has_value()) << label;
        const auto n = static_cast<std::size_t>(c.find("elements")->asInt());
        const auto bytes = fromHex(c.find("bytes")->asString());
        const auto expectedBytes = fromHex(c.find("expected")->asString());
        ASSERT_EQ(dtypeBytes(*t, n), std::optional<std::uint64_t>(bytes.size())) << label;
        ASSERT_EQ(expectedBytes.size(), n * 4) << label;

        std::vector<float> expected(n);
        float rowMax = 0;
        for (std::size_t i = 0; i < n; ++i) {
            std::uint32_t u = static_cast<std::uint32_t>(expectedBytes[4 * i]) << 24 |
                              static_cast<std::uint32_t>(expectedBytes[4 * i + 1]) << 16 |
                              static_cast<std::uint32_t>(expectedBytes[4 * i + 2]) << 8 | expectedBytes[4 * i + 3];
            expected[i] = bitsToFloat(u);
            rowMax = std::max(rowMax, std::fabs(expected[i]));
        }

        // Source copied to an odd address: the dequantisers must not assume alignment.
        std::vector<std::uint8_t> shifted(bytes.size() + 1);
        std::memcpy(shifted.data() + 1, bytes.data(), bytes.size());
        std::vector<float> got(n, std::numeric_limits<float>::quiet_NaN());
        dequantizeRow(*t, shifted.data() + 1, got.data(), n);

        // Bit-identical unless the compiler fused a*b - c into an FMA; then within 1e-6 of the
        // row's magnitude (the subtraction in Q4_K/Q5_K can cancel, so plain relative error on
        // a near-zero result says nothing).
        int inexact = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (floatToBits(got[i]) == floatToBits(expected[i])) continue;
            ++inexact;
            const float tol = 1e-6f * std::max(std::fabs(expected[i]), rowMax);
            ASSERT_LE(std::fabs(got[i] - expected[i]), tol)
                << label << " element " << i << ": got " << got[i] << ", expected " << expected[i];
        }
        if (inexact > 0) std::printf("%s: %d of %zu values within tolerance, not bit-identical\n", label.c_str(), inexact, n);
        ++perType[typeName];
    }
    for (const char* name : {"Q8_0", "Q4_0", "Q5_0", "Q4_K", "Q5_K", "Q6_K"})
        EXPECT_GE(perType[name], 3) << "fixture lacks cases for " << name;
}

// A hand-built Q4_K block whose values can be worked out on paper: checks the scale/min unpacking
// for sub-blocks 4..7 (the split 6-bit fields) independently of the fixture.
TEST(DType, Q4KHandBuiltBlock) {
    std::uint8_t blk[144] = {};
    const std::uint16_t one = f32ToF16(1.0f), half = f32ToF16(0.5f);
    std::memcpy(blk, &one, 2);       // d = 1
    std::memcpy(blk + 2, &half, 2);  // dmin = 0.5
    std::uint8_t* s = blk + 4;
    // scale j = j + 1 for j < 4 (low 6 bits of bytes 0..3); min j = 2j for j < 4 (bytes 4..7).
    // scale 4..7 = 33, 34, 35, 36 (high 2 bits: 0b10 in bytes 0..3 top bits, low 4 bits in 8..11)
    // min 4..7 = 49, 50, 51, 52 (high 2 bits: 0b11 in bytes 4..7 top bits, high nibble of 8..11)
    for (int j = 0; j < 4; ++j) {
        int sc = 33 + j, mn = 49 + j;
        s[j] = static_cast<std::uint8_t>((j + 1) | ((sc >> 4) << 6));
        s[j + 4] = static_cast<std::uint8_t>((2 * j) | ((mn >> 4) << 6));
        s[j + 8] = static_cast<std::uint8_t>((sc & 0x0F) | ((mn & 0x0F) << 4));
    }
    // quants: low nibble 3, high nibble 7 everywhere
    std::memset(blk + 16, 0x73, 128);
    std::vector<float> y(256);
    dequantizeRow(DType::Q4_K, blk, y.data(), 256);
    const int scales[8] = {1, 2, 3, 4, 33, 34, 35, 36};
    const int mins[8] = {0, 2, 4, 6, 49, 50, 51, 52};
    for (int sub = 0; sub < 8; ++sub) {
        const int q = (sub % 2 == 0) ? 3 : 7;
        const float want = static_cast<float>(scales[sub] * q) - 0.5f * static_cast<float>(mins[sub]);
        for (int l = 0; l < 32; ++l) ASSERT_EQ(y[32 * sub + l], want) << "sub-block " << sub << " element " << l;
    }
}

TEST(DType, Q8_0QuantiseRoundTrip) {
    std::mt19937 rng(7);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(128);
    for (float& v : x) v = dist(rng);
    std::vector<std::uint8_t> q(*dtypeBytes(DType::Q8_0, x.size()));
    quantizeRowQ8_0(x.data(), q.data(), x.size());
    std::vector<float> y(x.size());
    dequantizeRow(DType::Q8_0, q.data(), y.data(), y.size());
    for (std::size_t b = 0; b < x.size() / 32; ++b) {
        float amax = 0;
        for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
        for (int i = 0; i < 32; ++i) EXPECT_NEAR(y[b * 32 + i], x[b * 32 + i], amax / 127.0f * 0.51f + 1e-3f * amax);
    }
}

TEST(DType, PlainRowsDequantise) {
    const float src32[3] = {1.5f, -0.0f, 3e-40f};
    float out[3];
    dequantizeRow(DType::F32, src32, out, 3);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(floatToBits(out[i]), floatToBits(src32[i]));

    const std::uint16_t h[4] = {0x3C00, 0xC000, 0x0001, 0x7C00};
    float outh[4];
    dequantizeRow(DType::F16, h, outh, 4);
    EXPECT_EQ(outh[0], 1.0f);
    EXPECT_EQ(outh[1], -2.0f);
    EXPECT_EQ(outh[2], std::ldexp(1.0f, -24));
    EXPECT_EQ(outh[3], std::numeric_limits<float>::infinity());

    const std::uint16_t b[3] = {0x3F80, 0xC040, 0x0001};
    float outb[3];
    dequantizeRow(DType::BF16, b, outb, 3);
    EXPECT_EQ(outb[0], 1.0f);
    EXPECT_EQ(outb[1], -3.0f);
    EXPECT_EQ(floatToBits(outb[2]), 0x00010000u);
}

// ------------------------------------------------------------------------------------------
// f16

TEST(DType, F16ToF32AllPatterns) {
    for (std::uint32_t u = 0; u < 0x10000; ++u) {
        const auto h = static_cast<std::uint16_t>(u);
        const float f = f16ToF32(h);
        const double ref = f16Reference(h);
        if (std::isnan(ref)) {
            ASSERT_TRUE(std::isnan(f)) << std::hex << u;
            ASSERT_EQ(std::signbit(f), (u & 0x8000u) != 0) << std::hex << u;
            continue;
        }
        ASSERT_EQ(static_cast<double>(f), ref) << std::hex << u;
        ASSERT_EQ(std::signbit(f), (u & 0x8000u) != 0) << std::hex << u;  // -0 keeps its sign
    }
}

TEST(DType, F16RoundTripsEveryPattern) {
    for (std::uint32_t u = 0; u < 0x10000; ++u) {
        const auto h = static_cast<std::uint16_t>(u);
        const std::uint16_t back = f32ToF16(f16ToF32(h));
        const bool nan = ((u >> 10) & 0x1F) == 31 && (u & 0x3FF) != 0;
        if (nan) {
            ASSERT_EQ(back & 0x7C00u, 0x7C00u) << std::hex << u;
            ASSERT_NE(back & 0x3FFu, 0u) << std::hex << u << " NaN became infinity";
            ASSERT_EQ(back & 0x8000u, u & 0x8000u) << std::hex << u;
        } else {
            ASSERT_EQ(back, h) << std::hex << u;
        }
    }
}

// Nearest f16 by search over all finite f16 values (ties to the even pattern), as an independent
// reference for f32ToF16 on arbitrary floats.
std::uint16_t f16Nearest(float f) {
    static const std::vector<double> positives = [] {
        std::vector<double> v;
        for (std::uint32_t u = 0; u < 0x7C00; ++u) v.push_back(f16Reference(static_cast<std::uint16_t>(u)));
        return v;  // ascending with the bit pattern
    }();
    const std::uint16_t sign = std::signbit(f) ? 0x8000 : 0;
    const double a = std::fabs(static_cast<double>(f));
    if (std::isinf(a)) return sign | 0x7C00;
    // Largest f16 is 65504; the midpoint to the next (unrepresentable) step 65536 rounds to inf.
    if (a >= 65520.0) return sign | 0x7C00;
    auto it = std::lower_bound(positives.begin(), positives.end(), a);
    std::size_t hi = static_cast<std::size_t>(it - positives.begin());
    if (hi == positives.size()) return sign | 0x7BFF;
    if (positives[hi] == a || hi == 0) return static_cast<std::uint16_t>(sign | hi);
    const std::size_t lo = hi - 1;
    const double dlo = a - positives[lo], dhi = positives[hi] - a;
    std::size_t pick = dlo < dhi ? lo : dhi < dlo ? hi : (lo % 2 == 0 ? lo : hi);
    return static_cast<std::uint16_t>(sign | pick);
}

TEST(DType, F32ToF16MatchesNearestOnRandomFloats) {
    std::mt19937 rng(12345);
    // Exponents around the f16 range (subnormals through overflow) and random mantissas.
    std::uniform_int_distribution<std::uint32_t> exp(127 - 30, 127 + 17), mant(0, 0x7FFFFF), sign(0, 1);
    for (int i = 0; i < 300000; ++i) {
        const std::uint32_t bits = sign(rng) << 31 | exp(rng) << 23 | mant(rng);
        const float f = bitsToFloat(bits);
        ASSERT_EQ(f32ToF16(f), f16Nearest(f)) << std::hex << bits << " (" << f << ")";
    }
}

TEST(DType, F16EdgeCases) {
    const float inf = std::numeric_limits<float>::infinity();
    EXPECT_EQ(f32ToF16(0.0f), 0x0000);
    EXPECT_EQ(f32ToF16(-0.0f), 0x8000);
    EXPECT_EQ(f32ToF16(1.0f), 0x3C00);
    EXPECT_EQ(f32ToF16(-2.0f), 0xC000);
    EXPECT_EQ(f32ToF16(65504.0f), 0x7BFF);          // largest finite
    EXPECT_EQ(f32ToF16(65519.99f), 0x7BFF);         // below the midpoint to 65536
    EXPECT_EQ(f32ToF16(65520.0f), 0x7C00);          // midpoint rounds (to even) to infinity
    EXPECT_EQ(f32ToF16(1e10f), 0x7C00);
    EXPECT_EQ(f32ToF16(-1e10f), 0xFC00);
    EXPECT_EQ(f32ToF16(inf), 0x7C00);
    EXPECT_EQ(f32ToF16(-inf), 0xFC00);
    EXPECT_EQ(f32ToF16(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
    EXPECT_EQ(f32ToF16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
    EXPECT_EQ(f32ToF16(std::ldexp(1023.0f, -24)), 0x03FF);  // largest subnormal
    EXPECT_EQ(f32ToF16(std::ldexp(1.0f, -25)), 0x0000);  // half of the smallest subnormal: ties to 0
    EXPECT_EQ(f32ToF16(std::ldexp(1.5f, -25)), 0x0001);
    EXPECT_EQ(f32ToF16(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 ulp: tie to even (2)
    EXPECT_EQ(f32ToF16(std::ldexp(1023.5f, -24)), 0x0400);  // rounds up across into the normals
    EXPECT_EQ(f32ToF16(1e-30f), 0x0000);
    EXPECT_EQ(f32ToF16(-1e-30f), 0x8000);
    EXPECT_EQ(f32ToF16(2049.0f), f32ToF16(2048.0f));  // tie between 2048 and 2050 → even
    EXPECT_EQ(f32ToF16(2051.0f), f32ToF16(2052.0f));  // tie between 2050 and 2052 → even
    EXPECT_EQ(f16ToF32(0x0001), std::ldexp(1.0f, -24));
    EXPECT_EQ(f16ToF32(0x03FF), std::ldexp(1023.0f, -24));
    EXPECT_EQ(f16ToF32(0x7BFF), 65504.0f);
    EXPECT_EQ(f16ToF32(0x7C00), inf);
    EXPECT_EQ(f16ToF32(0xFC00), -inf);
    EXPECT_TRUE(std::isnan(f16ToF32(0x7E00)));
    EXPECT_TRUE(std::isnan(f16ToF32(0x7C01)));  // signalling pattern is still NaN
    const std::uint16_t nan = f32ToF16(std::numeric_limits<float>::quiet_NaN());
    EXPECT_EQ(nan & 0x7C00, 0x7C00);
    EXPECT_NE(nan & 0x03FF, 0);
    // A NaN whose payload sits only in the low 13 bits must not turn into infinity.
    const std::uint16_t lowPayload = f32ToF16(bitsToFloat(0x7F800001u));
    EXPECT_NE(lowPayload & 0x03FF, 0);
}

// ------------------------------------------------------------------------------------------
// bf16

TEST(DType, Bf16RoundTripsEveryPattern) {
    for (std::uint32_t u = 0; u < 0x10000; ++u) {
        const auto h = static_cast<std::uint16_t>(u);
        const float f = bf16ToF32(h);
        ASSERT_EQ(floatToBits(f), u << 16);
        const std::uint16_t back = f32ToBf16(f);
        if (std::isnan(f)) {
            ASSERT_TRUE(std::isnan(bf16ToF32(back))) << std::hex << u;
            ASSERT_EQ(back & 0x8000u, u & 0x8000u) << std::hex << u;
        } else {
            ASSERT_EQ(back, h) << std::hex << u;
        }
    }
}

TEST(DType, Bf16Rounding) {
    EXPECT_EQ(f32ToBf16(1.0f), 0x3F80);
    EXPECT_EQ(f32ToBf16(bitsToFloat(0x3F808000u)), 0x3F80);  // tie, even below → down
    EXPECT_EQ(f32ToBf16(bitsToFloat(0x3F818000u)), 0x3F82);  // tie, odd below → up
    EXPECT_EQ(f32ToBf16(bitsToFloat(0x3F808001u)), 0x3F81);  // above the tie → up
    EXPECT_EQ(f32ToBf16(bitsToFloat(0x3F807FFFu)), 0x3F80);  // below the tie → down
    EXPECT_EQ(f32ToBf16(bitsToFloat(0xBF818000u)), 0xBF82);  // negative values mirror
    EXPECT_EQ(f32ToBf16(std::numeric_limits<float>::max()), 0x7F80);  // rounds to infinity
    EXPECT_EQ(f32ToBf16(std::numeric_limits<float>::infinity()), 0x7F80);
    EXPECT_EQ(f32ToBf16(-std::numeric_limits<float>::infinity()), 0xFF80);
    EXPECT_EQ(f32ToBf16(bitsToFloat(0x00008000u)), 0x0000);  // subnormal tie → even (zero)
    EXPECT_EQ(f32ToBf16(bitsToFloat(0x00018000u)), 0x0002);
    EXPECT_EQ(f32ToBf16(-0.0f), 0x8000);
    // NaNs stay NaN, including those whose payload is only in the discarded low bits.
    for (std::uint32_t nanBits : {0x7FC00000u, 0x7F800001u, 0xFF800001u, 0x7FFFFFFFu}) {
        const std::uint16_t b = f32ToBf16(bitsToFloat(nanBits));
        EXPECT_TRUE(std::isnan(bf16ToF32(b))) << std::hex << nanBits;
        EXPECT_EQ(b & 0x8000u, (nanBits >> 16) & 0x8000u) << std::hex << nanBits;
    }
}

// ------------------------------------------------------------------------------------------
// Sizes and type ids

TEST(DType, BytesForElements) {
    EXPECT_EQ(dtypeBytes(DType::F32, 0), std::optional<std::uint64_t>(0));
    EXPECT_EQ(dtypeBytes(DType::F32, 3), std::optional<std::uint64_t>(12));
    EXPECT_EQ(dtypeBytes(DType::BF16, 5), std::optional<std::uint64_t>(10));
    EXPECT_EQ(dtypeBytes(DType::Q8_0, 64), std::optional<std::uint64_t>(68));
    EXPECT_EQ(dtypeBytes(DType::Q4_0, 32), std::optional<std::uint64_t>(18));
    EXPECT_EQ(dtypeBytes(DType::Q5_0, 96), std::optional<std::uint64_t>(66));
    EXPECT_EQ(dtypeBytes(DType::Q4_K, 4096), std::optional<std::uint64_t>(16 * 144));
    EXPECT_EQ(dtypeBytes(DType::Q5_K, 256), std::optional<std::uint64_t>(176));
    EXPECT_EQ(dtypeBytes(DType::Q6_K, 512), std::optional<std::uint64_t>(420));
    // Partial blocks.
    EXPECT_FALSE(dtypeBytes(DType::Q8_0, 31).has_value());
    EXPECT_FALSE(dtypeBytes(DType::Q8_0, 33).has_value());
    EXPECT_FALSE(dtypeBytes(DType::Q4_K, 255).has_value());
    EXPECT_FALSE(dtypeBytes(DType::Q6_K, 257).has_value());
    EXPECT_FALSE(dtypeBytes(DType::Q4_K, 32).has_value());
    // Overflow: the largest element counts that still fit, and one block past them.
    const std::uint64_t maxF32 = UINT64_MAX / 4;
    EXPECT_EQ(dtypeBytes(DType::F32, maxF32), std::optional<std::uint64_t>(maxF32 * 4));
    EXPECT_FALSE(dtypeBytes(DType::F32, maxF32 + 1).has_value());
    EXPECT_FALSE(dtypeBytes(DType::F16, UINT64_MAX).has_value());
    // Q8_0 takes more bytes than elements, so a valid element count can still overflow.
    const std::uint64_t okQ8Blocks = UINT64_MAX / 34;
    EXPECT_EQ(dtypeBytes(DType::Q8_0, okQ8Blocks * 32), std::optional<std::uint64_t>(okQ8Blocks * 34));
    EXPECT_FALSE(dtypeBytes(DType::Q8_0, (okQ8Blocks + 1) * 32).has_value());
    // K-quants take fewer bytes than elements: the largest whole-block count never overflows.
    const std::uint64_t maxQ6Blocks = UINT64_MAX / 256;
    EXPECT_EQ(dtypeBytes(DType::Q6_K, maxQ6Blocks * 256), std::optional<std::uint64_t>(maxQ6Blocks * 210));
    EXPECT_FALSE(dtypeBytes(DType::Q8_0, UINT64_MAX - 31).has_value());  // multiple of 32, overflows ×34
}

TEST(DType, GgmlTypeIds) {
    EXPECT_EQ(dtypeFromGgml(0), DType::F32);
    EXPECT_EQ(dtypeFromGgml(1), DType::F16);
    EXPECT_EQ(dtypeFromGgml(2), DType::Q4_0);
    EXPECT_EQ(dtypeFromGgml(6), DType::Q5_0);
    EXPECT_EQ(dtypeFromGgml(8), DType::Q8_0);
    EXPECT_EQ(dtypeFromGgml(12), DType::Q4_K);
    EXPECT_EQ(dtypeFromGgml(13), DType::Q5_K);
    EXPECT_EQ(dtypeFromGgml(14), DType::Q6_K);
    EXPECT_EQ(dtypeFromGgml(30), DType::BF16);
    EXPECT_FALSE(dtypeFromGgml(3).has_value());   // Q4_1
    EXPECT_FALSE(dtypeFromGgml(11).has_value());  // Q3_K
    EXPECT_FALSE(dtypeFromGgml(1000).has_value());
    EXPECT_EQ(ggmlTypeName(11), "Q3_K");
    EXPECT_EQ(ggmlTypeName(30), "BF16");
    EXPECT_EQ(ggmlTypeName(999), "type 999");
}

}  // namespace
}  // namespace attnscope
