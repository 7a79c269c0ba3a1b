// GGUF container parser: the real stories260K file, writer round trips of every value type and
// tensor type, and a named catalogue of corrupt files (each must give an Error naming the file
// and the reason, never a crash). The catalogue doubles as the fuzz seed set.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <functional>

#include "common/model_writers.h"
#include "model/gguf_reader.h"

using namespace attnscope;
namespace fs = std::filesystem;

namespace {

std::string stories() {
    std::string dir = test::testModelsDir();
    return dir.empty() ? std::string{} : (fs::path(dir) / "stories260K.gguf").string();
}

void putU64(std::vector<std::uint8_t>& b, std::uint64_t at, std::uint64_t v) { std::memcpy(b.data() + at, &v, 8); }
void putU32(std::vector<std::uint8_t>& b, std::uint64_t at, std::uint32_t v) { std::memcpy(b.data() + at, &v, 4); }

// A small valid file: a string, an integer, a string array and a float array, two F32 tensors.
test::GgufWriter baseWriter() {
    test::GgufWriter w;
    w.add("general.architecture", test::ggufString("llama"));
    w.add("test.count", test::ggufU32(7));
    w.add("test.words", test::ggufStringArray({"alpha", "beta", "gamma"}));
    w.add("test.floats", test::ggufF32Array({1.5f, -2.0f}));
    w.addTensor("a.weight", {4, 2}, DType::F32, std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7});
    w.addTensor("b.weight", {8}, DType::F32, std::vector<float>(8, 0.5f));
    return w;
}

}  // namespace

TEST(GgufReader, ParsesStories260K) {
    const std::string path = stories();
    if (path.empty() || !fs::exists(path)) GTEST_SKIP() << "stories260K.gguf not found";
    auto g = GgufFile::open(path);
    ASSERT_TRUE(g.ok()) << g.error().describe();
    EXPECT_EQ(g->version(), 3u);
    EXPECT_EQ(g->alignment(), 32u);
    EXPECT_EQ(g->tensors().size(), 48u);
    EXPECT_EQ(g->metadata().size(), 19u);
    ASSERT_NE(g->find("general.architecture"), nullptr);
    EXPECT_EQ(g->find("general.architecture")->s, "llama");
    EXPECT_EQ(g->find("llama.embedding_length")->toInt(), 64);
    EXPECT_EQ(g->find("llama.attention.head_count_kv")->toInt(), 4);
    EXPECT_NEAR(*g->find("llama.attention.layer_norm_rms_epsilon")->toDouble(), 1e-5, 1e-9);
    const GgufValue* tokens = g->find("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr);
    ASSERT_TRUE(tokens->isArray());
    EXPECT_EQ(tokens->elemType, GgufType::String);
    ASSERT_EQ(tokens->strings.size(), 512u);
    EXPECT_EQ(tokens->strings[1], "<s>");
    EXPECT_EQ(g->find("tokenizer.ggml.scores")->count, 512u);
    EXPECT_EQ(g->find("tokenizer.ggml.padding_token_id")->toUint(), 0xFFFFFFFFull);

    const GgufTensorInfo* emb = g->findTensor("token_embd.weight");
    ASSERT_NE(emb, nullptr);
    EXPECT_EQ(emb->nDims, 2u);
    EXPECT_EQ(emb->ne[0], 64u);
    EXPECT_EQ(emb->ne[1], 512u);
    EXPECT_EQ(emb->dtype, DType::F32);
    EXPECT_EQ(emb->bytes, 64u * 512u * 4u);
    EXPECT_EQ(g->findTensor("blk.0.ffn_down.weight")->ne[0], 172u);

    // Tensors end exactly at the end of the file; all 292,800 floats are accounted for.
    std::uint64_t end = 0, elements = 0;
    for (const auto& t : g->tensors()) {
        end = std::max(end, t.fileOffset + t.bytes);
        elements += t.elements;
        EXPECT_EQ(t.fileOffset % 32, 0u) << t.name;
    }
    EXPECT_EQ(end, g->file()->size());
    EXPECT_EQ(elements, 292800u);
    EXPECT_EQ(g->findTensor("nope"), nullptr);
}

TEST(GgufReader, RoundTripsEveryValueType) {
    for (std::uint32_t version : {2u, 3u}) {
        test::TempDir dir("gguf");
        test::GgufWriter w(version);
        w.add("u8", test::ggufU8(200));
        w.add("i8", test::ggufI8(-100));
        w.add("u16", test::ggufU16(60000));
        w.add("i16", test::ggufI16(-30000));
        w.add("u32", test::ggufU32(4000000000u));
        w.add("i32", test::ggufI32(-2000000000));
        w.add("u64", test::ggufU64(1ull << 60));
        w.add("i64", test::ggufI64(-(1ll << 60)));
        w.add("f32", test::ggufF32(0.25f));
        w.add("f64", test::ggufF64(-1e300));
        w.add("bool", test::ggufBool(true));
        w.add("str", test::ggufString("héllo"));
        w.add("empty", test::ggufString(""));
        w.add("strs", test::ggufStringArray({"a", "", "ccc"}));
        w.add("i32s", test::ggufI32Array({-1, 2, -3}));
        w.add("u32s", test::ggufU32Array({}));
        w.add("nested", test::ggufNestedArray({test::ggufI32Array({1, 2}), test::ggufStringArray({"x"})}));
        const std::string path = dir.file("values.gguf");
        ASSERT_TRUE(w.write(path).ok());
        auto g = GgufFile::open(path);
        ASSERT_TRUE(g.ok()) << g.error().describe();
        EXPECT_EQ(g->version(), version);
        EXPECT_EQ(g->find("u8")->toUint(), 200u);
        EXPECT_EQ(g->find("i8")->toInt(), -100);
        EXPECT_EQ(g->find("u16")->toUint(), 60000u);
        EXPECT_EQ(g->find("i16")->toInt(), -30000);
        EXPECT_EQ(g->find("u32")->toUint(), 4000000000u);
        EXPECT_EQ(g->find("i32")->toInt(), -2000000000);
        EXPECT_EQ(g->find("u64")->toUint(), 1ull << 60);
        EXPECT_EQ(g->find("i64")->toInt(), -(1ll << 60));
        EXPECT_EQ(g->find("i64")->toUint(), std::nullopt);
        EXPECT_EQ(g->find("f32")->toDouble(), 0.25);
        EXPECT_EQ(g->find("f64")->toDouble(), -1e300);
        EXPECT_EQ(g->find("bool")->toBool(), true);
        EXPECT_EQ(g->find("str")->s, "héllo");
        EXPECT_EQ(g->find("str")->toInt(), std::nullopt);
        EXPECT_EQ(g->find("empty")->s, "");
        EXPECT_EQ(g->find("strs")->strings, (std::vector<std::string>{"a", "", "ccc"}));
        EXPECT_EQ(g->find("i32s")->arrayInt(2), -3);
        EXPECT_EQ(g->find("i32s")->arrayNumber(0), -1.0);
        EXPECT_EQ(g->find("i32s")->arrayInt(3), std::nullopt);
        EXPECT_EQ(g->find("u32s")->count, 0u);
        const GgufValue* nested = g->find("nested");
        ASSERT_EQ(nested->nested.size(), 2u);
        EXPECT_EQ(nested->nested[0].arrayInt(1), 2);
        EXPECT_EQ(nested->nested[1].strings.at(0), "x");
        EXPECT_EQ(g->find("strs")->display(), "[string × 3] \"a\", \"\", \"ccc\"");
        EXPECT_EQ(g->metadata().front().first, "u8");  // file order kept
        EXPECT_TRUE(g->tensors().empty());
    }
}

TEST(GgufReader, RoundTripsTensorTypesAndAlignment) {
    test::TempDir dir("gguf");
    std::vector<float> vals(64);
    for (std::size_t i = 0; i < vals.size(); ++i) vals[i] = 0.01f * static_cast<float>(i) - 0.3f;
    for (std::uint64_t align : {1ull, 8ull, 32ull, 64ull, 4096ull}) {
        test::GgufWriter w;
        w.setAlignment(align);
        w.addTensor("f32", {32, 2}, DType::F32, vals);
        w.addTensor("f16", {32, 2}, DType::F16, vals);
        w.addTensor("bf16", {32, 2}, DType::BF16, vals);
        w.addTensor("q8", {32, 2}, DType::Q8_0, vals);
        w.addTensor("streamed", {32, 2}, DType::F32, [&](std::uint64_t r, float* dst) {
            std::copy_n(vals.begin() + static_cast<std::ptrdiff_t>(r * 32), 32, dst);
        });
        const std::string path = dir.file("t" + std::to_string(align) + ".gguf");
        ASSERT_TRUE(w.write(path).ok());
        EXPECT_EQ(fs::file_size(path), w.layout().fileSize);
        EXPECT_EQ(test::readBytes(path), w.bytes());
        auto g = GgufFile::open(path);
        ASSERT_TRUE(g.ok()) << g.error().describe();
        EXPECT_EQ(g->alignment(), align);
        EXPECT_EQ(g->dataOffset() % align, 0u);
        EXPECT_EQ(g->dataOffset(), w.layout().dataOffset);
        const double tol[] = {0.0, 1e-3, 4e-3, 4e-3, 0.0};
        const char* names[] = {"f32", "f16", "bf16", "q8", "streamed"};
        for (int k = 0; k < 5; ++k) {
            const GgufTensorInfo* t = g->findTensor(names[k]);
            ASSERT_NE(t, nullptr);
            EXPECT_EQ(t->fileOffset % align, 0u);
            std::vector<float> out(64);
            dequantizeRow(t->dtype, g->tensorData(*t), out.data(), 64);
            for (int i = 0; i < 64; ++i) EXPECT_NEAR(out[i], vals[i], tol[k]) << names[k] << " " << i;
        }
        EXPECT_EQ(g->findTensor("q8")->dtype, DType::Q8_0);
        EXPECT_EQ(g->findTensor("q8")->bytes, 2u * 34u);
    }
}

// ---------------------------------------------------------------------------------------------
// The corrupt-file catalogue.

namespace {

struct CorruptCase {
    std::string name;
    std::function<std::vector<std::uint8_t>()> make;
    ErrorKind kind;
    std::vector<std::string> reasons;  // describe() must contain one of these
};

std::vector<std::uint8_t> truncated(std::uint64_t at) {
    auto b = baseWriter().bytes();
    b.resize(static_cast<std::size_t>(at));
    return b;
}

std::uint64_t kvValueOffset(const test::GgufWriter& w, std::size_t k, const std::string& key) {
    return w.layout().kvOffsets[k] + 8 + key.size() + 4;  // key length, key, type
}

std::vector<CorruptCase> catalogue() {
    const auto base = baseWriter();
    const auto L = base.layout();
    const auto F = ErrorKind::Format, U = ErrorKind::Unsupported;
    const std::vector<std::string> trunc = {"truncated", "cannot fit", "runs past", "remain"};
    std::vector<CorruptCase> c;

    c.push_back({"empty_file", [] { return std::vector<std::uint8_t>{}; }, F, {"too short"}});
    c.push_back({"wrong_magic", [] { auto b = baseWriter().bytes(); b[3] = 'X'; return b; }, F, {"bad magic 'GGUX'"}});
    c.push_back({"binary_magic", [] { auto b = baseWriter().bytes(); b[0] = 0; return b; }, F, {"bad magic '\\x00GUF'"}});
    c.push_back({"version_1", [] { auto b = baseWriter().bytes(); putU32(b, 4, 1); return b; }, U, {"version 1 is not supported"}});
    c.push_back({"version_99", [] { auto b = baseWriter().bytes(); putU32(b, 4, 99); return b; }, U, {"unsupported GGUF version 99"}});
    c.push_back({"big_endian", [] { auto b = baseWriter().bytes(); putU32(b, 4, 0x03000000u); return b; }, U, {"big-endian"}});

    for (std::uint64_t at : {std::uint64_t{3}, std::uint64_t{6}, std::uint64_t{12}, std::uint64_t{20}, L.kvOffsets[0] + 4,
                             L.kvOffsets[1] + 10, L.kvOffsets[2] + 30, L.kvOffsets[3] + 25, L.tensorInfoOffsets[0] + 3,
                             L.tensorInfoOffsets[1] + 20, L.dataOffset - 1})
        c.push_back({"truncated_header_at_" + std::to_string(at), [at] { return truncated(at); }, F,
                     at < 4 ? std::vector<std::string>{"too short"} : trunc});
    c.push_back({"truncated_tensor_data", [L] { return truncated(L.fileSize - 5); }, F, {"runs past the end of the file"}});

    c.push_back({"absurd_tensor_count", [] { auto b = baseWriter().bytes(); putU64(b, 8, 1ull << 40); return b; }, F,
                 {"tensor count 1099511627776 exceeds the limit"}});
    c.push_back({"tensor_count_beyond_file", [] { auto b = baseWriter().bytes(); putU64(b, 8, 100000); return b; }, F,
                 {"tensor count 100000 cannot fit"}});
    c.push_back({"absurd_kv_count", [] { auto b = baseWriter().bytes(); putU64(b, 16, ~0ull); return b; }, F,
                 {"metadata count 18446744073709551615 exceeds the limit"}});
    c.push_back({"kv_count_beyond_file", [] { auto b = baseWriter().bytes(); putU64(b, 16, 50000); return b; }, F,
                 {"metadata count 50000 cannot fit"}});
    c.push_back({"absurd_key_length", [L] { auto b = baseWriter().bytes(); putU64(b, L.kvOffsets[0], 1ull << 40); return b; }, F,
                 {"metadata key length 1099511627776 exceeds the limit"}});
    c.push_back({"key_length_beyond_file", [L] { auto b = baseWriter().bytes(); putU64(b, L.kvOffsets[0], 60000); return b; }, F,
                 {"metadata key length 60000 runs past the end of the file"}});
    c.push_back({"absurd_string_length", [] {
                     auto w = baseWriter();
                     auto b = w.bytes();
                     putU64(b, kvValueOffset(w, 0, "general.architecture"), 1ull << 62);
                     return b;
                 },
                 F, {"string value length 4611686018427387904 exceeds the limit"}});
    c.push_back({"absurd_array_length", [] {
                     auto w = baseWriter();
                     auto b = w.bytes();
                     putU64(b, kvValueOffset(w, 2, "test.words") + 4, 1ull << 40);
                     return b;
                 },
                 F, {"metadata 'test.words': array length 1099511627776 exceeds the limit"}});
    c.push_back({"array_length_beyond_file", [] {
                     auto w = baseWriter();
                     auto b = w.bytes();
                     putU64(b, kvValueOffset(w, 3, "test.floats") + 4, 1u << 27);
                     return b;
                 },
                 F, {"metadata 'test.floats': array of 134217728 f32 elements needs at least"}});
    c.push_back({"unknown_value_type", [] {
                     auto w = baseWriter();
                     auto b = w.bytes();
                     putU32(b, kvValueOffset(w, 1, "test.count") - 4, 13);
                     return b;
                 },
                 F, {"unknown metadata value type 13"}});
    c.push_back({"unknown_array_element_type", [] {
                     auto w = baseWriter();
                     auto b = w.bytes();
                     putU32(b, kvValueOffset(w, 3, "test.floats"), 77);
                     return b;
                 },
                 F, {"unknown metadata value type 77 for array element type"}});
    c.push_back({"arrays_nested_too_deep", [] {
                     GgufValue v = test::ggufI32Array({1});
                     for (int i = 0; i < 10; ++i) v = test::ggufNestedArray({v});
                     test::GgufWriter w;
                     w.add("deep", v);
                     return w.bytes();
                 },
                 F, {"arrays nested deeper than 8 levels"}});
    c.push_back({"empty_key", [] {
                     test::GgufWriter w;
                     w.add("", test::ggufU32(1));
                     return w.bytes();
                 },
                 F, {"empty metadata key"}});
    c.push_back({"duplicate_key", [] {
                     auto w = baseWriter();
                     w.add("test.count", test::ggufU32(8));
                     return w.bytes();
                 },
                 F, {"duplicate metadata key 'test.count'"}});
    c.push_back({"alignment_not_power_of_two", [] {
                     test::GgufWriter w;
                     w.setAlignment(24);
                     w.addTensor("a", {4}, DType::F32, std::vector<float>(4, 1.0f));
                     return w.bytes();
                 },
                 F, {"general.alignment 24 is not a power of two"}});
    c.push_back({"alignment_zero", [] {
                     test::GgufWriter w;
                     w.add("general.alignment", test::ggufU32(0));
                     return w.bytes();
                 },
                 F, {"general.alignment 0 is not a power of two"}});
    c.push_back({"alignment_wrong_type", [] {
                     test::GgufWriter w;
                     w.add("general.alignment", test::ggufString("32"));
                     return w.bytes();
                 },
                 F, {"general.alignment must be an unsigned integer"}});
    c.push_back({"n_dims_5", [] {
                     auto w = baseWriter();
                     w.addRawTensor("five.weight", {1, 1, 1, 1, 4}, 0, std::vector<std::uint8_t>(16));
                     return w.bytes();
                 },
                 F, {"tensor 'five.weight' has 5 dimensions (at most 4)"}});
    c.push_back({"negative_dimension", [] {
                     auto w = baseWriter();
                     w.addRawTensor("neg.weight", {1ull << 63}, 0, {});
                     return w.bytes();
                 },
                 F, {"tensor 'neg.weight' dimension 0 is negative"}});
    c.push_back({"element_count_overflow", [] {
                     auto w = baseWriter();
                     w.addRawTensor("huge.weight", {1ull << 32, 1ull << 32}, 0, {});
                     return w.bytes();
                 },
                 F, {"tensor 'huge.weight' element count overflows"}});
    c.push_back({"empty_tensor_name", [] {
                     auto w = baseWriter();
                     w.addTensor("", {4}, DType::F32, std::vector<float>(4));
                     return w.bytes();
                 },
                 F, {"empty tensor name"}});
    c.push_back({"duplicate_tensor_name", [] {
                     auto w = baseWriter();
                     w.addTensor("a.weight", {4}, DType::F32, std::vector<float>(4));
                     return w.bytes();
                 },
                 F, {"duplicate tensor name 'a.weight'"}});
    c.push_back({"unknown_ggml_type", [] {
                     auto w = baseWriter();
                     w.addRawTensor("odd.weight", {4}, 99, std::vector<std::uint8_t>(16));
                     return w.bytes();
                 },
                 U, {"tensor 'odd.weight' has unsupported ggml type type 99"}});
    c.push_back({"unsupported_ggml_type_q4_1", [] {
                     auto w = baseWriter();
                     w.addRawTensor("q41.weight", {32}, 3, std::vector<std::uint8_t>(20));
                     return w.bytes();
                 },
                 U, {"unsupported ggml type Q4_1"}});
    c.push_back({"partial_quant_block", [] {
                     auto w = baseWriter();
                     w.addRawTensor("q8.weight", {16, 2}, 8, std::vector<std::uint8_t>(34));
                     return w.bytes();
                 },
                 F, {"row length 16 is not a multiple of the Q8_0 block size 32"}});
    c.push_back({"tensor_out_of_bounds", [] {
                     auto w = baseWriter();
                     w.addRawTensor("far.weight", {4}, 0, std::vector<std::uint8_t>(16), 1ull << 20);
                     return w.bytes();
                 },
                 F, {"tensor 'far.weight' data", "runs past the end of the file"}});
    c.push_back({"tensor_offset_overflow", [] {
                     auto w = baseWriter();
                     w.addRawTensor("wrap.weight", {4}, 0, std::vector<std::uint8_t>(16), ~0ull - 31);
                     return w.bytes();
                 },
                 F, {"tensor 'wrap.weight' data offset overflows"}});
    c.push_back({"misaligned_offset", [] {
                     auto w = baseWriter();
                     w.addRawTensor("odd.weight", {4}, 0, std::vector<std::uint8_t>(16), 36);
                     return w.bytes();
                 },
                 F, {"tensor 'odd.weight' data offset 36 is not a multiple of the alignment 32"}});
    c.push_back({"overlapping_tensors", [] {
                     auto w = baseWriter();
                     w.addRawTensor("dup.weight", {4}, 0, std::vector<std::uint8_t>(16), 0);
                     return w.bytes();
                 },
                 F, {"data overlaps tensor"}});
    // F32 data (64 floats, 256 bytes) tagged F16: the tag gives it 128 bytes, and 128 written
    // bytes follow unused. A wrong type tag is caught at load, not as NaN in the results.
    c.push_back({"type_tag_smaller_than_data", [] {
                     auto w = baseWriter();
                     w.addRawTensor("f16.weight", {64}, 1, std::vector<std::uint8_t>(256));
                     return w.bytes();
                 },
                 F, {"tensor 'f16.weight' is tagged F16 (128 bytes) but is followed by 128 unused bytes: its type tag or shape does not match its data"}});
    return c;
}

}  // namespace

TEST(GgufReader, CorruptCatalogue) {
    test::TempDir dir("gguf");
    auto cases = catalogue();
    ASSERT_GT(cases.size(), 40u);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const std::string path = dir.file(c.name + ".gguf");
        test::writeBytes(path, c.make());
        auto g = GgufFile::open(path);
        ASSERT_FALSE(g.ok()) << c.name << " parsed without error";
        const Error& e = g.error();
        const std::string text = e.describe();
        EXPECT_EQ(e.kind, c.kind) << text;
        EXPECT_EQ(e.file, path);
        EXPECT_NE(text.find(path), std::string::npos) << text;
        EXPECT_TRUE(e.offset.has_value()) << text;
        bool found = false;
        for (const auto& r : c.reasons) found = found || text.find(r) != std::string::npos;
        EXPECT_TRUE(found) << c.name << ": " << text;
    }
}

// Every truncation of the real file fails cleanly (and the untouched file parses).
TEST(GgufReader, EveryTruncationOfStoriesHeaderFails) {
    const std::string path = stories();
    if (path.empty() || !fs::exists(path)) GTEST_SKIP() << "stories260K.gguf not found";
    auto whole = test::readBytes(path);
    auto g = GgufFile::open(path);
    ASSERT_TRUE(g.ok());
    const std::uint64_t header = g->dataOffset();
    test::TempDir dir("gguf");
    const std::string cut = dir.file("cut.gguf");
    for (std::uint64_t n = 0; n < whole.size(); n += (n < header ? 29 : 65537)) {
        test::writeBytes(cut, std::vector<std::uint8_t>(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n)));
        auto r = GgufFile::open(cut);
        ASSERT_FALSE(r.ok()) << "truncated at " << n;
        EXPECT_EQ(r.error().kind, ErrorKind::Format) << r.error().describe();
        EXPECT_EQ(r.error().file, cut);
    }
}

// Random single-byte flips inside the header never crash (they may or may not parse).
TEST(GgufReader, HeaderByteFlipsNeverCrash) {
    auto base = baseWriter().bytes();
    const auto L = baseWriter().layout();
    test::TempDir dir("gguf");
    const std::string path = dir.file("flip.gguf");
    std::uint64_t state = 12345;
    for (int iter = 0; iter < 200; ++iter) {
        auto b = base;
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        std::size_t at = static_cast<std::size_t>((state >> 33) % L.dataOffset);
        b[at] = static_cast<std::uint8_t>(b[at] ^ (1u << ((state >> 20) & 7)));
        test::writeBytes(path, b);
        auto r = GgufFile::open(path);
        if (!r.ok()) {
            EXPECT_FALSE(r.error().describe().empty());
        }
    }
}

TEST(GgufReader, MissingFileIsIoError) {
    auto r = GgufFile::open("/nonexistent/dir/model.gguf");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Io);
    EXPECT_NE(r.error().describe().find("/nonexistent/dir/model.gguf"), std::string::npos);
}
