#pragma once
// A small JSON value, parser and writer for the engine (config.json, safetensors headers,
// context files, results). The engine depends on nothing but the standard library, so this
// replaces a third-party JSON library. Parsing is bounded: nesting depth is capped and errors
// carry the byte offset where the input went wrong.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace attnscope {

class Json {
public:
    enum class Type { Null, Bool, Number, String, Array, Object };
    using Array = std::vector<Json>;
    using Object = std::vector<std::pair<std::string, Json>>;  // keeps insertion order

    Json() = default;                                                   // null
    Json(std::nullptr_t) {}                                             // NOLINT
    Json(bool b) : type_(Type::Bool), b_(b) {}                          // NOLINT
    Json(double d) : type_(Type::Number), d_(d) {}                      // NOLINT
    Json(float d) : type_(Type::Number), d_(d) {}                       // NOLINT
    Json(int i) : type_(Type::Number), d_(i) {}                         // NOLINT
    Json(long i) : type_(Type::Number), d_(double(i)) {}                // NOLINT
    Json(long long i) : type_(Type::Number), d_(double(i)) {}           // NOLINT
    Json(unsigned i) : type_(Type::Number), d_(i) {}                    // NOLINT
    Json(unsigned long i) : type_(Type::Number), d_(double(i)) {}       // NOLINT
    Json(unsigned long long i) : type_(Type::Number), d_(double(i)) {}  // NOLINT
    Json(const char* s) : type_(Type::String), s_(s) {}                 // NOLINT
    Json(std::string s) : type_(Type::String), s_(std::move(s)) {}      // NOLINT
    Json(std::string_view s) : type_(Type::String), s_(s) {}            // NOLINT
    Json(Array a) : type_(Type::Array), a_(std::move(a)) {}             // NOLINT
    Json(Object o) : type_(Type::Object), o_(std::move(o)) {}           // NOLINT

    static Json array() { return Json(Array{}); }
    // A number as parsed: `writtenAsReal` when its literal had a fraction or an exponent.
    static Json number(double d, bool writtenAsReal) {
        Json j(d);
        j.writtenAsReal_ = writtenAsReal;
        return j;
    }
    static Json object() { return Json(Object{}); }

    Type type() const { return type_; }
    bool isNull() const { return type_ == Type::Null; }
    bool isBool() const { return type_ == Type::Bool; }
    bool isNumber() const { return type_ == Type::Number; }
    bool isString() const { return type_ == Type::String; }
    bool isArray() const { return type_ == Type::Array; }
    bool isObject() const { return type_ == Type::Object; }

    // A number written without a fraction or an exponent ("3", not "3.0" or "3e0") whose value
    // is integral: what a count or an id must be.
    bool isInteger() const;

    bool asBool() const { return b_; }
    double asNumber() const { return d_; }
    // The number truncated toward zero and saturated to the int64 range (NaN gives 0), so any
    // parsed number converts without undefined behaviour; callers compare to check it was exact.
    std::int64_t asInt() const;
    const std::string& asString() const { return s_; }
    const Array& asArray() const { return a_; }
    Array& asArray() { return a_; }
    const Object& asObject() const { return o_; }
    Object& asObject() { return o_; }

    // Object access. find() returns null when absent or when this is not an object.
    const Json* find(std::string_view key) const;
    bool contains(std::string_view key) const { return find(key) != nullptr; }
    // Insert or replace (object only; a null value becomes an object first).
    Json& operator[](std::string_view key);
    void push(Json v);  // array append (a null value becomes an array first)
    std::size_t size() const { return type_ == Type::Array ? a_.size() : type_ == Type::Object ? o_.size() : 0; }

    // Serialise. indent < 0: compact. Numbers print with up to 9 significant digits unless
    // integral; NaN and infinities print as null (JSON has no spelling for them).
    std::string dump(int indent = -1) const;
    void dumpTo(std::string& out, int indent = -1, int level = 0) const;

    // Parse the whole text. `file` only labels errors.
    static Result<Json> parse(std::string_view text, const std::string& file = {});
    // An empty (or blank) file is the error "empty file".
    static Result<Json> parseFile(const std::string& path);

private:
    Type type_ = Type::Null;
    bool b_ = false;
    double d_ = 0;
    bool writtenAsReal_ = false;  // parsed from a literal with a fraction or an exponent
    std::string s_;
    Array a_;
    Object o_;
};

// Append a JSON string literal (with quotes) for s to out; invalid UTF-8 bytes become U+FFFD.
void jsonEscape(std::string& out, std::string_view s);

// Write `content` to `path` atomically (temp file in the same folder + rename): readers never
// see a half-written file and a failure leaves any previous file untouched.
Result<void> writeFileAtomic(const std::string& path, std::string_view content);
// The whole file. Errors name the path: a folder ("is a directory"), a file over maxBytes. Pipes
// and devices are read up to maxBytes.
Result<std::string> readFile(const std::string& path, std::uint64_t maxBytes = (1ull << 30));

}  // namespace attnscope
