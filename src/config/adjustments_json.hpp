// The JSON configuration file: a top-level object whose keys are option names (as in
// waitron/adjustment_options.inc) plus the reserved key "app", turned into named values for
// config::apply().
//
// Owner: the config layer. adjustments_json.cpp is the only file of the project that
// includes nlohmann/json; nothing of it leaks through this header.
//
// Types are strict, one rule per converter (OptionInfo::json_shape):
//   integer options                    an integer ("threads": 8)
//   boolean options                    true or false
//   string options                     a string
//   listen, trusted_proxy_headers      a string (split on whitespace) or an array of strings
//   unix_socket_perms                  a string of octal digits ("600") or an integer mode
//   sockets                            an array of integers (file descriptors)
//   app                                a string, MODULE:OBJECT
// Every error is an AdjustmentsError whose message starts with the file's name and names
// the key and its JSON pointer, for example:
//   config.json: unknown option "therads" at /therads; did you mean "threads"?
//   config.json: option "threads" at /threads must be an integer, not a string
//   config.json: option "listen" at /listen/1 must be a string, not an integer
//   config.json: parse error at line 3, column 8: syntax error while parsing value - ...
// Errors that apply() finds later in a value from the file carry the same prefix:
//   config.json: option "unix_socket_perms" at /unix_socket_perms: invalid literal for
//   int() with base 8: 'abc'
//
// Threads: pure functions (load_json_file() also reads the file); any thread may call them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/adjustments.hpp"

namespace waitron::config {

// A loaded file: its option settings in file order (each with its origin set), and the
// application named by the reserved "app" key, if any.
struct JsonConfig {
  std::vector<NamedValue> values;
  std::optional<std::string> app;
};

// Parses `text`; `name_for_errors` (usually the file's path) starts every error message.
// Duplicate keys are an error. Throws AdjustmentsError.
[[nodiscard]] JsonConfig load_json_text(std::string_view text, const std::string& name_for_errors);

// Reads and parses the file at `path`; a file that cannot be read is an error naming it
// ("missing.json: cannot read the file: No such file or directory"). Throws AdjustmentsError.
[[nodiscard]] JsonConfig load_json_file(const std::string& path);

// The known key closest to `key` by edit distance (Damerau's optimal string alignment),
// if it is close enough to be a plausible typo: at most 2 edits, or a third of the key's
// length, and fewer edits than the key has characters.
[[nodiscard]] std::optional<std::string> closest_known_key(std::string_view key);

}  // namespace waitron::config
