#include "cli_args.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>

namespace attnscope::cli {

namespace {

constexpr const char* kProgram = "attnscope-cli";
constexpr std::size_t kHelpColumn = 34;   // where an option's help starts in a usage
constexpr std::size_t kUsageWidth = 100;  // where it wraps

const OptionSpec kHelpOption{"help", ValueKind::Flag, "", "print this command's usage and exit"};

// The spec of `--name` in `command` (its own options, then --help), or nullptr.
const OptionSpec* findOption(const CommandSpec& command, const std::string& name) {
    for (const OptionSpec& o : command.options)
        if (name == o.name) return &o;
    return name == kHelpOption.name ? &kHelpOption : nullptr;
}

std::vector<std::string> optionNames(const CommandSpec& command) {
    std::vector<std::string> names;
    for (const OptionSpec& o : command.options) names.emplace_back(o.name);
    names.emplace_back(kHelpOption.name);
    return names;
}

[[noreturn]] void unknownOption(const CommandSpec& command, const std::string& key) {
    const std::string nearest = nearestName(key, optionNames(command));
    throw UsageError{"unknown option --" + key + (nearest.empty() ? "" : " (did you mean --" + nearest + "?)")};
}

// "--model MODEL", or "--verbose" for a flag.
std::string optionWithValue(const OptionSpec& o) {
    std::string s = std::string("--") + o.name;
    if (o.kind != ValueKind::Flag) s.append(" ").append(o.value);
    return s;
}

// "analyze --model MODEL --context CONTEXT.json [options]": positional and required options.
std::string synopsis(const CommandSpec& command) {
    std::string s = command.name;
    if (*command.positional) s.append(" ").append(command.positional);
    bool optional = false;
    for (const OptionSpec& o : command.options) {
        if (o.required) s.append(" ").append(optionWithValue(o));
        else optional = true;
    }
    return optional ? s + " [options]" : s;
}

// "  LEFT    help", the help on the next line when LEFT is too wide, wrapped at kUsageWidth.
std::string helpLine(const std::string& left, const std::string& help) {
    std::string text = "  " + left;
    std::size_t column = text.size();
    if (column + 2 > kHelpColumn) text += "\n", column = 0;
    std::size_t start = 0;
    while (start < help.size()) {
        text += std::string(kHelpColumn - column, ' ');
        std::size_t end = help.size();
        if (end - start > kUsageWidth - kHelpColumn) end = help.rfind(' ', start + kUsageWidth - kHelpColumn);
        if (end == std::string::npos || end <= start) end = help.size();
        text += help.substr(start, end - start) + "\n";
        start = end + 1, column = 0;
    }
    return text;
}

}  // namespace

const char* toString(ValueKind kind) {
    static constexpr const char* kNames[] = {"flag",   "integer", "number",  "text",  "integer-list",
                                             "choice", "model",   "context", "input", "output"};
    return kNames[static_cast<std::size_t>(kind)];
}

std::string Args::get(const std::string& k, const std::string& def) const {
    auto it = opts.find(k);
    return it == opts.end() ? def : it->second;
}

std::string Args::need(const std::string& k) const {
    if (!has(k)) throw UsageError{"missing required option --" + k};
    return get(k);
}

int Args::getInt(const std::string& k, int def) const {
    if (!has(k)) return def;
    const std::string& v = get(k);
    char* end = nullptr;
    long x = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || x < -1000000000L || x > 1000000000L)
        throw UsageError{"--" + k + " expects an integer, got '" + v + "'"};
    return static_cast<int>(x);
}

double Args::getDouble(const std::string& k, double def) const {
    if (!has(k)) return def;
    const std::string& v = get(k);
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || !std::isfinite(x))
        throw UsageError{"--" + k + " expects a number, got '" + v + "'"};
    return x;
}

std::vector<std::string> Args::all(const std::string& k) const {
    std::vector<std::string> values;
    for (const auto& [key, value] : given)
        if (key == k) values.push_back(value);
    return values;
}

const OptionSpec& helpOption() { return kHelpOption; }

Args parseCommandArgs(const CommandSpec& command, const std::vector<std::string>& arguments) {
    const std::size_t maxPositional = *command.positional ? 1 : 0;
    Args a;
    for (std::size_t i = 0; i < arguments.size(); ++i) {
        const std::string& s = arguments[i];
        if (s.rfind("--", 0) != 0) {
            if (a.positional.size() >= maxPositional) throw UsageError{"unexpected argument '" + s + "'"};
            a.positional.push_back(s);
            continue;
        }
        std::string key = s.substr(2), value;
        const auto eq = key.find('=');
        if (eq != std::string::npos) {
            value = key.substr(eq + 1);
            key = key.substr(0, eq);
        }
        const OptionSpec* spec = findOption(command, key);
        if (!spec) unknownOption(command, key);
        if (eq == std::string::npos && spec->kind != ValueKind::Flag) {
            if (i + 1 >= arguments.size()) throw UsageError{"option " + s + " needs a value"};
            value = arguments[++i];
        }
        a.opts[key] = value;
        a.given.emplace_back(key, value);
    }
    for (const OptionSpec& o : command.options)
        if (o.required && !a.has(o.name)) throw UsageError{std::string("missing required option --") + o.name};
    return a;
}

bool asksForHelp(const CommandSpec& command, const std::vector<std::string>& arguments) {
    for (std::size_t i = 0; i < arguments.size(); ++i) {
        const std::string& s = arguments[i];
        if (s == "--help" || s == "-h") return true;
        const OptionSpec* spec = s.rfind("--", 0) == 0 ? findOption(command, s.substr(2)) : nullptr;
        if (spec && spec->kind != ValueKind::Flag) ++i;  // its value, even one spelled "-h"
    }
    return false;
}

std::string commandUsage(const CommandSpec& command, const std::string& footer) {
    std::string s = std::string("usage: ") + kProgram + " " + synopsis(command) + "\n" + command.summary + "\n";
    s += "\noptions:\n";
    for (const OptionSpec& o : command.options)
        s += helpLine(optionWithValue(o), o.help + (o.required ? " (required)" : ""));
    s += helpLine(optionWithValue(kHelpOption), kHelpOption.help);
    return s + "\n" + footer;
}

std::string programUsage(const std::vector<CommandSpec>& commands, const std::string& footer) {
    std::string s = std::string("usage: ") + kProgram + " COMMAND [options]\n       " + kProgram +
                    " COMMAND --help      the options of one command\n       " + kProgram + " --version\n\ncommands:\n";
    for (const CommandSpec& c : commands) s += helpLine(synopsis(c), c.summary);
    return s + "\n" + footer;
}

std::string listOptions(const std::vector<CommandSpec>& commands) {
    std::string s;
    for (const CommandSpec& c : commands) {
        const bool positional = *c.positional;
        s += std::string("command ") + c.name + " " + (positional ? toString(c.positionalKind) : "-") + " " +
             (positional ? c.positional : "-") + "\n";
        for (const OptionSpec& o : c.options)
            s += std::string("option ") + c.name + " --" + o.name + " " + toString(o.kind) + " " +
                 (o.kind == ValueKind::Flag ? std::string("-") : o.value) + "\n";
        s += std::string("option ") + c.name + " --" + kHelpOption.name + " flag -\n";
    }
    return s;
}

const CommandSpec* findCommand(const std::vector<CommandSpec>& commands, const std::string& name) {
    for (const CommandSpec& c : commands)
        if (name == c.name) return &c;
    return nullptr;
}

std::string nearestName(const std::string& word, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t bestDistance = std::string::npos;
    for (const std::string& c : candidates) {
        const std::size_t d = editDistance(word, c);
        if (d < bestDistance) bestDistance = d, best = c;
    }
    // A typo changes a few letters: up to a third of the word, at least one, at most three.
    const std::size_t allowed = std::clamp<std::size_t>(word.size() / 3, 1, 3);
    return bestDistance <= allowed ? best : std::string();
}

std::size_t editDistance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), std::size_t{0});
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
            diagonal = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitution});
        }
    }
    return row[b.size()];
}

}  // namespace attnscope::cli
