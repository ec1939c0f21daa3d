// The command line of waitron-serve, exactly as waitress-serve parses it: Python's
// getopt.getopt() long options over the option table (waitress Adjustments.parse_args),
// plus the runner's own flags, and the generated help text (waitress runner.HELP).
//
// Owner: the config layer; the runner (src/runner) is its user.
//
// Flags: every option is --name-with-dashes=VALUE (or --name VALUE); a boolean option has
// the value-less --name ("true") and --no-name ("false"). Besides the options: --help,
// --call, --app=MODULE:OBJECT and waitron's --config=FILE.json. As with getopt.getopt()
// (not gnu_getopt), options end at the first positional argument or at "--"; everything
// after is positional. A unique prefix of a flag is accepted (--thr=8). --listen may be
// repeated: its values accumulate into one space-separated string (with waitress's leading
// space). Values stay strings; config::apply() converts them.
//
// Threads: pure functions; any thread may call them.
#pragma once

#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/adjustments.hpp"

namespace waitron::config {

// A usage error, with getopt's message ("option --bad-opt not recognized", "option
// --threads requires argument", "option --x not a unique prefix", "option --help must not
// have an argument") or the runner's ("Specify an application", "Provide only one WSGI
// app"). The runner prints "Error: <message>", a blank line and help_text() to stderr.
class CliError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// What the command line said.
struct CliArgs {
  // The option settings as strings, in order of first appearance; a repeated flag keeps
  // its last value, except --listen, which accumulates.
  std::vector<NamedValue> values;
  // The arguments after the options (the first is normally MODULE:OBJECT).
  std::vector<std::string> positional;
  bool help = false;                  // --help
  bool call = false;                  // --call
  std::optional<std::string> app;     // --app=MODULE:OBJECT
  std::optional<std::string> config;  // --config=FILE.json
};

// Parses the arguments after argv[0]. Throws CliError.
[[nodiscard]] CliArgs parse_cli(std::span<const std::string> args);

// The application to serve, as waitress's runner chooses it: --app, else the first
// positional argument, else `from_config` (the JSON file's "app"). Throws CliError
// "Specify an application" when there is none, and "Provide only one WSGI app" when --app
// and a positional argument, or two positional arguments, are given.
[[nodiscard]] std::string choose_app(const CliArgs& args,
                                     const std::optional<std::string>& from_config);

// The help text, generated from the option table: "Usage:\n\n    {prog} [OPTS]
// MODULE:OBJECT\n\n" then every flag with its help and default, in waitress's sections.
[[nodiscard]] std::string help_text(std::string_view prog);

}  // namespace waitron::config
