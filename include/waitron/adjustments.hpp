// waitron::Adjustments: every tunable of the server, with waitress's names and defaults.
//
// Owner: the config layer (src/config). The members, their types, defaults and help text
// come from one table, waitron/adjustment_options.inc; read it for what each option means.
//
// Three ways to fill an Adjustments, one set of rules:
// - C++: set members directly, then call waitron::validate() (below).
// - JSON file and command line: src/config turns them into a list of named values and
//   applies them with waitress's converters and checks (config::apply()).
// - Python keyword arguments (a later layer) go through the same config::apply().
//
// An Adjustments is a plain value: copy it, compare nothing, share it read-only. Any
// thread may read one that no thread writes. Lower layers never see it: the server turns
// it into the narrow limit structs each layer needs.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace waitron {

// One parsed listen entry, as waitress splits it: `host` has its [brackets] removed, and
// "*" means the wildcard address (every address of each enabled family). `port` is the text
// after the last ':' (a number or a service name such as "http"), or the `port` option for
// an entry without one. Nothing is resolved here; see config::resolve_listen().
struct ListenEntry {
  std::string host;
  std::string port;

  bool operator==(const ListenEntry&) const = default;
};

// Every option of adjustment_options.inc as a member with its default. Notes on types:
// - Integer options are std::int64_t; unix_socket_perms is a mode (std::uint32_t).
// - std::nullopt means waitress's None: ident (no Server header), trusted_proxy,
//   trusted_proxy_count (which then counts as 1) and unix_socket.
// - sockets are file descriptors of bound listening sockets. Adjustments never closes them.
struct Adjustments {
#define WAITRON_ADJUSTMENT(name, converter, type, default_value, section, metavar, help) \
  type name = default_value;
#include <waitron/adjustment_options.inc>

  // The number of trusted proxy hops: trusted_proxy_count, or 1 when it is unset.
  [[nodiscard]] std::int64_t effective_trusted_proxy_count() const {
    return trusted_proxy_count.value_or(1);
  }
};

// Checks and normalises an Adjustments filled in C++, with the rules and messages that
// config::apply() uses for named values (waitress's Adjustments.__init__), so a C++ user gets
// the same guarantees as a JSON or command-line user:
// - normalises as the converters do: "" ident, trusted_proxy and unix_socket become unset,
//   url_prefix gets its slashes fixed, trusted_proxy_headers are lower-cased;
// - checks the integer ranges and the unix_socket_perms mode;
// - exclusivity: as C++ cannot tell "set" from "left at the default", a member that differs
//   from its default counts as set. If host or port differ from their defaults and listen
//   is still the default, listen becomes the single entry host:port (waitress's rule);
//   if listen was changed too, it must equal that entry, else "host or port may not be set
//   if listen is set.". unix_socket and non-empty sockets exclude each other, a changed
//   listen, and a changed host or port, with waitress's messages;
// - the IPv4/IPv6 availability check, the proxy rules and the socket-type check.
// Returns the warnings to log (one string each), such as the implicit trust of
// X-Forwarded-Proto, which also adds "x-forwarded-proto" to trusted_proxy_headers.
// Throws std::invalid_argument (a waitron::config::AdjustmentsError) with waitress's message
// on the first violation. Idempotent: validating a validated value changes nothing.
// Listen entries are not resolved here: that is config::resolve_listen(), done at bind time.
// Any thread may call it; it only reads the socket descriptors it is given.
std::vector<std::string> validate(Adjustments& adjustments);

// One option given by name, as keyword arguments, a JSON file or the command line give
// them: None, a string, an integer, a boolean, a list of strings or a list of integers.
// Every option accepts strings too, through its converter ("8080", "true", "a b").
using OptionValue = std::variant<std::monostate, std::string, std::int64_t, bool,
                                 std::vector<std::string>, std::vector<std::int64_t>>;
struct NamedOption {
  std::string name;
  OptionValue value;
};

// waitress's Adjustments(**kw): converts each named value with its option's converter and
// applies waitress's rules in waitress's order (an unknown name is "Unknown adjustment
// 'name'"; host/port/listen/sockets/unix_socket exclusivity is by presence). Appends the
// warnings to log to `warnings` when given. Throws std::invalid_argument with waitress's
// message. Any thread.
Adjustments make_adjustments(const std::vector<NamedOption>& options,
                             std::vector<std::string>* warnings = nullptr);

}  // namespace waitron
