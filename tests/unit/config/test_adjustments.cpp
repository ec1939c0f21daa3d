// Tests of src/config/adjustments.cpp: waitress's tests/test_adjustments.py (Test_asbool,
// Test_as_socket_list, TestAdjustments, TestUnixSocket) ported to named values, plus the
// converters, apply()'s merge, origins and warnings, and waitron::validate().
//
// Owner: the config layer. Single-threaded; the only resources are a few sockets.
#include "config/adjustments.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <waitron/adjustments.hpp>

#include "config/listen.hpp"

namespace waitron::config {
namespace {

Value str(const char* text) {
  return std::string(text);
}
Value num(std::int64_t number) {
  return number;
}

NamedValue kw(const char* name, Value value) {
  return NamedValue{name, std::move(value), {}};
}

Applied make(std::initializer_list<NamedValue> values) {
  const std::vector<NamedValue> list(values);
  return apply(list);
}

// The message of the AdjustmentsError that `make(values)` throws, or "" if none.
std::string error_of(std::initializer_list<NamedValue> values) {
  try {
    (void)make(values);
  } catch (const AdjustmentsError& e) {
    return e.what();
  }
  return "";
}

using BindPairs = std::vector<std::pair<std::string, int>>;

BindPairs bind_pairs(const Adjustments& adjustments, int only_family = AF_UNSPEC) {
  BindPairs pairs;
  for (const ResolvedAddress& address : resolve_listen(adjustments)) {
    if (only_family == AF_UNSPEC || address.family == only_family) {
      pairs.emplace_back(address.host, address.port);
    }
  }
  return pairs;
}

// A socket closed at the end of the test.
struct Socket {
  int fd;
  Socket(int family, int type) : fd(::socket(family, type, 0)) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
};

// waitress's _hasIPv6(), made stricter: the loopback ::1 can be bound.
bool has_ipv6_loopback() {
  const Socket s(AF_INET6, SOCK_STREAM);
  if (s.fd < 0) return false;
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  return ::bind(s.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

}  // namespace

// ---- Test_asbool -------------------------------------------------------------------------

TEST_CASE("Test_asbool") {
  CHECK(asbool(Value{}) == false);       // test_s_is_None
  CHECK(asbool(Value{true}) == true);    // test_s_is_True
  CHECK(asbool(Value{false}) == false);  // test_s_is_False
  CHECK(asbool(str("True")) == true);    // test_s_is_true
  CHECK(asbool(str("False")) == false);  // test_s_is_false
  CHECK(asbool(str("yes")) == true);     // test_s_is_yes
  CHECK(asbool(str("on")) == true);      // test_s_is_on
  CHECK(asbool(num(1)) == true);         // test_s_is_1
  CHECK(asbool(str(" T ")) == true);     // strip, then lower
  CHECK(asbool(str("y")) == true);
  CHECK(asbool(str("0")) == false);
  CHECK(asbool(str("no")) == false);
  CHECK(asbool(str("garbage")) == false);
  CHECK(asbool(num(2)) == false);                     // str(2) is not in the truthy set
  CHECK(asbool(Value{StringList{"true"}}) == false);  // str(['true'])
}

// ---- Test_as_socket_list -----------------------------------------------------------------

TEST_CASE("Test_as_socket_list.test_only_sockets_in_list") {
  const Socket inet(AF_INET, SOCK_STREAM);
  const Socket unix_socket(AF_UNIX, SOCK_STREAM);
  REQUIRE(inet.fd >= 0);
  REQUIRE(unix_socket.fd >= 0);
  const std::vector<int> fds = as_socket_list(Value{IntList{inet.fd, unix_socket.fd}});
  CHECK(fds == std::vector<int>{inet.fd, unix_socket.fd});
}

TEST_CASE("Test_as_socket_list.test_not_only_sockets_in_list") {
  // waitress drops the items that are not socket objects. Strings are never sockets, so
  // they are dropped here too; an integer that is not a socket's descriptor is kept and
  // rejected by check_sockets() instead (there is no way to drop it silently and safely).
  CHECK(as_socket_list(str("X")).empty());
  CHECK(as_socket_list(Value{StringList{"3", "4"}}).empty());
  CHECK(as_socket_list(Value{IntList{-5, 1LL << 40}}) == std::vector<int>{-1, -1});
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const std::vector<int> fds{pipe_fds[0]};
  CHECK_THROWS_WITH_AS(check_sockets(fds), "Only Internet or UNIX stream sockets may be used.",
                       AdjustmentsError);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  CHECK_THROWS_WITH_AS(as_socket_list(num(3)), "'int' object is not iterable", AdjustmentsError);
}

// ---- TestAdjustments ---------------------------------------------------------------------

TEST_CASE("TestAdjustments.test_goodvars") {
  const Applied applied = make({
      kw("host", str("localhost")),
      kw("port", str("8080")),
      kw("threads", str("5")),
      kw("trusted_proxy", str("192.168.1.1")),
      kw("trusted_proxy_headers", Value{StringList{"forwarded"}}),
      kw("trusted_proxy_count", num(2)),
      kw("log_untrusted_proxy_headers", Value{true}),
      kw("url_scheme", str("https")),
      kw("backlog", str("20")),
      kw("recv_bytes", str("200")),
      kw("send_bytes", str("300")),
      kw("outbuf_overflow", str("400")),
      kw("inbuf_overflow", str("500")),
      kw("connection_limit", str("1000")),
      kw("cleanup_interval", str("1100")),
      kw("channel_timeout", str("1200")),
      kw("log_socket_errors", str("true")),
      kw("max_request_header_size", str("1300")),
      kw("max_request_body_size", str("1400")),
      kw("expose_tracebacks", str("true")),
      kw("ident", str("abc")),
      kw("asyncore_loop_timeout", str("5")),
      kw("asyncore_use_poll", Value{true}),
      kw("unix_socket_perms", str("777")),
      kw("url_prefix", str("///foo/")),
      kw("ipv4", Value{true}),
      kw("ipv6", Value{false}),
  });
  const Adjustments& inst = applied.adjustments;
  CHECK(inst.host == "localhost");
  CHECK(inst.port == 8080);
  CHECK(inst.threads == 5);
  CHECK(inst.trusted_proxy == "192.168.1.1");
  CHECK(inst.trusted_proxy_headers == std::set<std::string>{"forwarded"});
  CHECK(inst.trusted_proxy_count == 2);
  CHECK(inst.log_untrusted_proxy_headers == true);
  CHECK(inst.url_scheme == "https");
  CHECK(inst.backlog == 20);
  CHECK(inst.recv_bytes == 200);
  CHECK(inst.send_bytes == 300);
  CHECK(inst.outbuf_overflow == 400);
  CHECK(inst.inbuf_overflow == 500);
  CHECK(inst.connection_limit == 1000);
  CHECK(inst.cleanup_interval == 1100);
  CHECK(inst.channel_timeout == 1200);
  CHECK(inst.log_socket_errors == true);
  CHECK(inst.max_request_header_size == 1300);
  CHECK(inst.max_request_body_size == 1400);
  CHECK(inst.expose_tracebacks == true);
  CHECK(inst.asyncore_loop_timeout == 5);
  CHECK(inst.asyncore_use_poll == true);
  CHECK(inst.ident == "abc");
  CHECK(inst.unix_socket_perms == 0777);
  CHECK(inst.url_prefix == "/foo");
  CHECK(inst.ipv4 == true);
  CHECK(inst.ipv6 == false);

  const BindPairs pairs = bind_pairs(inst, AF_INET);
  REQUIRE(!pairs.empty());
  CHECK(pairs[0] == std::pair<std::string, int>{"127.0.0.1", 8080});
}

TEST_CASE("TestAdjustments.test_goodvar_listen") {
  const Applied applied = make({kw("listen", str("127.0.0.1"))});
  CHECK(bind_pairs(applied.adjustments) == BindPairs{{"127.0.0.1", 8080}});
}

TEST_CASE("TestAdjustments.test_default_listen") {
  const Applied applied = make({});
  CHECK(bind_pairs(applied.adjustments) == BindPairs{{"0.0.0.0", 8080}});
  CHECK(applied.warnings.empty());
}

TEST_CASE("TestAdjustments.test_multiple_listen") {
  const Applied applied = make({kw("listen", str("127.0.0.1:9090 127.0.0.1:8080"))});
  CHECK(bind_pairs(applied.adjustments) == BindPairs{{"127.0.0.1", 9090}, {"127.0.0.1", 8080}});
}

TEST_CASE("TestAdjustments.test_wildcard_listen") {
  const Applied applied = make({kw("listen", str("*:8080"))});
  CHECK(bind_pairs(applied.adjustments).size() >= 1);
}

TEST_CASE("TestAdjustments.test_ipv6_no_port") {
  if (!has_ipv6_loopback()) {
    MESSAGE("skipped: this system cannot bind the IPv6 loopback");
    return;
  }
  const Applied applied = make({kw("listen", str("[::1]"))});
  CHECK(bind_pairs(applied.adjustments) == BindPairs{{"::1", 8080}});
}

TEST_CASE("TestAdjustments.test_bad_port") {
  const Applied applied = make({kw("listen", str("127.0.0.1:test"))});
  CHECK_THROWS_WITH_AS((void)resolve_listen(applied.adjustments), "Invalid host/port specified.",
                       AdjustmentsError);
}

TEST_CASE("TestAdjustments.test_service_port") {
  const Applied applied = make({kw("listen", str("127.0.0.1:http 0.0.0.0:https"))});
  CHECK(bind_pairs(applied.adjustments) == BindPairs{{"127.0.0.1", 80}, {"0.0.0.0", 443}});
}

TEST_CASE("TestAdjustments.test_dont_mix_host_port_listen") {
  CHECK(error_of({kw("host", str("localhost")), kw("port", str("8080")),
                  kw("listen", str("127.0.0.1:8080"))}) ==
        "host or port may not be set if listen is set.");
}

TEST_CASE("TestAdjustments.test_good_sockets") {
  const Socket inet6(AF_INET6, SOCK_STREAM);
  const Socket inet(AF_INET, SOCK_STREAM);
  REQUIRE(inet.fd >= 0);
  IntList fds{inet.fd};
  if (inet6.fd >= 0) fds.insert(fds.begin(), inet6.fd);
  const Applied applied = make({kw("sockets", Value{fds})});
  CHECK(std::vector<std::int64_t>(applied.adjustments.sockets.begin(),
                                  applied.adjustments.sockets.end()) == fds);
}

TEST_CASE("TestAdjustments.test_dont_mix_sockets_and_listen") {
  const Socket inet(AF_INET, SOCK_STREAM);
  CHECK(error_of({kw("listen", str("127.0.0.1:8080")), kw("sockets", Value{IntList{inet.fd}})}) ==
        "socket may not be set if listen is set.");
}

TEST_CASE("TestAdjustments.test_dont_mix_sockets_and_host_port") {
  const Socket inet(AF_INET, SOCK_STREAM);
  CHECK(error_of({kw("host", str("localhost")), kw("port", str("8080")),
                  kw("sockets", Value{IntList{inet.fd}})}) ==
        "host or port may not be set if sockets is set.");
}

TEST_CASE("TestAdjustments.test_dont_mix_sockets_and_unix_socket") {
  const Socket inet(AF_INET, SOCK_STREAM);
  CHECK(error_of({kw("unix_socket", str("./tmp/test")), kw("sockets", Value{IntList{inet.fd}})}) ==
        "unix_socket may not be set if sockets is set");
}

TEST_CASE("TestAdjustments.test_dont_mix_unix_socket_and_host_port") {
  CHECK(error_of({kw("unix_socket", str("./tmp/test")), kw("host", str("localhost")),
                  kw("port", str("8080"))}) == "unix_socket may not be set if host or port is set");
}

TEST_CASE("TestAdjustments.test_dont_mix_unix_socket_and_listen") {
  CHECK(error_of({kw("unix_socket", str("./tmp/test")), kw("listen", str("127.0.0.1:8080"))}) ==
        "unix_socket may not be set if listen is set");
}

TEST_CASE("TestAdjustments.test_dont_use_unsupported_socket_types") {
  const Socket datagram(AF_INET, SOCK_DGRAM);
  REQUIRE(datagram.fd >= 0);
  CHECK(error_of({kw("sockets", Value{IntList{datagram.fd}})}) ==
        "Only Internet or UNIX stream sockets may be used.");
}

TEST_CASE("TestUnixSocket.test_dont_mix_internet_and_unix_sockets") {
  const Socket inet(AF_INET, SOCK_STREAM);
  const Socket unix_socket(AF_UNIX, SOCK_STREAM);
  CHECK(error_of({kw("sockets", Value{IntList{inet.fd, unix_socket.fd}})}) ==
        "Internet and UNIX sockets may not be mixed.");
}

TEST_CASE("TestAdjustments.test_dont_mix_forwarded_with_x_forwarded") {
  const std::string message =
      error_of({kw("trusted_proxy", str("localhost")),
                kw("trusted_proxy_headers", Value{StringList{"forwarded", "x-forwarded-for"}})});
  CHECK(message ==
        "The Forwarded proxy header and the X-Forwarded-{By,Host,Proto,Port,For} headers are "
        "mutually exclusive. Can't trust both!");
}

TEST_CASE("TestAdjustments.test_unknown_trusted_proxy_header") {
  const std::string message = error_of(
      {kw("trusted_proxy", str("localhost")),
       kw("trusted_proxy_headers", Value{StringList{"forwarded", "x-forwarded-unknown"}})});
  CHECK(message ==
        "Received unknown trusted_proxy_headers value (x-forwarded-unknown) expected one of "
        "forwarded, x-forwarded-by, x-forwarded-for, x-forwarded-host, x-forwarded-port, "
        "x-forwarded-proto");
}

TEST_CASE("TestAdjustments.test_trusted_proxy_count_no_trusted_proxy") {
  CHECK(error_of({kw("trusted_proxy_count", num(1))}) ==
        "trusted_proxy_count has no meaning without setting trusted_proxy");
}

TEST_CASE("TestAdjustments.test_trusted_proxy_headers_no_trusted_proxy") {
  CHECK(error_of({kw("trusted_proxy_headers", Value{StringList{"forwarded"}})}) ==
        "trusted_proxy_headers has no meaning without setting trusted_proxy");
}

TEST_CASE("TestAdjustments.test_trusted_proxy_headers_string_list") {
  const Applied applied =
      make({kw("trusted_proxy", str("localhost")),
            kw("trusted_proxy_headers", str("x-forwarded-for x-forwarded-by"))});
  CHECK(applied.adjustments.trusted_proxy_headers ==
        std::set<std::string>{"x-forwarded-for", "x-forwarded-by"});
}

TEST_CASE("TestAdjustments.test_trusted_proxy_headers_string_list_newlines") {
  const Applied applied =
      make({kw("trusted_proxy", str("localhost")),
            kw("trusted_proxy_headers", str("x-forwarded-for\nx-forwarded-by\nx-forwarded-host"))});
  CHECK(applied.adjustments.trusted_proxy_headers ==
        std::set<std::string>{"x-forwarded-for", "x-forwarded-by", "x-forwarded-host"});
}

TEST_CASE("TestAdjustments.test_no_trusted_proxy_headers_trusted_proxy") {
  const Applied applied = make({kw("trusted_proxy", str("localhost"))});
  REQUIRE(applied.warnings.size() == 1);
  CHECK(applied.warnings[0].find("Implicitly trusting X-Forwarded-Proto") != std::string::npos);
  CHECK(applied.adjustments.trusted_proxy_headers == std::set<std::string>{"x-forwarded-proto"});
  CHECK(applied.adjustments.effective_trusted_proxy_count() == 1);
}

TEST_CASE("TestAdjustments.test_deprecated_send_bytes") {
  const Applied applied = make({kw("send_bytes", num(1))});
  REQUIRE(applied.warnings.size() == 1);
  CHECK(applied.warnings[0] == "send_bytes will be removed in a future release");
}

TEST_CASE("TestAdjustments.test_badvar") {
  CHECK(error_of({kw("nope", Value{true})}) == "Unknown adjustment 'nope'");
}

TEST_CASE("TestAdjustments.test_ipv4_disabled") {
  const Applied applied = make({kw("ipv4", Value{false}), kw("listen", str("127.0.0.1:8080"))});
  CHECK_THROWS_WITH_AS((void)resolve_listen(applied.adjustments), "Invalid host/port specified.",
                       AdjustmentsError);
}

TEST_CASE("TestAdjustments.test_ipv6_disabled") {
  const Applied applied = make({kw("ipv6", Value{false}), kw("listen", str("[::]:8080"))});
  CHECK_THROWS_WITH_AS((void)resolve_listen(applied.adjustments), "Invalid host/port specified.",
                       AdjustmentsError);
}

TEST_CASE("TestAdjustments.test_server_header_removable") {
  CHECK(make({kw("ident", Value{})}).adjustments.ident == std::nullopt);
  CHECK(make({kw("ident", str(""))}).adjustments.ident == std::nullopt);
  CHECK(make({kw("ident", str("specific_header"))}).adjustments.ident == "specific_header");
}

// ---- Defaults ----------------------------------------------------------------------------

TEST_CASE("defaults are waitress's code values, with ident waitron") {
  const Adjustments a;
  CHECK(a.host == "0.0.0.0");
  CHECK(a.port == 8080);
  CHECK(a.listen == std::vector<ListenEntry>{{"0.0.0.0", "8080"}});
  CHECK(a.threads == 4);
  CHECK(a.backlog == 1024);
  CHECK(a.recv_bytes == 8192);
  CHECK(a.send_bytes == 1);
  CHECK(a.outbuf_overflow == 1048576);
  CHECK(a.outbuf_high_watermark == 16777216);
  CHECK(a.inbuf_overflow == 524288);
  CHECK(a.connection_limit == 100);
  CHECK(a.cleanup_interval == 30);
  CHECK(a.channel_timeout == 120);
  CHECK(a.log_socket_errors == true);
  CHECK(a.max_request_header_size == 262144);
  CHECK(a.max_request_body_size == 1073741824);
  CHECK(a.expose_tracebacks == false);
  CHECK(a.ident == "waitron");
  CHECK(a.server_name == "waitress.invalid");
  CHECK(a.url_scheme == "http");
  CHECK(a.url_prefix.empty());
  CHECK(a.unix_socket == std::nullopt);
  CHECK(a.unix_socket_perms == 0600);
  CHECK(a.channel_request_lookahead == 0);
  CHECK(a.trusted_proxy == std::nullopt);
  CHECK(a.trusted_proxy_count == std::nullopt);
  CHECK(a.effective_trusted_proxy_count() == 1);
  CHECK(a.trusted_proxy_headers.empty());
  CHECK(a.clear_untrusted_proxy_headers == true);
  CHECK(a.log_untrusted_proxy_headers == false);
  CHECK(a.ipv4 == true);
  CHECK(a.ipv6 == true);
  CHECK(a.asyncore_loop_timeout == 1);
  CHECK(a.asyncore_use_poll == false);
  CHECK(a.sockets.empty());
}

TEST_CASE("the option table has every waitress option once, plus waitron's own") {
  const std::vector<std::string_view> waitress_params = {"host",
                                                         "port",
                                                         "ipv4",
                                                         "ipv6",
                                                         "listen",
                                                         "threads",
                                                         "trusted_proxy",
                                                         "trusted_proxy_count",
                                                         "trusted_proxy_headers",
                                                         "log_untrusted_proxy_headers",
                                                         "clear_untrusted_proxy_headers",
                                                         "url_scheme",
                                                         "url_prefix",
                                                         "backlog",
                                                         "recv_bytes",
                                                         "send_bytes",
                                                         "outbuf_overflow",
                                                         "outbuf_high_watermark",
                                                         "inbuf_overflow",
                                                         "connection_limit",
                                                         "cleanup_interval",
                                                         "channel_timeout",
                                                         "log_socket_errors",
                                                         "max_request_header_size",
                                                         "max_request_body_size",
                                                         "expose_tracebacks",
                                                         "ident",
                                                         "asyncore_loop_timeout",
                                                         "asyncore_use_poll",
                                                         "unix_socket",
                                                         "unix_socket_perms",
                                                         "sockets",
                                                         "channel_request_lookahead",
                                                         "server_name"};
  // Options waitress does not have; each is listed here deliberately.
  const std::vector<std::string_view> waitron_params = {
      "stream_request_body", "shutdown_timeout",    "access_log",   "access_log_format", "workers",
      "max_requests",        "max_requests_jitter", "status_listen"};
  CHECK(options().size() == waitress_params.size() + waitron_params.size());
  for (const std::string_view name : waitron_params) {
    CAPTURE(name);
    CHECK(find_option(name) != nullptr);
  }
  for (const std::string_view name : waitress_params) {
    CAPTURE(name);
    CHECK(find_option(name) != nullptr);
  }
  CHECK(find_option("nope") == nullptr);
  const auto booleans = std::count_if(options().begin(), options().end(),
                                      [](const OptionInfo& o) { return o.is_boolean; });
  CHECK(booleans == 8);  // ipv4 ipv6 log_untrusted clear_untrusted log_socket_errors
                         // expose_tracebacks asyncore_use_poll, and stream_request_body
}

// ---- Converters --------------------------------------------------------------------------

TEST_CASE("as_int is Python's int()") {
  CHECK(as_int(str("5")) == 5);
  CHECK(as_int(str(" 5 ")) == 5);
  CHECK(as_int(str("\t7\n")) == 7);
  CHECK(as_int(str("+5")) == 5);
  CHECK(as_int(str("-5")) == -5);
  CHECK(as_int(str("5_000")) == 5000);
  CHECK(as_int(str("010")) == 10);
  CHECK(as_int(num(42)) == 42);
  CHECK(as_int(Value{true}) == 1);
  CHECK(as_int(str("-9223372036854775808")) == INT64_MIN);
  for (const char* bad : {"abc", "", "  ", "1.0", "0x10", "_5", "5_", "5__0", "1 2"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS((void)as_int(str(bad)),
                         ("invalid literal for int() with base 10: " + py_repr(bad)).c_str(),
                         AdjustmentsError);
  }
  CHECK_THROWS_WITH_AS((void)as_int(str("abc")), "invalid literal for int() with base 10: 'abc'",
                       AdjustmentsError);
  CHECK_THROWS_WITH_AS(
      (void)as_int(Value{StringList{}}),
      "int() argument must be a string, a bytes-like object or a real number, not 'list'",
      AdjustmentsError);
  CHECK_THROWS_WITH_AS(
      (void)as_int(Value{}),
      "int() argument must be a string, a bytes-like object or a real number, not 'NoneType'",
      AdjustmentsError);
  CHECK_THROWS_AS((void)as_int(str("9223372036854775808")), AdjustmentsError);
}

TEST_CASE("integer options have waitron's ranges") {
  CHECK(error_of({kw("threads", str("-1"))}) == "threads must be >= 0, not -1");
  CHECK(error_of({kw("recv_bytes", num(0))}) == "recv_bytes must be >= 1, not 0");
  CHECK(error_of({kw("backlog", str("2147483648"))}) ==
        "backlog must be between 0 and 2147483647, not 2147483648");
  CHECK(error_of({kw("max_request_body_size", str("99999999999999999999"))}) ==
        "max_request_body_size must be >= 0, not 99999999999999999999");
  CHECK(error_of({kw("trusted_proxy", str("*")), kw("trusted_proxy_count", num(-1))}) ==
        "trusted_proxy_count must be >= 0, not -1");
  CHECK(make({kw("threads", num(0))}).adjustments.threads == 0);
  CHECK(make({kw("port", str("-1"))}).adjustments.port == -1);  // resolution rejects it
}

TEST_CASE("as_str and str_iftruthy are Python's str()") {
  CHECK(as_str(str("x")) == "x");
  CHECK(as_str(num(12)) == "12");
  CHECK(as_str(Value{true}) == "True");
  CHECK(as_str(Value{}) == "None");
  CHECK(as_str(Value{StringList{"a", "b'"}}) == "['a', \"b'\"]");
  CHECK(str_iftruthy(str("")) == std::nullopt);
  CHECK(str_iftruthy(Value{}) == std::nullopt);
  CHECK(str_iftruthy(num(0)) == std::nullopt);
  CHECK(str_iftruthy(num(5)) == "5");
  CHECK(str_iftruthy(str("abc")) == "abc");
}

TEST_CASE("slash_fixed_str") {
  CHECK(slash_fixed_str(str("///foo/")) == "/foo");
  CHECK(slash_fixed_str(str(" a/b/ ")) == "/a/b");
  CHECK(slash_fixed_str(str("/")) == "/");
  CHECK(slash_fixed_str(str("   ")).empty());
  CHECK(slash_fixed_str(str("")).empty());
  CHECK_THROWS_WITH_AS((void)slash_fixed_str(num(1)), "'int' object has no attribute 'strip'",
                       AdjustmentsError);
}

TEST_CASE("aslist and asset") {
  CHECK(aslist(str("a b\n\n  c\td\n")) == StringList{"a", "b", "c", "d"});
  CHECK(aslist(Value{StringList{"a b", "c"}}) == StringList{"a", "b", "c"});
  CHECK(aslist(str("")).empty());
  CHECK_THROWS_WITH_AS((void)aslist(num(5)), "'int' object is not iterable", AdjustmentsError);
  CHECK_THROWS_WITH_AS((void)aslist(Value{IntList{1}}), "'int' object has no attribute 'split'",
                       AdjustmentsError);
  CHECK(asset(str("X-Forwarded-For x-forwarded-for Forwarded")) ==
        std::set<std::string>{"x-forwarded-for", "forwarded"});
  CHECK(make({kw("trusted_proxy", str("*")), kw("trusted_proxy_headers", str("X-Forwarded-By"))})
            .adjustments.trusted_proxy_headers == std::set<std::string>{"x-forwarded-by"});
}

TEST_CASE("asoctal") {
  CHECK(asoctal(str("600"), "perms") == 0600);
  CHECK(asoctal(str("0o600"), "perms") == 0600);
  CHECK(asoctal(str("0O777"), "perms") == 0777);
  CHECK(asoctal(str(" 0o_6_00 "), "perms") == 0600);
  CHECK(asoctal(str("0600"), "perms") == 0600);
  // A deliberate superset of waitress: an integer is the mode itself.
  CHECK(asoctal(num(0600), "perms") == 0600);
  CHECK(asoctal(num(384), "perms") == 0600);
  for (const char* bad : {"8", "abc", "0o", "", "0x1f", "6__0"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS((void)asoctal(str(bad), "perms"),
                         ("invalid literal for int() with base 8: " + py_repr(bad)).c_str(),
                         AdjustmentsError);
  }
  CHECK_THROWS_WITH_AS((void)asoctal(Value{true}, "perms"),
                       "int() can't convert non-string with explicit base", AdjustmentsError);
  CHECK_THROWS_WITH_AS((void)asoctal(str("10000"), "perms"),
                       "perms must be an octal mode between 0 and 7777, not 10000",
                       AdjustmentsError);
  CHECK_THROWS_WITH_AS((void)asoctal(str("-600"), "perms"),
                       "perms must be an octal mode between 0 and 7777, not -600",
                       AdjustmentsError);
}

TEST_CASE("py_repr quotes as Python does") {
  CHECK(py_repr("abc") == "'abc'");
  CHECK(py_repr("a'b") == "\"a'b\"");
  CHECK(py_repr("a\"b'c") == "'a\"b\\'c'");
  CHECK(py_repr(std::string("\x01\x7f\\\t\n", 5)) == "'\\x01\\x7f\\\\\\t\\n'");
  CHECK(py_repr("\xc3\xa9") == "'\xc3\xa9'");
}

// ---- apply() -----------------------------------------------------------------------------

TEST_CASE("apply: a later value replaces an earlier one") {
  const Applied applied =
      make({kw("threads", num(2)), kw("port", str("81")), kw("threads", str("9"))});
  CHECK(applied.adjustments.threads == 9);
  CHECK(applied.adjustments.port == 81);
}

TEST_CASE("apply: host or port rebuild listen, even at their defaults") {
  CHECK(make({kw("port", str("9000"))}).adjustments.listen ==
        std::vector<ListenEntry>{{"0.0.0.0", "9000"}});
  CHECK(make({kw("host", str("0.0.0.0"))}).adjustments.listen ==
        std::vector<ListenEntry>{{"0.0.0.0", "8080"}});
  CHECK(make({kw("host", str("::1"))}).adjustments.listen ==
        std::vector<ListenEntry>{{"::1", "8080"}});
  CHECK(make({kw("host", str("[::1]")), kw("port", num(1))}).adjustments.listen ==
        std::vector<ListenEntry>{{"::1", "1"}});
}

TEST_CASE("apply: exclusivity is keyed on presence and checked before conversion") {
  // The default value still counts as set, and the checks run before the unknown name
  // and the unconvertible value are reached (waitress's order).
  CHECK(error_of({kw("nope", num(1)), kw("host", str("0.0.0.0")), kw("listen", str("x"))}) ==
        "host or port may not be set if listen is set.");
  CHECK(error_of({kw("threads", str("x")), kw("port", num(8080)), kw("unix_socket", str("/s"))}) ==
        "unix_socket may not be set if host or port is set");
  // --sockets=X on the command line: no sockets, but present.
  CHECK(error_of({kw("sockets", str("X")), kw("port", str("80"))}) ==
        "host or port may not be set if sockets is set.");
  CHECK(make({kw("sockets", str("X"))}).adjustments.sockets.empty());
}

TEST_CASE("apply: conversion errors in order, with the setting's origin") {
  CHECK(error_of({kw("threads", str("abc"))}) == "invalid literal for int() with base 10: 'abc'");
  CHECK(error_of({kw("threads", str("abc")), kw("nope", num(1))}) ==
        "invalid literal for int() with base 10: 'abc'");
  CHECK(error_of({kw("nope", num(1)), kw("threads", str("abc"))}) == "Unknown adjustment 'nope'");
  const std::vector<NamedValue> values{
      NamedValue{"unix_socket_perms", str("abc"), "c.json: option \"unix_socket_perms\" at /u"}};
  try {
    (void)apply(values);
    FAIL("apply() accepted a bad value");
  } catch (const AdjustmentsError& e) {
    CHECK(std::string(e.what()) ==
          "c.json: option \"unix_socket_perms\" at /u: invalid literal for int() with base 8: "
          "'abc'");
    CHECK(e.option() == "unix_socket_perms");
  }
  const std::vector<NamedValue> cross{
      NamedValue{"trusted_proxy_count", num(2), "c.json: option \"trusted_proxy_count\" at /t"}};
  CHECK_THROWS_WITH_AS((void)apply(cross),
                       "c.json: option \"trusted_proxy_count\" at /t: trusted_proxy_count has no "
                       "meaning without setting trusted_proxy",
                       AdjustmentsError);
}

TEST_CASE("apply: warnings, one each, in waitress's order") {
  const Applied applied =
      make({kw("trusted_proxy", str("10.0.0.1")), kw("asyncore_use_poll", str("true")),
            kw("asyncore_loop_timeout", num(3)), kw("send_bytes", num(9)),
            kw("asyncore_use_poll", Value{false})});
  REQUIRE(applied.warnings.size() == 4);
  CHECK(applied.warnings[0] == "send_bytes will be removed in a future release");
  CHECK(applied.warnings[1] ==
        "asyncore_use_poll is accepted for compatibility with waitress and ignored");
  CHECK(applied.warnings[2] ==
        "asyncore_loop_timeout is accepted for compatibility with waitress and ignored");
  CHECK(applied.warnings[3].find("Implicitly trusting X-Forwarded-Proto") != std::string::npos);
  CHECK(applied.adjustments.asyncore_use_poll == false);
}

TEST_CASE("apply: proxy values") {
  const Applied applied = make({kw("trusted_proxy", str("*")), kw("trusted_proxy_count", str("3")),
                                kw("trusted_proxy_headers", str("forwarded"))});
  CHECK(applied.adjustments.effective_trusted_proxy_count() == 3);
  CHECK(applied.warnings.empty());
  // An empty trusted_proxy is None: the count then has no meaning.
  CHECK(error_of({kw("trusted_proxy", str("")), kw("trusted_proxy_count", num(1))}) ==
        "trusted_proxy_count has no meaning without setting trusted_proxy");
}

TEST_CASE("apply: the family check") {
  // This system has IPv6 sockets or not; either way the message is waitress's.
  if (system_has_ipv6()) {
    CHECK(make({kw("ipv4", Value{false})}).adjustments.ipv4 == false);
  } else {
    CHECK(error_of({kw("ipv4", Value{false})}) ==
          "IPv4 is disabled but IPv6 is not available. Cowardly refusing to start.");
  }
}

// ---- validate() --------------------------------------------------------------------------

TEST_CASE("validate: defaults are valid and unchanged") {
  Adjustments a;
  CHECK(waitron::validate(a).empty());
  CHECK(a.listen == Adjustments{}.listen);
}

TEST_CASE("validate: normalises like the converters") {
  Adjustments a;
  a.ident = "";
  a.url_prefix = "//app//";
  a.trusted_proxy = "127.0.0.1";
  a.trusted_proxy_headers = {"X-Forwarded-For"};
  CHECK(waitron::validate(a).empty());
  CHECK(a.ident == std::nullopt);
  CHECK(a.url_prefix == "/app");
  CHECK(a.trusted_proxy_headers == std::set<std::string>{"x-forwarded-for"});
}

TEST_CASE("validate: host and port rebuild a default listen") {
  Adjustments a;
  a.port = 9000;
  CHECK(waitron::validate(a).empty());
  CHECK(a.listen == std::vector<ListenEntry>{{"0.0.0.0", "9000"}});
  CHECK(waitron::validate(a).empty());  // idempotent

  Adjustments b{.host = "127.0.0.1", .port = 81};  // listen follows host and port
  CHECK(b.listen == std::vector<ListenEntry>{{"127.0.0.1", "81"}});
  CHECK(waitron::validate(b).empty());

  Adjustments c;
  c.port = 9000;
  c.listen = {{"127.0.0.1", "80"}};
  CHECK_THROWS_WITH_AS(waitron::validate(c), "host or port may not be set if listen is set.",
                       AdjustmentsError);
}

TEST_CASE("validate: exclusivity of changed members") {
  Adjustments a;
  a.unix_socket = "/tmp/s";
  CHECK(waitron::validate(a).empty());
  a.listen = {{"127.0.0.1", "80"}};
  CHECK_THROWS_WITH_AS(waitron::validate(a), "unix_socket may not be set if listen is set",
                       AdjustmentsError);

  const Socket inet(AF_INET, SOCK_STREAM);
  Adjustments b;
  b.sockets = {inet.fd};
  CHECK(waitron::validate(b).empty());
  b.unix_socket = "/tmp/s";
  CHECK_THROWS_WITH_AS(waitron::validate(b), "unix_socket may not be set if sockets is set",
                       AdjustmentsError);
  Adjustments c;
  c.sockets = {inet.fd};
  c.host = "127.0.0.1";
  CHECK_THROWS_WITH_AS(waitron::validate(c), "host or port may not be set if sockets is set.",
                       AdjustmentsError);
}

TEST_CASE("validate: proxy rules, ranges and sockets") {
  Adjustments a;
  a.trusted_proxy_count = 2;
  CHECK_THROWS_WITH_AS(waitron::validate(a),
                       "trusted_proxy_count has no meaning without setting trusted_proxy",
                       std::invalid_argument);
  Adjustments b;
  b.trusted_proxy = "10.0.0.1";
  const std::vector<std::string> warnings = waitron::validate(b);
  REQUIRE(warnings.size() == 1);
  CHECK(b.trusted_proxy_headers == std::set<std::string>{"x-forwarded-proto"});
  CHECK(waitron::validate(b).empty());  // the implicit header is now explicit

  Adjustments c;
  c.threads = -3;
  CHECK_THROWS_WITH_AS(waitron::validate(c), "threads must be >= 0, not -3", AdjustmentsError);
  Adjustments d;
  d.unix_socket_perms = 010000;
  CHECK_THROWS_WITH_AS(waitron::validate(d),
                       "unix_socket_perms must be an octal mode between 0 and 7777, not 10000",
                       AdjustmentsError);
  Adjustments e;
  e.sockets = {-1};
  CHECK_THROWS_WITH_AS(waitron::validate(e), "Only Internet or UNIX stream sockets may be used.",
                       AdjustmentsError);
  Adjustments f;
  f.access_log_format = "common";
  CHECK_THROWS_WITH_AS(waitron::validate(f), "access_log_format must be combined or json",
                       std::invalid_argument);
  f.access_log_format = "json";
  CHECK(waitron::validate(f).empty());
}

TEST_CASE("apply: the access log and worker options") {
  const Applied applied =
      make({kw("access_log", str("-")), kw("access_log_format", str("json")),
            kw("workers", str("3")), kw("max_requests", num(1000)),
            kw("max_requests_jitter", str("50")), kw("status_listen", str("127.0.0.1:9100"))});
  const Adjustments& a = applied.adjustments;
  CHECK(a.access_log == std::optional<std::string>("-"));
  CHECK(a.access_log_format == "json");
  CHECK(a.workers == 3);
  CHECK(a.max_requests == 1000);
  CHECK(a.max_requests_jitter == 50);
  CHECK(a.status_listen == std::optional<std::string>("127.0.0.1:9100"));
  CHECK(make({}).adjustments.access_log == std::nullopt);
  CHECK_THROWS_AS(make({kw("workers", num(0))}), AdjustmentsError);
  CHECK_THROWS_AS(make({kw("access_log_format", str("xml"))}), std::invalid_argument);
}

}  // namespace waitron::config
