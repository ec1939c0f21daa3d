// waitress's converters and Adjustments.__init__ rules, for named values (apply()) and for
// a struct filled in C++ (waitron::validate()). See adjustments.hpp.
//
// Owner: the config layer. Every function is pure (or only queries the socket descriptors
// it is given), and the option table is constant: any thread may call them.
#include "config/adjustments.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <climits>
#include <limits>
#include <map>
#include <type_traits>
#include <utility>

#include "config/listen.hpp"

namespace waitron::config {
namespace {

// ---- Python value helpers ----------------------------------------------------------------

// Python's str.isspace() for ASCII: what int(), strip() and split() skip.
bool is_py_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}

std::string_view py_strip(std::string_view text) {
  while (!text.empty() && is_py_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_py_space(text.back())) text.remove_suffix(1);
  return text;
}

// Python's str.split() without arguments.
void py_split_into(std::string_view text, StringList& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_py_space(text[i])) ++i;
    const std::size_t start = i;
    while (i < text.size() && !is_py_space(text[i])) ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
}

std::string ascii_lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

// The Python type name of a value, for TypeError messages.
std::string_view py_type_name(const Value& value) {
  static constexpr std::array<std::string_view, 6> names = {"NoneType", "str",  "int",
                                                            "bool",     "list", "list"};
  return names[value.index()];
}

// Python's str(value).
std::string py_str(const Value& value) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "None"; }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(bool b) const { return b ? "True" : "False"; }
    std::string operator()(const StringList& list) const {
      std::string out = "[";
      for (std::size_t i = 0; i < list.size(); ++i) out += (i ? ", " : "") + py_repr(list[i]);
      return out + "]";
    }
    std::string operator()(const IntList& list) const {
      std::string out = "[";
      for (std::size_t i = 0; i < list.size(); ++i) {
        out += (i ? ", " : "") + std::to_string(list[i]);
      }
      return out + "]";
    }
  };
  return std::visit(Visitor{}, value);
}

// Python's bool(value).
bool py_truthy(const Value& value) {
  struct Visitor {
    bool operator()(std::monostate) const { return false; }
    bool operator()(const std::string& s) const { return !s.empty(); }
    bool operator()(std::int64_t i) const { return i != 0; }
    bool operator()(bool b) const { return b; }
    bool operator()(const StringList& list) const { return !list.empty(); }
    bool operator()(const IntList& list) const { return !list.empty(); }
  };
  return std::visit(Visitor{}, value);
}

[[noreturn]] void fail(std::string_view option, const std::string& message) {
  throw AdjustmentsError(std::string(option), message);
}

constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

enum class IntParse { ok, invalid, overflow };

// Python's int(text, base) for base 10 or 8: surrounding whitespace, a sign, "0o" for base
// 8, and single underscores between digits (also right after the prefix).
IntParse parse_py_int(std::string_view text, int base, std::int64_t& out) {
  text = py_strip(text);
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  bool underscore_ok = false;
  if (base == 8 && text.size() >= 2 && text[0] == '0' && (text[1] == 'o' || text[1] == 'O')) {
    text.remove_prefix(2);
    underscore_ok = true;
  }
  const char max_digit = base == 8 ? '7' : '9';
  const std::uint64_t limit =
      static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + (negative ? 1 : 0);
  std::uint64_t value = 0;
  bool digits = false;
  bool overflow = false;
  bool last_underscore = false;
  for (const char c : text) {
    if (c == '_') {
      if (!underscore_ok || last_underscore) return IntParse::invalid;
      last_underscore = true;
      continue;
    }
    if (c < '0' || c > max_digit) return IntParse::invalid;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    const auto ubase = static_cast<std::uint64_t>(base);
    if (value > (limit - digit) / ubase) overflow = true;
    if (!overflow) value = value * ubase + digit;
    digits = true;
    underscore_ok = true;
    last_underscore = false;
  }
  if (!digits || last_underscore) return IntParse::invalid;
  if (overflow) return IntParse::overflow;
  out = negative ? static_cast<std::int64_t>(0 - value) : static_cast<std::int64_t>(value);
  return IntParse::ok;
}

// ---- Converters --------------------------------------------------------------------------
//
// One struct per converter token of adjustment_options.inc:
//   type       the member type it produces
//   shape      the JSON types it accepts
//   convert()  Value -> type, waitress's semantics, throws AdjustmentsError
//   check()    validate()'s normalisation and range check of a member
//   describe() the value as the help text shows a default

// int(value) with waitron's range check [min, max] for option `name`.
std::int64_t convert_int_in(const Value& value, std::string_view name, std::int64_t min,
                            std::int64_t max) {
  std::int64_t result = 0;
  bool in_range = true;
  std::string shown;  // the value in a range error
  if (const auto* text = std::get_if<std::string>(&value)) {
    switch (parse_py_int(*text, 10, result)) {
      case IntParse::ok:
        break;
      case IntParse::overflow:
        in_range = false;
        shown = std::string(py_strip(*text));
        break;
      case IntParse::invalid:
        fail(name, "invalid literal for int() with base 10: " + py_repr(*text));
    }
  } else {
    result = as_int(value);
  }
  if (in_range && result >= min && result <= max) return result;
  if (shown.empty()) shown = std::to_string(result);
  if (min != kInt64Min && max == kInt64Max) {
    fail(name, std::string(name) + " must be >= " + std::to_string(min) + ", not " + shown);
  }
  fail(name, std::string(name) + " must be between " + std::to_string(min) + " and " +
                 std::to_string(max) + ", not " + shown);
}

void check_int_in(std::int64_t value, std::string_view name, std::int64_t min, std::int64_t max) {
  (void)convert_int_in(Value{value}, name, min, max);
}

template <std::int64_t Min, std::int64_t Max>
struct IntConverter {
  using type = std::int64_t;
  static constexpr JsonShape shape = JsonShape::integer;
  static type convert(const Value& v, std::string_view name) {
    return convert_int_in(v, name, Min, Max);
  }
  static void check(type& member, std::string_view name) { check_int_in(member, name, Min, Max); }
  static std::string describe(type member) { return std::to_string(member); }
};

using as_int_conv = IntConverter<kInt64Min, kInt64Max>;
using as_count_conv = IntConverter<0, kInt64Max>;
using as_positive_conv = IntConverter<1, kInt64Max>;
using as_c_int_conv = IntConverter<0, INT_MAX>;

struct as_optional_count_conv {
  using type = std::optional<std::int64_t>;
  static constexpr JsonShape shape = JsonShape::integer;
  static type convert(const Value& v, std::string_view name) {
    return as_count_conv::convert(v, name);
  }
  static void check(type& member, std::string_view name) {
    if (member) as_count_conv::check(*member, name);
  }
  static std::string describe(const type& member) {
    return member ? std::to_string(*member) : "none";
  }
};

struct asbool_conv {
  using type = bool;
  static constexpr JsonShape shape = JsonShape::boolean;
  static type convert(const Value& v, std::string_view) { return asbool(v); }
  static void check(type&, std::string_view) {}
  static std::string describe(type member) { return member ? "on" : "off"; }
};

struct as_str_conv {
  using type = std::string;
  static constexpr JsonShape shape = JsonShape::string;
  static type convert(const Value& v, std::string_view) { return as_str(v); }
  static void check(type&, std::string_view) {}
  static std::string describe(const type& member) { return py_repr(member); }
};

struct str_iftruthy_conv {
  using type = std::optional<std::string>;
  static constexpr JsonShape shape = JsonShape::string;
  static type convert(const Value& v, std::string_view) { return str_iftruthy(v); }
  static void check(type& member, std::string_view) {
    if (member && member->empty()) member.reset();
  }
  static std::string describe(const type& member) { return member ? py_repr(*member) : "none"; }
};

struct slash_fixed_str_conv {
  using type = std::string;
  static constexpr JsonShape shape = JsonShape::string;
  static type convert(const Value& v, std::string_view) { return slash_fixed_str(v); }
  static void check(type& member, std::string_view) { member = slash_fixed_str(Value{member}); }
  static std::string describe(const type& member) { return py_repr(member); }
};

struct aslist_conv {
  using type = std::vector<ListenEntry>;
  static constexpr JsonShape shape = JsonShape::string_or_string_list;
  // waitress keeps the strings and splits them after every option is set, using
  // self.port for entries without one. listen and port exclude each other, so that port
  // is always the default when listen is converted: parse with it right away.
  static type convert(const Value& v, std::string_view) {
    type entries;
    for (const std::string& text : aslist(v)) {
      entries.push_back(parse_listen_entry(text, Adjustments{}.port));
    }
    return entries;
  }
  static void check(type&, std::string_view) {}
  static std::string describe(const type& member) {
    std::string out;
    for (const ListenEntry& entry : member) {
      out += (out.empty() ? "" : " ") + format_listen_entry(entry);
    }
    return out.empty() ? "none" : out;
  }
};

struct asset_conv {
  using type = std::set<std::string>;
  static constexpr JsonShape shape = JsonShape::string_or_string_list;
  static type convert(const Value& v, std::string_view) { return asset(v); }
  static void check(type& member, std::string_view) {
    type lowered;
    for (const std::string& item : member) lowered.insert(ascii_lower(item));
    member = std::move(lowered);
  }
  static std::string describe(const type& member) {
    std::string out;
    for (const std::string& item : member) out += (out.empty() ? "" : " ") + item;
    return out.empty() ? "none" : out;
  }
};

std::string format_octal(std::int64_t value) {
  std::string digits;
  auto magnitude =
      value < 0 ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + (magnitude & 7U)));
    magnitude >>= 3U;
  } while (magnitude != 0);
  return (value < 0 ? "-" : "") + digits;
}

constexpr std::int64_t kMaxMode = 07777;

std::uint32_t checked_mode(std::int64_t mode, std::string_view name, const std::string& shown) {
  if (mode < 0 || mode > kMaxMode) {
    fail(name, std::string(name) + " must be an octal mode between 0 and 7777, not " + shown);
  }
  return static_cast<std::uint32_t>(mode);
}

struct asoctal_conv {
  using type = std::uint32_t;
  static constexpr JsonShape shape = JsonShape::string_or_integer;
  static type convert(const Value& v, std::string_view name) { return asoctal(v, name); }
  static void check(type& member, std::string_view name) {
    (void)checked_mode(member, name, format_octal(member));
  }
  static std::string describe(type member) { return format_octal(member); }
};

struct as_socket_list_conv {
  using type = std::vector<int>;
  static constexpr JsonShape shape = JsonShape::integer_list;
  static type convert(const Value& v, std::string_view) { return as_socket_list(v); }
  static void check(type&, std::string_view) {}
  static std::string describe(const type& member) {
    std::string out;
    for (const int fd : member) out += (out.empty() ? "" : " ") + std::to_string(fd);
    return out.empty() ? "none" : out;
  }
};

// ---- The option table --------------------------------------------------------------------

#define WAITRON_ADJUSTMENT(name, converter, member_type, default_value, section, metavar, help) \
  static_assert(std::is_same_v<decltype(Adjustments::name), converter##_conv::type>,            \
                "the member type of " #name " does not match its converter " #converter);
#include <waitron/adjustment_options.inc>

const OptionInfo kOptions[] = {
#define WAITRON_ADJUSTMENT(name, converter, member_type, default_value, section, metavar, help)    \
  OptionInfo{#name,                                                                                \
             #converter,                                                                           \
             converter##_conv::shape,                                                              \
             std::string_view(#converter) == "asbool",                                             \
             Section::section,                                                                     \
             metavar,                                                                              \
             help,                                                                                 \
             [](Adjustments& a, const Value& v) { a.name = converter##_conv::convert(v, #name); }, \
             [](Adjustments& a) { converter##_conv::check(a.name, #name); },                       \
             [](const Adjustments& a) { return converter##_conv::describe(a.name); }},
#include <waitron/adjustment_options.inc>
};

// ---- Cross-field rules -------------------------------------------------------------------

// The origin of each option's setting, to prefix an error about it (apply() only).
using Origins = std::map<std::string, std::string, std::less<>>;

[[noreturn]] void fail_about(const Origins& origins, std::string_view option,
                             const std::string& message) {
  const auto found = origins.find(option);
  if (found == origins.end() || found->second.empty()) fail(option, message);
  fail(option, found->second + ": " + message);
}

// The lower-cased proxy header names waitress knows (proxy_headers.PROXY_HEADERS), sorted.
constexpr std::array<std::string_view, 6> kKnownProxyHeaders = {
    "forwarded",        "x-forwarded-by",   "x-forwarded-for",
    "x-forwarded-host", "x-forwarded-port", "x-forwarded-proto"};

std::string join(const std::vector<std::string_view>& items) {
  std::string out;
  for (const std::string_view item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

void check_proxy_rules(Adjustments& a, std::vector<std::string>& warnings, const Origins& origins) {
  if (a.trusted_proxy_count && !a.trusted_proxy) {
    fail_about(origins, "trusted_proxy_count",
               "trusted_proxy_count has no meaning without setting trusted_proxy");
  }
  if (!a.trusted_proxy_headers.empty() && !a.trusted_proxy) {
    fail_about(origins, "trusted_proxy_headers",
               "trusted_proxy_headers has no meaning without setting trusted_proxy");
  }
  if (!a.trusted_proxy_headers.empty()) {
    asset_conv::check(a.trusted_proxy_headers, "trusted_proxy_headers");
    std::vector<std::string_view> unknown;
    for (const std::string& header : a.trusted_proxy_headers) {
      if (std::find(kKnownProxyHeaders.begin(), kKnownProxyHeaders.end(), header) ==
          kKnownProxyHeaders.end()) {
        unknown.emplace_back(header);
      }
    }
    if (!unknown.empty()) {
      fail_about(origins, "trusted_proxy_headers",
                 "Received unknown trusted_proxy_headers value (" + join(unknown) +
                     ") expected one of " +
                     join({kKnownProxyHeaders.begin(), kKnownProxyHeaders.end()}));
    }
    if (a.trusted_proxy_headers.count("forwarded") != 0 && a.trusted_proxy_headers.size() > 1) {
      fail_about(origins, "trusted_proxy_headers",
                 "The Forwarded proxy header and the X-Forwarded-{By,Host,Proto,Port,For} "
                 "headers are mutually exclusive. Can't trust both!");
    }
  } else if (a.trusted_proxy) {
    warnings.emplace_back(
        "No proxy headers were marked as trusted, but trusted_proxy was set. Implicitly "
        "trusting X-Forwarded-Proto for backwards compatibility. This will be removed in "
        "future versions of waitron.");
    a.trusted_proxy_headers = {"x-forwarded-proto"};
  }
}

// The checks after conversion that apply() and validate() share, in waitress's order
// (listen resolution, which waitress does between the family and proxy checks, is
// resolve_listen()).
void check_common(Adjustments& a, std::vector<std::string>& warnings, const Origins& origins) {
  try {
    (void)address_family_filter(a.ipv4, a.ipv6, system_has_ipv6());
  } catch (const AdjustmentsError& e) {
    fail_about(origins, "ipv4", e.what());
  }
  check_proxy_rules(a, warnings, origins);
  if (a.threads == 0 && a.stream_request_body) {
    // Inline mode runs the app on the loop thread, which is the one that feeds the body.
    fail_about(origins, "stream_request_body", "stream_request_body needs threads >= 1");
  }
  if (a.access_log_format != "combined" && a.access_log_format != "json") {
    fail_about(origins, "access_log_format", "access_log_format must be combined or json");
  }
  try {
    check_sockets(a.sockets);
  } catch (const AdjustmentsError& e) {
    fail_about(origins, "sockets", e.what());
  }
}

// waitress's exclusivity checks; `has` tells whether an option counts as set.
template <typename Has>
void check_exclusive(const Has& has, const Origins& origins) {
  const bool host_or_port = has("host") || has("port");
  const std::string_view host_or_port_name = has("host") ? "host" : "port";
  if (has("listen") && host_or_port) {
    fail_about(origins, host_or_port_name, "host or port may not be set if listen is set.");
  }
  if (has("listen") && has("sockets")) {
    fail_about(origins, "sockets", "socket may not be set if listen is set.");
  }
  if (has("sockets") && host_or_port) {
    fail_about(origins, host_or_port_name, "host or port may not be set if sockets is set.");
  }
  if (has("sockets") && has("unix_socket")) {
    fail_about(origins, "unix_socket", "unix_socket may not be set if sockets is set");
  }
  if (has("unix_socket") && host_or_port) {
    fail_about(origins, "unix_socket", "unix_socket may not be set if host or port is set");
  }
  if (has("unix_socket") && has("listen")) {
    fail_about(origins, "unix_socket", "unix_socket may not be set if listen is set");
  }
}

ListenEntry entry_from_host_port(const Adjustments& a) {
  return parse_listen_entry(a.host + ":" + std::to_string(a.port), a.port);
}

}  // namespace

// ---- Public functions --------------------------------------------------------------------

std::span<const OptionInfo> options() {
  return kOptions;
}

const OptionInfo* find_option(std::string_view name) {
  for (const OptionInfo& option : kOptions) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

std::string py_repr(std::string_view text) {
  const bool has_single = text.find('\'') != std::string_view::npos;
  const bool has_double = text.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\' || c == quote) {
      out += '\\';
      out += c;
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (byte < 0x20 || byte == 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[byte >> 4U];
      out += hex[byte & 0xfU];
    } else {
      out += c;
    }
  }
  out += quote;
  return out;
}

std::int64_t as_int(const Value& value) {
  if (std::holds_alternative<std::string>(value)) {
    return convert_int_in(value, "int", kInt64Min, kInt64Max);
  }
  if (const auto* integer = std::get_if<std::int64_t>(&value)) return *integer;
  if (const auto* boolean = std::get_if<bool>(&value)) return *boolean ? 1 : 0;
  fail("", "int() argument must be a string, a bytes-like object or a real number, not '" +
               std::string(py_type_name(value)) + "'");
}

bool asbool(const Value& value) {
  if (std::holds_alternative<std::monostate>(value)) return false;
  if (const auto* boolean = std::get_if<bool>(&value)) return *boolean;
  const std::string text = ascii_lower(std::string(py_strip(py_str(value))));
  static constexpr std::array<std::string_view, 6> truthy = {"t", "true", "y", "yes", "on", "1"};
  return std::find(truthy.begin(), truthy.end(), text) != truthy.end();
}

std::string as_str(const Value& value) {
  return py_str(value);
}

std::optional<std::string> str_iftruthy(const Value& value) {
  if (!py_truthy(value)) return std::nullopt;
  return py_str(value);
}

std::string slash_fixed_str(const Value& value) {
  const auto* text = std::get_if<std::string>(&value);
  if (text == nullptr) {
    fail("", "'" + std::string(py_type_name(value)) + "' object has no attribute 'strip'");
  }
  std::string_view s = py_strip(*text);
  if (s.empty()) return {};
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return "/" + std::string(s);
}

StringList aslist(const Value& value) {
  StringList result;
  if (const auto* text = std::get_if<std::string>(&value)) {
    // waitress splits into lines, drops blank ones, then splits each line on whitespace:
    // the same as one split on whitespace.
    py_split_into(*text, result);
  } else if (const auto* list = std::get_if<StringList>(&value)) {
    for (const std::string& item : *list) py_split_into(item, result);
  } else if (const auto* ints = std::get_if<IntList>(&value)) {
    if (!ints->empty()) fail("", "'int' object has no attribute 'split'");
  } else {
    fail("", "'" + std::string(py_type_name(value)) + "' object is not iterable");
  }
  return result;
}

std::set<std::string> asset(const Value& value) {
  std::set<std::string> result;
  for (std::string& item : aslist(value)) result.insert(ascii_lower(std::move(item)));
  return result;
}

std::uint32_t asoctal(const Value& value, std::string_view name) {
  if (const auto* text = std::get_if<std::string>(&value)) {
    std::int64_t mode = 0;
    switch (parse_py_int(*text, 8, mode)) {
      case IntParse::ok:
        break;
      case IntParse::overflow:
        return checked_mode(-1, name, std::string(py_strip(*text)));
      case IntParse::invalid:
        fail(name, "invalid literal for int() with base 8: " + py_repr(*text));
    }
    return checked_mode(mode, name, format_octal(mode));
  }
  if (const auto* integer = std::get_if<std::int64_t>(&value)) {
    return checked_mode(*integer, name, format_octal(*integer));
  }
  fail(name, "int() can't convert non-string with explicit base");
}

std::vector<int> as_socket_list(const Value& value) {
  std::vector<int> result;
  if (const auto* ints = std::get_if<IntList>(&value)) {
    for (const std::int64_t fd : *ints) {
      // A number that cannot be a descriptor becomes -1, which check_sockets() rejects.
      result.push_back(fd >= 0 && fd <= INT_MAX ? static_cast<int>(fd) : -1);
    }
  } else if (std::holds_alternative<std::string>(value) ||
             std::holds_alternative<StringList>(value)) {
    // Nothing in a string or a list of strings is a socket: waitress drops them all.
  } else {
    fail("", "'" + std::string(py_type_name(value)) + "' object is not iterable");
  }
  return result;
}

void check_sockets(std::span<const int> sockets) {
  bool has_unix = false;
  bool has_inet = false;
  bool has_unsupported = false;
  for (const int fd : sockets) {
    int type = 0;
    socklen_t type_length = sizeof type;
    sockaddr_storage address{};
    socklen_t address_length = sizeof address;
    const bool ok = fd >= 0 && ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_length) == 0;
    const int family = ok ? address.ss_family : AF_UNSPEC;
    if (ok && (family == AF_INET || family == AF_INET6) && type == SOCK_STREAM) {
      has_inet = true;
    } else if (ok && family == AF_UNIX && type == SOCK_STREAM) {
      has_unix = true;
    } else {
      has_unsupported = true;
    }
  }
  if (has_unix && has_inet) fail("sockets", "Internet and UNIX sockets may not be mixed.");
  if (has_unsupported) fail("sockets", "Only Internet or UNIX stream sockets may be used.");
}

Applied apply(std::span<const NamedValue> values) {
  // A later value replaces an earlier one in place, as a Python dict update does.
  std::vector<const NamedValue*> merged;
  Origins origins;
  for (const NamedValue& value : values) {
    auto same = std::find_if(merged.begin(), merged.end(),
                             [&](const NamedValue* seen) { return seen->name == value.name; });
    if (same == merged.end()) {
      merged.push_back(&value);
    } else {
      *same = &value;
    }
    origins[value.name] = value.origin;
  }
  const auto present = [&](std::string_view name) { return origins.count(name) != 0; };

  check_exclusive(present, origins);

  Applied result;
  if (present("send_bytes")) {
    result.warnings.emplace_back("send_bytes will be removed in a future release");
  }
  for (const NamedValue* value : merged) {
    const OptionInfo* option = find_option(value->name);
    if (option == nullptr) {
      fail_about(origins, value->name, "Unknown adjustment " + py_repr(value->name));
    }
    try {
      option->assign(result.adjustments, value->value);
    } catch (const AdjustmentsError& e) {
      fail_about(origins, value->name, e.what());
    }
    if (option->section == Section::ignored) {
      result.warnings.push_back(std::string(option->name) +
                                " is accepted for compatibility with waitress and ignored");
    }
  }

  if (present("host") || present("port")) {
    result.adjustments.listen = {entry_from_host_port(result.adjustments)};
  }
  check_common(result.adjustments, result.warnings, origins);
  return result;
}

}  // namespace waitron::config

namespace waitron {

std::vector<std::string> validate(Adjustments& adjustments) {
  using config::Origins;
  Adjustments& a = adjustments;
  for (const config::OptionInfo& option : config::options()) option.check(a);

  // C++ cannot tell "set" from "left at the default": a changed member counts as set.
  const Adjustments defaults;
  const bool host_or_port = a.host != defaults.host || a.port != defaults.port;
  if (host_or_port && a.listen == defaults.listen) {
    a.listen = {config::entry_from_host_port(a)};
  }
  const bool listen_is_host_port =
      host_or_port && a.listen == std::vector<ListenEntry>{config::entry_from_host_port(a)};
  const auto has = [&](std::string_view name) {
    if (name == "host") return a.host != defaults.host;
    if (name == "port") return a.port != defaults.port;
    if (name == "listen") return a.listen != defaults.listen && !listen_is_host_port;
    if (name == "sockets") return !a.sockets.empty();
    return a.unix_socket.has_value();  // "unix_socket"
  };
  config::check_exclusive(has, Origins{});

  std::vector<std::string> warnings;
  config::check_common(a, warnings, Origins{});
  return warnings;
}

}  // namespace waitron

namespace waitron {

Adjustments make_adjustments(const std::vector<NamedOption>& options,
                             std::vector<std::string>* warnings) {
  std::vector<config::NamedValue> values;
  values.reserve(options.size());
  for (const NamedOption& o : options) values.push_back(config::NamedValue{o.name, o.value, ""});
  config::Applied applied = config::apply(values);
  if (warnings) {
    warnings->insert(warnings->end(), applied.warnings.begin(), applied.warnings.end());
  }
  return std::move(applied.adjustments);
}

}  // namespace waitron
