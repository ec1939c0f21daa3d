// The waitron-serve command line: Python getopt long-option semantics over the option
// table, and the help text. See adjustments_cli.hpp.
//
// Owner: the config layer. Any thread may call these functions; they share no state.
#include "config/adjustments_cli.hpp"

#include <algorithm>
#include <utility>

namespace waitron::config {
namespace {

// What a long option does once recognised.
enum class Action { set_value, set_true, set_false, help, call, app, config };

// One entry of getopt's long-option list: "threads=" is {"threads", true}.
struct LongOption {
  std::string name;  // with dashes, without "--"
  bool takes_argument;
  Action action;
  const OptionInfo* option;  // for set_value, set_true, set_false
};

// The runner's own flags, which are not adjustments.
struct RunnerFlag {
  std::string_view name;
  std::string_view metavar;  // "" when the flag takes no value
  Action action;
  std::string_view help;
};

constexpr RunnerFlag kRunnerFlags[] = {
    {"help", "", Action::help, "Show this information."},
    {"app", "MODULE:OBJECT", Action::app,
     "The WSGI application to serve, instead of the positional argument."},
    {"call", "", Action::call, "Call the given object to get the WSGI application."},
    {"config", "FILE.json", Action::config,
     "Read options from a JSON file: an object whose keys are the option names below with "
     "underscores (\"threads\": 8, \"listen\": [\"127.0.0.1:8080\"]), plus \"app\". Flags on "
     "the command line override the file."},
};

std::string dashed(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

// getopt's list of long options: the runner's flags and every option (a boolean twice).
// The order does not matter: a prefix is either unique or an error.
std::vector<LongOption> long_options() {
  std::vector<LongOption> list;
  for (const RunnerFlag& flag : kRunnerFlags) {
    list.push_back({std::string(flag.name), !flag.metavar.empty(), flag.action, nullptr});
  }
  for (const OptionInfo& option : options()) {
    const std::string name = dashed(option.name);
    if (option.is_boolean) {
      list.push_back({name, false, Action::set_true, &option});
      list.push_back({"no-" + name, false, Action::set_false, &option});
    } else {
      list.push_back({name, true, Action::set_value, &option});
    }
  }
  return list;
}

// getopt.long_has_args(): the option `typed` names, exactly or as a unique prefix.
const LongOption& match_long(std::string_view typed, const std::vector<LongOption>& list) {
  std::vector<const LongOption*> possibilities;
  for (const LongOption& option : list) {
    if (std::string_view(option.name).substr(0, typed.size()) == typed) {
      possibilities.push_back(&option);
    }
  }
  if (possibilities.empty()) {
    throw CliError("option --" + std::string(typed) + " not recognized");
  }
  for (const LongOption* option : possibilities) {
    if (option->name == typed) return *option;
  }
  if (possibilities.size() > 1) {
    throw CliError("option --" + std::string(typed) + " not a unique prefix");
  }
  return *possibilities.front();
}

// Stores a value as waitress's kw dict does: a repeated name keeps its first position.
void set_value(std::vector<NamedValue>& values, std::string_view name, std::string value) {
  for (NamedValue& existing : values) {
    if (existing.name == name) {
      existing.value = std::move(value);
      return;
    }
  }
  values.push_back(NamedValue{std::string(name), std::move(value), {}});
}

// waitress: kw["listen"] = "{} {}".format(kw.get("listen", ""), value).
void append_listen(std::vector<NamedValue>& values, const std::string& value) {
  for (NamedValue& existing : values) {
    if (existing.name == "listen") {
      existing.value = std::get<std::string>(existing.value) + " " + value;
      return;
    }
  }
  values.push_back(NamedValue{"listen", " " + value, {}});
}

void record(CliArgs& result, const LongOption& option, std::string value) {
  switch (option.action) {
    case Action::help:
      result.help = true;
      break;
    case Action::call:
      result.call = true;
      break;
    case Action::app:
      result.app = std::move(value);
      break;
    case Action::config:
      result.config = std::move(value);
      break;
    case Action::set_true:
      set_value(result.values, option.option->name, "true");
      break;
    case Action::set_false:
      set_value(result.values, option.option->name, "false");
      break;
    case Action::set_value:
      if (option.option->name == "listen") {
        append_listen(result.values, value);
      } else {
        set_value(result.values, option.option->name, std::move(value));
      }
      break;
  }
}

// ---- Help text ---------------------------------------------------------------------------

constexpr std::size_t kWidth = 79;
constexpr std::string_view kIndent = "        ";

// Appends `help` under a flag: paragraphs wrapped at kWidth, examples (paragraphs starting
// with four spaces) verbatim, each line indented by kIndent.
void append_help(std::string& out, std::string_view help) {
  while (!help.empty()) {
    const auto end = help.find("\n\n");
    const std::string_view paragraph = help.substr(0, end);
    help = end == std::string_view::npos ? std::string_view{} : help.substr(end + 2);
    if (paragraph.substr(0, 4) == "    ") {
      std::string_view lines = paragraph;
      while (!lines.empty()) {
        const auto newline = lines.find('\n');
        out += kIndent;
        out += lines.substr(0, newline);
        out += '\n';
        lines = newline == std::string_view::npos ? std::string_view{} : lines.substr(newline + 1);
      }
    } else {
      std::string line;
      std::size_t i = 0;
      while (i < paragraph.size()) {
        while (i < paragraph.size() && paragraph[i] == ' ') ++i;
        const std::size_t start = i;
        while (i < paragraph.size() && paragraph[i] != ' ') ++i;
        if (i == start) break;
        const std::string_view word = paragraph.substr(start, i - start);
        if (!line.empty() && kIndent.size() + line.size() + 1 + word.size() > kWidth) {
          out += std::string(kIndent) + line + "\n";
          line.clear();
        }
        line += (line.empty() ? "" : " ") + std::string(word);
      }
      if (!line.empty()) out += std::string(kIndent) + line + "\n";
    }
    if (!help.empty()) out += '\n';
  }
}

void append_flag(std::string& out, std::string_view usage, std::string_view help) {
  out += "    --";
  out += usage;
  out += '\n';
  append_help(out, help);
  out += '\n';
}

void append_option(std::string& out, const OptionInfo& option, const Adjustments& defaults) {
  const std::string name = dashed(option.name);
  const std::string usage =
      option.is_boolean ? "[no-]" + name : name + "=" + std::string(option.metavar);
  const std::string help =
      std::string(option.help) + "\n\nDefault: " + option.describe(defaults) + ".";
  append_flag(out, usage, help);
}

void append_section(std::string& out, std::string_view title, Section section,
                    const Adjustments& defaults) {
  out += title;
  out += "\n\n";
  for (const OptionInfo& option : options()) {
    if (option.section == section) append_option(out, option, defaults);
  }
}

}  // namespace

CliArgs parse_cli(std::span<const std::string> args) {
  const std::vector<LongOption> list = long_options();
  CliArgs result;
  std::size_t i = 0;
  // getopt.getopt(): options until the first argument that is not one.
  while (i < args.size() && args[i].starts_with('-') && args[i] != "-") {
    const std::string& arg = args[i++];
    if (arg == "--") break;
    if (!arg.starts_with("--")) {
      // No short options exist: getopt reports the first letter.
      throw CliError("option -" + arg.substr(1, 1) + " not recognized");
    }
    std::string_view typed = std::string_view(arg).substr(2);
    std::optional<std::string> value;
    if (const auto equals = typed.find('='); equals != std::string_view::npos) {
      value = std::string(typed.substr(equals + 1));
      typed = typed.substr(0, equals);
    }
    const LongOption& option = match_long(typed, list);
    if (option.takes_argument && !value) {
      if (i == args.size()) throw CliError("option --" + option.name + " requires argument");
      value = args[i++];
    } else if (!option.takes_argument && value) {
      throw CliError("option --" + option.name + " must not have an argument");
    }
    record(result, option, value.value_or(""));
  }
  result.positional.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  return result;
}

std::string choose_app(const CliArgs& args, const std::optional<std::string>& from_config) {
  const std::size_t given = (args.app ? 1 : 0) + args.positional.size();
  if (given > 1) throw CliError("Provide only one WSGI app");
  if (args.app) return *args.app;
  if (!args.positional.empty()) return args.positional.front();
  if (from_config) return *from_config;
  throw CliError("Specify an application");
}

std::string help_text(std::string_view prog) {
  const Adjustments defaults;
  std::string out = "Usage:\n\n    " + std::string(prog) + " [OPTS] MODULE:OBJECT\n\n";
  out += "Standard options:\n\n";
  for (const RunnerFlag& flag : kRunnerFlags) {
    const std::string usage =
        std::string(flag.name) + (flag.metavar.empty() ? "" : "=" + std::string(flag.metavar));
    append_flag(out, usage, flag.help);
  }
  for (const OptionInfo& option : options()) {
    if (option.section == Section::standard) append_option(out, option, defaults);
  }
  append_section(out, "Tuning options:", Section::tuning, defaults);
  append_section(out, "Accepted for compatibility with waitress and ignored:", Section::ignored,
                 defaults);
  return out;
}

}  // namespace waitron::config
