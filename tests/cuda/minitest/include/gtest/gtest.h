#pragma once
// A small stand-in for the subset of GoogleTest that the CUDA tests use, for GPU machines that
// have a compiler, CMake and CUDA but no GoogleTest (tools/gpu-check.sh points GTest_DIR here
// only when no GoogleTest is installed). Same macros and the same exit status; output keeps
// GoogleTest's [ RUN ] / [ OK ] / [ SKIPPED ] / [ FAILED ] lines, and --gtest_filter (or
// GTEST_FILTER) with GoogleTest's syntax: POSITIVE[-NEGATIVE], ':'-separated '*'/'?' patterns.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace testing {

class Message {
public:
    template <typename T>
    Message& operator<<(const T& v) {
        s_ << v;
        return *this;
    }
    std::string str() const { return s_.str(); }

private:
    std::ostringstream s_;
};

class AssertionResult {
public:
    explicit AssertionResult(bool ok) : ok_(ok) {}
    AssertionResult(const AssertionResult& o) : ok_(o.ok_), msg_(o.msg_) {}
    explicit operator bool() const { return ok_; }
    const char* message() const { return msg_.c_str(); }
    template <typename T>
    AssertionResult& operator<<(const T& v) {
        std::ostringstream s;
        s << v;
        msg_ += s.str();
        return *this;
    }

private:
    bool ok_;
    std::string msg_;
};
inline AssertionResult AssertionSuccess() { return AssertionResult(true); }
inline AssertionResult AssertionFailure() { return AssertionResult(false); }

namespace internal {

struct TestInfo {
    std::string suite, name;
    std::function<void()> body;
};
inline std::vector<TestInfo>& registry() {
    static std::vector<TestInfo> r;
    return r;
}
struct State {
    bool failed = false, skipped = false;
    std::vector<std::string> traces;
};
inline State& state() {
    static State s;
    return s;
}
struct Registrar {
    Registrar(const char* suite, const char* name, void (*fn)()) { registry().push_back({suite, name, fn}); }
};

// Values in failure messages: what operator<< can print, containers element by element.
template <typename T, typename = void>
struct Streamable : std::false_type {};
template <typename T>
struct Streamable<T, std::void_t<decltype(std::declval<std::ostream&>() << std::declval<const T&>())>> : std::true_type {};
template <typename T, typename = void>
struct Iterable : std::false_type {};
template <typename T>
struct Iterable<T, std::void_t<decltype(std::declval<const T&>().begin())>> : std::true_type {};

template <typename T>
std::string show(const T& v) {
    std::ostringstream s;
    if constexpr (std::is_same_v<T, unsigned char> || std::is_same_v<T, signed char>) {
        s << static_cast<int>(v);
    } else if constexpr (std::is_enum_v<T>) {
        s << static_cast<long long>(v);
    } else if constexpr (Streamable<T>::value) {
        s << v;
    } else if constexpr (Iterable<T>::value) {
        s << "{";
        std::size_t n = 0;
        for (const auto& x : v) {
            if (n) s << ", ";
            if (n++ == 16) {
                s << "...";
                break;
            }
            s << show(x);
        }
        s << "}";
    } else {
        s << "<value>";
    }
    return s.str();
}

// Records one failure when destroyed with the streamed text appended.
class Failure {
public:
    Failure(const char* file, int line, std::string what) : file_(file), line_(line), what_(std::move(what)) {}
    template <typename T>
    Failure& operator<<(const T& v) {
        msg_ << v;
        return *this;
    }
    ~Failure() {
        state().failed = true;
        std::cout << file_ << ":" << line_ << ": Failure\n" << what_ << "\n";
        const std::string m = msg_.str();
        if (!m.empty()) std::cout << m << "\n";
        for (auto it = state().traces.rbegin(); it != state().traces.rend(); ++it) std::cout << "  trace: " << *it << "\n";
    }

private:
    const char* file_;
    int line_;
    std::string what_;
    std::ostringstream msg_;
};
// `return Fatal() = Failure(...) << ...;` returns from the test function after recording.
struct Fatal {
    void operator=(const Failure&) const {}
};
struct Skip {
    explicit Skip() { state().skipped = true; }
    template <typename T>
    Skip& operator<<(const T& v) {
        msg_ << v;
        return *this;
    }
    std::ostringstream msg_;
};
struct SkipReturn {
    void operator=(const Skip& s) const { std::cout << "  skipped: " << s.msg_.str() << "\n"; }
};

class ScopedTrace {
public:
    ScopedTrace(const char* file, int line, const std::string& m) {
        state().traces.push_back(std::string(file) + ":" + std::to_string(line) + ": " + m);
    }
    template <typename T>
    ScopedTrace(const char* file, int line, const T& m) : ScopedTrace(file, line, show(m)) {}
    ~ScopedTrace() { state().traces.pop_back(); }
};

template <typename Op, typename A, typename B>
AssertionResult compare(Op op, const A& a, const B& b, const char* ea, const char* eb, const char* opText) {
    if (op(a, b)) return AssertionSuccess();
    return AssertionFailure() << "Expected: (" << ea << ") " << opText << " (" << eb << "), actual: " << show(a) << " vs "
                              << show(b);
}
inline std::string boolText(const AssertionResult& r, const char* expr, bool want) {
    std::string s = std::string("Value of: ") + expr + "\n  Actual: " + (want ? "false" : "true");
    if (r.message()[0]) s += std::string(" (") + r.message() + ")";
    return s + "\nExpected: " + (want ? "true" : "false");
}
template <typename T>
AssertionResult asResult(const T& v) {
    if constexpr (std::is_same_v<T, AssertionResult>) return v;
    else return AssertionResult(static_cast<bool>(v));
}

}  // namespace internal

class Test {
public:
    static void RecordProperty(const std::string&, const std::string&) {}
};

namespace internal {

// GoogleTest's wildcard match: '*' any run of characters, '?' one character.
inline bool globMatch(const char* pattern, const char* text) {
    if (*pattern == '\0') return *text == '\0';
    if (*pattern == '*') return globMatch(pattern + 1, text) || (*text && globMatch(pattern, text + 1));
    return *text && (*pattern == '?' || *pattern == *text) && globMatch(pattern + 1, text + 1);
}
inline bool anyPatternMatches(const std::string& patterns, const std::string& name) {
    std::size_t from = 0;
    while (from <= patterns.size()) {
        const std::size_t to = std::min(patterns.find(':', from), patterns.size());
        if (globMatch(patterns.substr(from, to - from).c_str(), name.c_str())) return true;
        from = to + 1;
    }
    return false;
}
// Does SUITE.NAME pass the filter "POSITIVE[-NEGATIVE]"?
inline bool selected(const std::string& filter, const std::string& name) {
    const std::size_t dash = filter.find('-');
    const std::string positive = filter.substr(0, dash), negative = dash == std::string::npos ? "" : filter.substr(dash + 1);
    return anyPatternMatches(positive.empty() ? "*" : positive, name) &&
           (negative.empty() || !anyPatternMatches(negative, name));
}
inline std::string filterOf(int argc, char** argv) {
    const std::string flag = "--gtest_filter=";
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]).rfind(flag, 0) == 0) return std::string(argv[i]).substr(flag.size());
    const char* env = std::getenv("GTEST_FILTER");
    return env ? env : "*";
}

}  // namespace internal

inline int RunAllTests(int argc = 0, char** argv = nullptr) {
    int failed = 0, skipped = 0, ran = 0;
    const std::string filter = internal::filterOf(argc, argv);
    std::cout << "[==========] Running the tests that match " << filter << ".\n";
    for (const auto& t : internal::registry()) {
        if (!internal::selected(filter, t.suite + "." + t.name)) continue;
        ++ran;
        internal::state() = internal::State{};
        std::cout << "[ RUN      ] " << t.suite << "." << t.name << std::endl;
        t.body();
        const auto& s = internal::state();
        if (s.failed) {
            ++failed;
            std::cout << "[  FAILED  ] " << t.suite << "." << t.name << std::endl;
        } else if (s.skipped) {
            ++skipped;
            std::cout << "[  SKIPPED ] " << t.suite << "." << t.name << std::endl;
        } else {
            std::cout << "[       OK ] " << t.suite << "." << t.name << std::endl;
        }
    }
    std::cout << "[==========] " << ran << " tests ran; " << failed << " failed, " << skipped << " skipped.\n";
    return failed ? 1 : 0;
}

}  // namespace testing

#define TEST(suite, name)                                                                               \
    static void suite##_##name##_Body();                                                                \
    static ::testing::internal::Registrar suite##_##name##_registrar(#suite, #name, &suite##_##name##_Body); \
    static void suite##_##name##_Body()

#define ATTN_MT_CONCAT2(a, b) a##b
#define ATTN_MT_CONCAT(a, b) ATTN_MT_CONCAT2(a, b)
#define SCOPED_TRACE(m) ::testing::internal::ScopedTrace ATTN_MT_CONCAT(attn_mt_trace_, __LINE__)(__FILE__, __LINE__, (m))

#define ATTN_MT_FAIL(text) ::testing::internal::Failure(__FILE__, __LINE__, (text))
#define ADD_FAILURE() ATTN_MT_FAIL("Failed")
#define GTEST_SKIP() return ::testing::internal::SkipReturn() = ::testing::internal::Skip()

#define ATTN_MT_BOOL(expr, want, onFail)                                                                 \
    if (const ::testing::AssertionResult attn_mt_r_ = ::testing::internal::asResult(expr);               \
        static_cast<bool>(attn_mt_r_) == (want))                                                         \
        ;                                                                                                \
    else                                                                                                 \
        onFail ATTN_MT_FAIL(::testing::internal::boolText(attn_mt_r_, #expr, (want)))

#define ATTN_MT_CMP(a, b, op, opText, onFail)                                                            \
    if (const ::testing::AssertionResult attn_mt_r_ = ::testing::internal::compare(                      \
            [](const auto& x, const auto& y) { return x op y; }, (a), (b), #a, #b, opText);              \
        attn_mt_r_)                                                                                      \
        ;                                                                                                \
    else                                                                                                 \
        onFail ATTN_MT_FAIL(attn_mt_r_.message())

#define ATTN_MT_NEAR(a, b, tol, onFail)                                                                  \
    if (const double attn_mt_a_ = (a), attn_mt_b_ = (b), attn_mt_t_ = (tol);                             \
        std::fabs(attn_mt_a_ - attn_mt_b_) <= attn_mt_t_)                                                \
        ;                                                                                                \
    else                                                                                                 \
        onFail ATTN_MT_FAIL(std::string("The difference between ") + #a + " and " + #b + " is " +          \
                            std::to_string(std::fabs(attn_mt_a_ - attn_mt_b_)) + ", which exceeds " + #tol + \
                            " (" + ::testing::internal::show(attn_mt_a_) + " vs " +                        \
                            ::testing::internal::show(attn_mt_b_) + ")")

#define ATTN_MT_NONFATAL
#define ATTN_MT_FATAL return ::testing::internal::Fatal() =

#define EXPECT_TRUE(c) ATTN_MT_BOOL(c, true, ATTN_MT_NONFATAL)
#define EXPECT_FALSE(c) ATTN_MT_BOOL(c, false, ATTN_MT_NONFATAL)
#define ASSERT_TRUE(c) ATTN_MT_BOOL(c, true, ATTN_MT_FATAL)
#define ASSERT_FALSE(c) ATTN_MT_BOOL(c, false, ATTN_MT_FATAL)
#define EXPECT_EQ(a, b) ATTN_MT_CMP(a, b, ==, "==", ATTN_MT_NONFATAL)
#define EXPECT_NE(a, b) ATTN_MT_CMP(a, b, !=, "!=", ATTN_MT_NONFATAL)
#define EXPECT_LT(a, b) ATTN_MT_CMP(a, b, <, "<", ATTN_MT_NONFATAL)
#define EXPECT_LE(a, b) ATTN_MT_CMP(a, b, <=, "<=", ATTN_MT_NONFATAL)
#define EXPECT_GT(a, b) ATTN_MT_CMP(a, b, >, ">", ATTN_MT_NONFATAL)
#define EXPECT_GE(a, b) ATTN_MT_CMP(a, b, >=, ">=", ATTN_MT_NONFATAL)
#define ASSERT_EQ(a, b) ATTN_MT_CMP(a, b, ==, "==", ATTN_MT_FATAL)
#define ASSERT_NE(a, b) ATTN_MT_CMP(a, b, !=, "!=", ATTN_MT_FATAL)
#define ASSERT_LT(a, b) ATTN_MT_CMP(a, b, <, "<", ATTN_MT_FATAL)
#define ASSERT_LE(a, b) ATTN_MT_CMP(a, b, <=, "<=", ATTN_MT_FATAL)
#define ASSERT_GT(a, b) ATTN_MT_CMP(a, b, >, ">", ATTN_MT_FATAL)
#define ASSERT_GE(a, b) ATTN_MT_CMP(a, b, >=, ">=", ATTN_MT_FATAL)
#define EXPECT_NEAR(a, b, tol) ATTN_MT_NEAR(a, b, tol, ATTN_MT_NONFATAL)
#define ASSERT_NEAR(a, b, tol) ATTN_MT_NEAR(a, b, tol, ATTN_MT_FATAL)
