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

// Token ids and counts must be written as integers: "1.0" and "1e0" are numbers but not integers.
TEST(Json, IntegerLiteralsAreKnownFromReals) {
    auto j = Json::parse(R"([1, -7, 1.0, 1e0, 2.5, 1E3])");
    ASSERT_TRUE(j.ok());
    const auto& a = j->asArray();
    EXPECT_TRUE(a[0].isInteger());
    EXPECT_TRUE(a[1].isInteger());
    EXPECT_FALSE(a[2].isInteger());
    EXPECT_FALSE(a[3].isInteger());
    EXPECT_FALSE(a[4].isInteger());
    EXPECT_FALSE(a[5].isInteger());
    EXPECT_TRUE(Json(3).isInteger());
    EXPECT_FALSE(Json("3").isInteger());
}

// A folder given as a file says so (not "too large (9223372036854775807 bytes)"); an empty
// file given as JSON says "empty file"; a device or pipe is read up to the limit.
TEST(Files, DirectoryEmptyFileAndDevice) {
    const std::string dir = std::filesystem::temp_directory_path().string();
    auto d = readFile(dir);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().describe(), dir + ": is a directory, not a file");
    auto j = Json::parseFile(dir);
    ASSERT_FALSE(j.ok());
    EXPECT_NE(j.error().message.find("is a directory"), std::string::npos);
    auto empty = Json::parseFile("/dev/null");
    ASSERT_FALSE(empty.ok());
    EXPECT_EQ(empty.error().describe(), "/dev/null: empty file (JSON expected)");
    auto zeros = readFile("/dev/zero", 1000);
    ASSERT_FALSE(zeros.ok());
    EXPECT_NE(zeros.error().message.find("file is too large (more than 1000 bytes"), std::string::npos)
        << zeros.error().describe();
}

// A pool never starts more than maxThreads() threads, whatever it is asked for.
TEST(ThreadPool, ThreadCountIsCapped) {
    EXPECT_GE(maxThreads(), 16);
    EXPECT_LE(maxThreads(), 1024);
    ThreadPool pool(100000);
    EXPECT_EQ(pool.size(), maxThreads());
}
