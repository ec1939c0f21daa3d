// Named values and how they become an Adjustments: waitress's converters, the runtime
// option table built from waitron/adjustment_options.inc, and apply() with waitress's
// cross-field rules and messages (adjustments.py, Adjustments.__init__).
//
// Owner: the config layer. Every source of settings (the JSON file, the command line, and
// later Python keyword arguments) produces an ordered list of NamedValue and calls apply();
// there is no other path into an Adjustments except a C++ user filling the struct and
// calling waitron::validate().
//
// Threads: everything here is a pure function of its arguments or reads constant tables;
// any thread may call it. check_sockets() only queries the descriptors it is given.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <waitron/adjustments.hpp>

namespace waitron::config {

// A setting's value before conversion, as its source produced it. The alternatives mirror
// the Python values waitress's converters see: None (std::monostate), str, int, bool, and a
// list (of strings, or of integers: socket descriptors). A command line produces strings
// only; a JSON file produces the type its key requires (see adjustments_json.hpp).
using StringList = std::vector<std::string>;
using IntList = std::vector<std::int64_t>;
using Value = std::variant<std::monostate, std::string, std::int64_t, bool, StringList, IntList>;
static_assert(std::is_same_v<Value, waitron::OptionValue>,
              "config::Value and the public waitron::OptionValue are one type");

// One option setting. `origin` says where it came from and prefixes every error about it
// ("config.json: option \"threads\" at /threads"); empty for the command line and C++,
// whose errors are waitress's bare messages.
struct NamedValue {
  std::string name;
  Value value;
  std::string origin;
};

// The error of a bad setting: waitress's ValueError or TypeError message (what()), prefixed
// by the origin of the setting it is about, if that has one. `option()` names that setting
// ("" when no single option is at fault).
class AdjustmentsError : public std::invalid_argument {
 public:
  AdjustmentsError(std::string option, const std::string& message)
      : std::invalid_argument(message), option_(std::move(option)) {}

  [[nodiscard]] const std::string& option() const noexcept { return option_; }

 private:
  std::string option_;
};

// Where the help text lists an option; `ignored` options are accepted for compatibility
// with waitress, warned about once, and otherwise unused.
enum class Section { standard, tuning, ignored };

// The value types a JSON file must use for an option (adjustments_json.cpp).
enum class JsonShape {
  integer,                // as_int, as_count, as_positive, as_c_int, as_optional_count
  boolean,                // asbool
  string,                 // as_str, str_iftruthy, slash_fixed_str
  string_or_string_list,  // aslist, asset
  string_or_integer,      // asoctal
  integer_list,           // as_socket_list
};

// One row of adjustment_options.inc, at run time.
struct OptionInfo {
  std::string_view name;
  std::string_view converter;  // the converter's name, e.g. "asbool"
  JsonShape json_shape;
  bool is_boolean;  // asbool: the command line has --name and --no-name
  Section section;
  std::string_view metavar;
  std::string_view help;
  // Converts `value` and stores it in the member. Throws AdjustmentsError (no origin).
  void (*assign)(Adjustments& adjustments, const Value& value);
  // validate()'s part for this member: normalises it as its converter would and checks
  // its range. Throws AdjustmentsError.
  void (*check)(Adjustments& adjustments);
  // The member's value as the help text shows a default ("8080", "'http'", "on", "none").
  std::string (*describe)(const Adjustments& adjustments);
};

// Every option, in the table's order.
[[nodiscard]] std::span<const OptionInfo> options();

// The option called `name`, or nullptr.
[[nodiscard]] const OptionInfo* find_option(std::string_view name);

// What apply() returns: the Adjustments and the warnings to log, one string each, in the
// order waitress raises them (send_bytes deprecation, ignored options, then the implicit
// trust of X-Forwarded-Proto).
struct Applied {
  Adjustments adjustments;
  std::vector<std::string> warnings;
};

// Builds an Adjustments from defaults and `values`, as waitress's Adjustments(**kw):
// 1. Merges: a later value for a name replaces an earlier one (keeping the first one's
//    position), so command-line flags override a JSON file.
// 2. Exclusivity, keyed on the presence of host/port/listen/sockets/unix_socket (a value
//    equal to the default still counts), with waitress's messages.
// 3. Warns if send_bytes is present.
// 4. Converts each value with its option's converter, in order; an unknown name is
//    "Unknown adjustment 'name'". Warns once for each ignored option present.
// 5. If host or port is present, listen becomes the single entry "host:port".
// 6. Family check, proxy rules, socket check (as validate()).
// Listen entries are parsed but not resolved (resolve_listen() in listen.hpp).
// Throws AdjustmentsError with waitress's message, prefixed by the setting's origin.
[[nodiscard]] Applied apply(std::span<const NamedValue> values);

// waitress's converters, exposed for tests and for the Python layer. Each behaves as its
// Python namesake on the equivalent Python value, and throws AdjustmentsError with the
// message Python would raise (for example "invalid literal for int() with base 10: 'abc'").
// Range checks are waitron's: `name` is used in their messages.
[[nodiscard]] std::int64_t as_int(const Value& value);
[[nodiscard]] bool asbool(const Value& value);
[[nodiscard]] std::string as_str(const Value& value);
[[nodiscard]] std::optional<std::string> str_iftruthy(const Value& value);
[[nodiscard]] std::string slash_fixed_str(const Value& value);
[[nodiscard]] StringList aslist(const Value& value);
[[nodiscard]] std::set<std::string> asset(const Value& value);  // also lower-cases
// int(s, 8) for strings ("600", "0o600", " 6_00 "). Unlike waitress, also accepts an
// integer, taken as the mode itself (0o600 == 384): a deliberate superset. Range 0..0o7777.
[[nodiscard]] std::uint32_t asoctal(const Value& value, std::string_view name);
// waitress keeps only socket objects; here a list of integers is a list of descriptors, and
// anything else iterable (a string, a list of strings) converts to an empty list, which is
// why --sockets=X on the command line means "no sockets".
[[nodiscard]] std::vector<int> as_socket_list(const Value& value);

// Raises waitress's errors for descriptors that are not all Internet stream sockets or all
// Unix stream sockets: "Internet and UNIX sockets may not be mixed." or "Only Internet or
// UNIX stream sockets may be used." (also for a descriptor that is not a socket at all).
void check_sockets(std::span<const int> sockets);

// Python's repr() of a str, used in waitress's messages: 'abc', "it's", '\x00'.
[[nodiscard]] std::string py_repr(std::string_view text);

}  // namespace waitron::config
