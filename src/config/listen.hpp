// Listen entries: parse "host:port" strings as waitress does, and resolve them to socket
// addresses with getaddrinfo() (waitress adjustments.py, the loop over self.listen).
//
// Owner: the config layer. Parsing happens in apply() and validate(); resolution is a
// separate step that the server runs when it binds (and that the runner may run early to
// fail fast), because it may consult the resolver and the network configuration.
//
// Threads: any thread may call these functions. resolve_listen() blocks while
// getaddrinfo() runs (it may read /etc/hosts and /etc/services, or ask a DNS server for a
// name that is not numeric); call it off the event loop thread, or with numeric hosts.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <waitron/adjustments.hpp>

namespace waitron::config {

// Splits one entry as waitress does: at the last ':', unless the part after it contains
// ']' (a bare "[v6]"), and an entry without ':' or a bare "[v6]" takes `default_port`.
// A host containing both '[' and ']' has leading '[' and trailing ']' stripped. "*" stays
// "*" (the wildcard). Never fails: a bad host or port is found by resolve_listen().
// Note that "::1" without brackets splits into host ":" and port "1", as in waitress.
[[nodiscard]] ListenEntry parse_listen_entry(std::string_view entry, std::int64_t default_port);

// The entry as text that parse_listen_entry() turns back into it: "127.0.0.1:8080",
// "[::1]:8080", "*:8080".
[[nodiscard]] std::string format_listen_entry(const ListenEntry& entry);

// The getaddrinfo() family filter for the ipv4 and ipv6 options: AF_INET for ipv4 only,
// AF_INET6 for ipv6 only, AF_UNSPEC otherwise (waitress's quirk: both off means no filter).
// Throws AdjustmentsError "IPv4 is disabled but IPv6 is not available. Cowardly refusing to
// start." when ipv4 is off and the system has no IPv6 (`system_has_ipv6`).
[[nodiscard]] int address_family_filter(bool ipv4, bool ipv6, bool system_has_ipv6);

// Whether this system can create IPv6 sockets (waitress's HAS_IPV6).
[[nodiscard]] bool system_has_ipv6();

// One address to bind, as getaddrinfo() returned it.
struct ResolvedAddress {
  int family = 0;    // AF_INET or AF_INET6
  int socktype = 0;  // SOCK_STREAM
  int protocol = 0;  // IPPROTO_TCP
  sockaddr_storage address{};
  socklen_t length = 0;
  std::string host;        // numeric, without a %zone: "127.0.0.1", "::1"
  std::uint16_t port = 0;  // host byte order

  // "127.0.0.1:8080" or "[::1]:8080".
  [[nodiscard]] std::string to_string() const;
};

// Resolves every listen entry of `adjustments` with getaddrinfo(family filter from
// ipv4/ipv6, SOCK_STREAM, IPPROTO_TCP, AI_PASSIVE), in order. "*" asks for the wildcard
// address of each enabled family. A result whose (host without %zone, port) was already
// returned is dropped, unless its port is 0. Any failure, including a numeric port above
// 65535 (which glibc would silently wrap), throws AdjustmentsError "Invalid host/port
// specified."; the family check may throw first (address_family_filter()).
[[nodiscard]] std::vector<ResolvedAddress> resolve_listen(const Adjustments& adjustments);

}  // namespace waitron::config
