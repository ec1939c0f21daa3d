// Listen entries: waitress's parsing and getaddrinfo() resolution. See listen.hpp.
//
// Owner: the config layer. Any thread may call these functions; resolve_listen() blocks
// in getaddrinfo().
#include "config/listen.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "config/adjustments.hpp"

namespace waitron::config {
namespace {

constexpr std::string_view kInvalidHostPort = "Invalid host/port specified.";

[[noreturn]] void fail_invalid() {
  throw AdjustmentsError("listen", std::string(kInvalidHostPort));
}

// Python's str.strip("[").rstrip("]").
std::string strip_brackets(std::string_view host) {
  while (!host.empty() && host.front() == '[') host.remove_prefix(1);
  while (!host.empty() && host.back() == '[') host.remove_suffix(1);
  while (!host.empty() && host.back() == ']') host.remove_suffix(1);
  return std::string(host);
}

// glibc parses a numeric service with strtoul() and keeps only the low 16 bits, so
// "70000" would bind port 4464. Python passes the string through unchanged; waitron
// refuses instead. Returns false for such a port.
bool numeric_port_in_range(std::string_view port) {
  std::size_t i = 0;
  while (i < port.size() && (port[i] == ' ' || (port[i] >= '\t' && port[i] <= '\r'))) ++i;
  if (i < port.size() && port[i] == '+') ++i;
  if (i == port.size()) return true;
  std::uint64_t value = 0;
  for (; i < port.size(); ++i) {
    const char c = port[i];
    if (c < '0' || c > '9') return true;  // a service name: getaddrinfo() decides
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
    if (value > 65535) return false;
  }
  return true;
}

struct AddrinfoDeleter {
  void operator()(addrinfo* list) const noexcept { freeaddrinfo(list); }
};

// The numeric host (without a %zone) and port of a getaddrinfo() result.
std::pair<std::string, std::uint16_t> numeric_host_port(const addrinfo& ai) {
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
  if (getnameinfo(ai.ai_addr, ai.ai_addrlen, host, sizeof host, service, sizeof service,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    fail_invalid();
  }
  std::string text(host);
  // Drop the zone index, as waitress does: some systems return the same link-local
  // address with two zone indices yet treat them as one when binding.
  if (const auto percent = text.find('%'); percent != std::string::npos) text.resize(percent);
  return {text, static_cast<std::uint16_t>(std::strtoul(service, nullptr, 10))};
}

}  // namespace

ListenEntry parse_listen_entry(std::string_view entry, std::int64_t default_port) {
  std::string_view host = entry;
  std::string port = std::to_string(default_port);
  if (const auto colon = entry.rfind(':'); colon != std::string_view::npos) {
    const std::string_view after = entry.substr(colon + 1);
    // An IPv6 address without a port ("[::1]"): we did not split off a port after all.
    if (after.find(']') == std::string_view::npos) {
      host = entry.substr(0, colon);
      port = std::string(after);
    }
  }
  std::string host_text(host);
  if (host.find('[') != std::string_view::npos && host.find(']') != std::string_view::npos) {
    host_text = strip_brackets(host);
  }
  return ListenEntry{std::move(host_text), std::move(port)};
}

std::string format_listen_entry(const ListenEntry& entry) {
  if (entry.host.find(':') != std::string::npos) return "[" + entry.host + "]:" + entry.port;
  return entry.host + ":" + entry.port;
}

int address_family_filter(bool ipv4, bool ipv6, bool system_has_ipv6) {
  if (!ipv4 && !system_has_ipv6) {
    throw AdjustmentsError(
        "ipv4", "IPv4 is disabled but IPv6 is not available. Cowardly refusing to start.");
  }
  if (ipv4 && !ipv6) return AF_INET;
  if (!ipv4 && ipv6) return AF_INET6;
  return AF_UNSPEC;
}

bool system_has_ipv6() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno != EAFNOSUPPORT;
  ::close(fd);
  return true;
}

std::string ResolvedAddress::to_string() const {
  return format_listen_entry(ListenEntry{host, std::to_string(port)});
}

std::vector<ResolvedAddress> resolve_listen(const Adjustments& adjustments) {
  const int family = address_family_filter(adjustments.ipv4, adjustments.ipv6, system_has_ipv6());
  std::vector<ResolvedAddress> result;
  for (const ListenEntry& entry : adjustments.listen) {
    // Python rejects an embedded NUL ("embedded null character"); waitress reports it
    // as an invalid host/port like every other failure.
    if (entry.host.find('\0') != std::string::npos || entry.port.find('\0') != std::string::npos ||
        !numeric_port_in_range(entry.port)) {
      fail_invalid();
    }
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* raw = nullptr;
    const char* node = entry.host == "*" ? nullptr : entry.host.c_str();
    if (getaddrinfo(node, entry.port.c_str(), &hints, &raw) != 0) fail_invalid();
    const std::unique_ptr<addrinfo, AddrinfoDeleter> list(raw);

    for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
      if (ai->ai_addrlen > sizeof(sockaddr_storage)) fail_invalid();
      auto [host, port] = numeric_host_port(*ai);
      // getaddrinfo() may return the same address twice, and bind() would then fail.
      // Port 0 asks for a fresh port each time, so those are never duplicates.
      bool duplicate = false;
      for (const ResolvedAddress& seen : result) {
        duplicate = duplicate || (seen.host == host && seen.port == port);
      }
      if (port != 0 && duplicate) continue;
      ResolvedAddress address;
      address.family = ai->ai_family;
      address.socktype = ai->ai_socktype;
      address.protocol = ai->ai_protocol;
      std::memcpy(&address.address, ai->ai_addr, ai->ai_addrlen);
      address.length = ai->ai_addrlen;
      address.host = std::move(host);
      address.port = port;
      result.push_back(std::move(address));
    }
  }
  return result;
}

}  // namespace waitron::config
