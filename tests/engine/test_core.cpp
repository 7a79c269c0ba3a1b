// Core utilities: JSON parsing and writing, atomic files, the thread pool.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "core/json.h"
#include "core/mapped_file.h"
#include "core/thread_pool.h"

using namespace attnscope;

TEST(Json, ParsesAndWrites) {
    auto j = Json::parse(R"({"a": [1, 2.5, -3e2], "b": "x\"y\u00e9\ud83d\ude00", "c": null, "d": true})");
    ASSERT_TRUE(j.ok()) << j.error().describe();
    EXPECT_EQ(j->find("a")->asArray()[2].asNumber(), -300);
    EXPECT_EQ(j->find("b")->asString(), "x\"y\xc3\xa9\xf0\x9f\x98\x80");
    EXPECT_TRUE(j->find("c")->isNull());
    auto again = Json::parse(j->dump(2));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->dump(), j->dump());
    EXPECT_EQ(Json(std::nan("")).dump(), "null");
}

TEST(Json, ErrorsCarryTheOffset) {
    auto j = Json::parse("{\"a\": [1, 2,, 3]}", "ctx.json");
    ASSERT_FALSE(j.ok());
    EXPECT_EQ(j.error().file, "ctx.json");
    ASSERT_TRUE(j.error().offset.has_value());
    EXPECT_EQ(*j.error().offset, 12u);
    EXPECT_FALSE(Json::parse("").ok());
    EXPECT_FALSE(Json::parse("[1] 2").ok());
    EXPECT_FALSE(Json::parse("\"unterminated").ok());
    EXPECT_FALSE(Json::parse(std::string(100000, '[')).ok());  // depth limit, no stack overflow
}

TEST(Json, IntegersOutsideInt64Saturate) {
    EXPECT_EQ(Json(1e300).asInt(), INT64_MAX);
    EXPECT_EQ(Json(-1e300).asInt(), INT64_MIN);
    EXPECT_EQ(Json(9223372036854775808.0).asInt(), INT64_MAX);
    EXPECT_EQ(Json(-9223372036854775808.0).asInt(), INT64_MIN);
    EXPECT_EQ(Json(std::nan("")).asInt(), 0);
    EXPECT_EQ(Json(-2.9).asInt(), -2);
    EXPECT_EQ(Json::parse("1e999")->asInt(), INT64_MAX);
}

TEST(Files, AtomicWriteReplacesWholeFiles) {
    auto dir = std::filesystem::temp_directory_path() / "attnscope-core-test";
    std::filesystem::create_directories(dir);
    auto path = (dir / "out.json").string();
    ASSERT_TRUE(writeFileAtomic(path, "first").ok());
    ASSERT_TRUE(writeFileAtomic(path, "second").ok());
    EXPECT_EQ(*readFile(path), "second");
    EXPECT_FALSE(writeFileAtomic((dir / "missing" / "x").string(), "y").ok());
    auto mf = MappedFile::open(path);
    ASSERT_TRUE(mf.ok());
    EXPECT_FALSE((*mf)->span(3, 10).ok());
    EXPECT_TRUE((*mf)->span(0, 6).ok());
    EXPECT_FALSE(MappedFile::open((dir / "nope").string()).ok());
    std::filesystem::remove_all(dir);
}

TEST(Files, BytesInMemoryReadLikeAMappedFile) {
    auto mf = MappedFile::fromBytes("memory.bin", {'G', 'G', 'U', 'F', 3});
    EXPECT_EQ(mf->path(), "memory.bin");
    ASSERT_EQ(mf->size(), 5u);
    EXPECT_EQ(mf->data()[4], 3);
    auto tail = mf->span(4, 1);
    ASSERT_TRUE(tail.ok());
    EXPECT_EQ((*tail)[0], 3);
    auto past = mf->span(4, 2);
    ASSERT_FALSE(past.ok());
    EXPECT_EQ(past.error().file, "memory.bin");
    EXPECT_EQ(MappedFile::fromBytes("empty", {})->size(), 0u);
}

TEST(ThreadPool, CoversEveryIndexOnce) {
    ThreadPool pool(3);
    std::vector<std::atomic<int>> hits(10007);
    for (int round = 0; round < 20; ++round)
        pool.parallelFor(hits.size(), 7, [&](std::size_t a, std::size_t b) {
            for (std::size_t i = a; i < b; ++i) hits[i]++;
        });
    for (auto& h : hits) EXPECT_EQ(h.load(), 20);
}
