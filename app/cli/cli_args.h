#pragma once
// The command line of attnscope-cli as data: one table of commands, each with its options (name,
// kind of value, one-line help). The table drives the parsing, each command's --help, the
// suggestion for a mistyped option, and the hidden --list-options that the man page test
// (tests/packaging) and the bash completion (packaging/bash-completion) read. Adding an option is
// one OptionSpec in its command's list; adding a command is one CommandSpec in commands()
// (cli_main.cpp holds the table); the man page test then asks for its lines in
// packaging/man/attnscope-cli.1.
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace attnscope::cli {

// Bad command-line input: exit 2 with this one line.
struct UsageError {
    std::string message;
};

// What an option's value is; the completion offers files or choices by it.
enum class ValueKind {
    Flag,         // no value
    Integer,      // a whole number
    Number,       // a real number
    Text,         // free text
    IntegerList,  // comma-separated whole numbers
    Choice,       // one of OptionSpec::value's '|'-separated words; lower-case words are literal
                  // choices, upper-case ones placeholders ("N|mean"); the command checks the value
    Model,        // a .gguf file, a Hugging Face folder or a name in the models folder
    ContextFile,  // a context JSON file
    InputFile,    // any file read
    OutputFile,   // a file written
};
const char* toString(ValueKind kind);  // "flag", "integer", ..., "model", "context", "input", "output"

struct OptionSpec {
    const char* name;       // without the leading "--"
    ValueKind kind;         // what its value is (Flag: none)
    std::string value;      // the value's placeholder ("N", "FILE"), or the choices "a|b|c"
    std::string help;       // one line
    bool required = false;  // the command fails without it
};

// Parsed "--key value" options plus positional arguments.
struct Args {
    std::map<std::string, std::string> opts;                 // the last value of each option
    std::vector<std::pair<std::string, std::string>> given;  // every option, in order (repeatable ones)
    std::vector<std::string> positional;

    bool has(const std::string& k) const { return opts.count(k) != 0; }
    std::string get(const std::string& k, const std::string& def = {}) const;
    std::string need(const std::string& k) const;  // UsageError when absent
    int getInt(const std::string& k, int def) const;
    double getDouble(const std::string& k, double def) const;  // UsageError unless finite
    std::vector<std::string> all(const std::string& k) const;  // every value of a repeatable option
};

struct CommandSpec {
    const char* name;
    const char* positional;  // "MODEL" for info, "" when the command takes none
    ValueKind positionalKind;
    const char* summary;  // one line
    std::vector<OptionSpec> options;
    int (*run)(const Args&);
};

// The options every command takes besides its own: --help.
const OptionSpec& helpOption();

// "--key value", "--key=value" or a flag; anything else is one of the command's positional
// arguments. Checks that every option is known (suggesting the nearest one) and that the
// required ones are present.
Args parseCommandArgs(const CommandSpec& command, const std::vector<std::string>& arguments);

// True when the arguments ask for the command's help: --help or -h anywhere but as an option's
// value, whatever else is wrong with them.
bool asksForHelp(const CommandSpec& command, const std::vector<std::string>& arguments);

// "usage: attnscope-cli analyze --model MODEL ..." and one line per option, then `footer`.
std::string commandUsage(const CommandSpec& command, const std::string& footer);
// The overview: every command's synopsis and summary, then `footer`.
std::string programUsage(const std::vector<CommandSpec>& commands, const std::string& footer);
// Machine-readable table for the man page test and the completion, one line each:
//   command NAME POSITIONAL_KIND POSITIONAL         ("-" when none)
//   option COMMAND --NAME KIND VALUE                ("-" for a flag)
std::string listOptions(const std::vector<CommandSpec>& commands);

// The command called `name`, or nullptr.
const CommandSpec* findCommand(const std::vector<CommandSpec>& commands, const std::string& name);
// The candidate nearest to `word` by edit distance when it is close enough to be a typo, else "".
std::string nearestName(const std::string& word, const std::vector<std::string>& candidates);
// Levenshtein distance (insertions, deletions, substitutions).
std::size_t editDistance(const std::string& a, const std::string& b);

}  // namespace attnscope::cli
