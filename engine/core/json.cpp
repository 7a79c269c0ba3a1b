#include "core/json.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace attnscope {

bool Json::isInteger() const {
    return type_ == Type::Number && !writtenAsReal_ && std::isfinite(d_) && std::floor(d_) == d_;
}

std::int64_t Json::asInt() const {
    constexpr double kTwoTo63 = 9223372036854775808.0;
    if (std::isnan(d_)) return 0;
    if (d_ >= kTwoTo63) return INT64_MAX;
    if (d_ < -kTwoTo63) return INT64_MIN;
    return static_cast<std::int64_t>(d_);
}

const Json* Json::find(std::string_view key) const {
    if (type_ != Type::Object) return nullptr;
    for (const auto& kv : o_)
        if (kv.first == key) return &kv.second;
    return nullptr;
}

Json& Json::operator[](std::string_view key) {
    if (type_ == Type::Null) type_ = Type::Object;
    for (auto& kv : o_)
        if (kv.first == key) return kv.second;
    o_.emplace_back(std::string(key), Json());
    return o_.back().second;
}

void Json::push(Json v) {
    if (type_ == Type::Null) type_ = Type::Array;
    a_.push_back(std::move(v));
}

namespace {

// Decode one UTF-8 sequence at s[i]; returns its length or 0 when invalid.
int utf8Len(std::string_view s, std::size_t i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (int k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
    return n;
}

void appendNumber(std::string& out, double d) {
    if (!std::isfinite(d)) {
        out += "null";
        return;
    }
    if (d == std::floor(d) && std::fabs(d) < 9.0e15) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(d));
        out += buf;
        return;
    }
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.9g", d);
    out += buf;
}

void newline(std::string& out, int indent, int level) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<std::size_t>(indent * level), ' ');
}

// The JSON escape of a character that needs one, or null.
const char* shortEscape(unsigned char c) {
    switch (c) {
        case '"': return "\\\"";
        case '\\': return "\\\\";
        case '\n': return "\\n";
        case '\r': return "\\r";
        case '\t': return "\\t";
        default: return nullptr;
    }
}

}  // namespace

void jsonEscape(std::string& out, std::string_view s) {
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (const char* e = shortEscape(c)) {
            out += e;
            ++i;
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
            ++i;
        } else if (const int n = utf8Len(s, i); n == 0) {
            out += "\xEF\xBF\xBD";  // not UTF-8: the replacement character
            ++i;
        } else {
            out.append(s.substr(i, static_cast<std::size_t>(n)));
            i += static_cast<std::size_t>(n);
        }
    }
    out += '"';
}

void Json::dumpTo(std::string& out, int indent, int level) const {
    switch (type_) {
        case Type::Null: out += "null"; break;
        case Type::Bool: out += b_ ? "true" : "false"; break;
        case Type::Number: appendNumber(out, d_); break;
        case Type::String: jsonEscape(out, s_); break;
        case Type::Array: {
            out += '[';
            // Arrays of scalars stay on one line even when indenting: results are mostly
            // long numeric rows, and one number per line is unreadable.
            bool flat = true;
            for (const auto& v : a_)
                if (v.isArray() || v.isObject()) {
                    flat = false;
                    break;
                }
            for (std::size_t i = 0; i < a_.size(); ++i) {
                if (i) out += flat && indent >= 0 ? ", " : ",";
                if (!flat) newline(out, indent, level + 1);
                a_[i].dumpTo(out, indent, level + 1);
            }
            if (!flat && !a_.empty()) newline(out, indent, level);
            out += ']';
            break;
        }
        case Type::Object: {
            out += '{';
            for (std::size_t i = 0; i < o_.size(); ++i) {
                if (i) out += ',';
                newline(out, indent, level + 1);
                jsonEscape(out, o_[i].first);
                out += indent >= 0 ? ": " : ":";
                o_[i].second.dumpTo(out, indent, level + 1);
            }
            if (!o_.empty()) newline(out, indent, level);
            out += '}';
            break;
        }
    }
}

std::string Json::dump(int indent) const {
    std::string out;
    dumpTo(out, indent, 0);
    return out;
}

namespace {

class Parser {
public:
    Parser(std::string_view t, const std::string& f) : text_(t), file_(f) {}

    Result<Json> parseDocument() {
        skipWs();
        auto v = parseValue(0);
        if (!v) return v;
        skipWs();
        if (pos_ != text_.size()) return fail("unexpected trailing characters after the JSON value");
        return v;
    }

private:
    static constexpr int kMaxDepth = 256;
    std::string_view text_;
    const std::string& file_;
    std::size_t pos_ = 0;

    Error fail(const std::string& why) const {
        return makeError(ErrorKind::Format, "malformed JSON: " + why, file_, pos_);
    }
    void skipWs() {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t'))
            ++pos_;
    }
    bool consume(std::string_view lit) {
        if (text_.substr(pos_, lit.size()) == lit) {
            pos_ += lit.size();
            return true;
        }
        return false;
    }

    Result<Json> parseValue(int depth) {
        if (depth > kMaxDepth) return fail("nesting deeper than 256 levels");
        if (pos_ >= text_.size()) return fail("unexpected end of input");
        char c = text_[pos_];
        if (c == '{') return parseObject(depth);
        if (c == '[') return parseArray(depth);
        if (c == '"') {
            auto s = parseString();
            if (!s) return s.takeError();
            return Json(std::move(*s));
        }
        if (consume("true")) return Json(true);
        if (consume("false")) return Json(false);
        if (consume("null")) return Json();
        if (c == '-' || (c >= '0' && c <= '9')) return parseNumber();
        if (consume("NaN")) return Json(std::nan(""));  // Python's json writes these
        if (consume("Infinity")) return Json(HUGE_VAL);
        if (consume("-Infinity")) return Json(-HUGE_VAL);
        return fail(std::string("unexpected character '") + c + "'");
    }

    Result<Json> parseNumber() {
        std::size_t start = pos_;
        if (text_[pos_] == '-') ++pos_;
        if (consume("Infinity")) return Json(-HUGE_VAL);
        while (pos_ < text_.size() &&
               ((text_[pos_] >= '0' && text_[pos_] <= '9') || text_[pos_] == '.' || text_[pos_] == 'e' ||
                text_[pos_] == 'E' || text_[pos_] == '+' || text_[pos_] == '-'))
            ++pos_;
        std::string tok(text_.substr(start, pos_ - start));
        char* end = nullptr;
        errno = 0;
        double d = std::strtod(tok.c_str(), &end);
        if (end != tok.c_str() + tok.size() || tok.empty() || tok == "-") {
            pos_ = start;
            return fail("invalid number '" + tok + "'");
        }
        return Json::number(d, tok.find_first_of(".eE") != std::string::npos);
    }

    static void appendUtf8(std::string& out, std::uint32_t cp) {
        if (cp < 0x80) out += static_cast<char>(cp);
        else if (cp < 0x800) {
            out += char(0xC0 | (cp >> 6));
            out += char(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += char(0xE0 | (cp >> 12));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        } else {
            out += char(0xF0 | (cp >> 18));
            out += char(0x80 | ((cp >> 12) & 0x3F));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        }
    }

    Result<std::uint32_t> hex4() {
        if (pos_ + 4 > text_.size()) return fail("truncated \\u escape");
        std::uint32_t v = 0;
        for (int k = 0; k < 4; ++k) {
            char h = text_[pos_++];
            v <<= 4;
            if (h >= '0' && h <= '9') v |= std::uint32_t(h - '0');
            else if (h >= 'a' && h <= 'f') v |= std::uint32_t(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') v |= std::uint32_t(h - 'A' + 10);
            else return fail("invalid \\u escape");
        }
        return v;
    }

    Result<std::string> parseString() {
        ++pos_;  // opening quote
        std::string out;
        while (true) {
            if (pos_ >= text_.size()) return fail("unterminated string");
            char c = text_[pos_++];
            if (c == '"') break;
            if (static_cast<unsigned char>(c) < 0x20) {
                --pos_;
                return fail("control character in string");
            }
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= text_.size()) return fail("unterminated escape");
            char e = text_[pos_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    auto h = hex4();
                    if (!h) return h.takeError();
                    std::uint32_t cp = *h;
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        if (consume("\\u")) {
                            auto lo = hex4();
                            if (!lo) return lo.takeError();
                            if (*lo >= 0xDC00 && *lo <= 0xDFFF) cp = 0x10000 + ((cp - 0xD800) << 10) + (*lo - 0xDC00);
                            else cp = 0xFFFD;
                        } else cp = 0xFFFD;
                    } else if (cp >= 0xDC00 && cp <= 0xDFFF) cp = 0xFFFD;
                    appendUtf8(out, cp);
                    break;
                }
                default: --pos_; return fail("invalid escape");
            }
        }
        return out;
    }

    // An array's or object's items, from its opening bracket to `close`, separated by commas;
    // `parseItem` reads one item (white space around items is skipped here).
    template <typename ParseItem>
    Result<void> parseItems(char close, const char* what, ParseItem parseItem) {
        const std::string_view closing(&close, 1);
        ++pos_;
        skipWs();
        if (consume(closing)) return {};
        while (true) {
            skipWs();
            ATTN_TRY(parseItem());
            skipWs();
            if (consume(",")) continue;
            if (consume(closing)) return {};
            return fail(std::string("expected ',' or '") + close + "' in " + what);
        }
    }

    Result<Json> parseArray(int depth) {
        Json arr = Json::array();
        ATTN_TRY(parseItems(']', "array", [&]() -> Result<void> {
            ATTN_ASSIGN(v, parseValue(depth + 1));
            arr.asArray().push_back(std::move(v));
            return {};
        }));
        return arr;
    }

    Result<Json> parseObject(int depth) {
        Json obj = Json::object();
        ATTN_TRY(parseItems('}', "object", [&]() -> Result<void> {
            if (pos_ >= text_.size() || text_[pos_] != '"') return fail("expected a string key in object");
            ATTN_ASSIGN(key, parseString());
            skipWs();
            if (!consume(":")) return fail("expected ':' after object key");
            skipWs();
            ATTN_ASSIGN(v, parseValue(depth + 1));
            obj.asObject().emplace_back(std::move(key), std::move(v));
            return {};
        }));
        return obj;
    }
};

}  // namespace

Result<Json> Json::parse(std::string_view text, const std::string& file) {
    Parser p(text, file);
    return p.parseDocument();
}

namespace {

Error tooLarge(const std::string& path, const std::string& size, std::uint64_t maxBytes) {
    return makeError(ErrorKind::InvalidInput,
                     "file is too large (" + size + " bytes, limit " + std::to_string(maxBytes) + ")", path);
}

// A pipe or a device: read until its end or one byte past the limit.
Result<std::string> readStream(std::ifstream& in, const std::string& path, std::uint64_t maxBytes) {
    std::string s;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        s.append(buf, static_cast<std::size_t>(in.gcount()));
        if (s.size() > maxBytes) return tooLarge(path, "more than " + std::to_string(maxBytes), maxBytes);
    }
    if (in.bad()) return makeError(ErrorKind::Io, "cannot read file", path);
    return s;
}

}  // namespace

Result<std::string> readFile(const std::string& path, std::uint64_t maxBytes) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        return makeError(ErrorKind::InvalidInput, "is a directory, not a file", path);
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorKind::Io, std::string("cannot open file: ") + std::strerror(errno), path);
    if (!S_ISREG(st.st_mode)) return readStream(in, path, maxBytes);
    in.seekg(0, std::ios::end);
    auto size = static_cast<std::uint64_t>(in.tellg());
    if (size > maxBytes) return tooLarge(path, std::to_string(size), maxBytes);
    in.seekg(0);
    std::string s(size, '\0');
    if (size && !in.read(s.data(), static_cast<std::streamsize>(size)))
        return makeError(ErrorKind::Io, "cannot read file", path);
    return s;
}

Result<Json> Json::parseFile(const std::string& path) {
    auto text = readFile(path, 256ull << 20);
    if (!text) return text.takeError();
    if (text->find_first_not_of(" \t\r\n") == std::string::npos)
        return makeError(ErrorKind::InvalidInput, "empty file (JSON expected)", path);
    return parse(*text, path);
}

Result<void> writeFileAtomic(const std::string& path, std::string_view content) {
    std::string tmp = path + ".tmp-XXXXXX";
    int fd = ::mkstemp(tmp.data());
    if (fd < 0)
        return makeError(ErrorKind::Io, std::string("cannot create temporary file: ") + std::strerror(errno), path);
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return makeError(ErrorKind::Io, std::string("cannot write: ") + std::strerror(e), path);
        }
        done += static_cast<std::size_t>(n);
    }
    ::fchmod(fd, 0644);
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        ::unlink(tmp.c_str());
        return makeError(ErrorKind::Io, "cannot flush file", path);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return makeError(ErrorKind::Io, std::string("cannot replace file: ") + std::strerror(e), path);
    }
    return {};
}

}  // namespace attnscope
