// Tests of src/config/listen.cpp: waitress's listen-entry splitting and the getaddrinfo()
// resolution, with loopback, localhost and numeric addresses only (no network).
//
// Owner: the config layer. Single-threaded.
#include "config/listen.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "config/adjustments.hpp"

namespace waitron::config {
namespace {

Adjustments listening_on(std::vector<ListenEntry> entries) {
  Adjustments a;
  a.listen = std::move(entries);
  return a;
}

bool can_bind_ipv6_loopback() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

void check_invalid(const Adjustments& a) {
  CHECK_THROWS_WITH_AS((void)resolve_listen(a), "Invalid host/port specified.", AdjustmentsError);
}

}  // namespace

TEST_CASE("parse_listen_entry splits as waitress does") {
  CHECK(parse_listen_entry("127.0.0.1:8080", 1) == ListenEntry{"127.0.0.1", "8080"});
  CHECK(parse_listen_entry("127.0.0.1", 8080) == ListenEntry{"127.0.0.1", "8080"});
  CHECK(parse_listen_entry("[::1]", 8080) == ListenEntry{"::1", "8080"});
  CHECK(parse_listen_entry("[::1]:9000", 8080) == ListenEntry{"::1", "9000"});
  CHECK(parse_listen_entry("*:80", 8080) == ListenEntry{"*", "80"});
  CHECK(parse_listen_entry("*", 8080) == ListenEntry{"*", "8080"});
  CHECK(parse_listen_entry("localhost:http", 8080) == ListenEntry{"localhost", "http"});
  CHECK(parse_listen_entry("127.0.0.1:", 8080) == ListenEntry{"127.0.0.1", ""});
  // waitress's quirk: an unbracketed IPv6 address loses its last group to the port.
  CHECK(parse_listen_entry("::1", 8080) == ListenEntry{":", "1"});
  CHECK(parse_listen_entry("[[::1]]:5", 8080) == ListenEntry{"::1", "5"});
}

TEST_CASE("format_listen_entry brackets IPv6 hosts") {
  CHECK(format_listen_entry({"127.0.0.1", "80"}) == "127.0.0.1:80");
  CHECK(format_listen_entry({"::1", "80"}) == "[::1]:80");
  CHECK(format_listen_entry({"*", "http"}) == "*:http");
  for (const char* text : {"127.0.0.1:80", "[::1]:80", "*:http"}) {
    CHECK(format_listen_entry(parse_listen_entry(text, 1)) == text);
  }
}

TEST_CASE("address_family_filter") {
  CHECK(address_family_filter(true, true, true) == AF_UNSPEC);
  CHECK(address_family_filter(true, false, true) == AF_INET);
  CHECK(address_family_filter(false, true, true) == AF_INET6);
  CHECK(address_family_filter(false, false, true) == AF_UNSPEC);  // waitress's quirk
  CHECK(address_family_filter(true, true, false) == AF_UNSPEC);
  CHECK_THROWS_WITH_AS((void)address_family_filter(false, true, false),
                       "IPv4 is disabled but IPv6 is not available. Cowardly refusing to start.",
                       AdjustmentsError);
}

TEST_CASE("resolve 127.0.0.1:0") {
  const auto addresses = resolve_listen(listening_on({{"127.0.0.1", "0"}}));
  REQUIRE(addresses.size() == 1);
  const ResolvedAddress& address = addresses[0];
  CHECK(address.family == AF_INET);
  CHECK(address.socktype == SOCK_STREAM);
  CHECK(address.protocol == IPPROTO_TCP);
  CHECK(address.length == sizeof(sockaddr_in));
  CHECK(address.host == "127.0.0.1");
  CHECK(address.port == 0);
  CHECK(address.to_string() == "127.0.0.1:0");
  const auto* in = reinterpret_cast<const sockaddr_in*>(&address.address);
  CHECK(in->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
  // The result can be bound as it is.
  const int fd = ::socket(address.family, address.socktype, address.protocol);
  REQUIRE(fd >= 0);
  CHECK(::bind(fd, reinterpret_cast<const sockaddr*>(&address.address), address.length) == 0);
  ::close(fd);
}

TEST_CASE("resolve [::1]:8080") {
  if (!can_bind_ipv6_loopback()) {
    MESSAGE("skipped: this system has no IPv6 loopback");
    return;
  }
  const auto addresses = resolve_listen(listening_on({parse_listen_entry("[::1]:8080", 1)}));
  REQUIRE(addresses.size() == 1);
  CHECK(addresses[0].family == AF_INET6);
  CHECK(addresses[0].host == "::1");
  CHECK(addresses[0].port == 8080);
  CHECK(addresses[0].length == sizeof(sockaddr_in6));
  CHECK(addresses[0].to_string() == "[::1]:8080");
}

TEST_CASE("resolve the wildcard per enabled family") {
  Adjustments a = listening_on({{"*", "8080"}});
  const auto both = resolve_listen(a);
  REQUIRE(!both.empty());
  a.ipv6 = false;
  const auto v4 = resolve_listen(a);
  REQUIRE(v4.size() == 1);
  CHECK(v4[0].host == "0.0.0.0");
  CHECK(v4[0].port == 8080);
  if (system_has_ipv6()) {
    a.ipv6 = true;
    a.ipv4 = false;
    const auto v6 = resolve_listen(a);
    REQUIRE(v6.size() == 1);
    CHECK(v6[0].host == "::");
  }
}

TEST_CASE("resolve localhost and a service name") {
  Adjustments a = listening_on({{"localhost", "http"}});
  a.ipv6 = false;
  const auto addresses = resolve_listen(a);
  REQUIRE(!addresses.empty());
  CHECK(addresses[0].host == "127.0.0.1");
  CHECK(addresses[0].port == 80);
}

TEST_CASE("duplicates are dropped unless the port is 0") {
  const auto same = resolve_listen(listening_on({{"127.0.0.1", "8080"}, {"127.0.0.1", "8080"}}));
  CHECK(same.size() == 1);
  const auto any = resolve_listen(listening_on({{"127.0.0.1", "0"}, {"127.0.0.1", "0"}}));
  CHECK(any.size() == 2);
  const auto empty_port = resolve_listen(listening_on({parse_listen_entry("127.0.0.1:", 1)}));
  REQUIRE(empty_port.size() == 1);
  CHECK(empty_port[0].port == 0);
}

TEST_CASE("invalid hosts and ports") {
  check_invalid(listening_on({{"127.0.0.1", "test"}}));
  check_invalid(listening_on({{"127.0.0.1", "70000"}}));  // glibc would wrap it to 4464
  check_invalid(listening_on({{"127.0.0.1", "-1"}}));
  check_invalid(listening_on({{"a..b", "80"}}));  // rejected by the resolver, never sent
  check_invalid(listening_on({{"", "80"}}));
  check_invalid(listening_on({{std::string("127.0.0.1\0x", 11), "80"}}));
  // A later bad entry fails the whole list.
  check_invalid(listening_on({{"127.0.0.1", "80"}, {"127.0.0.1", "nope"}}));
  Adjustments port_out_of_range;
  port_out_of_range.port = 65536;
  (void)waitron::validate(port_out_of_range);
  check_invalid(port_out_of_range);
  Adjustments v4_disabled = listening_on({{"127.0.0.1", "80"}});
  v4_disabled.ipv4 = false;
  if (system_has_ipv6()) check_invalid(v4_disabled);
}

}  // namespace waitron::config
