// pipeline/proxy_headers: every case of tests/python/test_proxy_headers.py (the Python
// middleware the WSGI path uses), with the same inputs and the same expected environ, 400
// or log lines, run through the pure function; then the App wrapper native apps get.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/log.hpp"
#include "pipeline/proxy_headers.hpp"
#include "support/app_doubles.hpp"

using namespace waitron;
using namespace waitron::pipeline;
using waitron::test::NoBody;
using waitron::test::RecordingResponse;

namespace {

// --- the Python test file's helpers ------------------------------------------------------

// middleware(**kw): trusted_proxy, trusted_proxy_count (None counts as 1),
// trusted_proxy_headers, clear_untrusted, log_untrusted.
struct Kw {
  std::optional<std::string> trusted_proxy;
  std::optional<std::uint64_t> trusted_proxy_count;
  std::set<std::string> trusted_proxy_headers;
  bool clear_untrusted = true;
  bool log_untrusted = false;
};

ProxySettings settings(const Kw& kw) {
  ProxySettings s;
  s.trusted_proxy = kw.trusted_proxy;
  s.trusted_proxy_count = kw.trusted_proxy_count.value_or(1);
  s.trusted_headers = proxy_header_set(kw.trusted_proxy_headers);
  s.clear_untrusted = kw.clear_untrusted;
  s.log_untrusted = kw.log_untrusted;
  return s;
}

struct Addr {
  std::string host = "127.0.0.1";
  int port = 8080;
};

// make_environ(addr, scheme, server, headers): header names as the Python test writes
// them ("X_FORWARDED_FOR"), values as they are.
Environ make_environ(const std::map<std::string, std::string>& headers = {}, Addr addr = {},
                     std::string scheme = "http", std::string server = "localhost") {
  Environ env = {
      {"REMOTE_ADDR", addr.host},
      {"REMOTE_HOST", addr.host},
      {"REMOTE_PORT", std::to_string(addr.port)},
      {"SERVER_PORT", std::to_string(addr.port)},
      {"SERVER_NAME", std::move(server)},
      {"wsgi.url_scheme", std::move(scheme)},
      {"HTTP_HOST", "192.168.1.1:80"},
  };
  for (const auto& [name, value] : headers) {
    std::string key = "HTTP_";
    for (char c : name) {
      key.push_back(c == '-' ? '_' : (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c);
    }
    env[key] = value;
  }
  return env;
}

// What the Python test's call() observes: the status, the body of a 400, the environ the
// application saw (nullopt when it was not called), and the logger's messages.
struct Call {
  std::string status;
  std::string body;
  std::optional<Environ> environ;
  std::vector<std::string> messages;

  [[nodiscard]] const std::string& env(const std::string& key) const {
    REQUIRE(environ);
    auto it = environ->find(key);
    if (it == environ->end()) throw std::out_of_range("no " + key + " in the environ");
    return it->second;
  }
  [[nodiscard]] bool has(const std::string& key) const {
    REQUIRE(environ);
    return environ->count(key) != 0;
  }
};

Call call(const Kw& kw, Environ env) {
  Call out;
  ProxyOutcome outcome = rewrite_proxy_headers(settings(kw), proxy_request_from(env));
  out.messages = outcome.warnings;
  if (outcome.error) {
    out.status = "400 Bad Request";
    out.body = malformed_body(*outcome.error);
    return out;
  }
  apply_rewrite(outcome.rewrite, env);
  out.status = "200 OK";
  out.environ = std::move(env);
  return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

const std::set<std::string> kXAll = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                                     "x-forwarded-port"};
const std::vector<std::string> kProxyHeaderKeys = {
    "FORWARDED",        "X_FORWARDED_BY",   "X_FORWARDED_FOR",
    "X_FORWARDED_HOST", "X_FORWARDED_PORT", "X_FORWARDED_PROTO",
};

}  // namespace

// --- the cases of tests/python/test_proxy_headers.py, in its order ----------------------

TEST_CASE("get_environment_values_w_scheme_override_untrusted") {
  Call r = call({}, make_environ({{"X_FOO", "BAR"}, {"X_FORWARDED_PROTO", "https"}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("wsgi.url_scheme") == "http");
  CHECK_FALSE(r.has("HTTP_X_FORWARDED_PROTO"));
  CHECK(r.env("HTTP_X_FOO") == "BAR");
}

TEST_CASE("get_environment_values_w_scheme_override_trusted") {
  Call r =
      call({"192.168.1.1", {}, {"x-forwarded-proto"}},
           make_environ({{"X_FOO", "BAR"}, {"X_FORWARDED_PROTO", "https"}}, {"192.168.1.1", 8080}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("SERVER_PORT") == "443");
  CHECK(r.env("SERVER_NAME") == "localhost");
  CHECK(r.env("REMOTE_ADDR") == "192.168.1.1");
  CHECK(r.env("HTTP_X_FOO") == "BAR");
  CHECK(r.env("wsgi.url_scheme") == "https");
}

TEST_CASE("get_environment_values_w_bogus_scheme_override") {
  Call r =
      call({"192.168.1.1", {}, {"x-forwarded-proto"}},
           make_environ({{"X_FOO", "BAR"}, {"X_FORWARDED_PROTO", "http://p02n3e.com?url=http"}},
                        {"192.168.1.1", 80}));
  CHECK(r.status == "400 Bad Request");
  CHECK(contains(r.body, "Header \"X-Forwarded-Proto\" malformed"));
  CHECK_FALSE(r.environ);
}

TEST_CASE("malformed_response_is_exact") {
  Call r = call({"10.0.0.1", {}, {"x-forwarded-proto"}},
                make_environ({{"X_FORWARDED_PROTO", "gopher"}}, {"10.0.0.1", 80}));
  CHECK(r.status == "400 Bad Request");
  CHECK(r.body ==
        "Bad Request\r\n\r\nHeader \"X-Forwarded-Proto\" malformed.\r\n\r\n(generated by server)");
  CHECK(r.messages ==
        std::vector<std::string>{"Malformed proxy header \"X-Forwarded-Proto\" from \"10.0.0.1\": "
                                 "unsupported proto value value: gopher"});
}

TEST_CASE("get_environment_warning_other_proxy_headers") {
  Call r = call({"192.168.1.1", 1, {"forwarded"}, true, true},
                make_environ({{"X_FORWARDED_FOR", "[2001:db8::1]"},
                              {"FORWARDED", "For=198.51.100.2;host=example.com:8080;proto=https"}},
                             {"192.168.1.1", 80}));
  CHECK(r.status == "200 OK");
  CHECK(r.messages == std::vector<std::string>{"Removed untrusted headers (X-Forwarded-For). "
                                               "Waitron recommends these be removed upstream."});
  CHECK_FALSE(r.has("HTTP_X_FORWARDED_FOR"));
  CHECK(r.env("REMOTE_ADDR") == "198.51.100.2");
  CHECK(r.env("SERVER_NAME") == "example.com");
  CHECK(r.env("HTTP_HOST") == "example.com:8080");
  CHECK(r.env("SERVER_PORT") == "8080");
  CHECK(r.env("wsgi.url_scheme") == "https");
}

TEST_CASE("get_environment_contains_all_headers_including_untrusted") {
  std::map<std::string, std::string> headers = {
      {"X_FORWARDED_FOR", "198.51.100.2"},
      {"X_FORWARDED_BY", "Waitress"},
      {"X_FORWARDED_PROTO", "https"},
      {"X_FORWARDED_HOST", "example.org"},
  };
  Call r = call({"192.168.1.1", 1, {"x-forwarded-by"}, false},
                make_environ(headers, {"192.168.1.1", 80}));
  CHECK(r.status == "200 OK");
  for (const auto& [name, value] : headers) CHECK(r.env("HTTP_" + name) == value);
  CHECK(r.env("REMOTE_ADDR") == "192.168.1.1");
}

TEST_CASE("get_environment_contains_only_trusted_headers") {
  Call r = call({"192.168.1.1", 1, {"x-forwarded-by"}, true},
                make_environ({{"X_FORWARDED_FOR", "198.51.100.2"},
                              {"X_FORWARDED_BY", "Waitress"},
                              {"X_FORWARDED_PROTO", "https"},
                              {"X_FORWARDED_HOST", "example.org"}},
                             {"192.168.1.1", 80}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("HTTP_X_FORWARDED_BY") == "Waitress");
  for (std::string name : {"FOR", "PROTO", "HOST"}) CHECK_FALSE(r.has("HTTP_X_FORWARDED_" + name));
}

TEST_CASE("get_environment_clears_headers_if_untrusted_proxy") {
  Call r = call({"192.168.1.1", 1, {"x-forwarded-by"}, true},
                make_environ({{"X_FORWARDED_FOR", "198.51.100.2"},
                              {"X_FORWARDED_BY", "Waitress"},
                              {"X_FORWARDED_PROTO", "https"},
                              {"X_FORWARDED_HOST", "example.org"}},
                             {"192.168.1.255", 80}));
  CHECK(r.status == "200 OK");
  for (std::string name : {"BY", "FOR", "PROTO", "HOST"}) {
    CHECK_FALSE(r.has("HTTP_X_FORWARDED_" + name));
  }
}

TEST_CASE("defaults_clear_all_six_headers") {
  std::map<std::string, std::string> headers;
  for (const std::string& name : kProxyHeaderKeys) headers[name] = "x";
  Call r = call({}, make_environ(headers));
  CHECK(r.status == "200 OK");
  for (const std::string& name : kProxyHeaderKeys) CHECK_FALSE(r.has("HTTP_" + name));
}

TEST_CASE("log_untrusted_lists_every_removed_header") {
  Call r =
      call({{}, {}, {}, true, true},
           make_environ({{"FORWARDED", "for=a"}, {"X_FORWARDED_PORT", "1"}, {"X_FOO", "bar"}}));
  CHECK(r.messages == std::vector<std::string>{"Removed untrusted headers (Forwarded, "
                                               "X-Forwarded-Port). Waitron recommends these be "
                                               "removed upstream."});
}

TEST_CASE("no_log_when_nothing_removed") {
  Call r = call({{}, {}, {}, true, true}, make_environ({{"X_FOO", "bar"}}));
  CHECK(r.messages.empty());
}

TEST_CASE("parse_proxy_headers_forwarded_for") {
  Call r = call({"*", {}, {"x-forwarded-for"}}, make_environ({{"X_FORWARDED_FOR", "192.0.2.1"}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("REMOTE_ADDR") == "192.0.2.1");
  CHECK(r.env("REMOTE_HOST") == "192.0.2.1");
  // Without a port in the header, the peer's port stays.
  CHECK(r.env("REMOTE_PORT") == "8080");
}

TEST_CASE("parse_proxy_headers_forwarded_for_with_port") {
  Call r = call({"*", {}, {"x-forwarded-for"}},
                make_environ({{"X_FORWARDED_FOR", "\"192.0.2.1:4711\""}}));
  CHECK(r.env("REMOTE_ADDR") == "192.0.2.1");
  CHECK(r.env("REMOTE_PORT") == "4711");
  CHECK(r.env("REMOTE_HOST") == "192.0.2.1");
}

TEST_CASE("parse_proxy_headers_forwarded_for_v6_missing_brackets") {
  Call r = call({"*", {}, {"x-forwarded-for"}}, make_environ({{"X_FORWARDED_FOR", "2001:db8::0"}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("REMOTE_ADDR") == "2001:db8::0");
}

TEST_CASE("parse_proxy_headers_forwared_for_multiple") {
  Call r = call({"*", 2, {"x-forwarded-for"}},
                make_environ({{"X_FORWARDED_FOR", "192.0.2.1, 198.51.100.2, 203.0.113.1"}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("REMOTE_ADDR") == "198.51.100.2");
  // waitress 3.0.2: only the trusted entries reach the application.
  CHECK(r.env("HTTP_X_FORWARDED_FOR") == "198.51.100.2, 203.0.113.1");
}

TEST_CASE("forwarded_for_rewrite_keeps_raw_entries") {
  Call r = call({"*", 2, {"x-forwarded-for"}},
                make_environ({{"X_FORWARDED_FOR", "spoofed,  \"2001:db8::1\" ,192.0.2.7 "}}));
  CHECK(r.env("HTTP_X_FORWARDED_FOR") == "\"2001:db8::1\", 192.0.2.7");
  CHECK(r.env("REMOTE_ADDR") == "2001:db8::1");
}

TEST_CASE("forwarded_for_count_larger_than_list") {
  Call r = call({"*", 5, {"x-forwarded-for"}},
                make_environ({{"X_FORWARDED_FOR", "192.0.2.1,198.51.100.2"}}));
  CHECK(r.env("REMOTE_ADDR") == "192.0.2.1");
  CHECK(r.env("HTTP_X_FORWARDED_FOR") == "192.0.2.1, 198.51.100.2");
}

TEST_CASE("bad_quote_in_untrusted_entry_is_malformed") {
  Call r =
      call({"*", {}, {"x-forwarded-for"}}, make_environ({{"X_FORWARDED_FOR", "\"foo, 192.0.2.1"}}));
  CHECK(r.status == "400 Bad Request");
  CHECK(contains(r.body, "Header \"X-Forwarded-For\" malformed"));
}

TEST_CASE("parse_forwarded_multiple_proxies_trust_only_two") {
  Call r = call({"*", 2, {"forwarded"}}, make_environ({{"FORWARDED",
                                                        "For=192.0.2.1;host=fake.com, "
                                                        "For=198.51.100.2;host=example.com:8080, "
                                                        "For=203.0.113.1"}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("REMOTE_ADDR") == "198.51.100.2");
  CHECK(r.env("SERVER_NAME") == "example.com");
  CHECK(r.env("HTTP_HOST") == "example.com:8080");
  CHECK(r.env("SERVER_PORT") == "8080");
  CHECK(r.env("HTTP_FORWARDED") == "For=198.51.100.2;host=example.com:8080, For=203.0.113.1");
}

TEST_CASE("parse_forwarded_multiple_proxies") {
  Call r = call({"*", 2, {"forwarded"}},
                make_environ({{"FORWARDED",
                               "for=\"[2001:db8::1]:3821\";host=\"example.com:8443\";proto="
                               "\"https\", for=192.0.2.1;host=\"example.internal:8080\""}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("REMOTE_ADDR") == "2001:db8::1");
  CHECK(r.env("REMOTE_PORT") == "3821");
  CHECK(r.env("SERVER_NAME") == "example.com");
  CHECK(r.env("HTTP_HOST") == "example.com:8443");
  CHECK(r.env("SERVER_PORT") == "8443");
  CHECK(r.env("wsgi.url_scheme") == "https");
}

TEST_CASE("parse_forwarded_multiple_proxies_minimal") {
  Call r =
      call({"*", 2, {"forwarded"}},
           make_environ(
               {{"FORWARDED",
                 "for=\"[2001:db8::1]\";proto=\"https\", for=192.0.2.1;host=\"example.org\""}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("REMOTE_ADDR") == "2001:db8::1");
  CHECK(r.env("SERVER_NAME") == "example.org");
  CHECK(r.env("HTTP_HOST") == "example.org");
  CHECK(r.env("SERVER_PORT") == "443");
  CHECK(r.env("wsgi.url_scheme") == "https");
}

TEST_CASE("parse_proxy_headers_forwarded_host_with_port") {
  Call r = call({"*", 2, {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"}},
                make_environ({{"X_FORWARDED_FOR", "192.0.2.1, 198.51.100.2, 203.0.113.1"},
                              {"X_FORWARDED_PROTO", "http"},
                              {"X_FORWARDED_HOST", "example.com:8080"}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("REMOTE_ADDR") == "198.51.100.2");
  CHECK(r.env("SERVER_NAME") == "example.com");
  CHECK(r.env("HTTP_HOST") == "example.com:8080");
  CHECK(r.env("SERVER_PORT") == "8080");
}

TEST_CASE("parse_proxy_headers_forwarded_host_without_port") {
  Call r = call({"*", 2, {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"}},
                make_environ({{"X_FORWARDED_FOR", "192.0.2.1, 198.51.100.2, 203.0.113.1"},
                              {"X_FORWARDED_PROTO", "http"},
                              {"X_FORWARDED_HOST", "example.com"}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("REMOTE_ADDR") == "198.51.100.2");
  CHECK(r.env("SERVER_NAME") == "example.com");
  CHECK(r.env("HTTP_HOST") == "example.com");
  CHECK(r.env("SERVER_PORT") == "80");
}

TEST_CASE("parse_proxy_headers_forwarded_host_with_forwarded_port") {
  Call r = call({"*", 2, kXAll},
                make_environ({{"X_FORWARDED_FOR", "192.0.2.1, 198.51.100.2, 203.0.113.1"},
                              {"X_FORWARDED_PROTO", "http"},
                              {"X_FORWARDED_HOST", "example.com"},
                              {"X_FORWARDED_PORT", "8080"}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("REMOTE_ADDR") == "198.51.100.2");
  CHECK(r.env("SERVER_NAME") == "example.com");
  CHECK(r.env("HTTP_HOST") == "example.com:8080");
  CHECK(r.env("SERVER_PORT") == "8080");
}

TEST_CASE("parse_proxy_headers_forwarded_host_multiple_with_forwarded_port") {
  Call r = call({"*", 2, kXAll},
                make_environ({{"X_FORWARDED_FOR", "192.0.2.1, 198.51.100.2, 203.0.113.1"},
                              {"X_FORWARDED_PROTO", "http"},
                              {"X_FORWARDED_HOST", "example.com, example.org"},
                              {"X_FORWARDED_PORT", "8080"}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("REMOTE_ADDR") == "198.51.100.2");
  CHECK(r.env("SERVER_NAME") == "example.com");
  CHECK(r.env("HTTP_HOST") == "example.com:8080");
  CHECK(r.env("SERVER_PORT") == "8080");
  CHECK(r.env("HTTP_X_FORWARDED_HOST") == "example.com, example.org");
}

TEST_CASE("parse_proxy_headers_forwarded_host_multiple_with_forwarded_port_limit_one_trusted") {
  Call r = call({"*", 1, kXAll},
                make_environ({{"X_FORWARDED_FOR", "192.0.2.1, 198.51.100.2, 203.0.113.1"},
                              {"X_FORWARDED_PROTO", "http"},
                              {"X_FORWARDED_HOST", "example.com, example.org"},
                              {"X_FORWARDED_PORT", "8080"}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("REMOTE_ADDR") == "203.0.113.1");
  CHECK(r.env("SERVER_NAME") == "example.org");
  CHECK(r.env("HTTP_HOST") == "example.org:8080");
  CHECK(r.env("SERVER_PORT") == "8080");
  // waitress 3.0.2: the untrusted left-most entries are gone.
  CHECK(r.env("HTTP_X_FORWARDED_FOR") == "203.0.113.1");
  CHECK(r.env("HTTP_X_FORWARDED_HOST") == "example.org");
}

TEST_CASE("parse_forwarded") {
  Call r = call(
      {"*", 1, {"forwarded"}},
      make_environ({{"FORWARDED", "For=198.51.100.2:5858;host=example.com:8080;proto=https"}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("REMOTE_ADDR") == "198.51.100.2");
  CHECK(r.env("REMOTE_PORT") == "5858");
  CHECK(r.env("SERVER_NAME") == "example.com");
  CHECK(r.env("HTTP_HOST") == "example.com:8080");
  CHECK(r.env("SERVER_PORT") == "8080");
  CHECK(r.env("wsgi.url_scheme") == "https");
}

TEST_CASE("parse_forwarded_lower_cases_values") {
  Call r = call({"*", {}, {"forwarded"}},
                make_environ({{"FORWARDED", "for=192.0.2.60;proto=HTTPS;host=Example.COM"}}));
  CHECK(r.env("SERVER_NAME") == "example.com");
  CHECK(r.env("wsgi.url_scheme") == "https");
}

TEST_CASE("parse_forwarded_empty_pair") {
  Call r = call({"*", 1, {"forwarded"}},
                make_environ({{"FORWARDED", "For=198.51.100.2;;proto=https;by=_unused"}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("REMOTE_ADDR") == "198.51.100.2");
}

TEST_CASE("parse_forwarded_pair_token_whitespace") {
  Call r = call({"*", 1, {"forwarded"}},
                make_environ({{"FORWARDED", "For=198.51.100.2; proto =https"}}));
  CHECK(r.status == "400 Bad Request");
  CHECK(contains(r.body, "Header \"Forwarded\" malformed"));
}

TEST_CASE("parse_forwarded_pair_value_whitespace") {
  Call r = call({"*", 1, {"forwarded"}},
                make_environ({{"FORWARDED", "For= \"198.51.100.2\"; proto =https"}}));
  CHECK(r.status == "400 Bad Request");
  CHECK(contains(r.body, "Header \"Forwarded\" malformed"));
}

TEST_CASE("parse_forwarded_pair_no_equals") {
  Call r = call({"*", 1, {"forwarded"}}, make_environ({{"FORWARDED", "For"}}));
  CHECK(r.status == "400 Bad Request");
  CHECK(contains(r.body, "Header \"Forwarded\" malformed"));
}

TEST_CASE("parse_forwarded_bad_proto_names_forwarded_proto") {
  Call r = call({"*", {}, {"forwarded"}}, make_environ({{"FORWARDED", "for=192.0.2.1;proto=ftp"}}));
  CHECK(r.status == "400 Bad Request");
  CHECK(contains(r.body, "Header \"Forwarded Proto=\" malformed"));
}

TEST_CASE("parse_forwarded_warning_unknown_token") {
  Call r = call(
      {"*", 1, {"forwarded"}},
      make_environ(
          {{"FORWARDED", "For=198.51.100.2;host=example.com:8080;proto=https;unknown=\"yolo\""}}));
  CHECK(r.status == "200 OK");
  REQUIRE(r.messages.size() == 1);
  CHECK(contains(r.messages[0], "Unknown Forwarded token"));
  CHECK(r.env("REMOTE_ADDR") == "198.51.100.2");
  CHECK(r.env("SERVER_NAME") == "example.com");
  CHECK(r.env("HTTP_HOST") == "example.com:8080");
  CHECK(r.env("SERVER_PORT") == "8080");
  CHECK(r.env("wsgi.url_scheme") == "https");
}

TEST_CASE("parse_no_valid_proxy_headers") {
  Call r =
      call({"*", 1, {}},
           make_environ({{"X_FORWARDED_FOR", "198.51.100.2"},
                         {"FORWARDED", "For=198.51.100.2;host=example.com:8080;proto=https"}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("REMOTE_ADDR") == "127.0.0.1");
  CHECK(r.env("SERVER_NAME") == "localhost");
  CHECK(r.env("HTTP_HOST") == "192.168.1.1:80");
  CHECK(r.env("SERVER_PORT") == "8080");
  CHECK(r.env("wsgi.url_scheme") == "http");
  CHECK_FALSE(r.has("HTTP_X_FORWARDED_FOR"));
  CHECK_FALSE(r.has("HTTP_FORWARDED"));
}

TEST_CASE("parse_multiple_x_forwarded_proto") {
  Call r =
      call({"*", 1, {"x-forwarded-proto"}}, make_environ({{"X_FORWARDED_PROTO", "http, https"}}));
  CHECK(r.status == "400 Bad Request");
  CHECK(contains(r.body, "Header \"X-Forwarded-Proto\" malformed"));
}

TEST_CASE("parse_multiple_x_forwarded_port") {
  Call r = call({"*", 1, {"x-forwarded-port"}}, make_environ({{"X_FORWARDED_PORT", "443, 80"}}));
  CHECK(r.status == "400 Bad Request");
  CHECK(contains(r.body, "Header \"X-Forwarded-Port\" malformed"));
}

TEST_CASE("trusted_proto_removed_from_untrusted_even_if_absent") {
  Call r = call({"*", {}, {"x-forwarded-proto", "x-forwarded-port"}}, make_environ({}));
  CHECK(r.env("wsgi.url_scheme") == "http");
  CHECK(r.env("SERVER_PORT") == "8080");
}

TEST_CASE("parse_forwarded_port_wrong_proto_port_80") {
  Call r = call({"*", 1, {"x-forwarded-port", "x-forwarded-host", "x-forwarded-proto"}},
                make_environ({{"X_FORWARDED_PORT", "80"},
                              {"X_FORWARDED_PROTO", "https"},
                              {"X_FORWARDED_HOST", "example.com"}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("SERVER_NAME") == "example.com");
  CHECK(r.env("HTTP_HOST") == "example.com:80");
  CHECK(r.env("SERVER_PORT") == "80");
  CHECK(r.env("wsgi.url_scheme") == "https");
}

TEST_CASE("parse_forwarded_port_wrong_proto_port_443") {
  Call r = call({"*", 1, {"x-forwarded-port", "x-forwarded-host", "x-forwarded-proto"}},
                make_environ({{"X_FORWARDED_PORT", "443"},
                              {"X_FORWARDED_PROTO", "http"},
                              {"X_FORWARDED_HOST", "example.com"}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("SERVER_NAME") == "example.com");
  CHECK(r.env("HTTP_HOST") == "example.com:443");
  CHECK(r.env("SERVER_PORT") == "443");
  CHECK(r.env("wsgi.url_scheme") == "http");
}

TEST_CASE("parse_forwarded_for_bad_quote") {
  Call r = call({"*", 1, {"x-forwarded-for"}}, make_environ({{"X_FORWARDED_FOR", "\"foo"}}));
  CHECK(r.status == "400 Bad Request");
  CHECK(contains(r.body, "Header \"X-Forwarded-For\" malformed"));
}

TEST_CASE("parse_forwarded_host_bad_quote") {
  Call r = call({"*", 1, {"x-forwarded-host"}}, make_environ({{"X_FORWARDED_HOST", "\"foo"}}));
  CHECK(r.status == "400 Bad Request");
  CHECK(contains(r.body, "Header \"X-Forwarded-Host\" malformed"));
}

TEST_CASE("empty_client_address_with_port_does_not_crash") {
  // waitress raises IndexError here (a 500); waitron sets an empty REMOTE_ADDR.
  Call r = call({"*", {}, {"forwarded"}}, make_environ({{"FORWARDED", "for=\":80\""}}));
  CHECK(r.status == "200 OK");
  CHECK(r.env("REMOTE_ADDR") == "");
  CHECK(r.env("REMOTE_PORT") == "80");
}

TEST_CASE("peer_not_trusted_when_trusted_proxy_is_none") {
  Call r = call({std::nullopt, {}, {"x-forwarded-for"}},
                make_environ({{"X_FORWARDED_FOR", "192.0.2.1"}}));
  CHECK(r.env("REMOTE_ADDR") == "127.0.0.1");
  CHECK_FALSE(r.has("HTTP_X_FORWARDED_FOR"));
}

TEST_CASE("undquote_valid") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""},
      {"foo", "foo"},
      {"\"foo\"", "foo"},
      {"\"foo\\\"bar\"", "foo\"bar"},
      {"\"foo\\\\bar\"", "foo\\bar"},
      {"\"\"", ""},
      {"\"[2001:db8::1]:80\"", "[2001:db8::1]:80"},
      {"\"caf\xe9\"", "caf\xe9"},  // latin-1 obs-text
  };
  for (const auto& [value, expected] : cases) {
    CAPTURE(value);
    CHECK(undquote(value) == expected);
  }
}

TEST_CASE("undquote_invalid") {
  for (std::string value : {"\"", "\"foo", "foo\"", "\"fo\"o\"", "\"foo\\\"",
                            "\"a\x01"
                            "b\"",
                            "\"a\\\x7f"
                            "b\""}) {
    CAPTURE(value);
    CHECK_FALSE(undquote(value));
  }
}

// --- beyond the Python file: the byte-level mirror of Python's str methods --------------

TEST_CASE("strip() and lower() follow Python on latin-1 code points") {
  // Python's str.strip() removes \x85 and \xa0 (NEL, NBSP) and \x1c-\x1f too.
  Call r = call({"*", 2, {"x-forwarded-for"}}, make_environ({{"X_FORWARDED_FOR",
                                                              "a,\xa0"
                                                              "192.0.2.1\x85, 192.0.2.2"}}));
  CHECK(r.env("REMOTE_ADDR") == "192.0.2.1");
  CHECK(r.env("HTTP_X_FORWARDED_FOR") == "192.0.2.1, 192.0.2.2");
  // Python's str.lower() lower-cases the latin-1 capitals (but not U+00D7).
  r = call({"*", 1, {"forwarded"}}, make_environ({{"FORWARDED", "host=\xc0\xd7\xde"}}));
  CHECK(r.env("SERVER_NAME") == "\xe0\xd7\xfe");
}

TEST_CASE("trusted_proxy_count 0 keeps every entry, as waitress's list[-0:]") {
  Call r = call({"*", 0, {"x-forwarded-for"}},
                make_environ({{"X_FORWARDED_FOR", "192.0.2.1, 198.51.100.2"}}));
  CHECK(r.env("REMOTE_ADDR") == "192.0.2.1");
  CHECK(r.env("HTTP_X_FORWARDED_FOR") == "192.0.2.1, 198.51.100.2");
}

TEST_CASE("unknown tokens are logged before the malformed header") {
  Call r = call({"*", 1, {"forwarded"}}, make_environ({{"FORWARDED", "a=1, for"}}));
  CHECK(r.status == "400 Bad Request");
  CHECK(r.messages ==
        std::vector<std::string>{"Unknown Forwarded token: a",
                                 "Malformed proxy header \"Forwarded\" from \"127.0.0.1\": Invalid "
                                 "forwarded-pair missing \"=\" value: a=1, for"});
}

TEST_CASE("a request without proxy headers is left unchanged") {
  ProxySettings s;
  ProxyOutcome o = rewrite_proxy_headers(s, proxy_request_from(make_environ({{"X_FOO", "1"}})));
  CHECK_FALSE(o.error);
  CHECK_FALSE(o.rewrite.changes_anything());
  // A trusted header rewritten to its own value changes nothing either.
  s.trusted_proxy = "*";
  s.trusted_headers = proxy_header_set({"x-forwarded-by"});
  o = rewrite_proxy_headers(s, proxy_request_from(make_environ({{"X_FORWARDED_BY", "p"}})));
  CHECK_FALSE(o.rewrite.changes_anything());
}

// --- the App wrapper ------------------------------------------------------------------

namespace {

// A request as the task builds one: fields, and the environ made from them.
class FakeRequest final : public Request {
 public:
  FakeRequest(std::vector<Header> fields, std::string peer)
      : fields_(std::move(fields)), peer_(std::move(peer)) {
    std::map<std::string, std::string> as_environ;
    for (const Header& f : fields_) {
      std::string& v = as_environ[f.name];
      v = v.empty() ? f.value : v + ", " + f.value;
    }
    environ_ = make_environ(as_environ, {peer_, 4000});
  }
  std::string_view method() const override { return "GET"; }
  std::string_view target() const override { return "/app/x?q"; }
  std::string_view path() const override { return "/x"; }
  std::string_view query() const override { return "q"; }
  int http_minor() const override { return 1; }
  const std::vector<Header>& headers() const override { return fields_; }
  std::optional<std::string_view> header(std::string_view name) const override {
    for (const Header& f : fields_) {
      if (f.name.size() == name.size() &&
          std::equal(f.name.begin(), f.name.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        return std::string_view(f.value);
      }
    }
    return std::nullopt;
  }
  const Environ& environ() const override {
    ++environ_calls;
    return environ_;
  }
  std::string_view remote_addr() const override { return peer_; }
  std::optional<std::uint16_t> remote_port() const override { return 4000; }
  BodyReader& body() override { return body_; }
  bool client_disconnected() const override { return false; }

  mutable int environ_calls = 0;  // a request's environ is costly: the fast path never asks

 private:
  std::vector<Header> fields_;
  std::string peer_;
  Environ environ_;
  NoBody body_;
};

// What the wrapped App saw.
struct Seen {
  bool called = false;
  const Request* request = nullptr;
  Environ environ;
  bool visit = false;  // also record what visit_environ() gives (calls environ() again)
  Environ visited;
  std::vector<Header> headers;
  std::optional<std::string> xff_header;
  std::string remote_addr;
  std::optional<std::uint16_t> remote_port;
  std::string path;
};

std::shared_ptr<App> recorder(Seen& seen) {
  return make_app([&seen](Request& req, Response& res) {
    seen.called = true;
    seen.request = &req;
    seen.environ = req.environ();
    if (seen.visit) {
      req.visit_environ([&seen](std::string_view k, std::string_view v) {
        seen.visited.insert_or_assign(std::string(k), std::string(v));
      });
    }
    seen.headers = req.headers();
    if (auto v = req.header("x-forwarded-for")) seen.xff_header = std::string(*v);
    seen.remote_addr = std::string(req.remote_addr());
    seen.remote_port = req.remote_port();
    seen.path = std::string(req.path());
    res.start("200 OK", {});
  });
}

ProxySettings trusting(std::string proxy, std::set<std::string> headers, std::uint64_t count = 1) {
  ProxySettings s;
  s.trusted_proxy = std::move(proxy);
  s.trusted_headers = proxy_header_set(headers);
  s.trusted_proxy_count = count;
  return s;
}

}  // namespace

TEST_CASE("wrapper: the App sees the forwarded client, scheme and host everywhere") {
  Seen seen;
  seen.visit = true;
  core::MemoryLogger log;
  auto app = wrap_proxy_headers(
      recorder(seen),
      trusting("10.0.0.2", {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"}), &log);
  FakeRequest req({{"Host", "backend:8080"},
                   {"X-Forwarded-For", "192.0.2.9"},
                   {"X-Forwarded-For", "198.51.100.7:5555"},
                   {"X-Forwarded-Proto", "https"},
                   {"X-Forwarded-Host", "shop.example"},
                   {"X-Forwarded-Port", "1"},
                   {"Forwarded", "for=1.1.1.1"},
                   {"Accept", "*/*"}},
                  "10.0.0.2");
  RecordingResponse res;
  app->handle(req, res);
  REQUIRE(seen.called);
  CHECK(seen.request != &req);
  CHECK(seen.remote_addr == "198.51.100.7");
  CHECK(seen.remote_port == 5555);
  CHECK(seen.environ["REMOTE_ADDR"] == "198.51.100.7");
  CHECK(seen.environ["REMOTE_HOST"] == "198.51.100.7");
  CHECK(seen.environ["REMOTE_PORT"] == "5555");
  // The rewritten request's visit_environ() (Request's default, over environ()) gives the
  // rewritten variables too: the WSGI bridge builds its dict from it.
  CHECK(seen.visited == seen.environ);
  CHECK(seen.visited["REMOTE_ADDR"] == "198.51.100.7");
  CHECK(seen.environ["wsgi.url_scheme"] == "https");
  CHECK(seen.environ["SERVER_NAME"] == "shop.example");
  CHECK(seen.environ["SERVER_PORT"] == "443");
  CHECK(seen.environ["HTTP_HOST"] == "shop.example");
  CHECK(seen.environ["HTTP_X_FORWARDED_FOR"] == "198.51.100.7:5555");
  CHECK(seen.environ.count("HTTP_X_FORWARDED_PORT") == 0);
  CHECK(seen.environ.count("HTTP_FORWARDED") == 0);
  CHECK(seen.path == "/x");
  // The fields: the untrusted proxy headers gone, the rewritten one once, the rest as sent.
  std::vector<std::pair<std::string, std::string>> fields;
  for (const Header& h : seen.headers) fields.emplace_back(h.name, h.value);
  CHECK(fields ==
        std::vector<std::pair<std::string, std::string>>{{"Host", "backend:8080"},
                                                         {"X-Forwarded-For", "198.51.100.7:5555"},
                                                         {"X-Forwarded-Proto", "https"},
                                                         {"X-Forwarded-Host", "shop.example"},
                                                         {"Accept", "*/*"}});
  CHECK(seen.xff_header == "198.51.100.7:5555");
  CHECK(res.status == "200 OK");
  CHECK(log.size() == 0);
}

TEST_CASE("wrapper: an untrusted peer's proxy headers never reach the App") {
  Seen seen;
  auto app = wrap_proxy_headers(recorder(seen), trusting("10.0.0.2", {"x-forwarded-for"}), nullptr);
  FakeRequest req({{"X-Forwarded-For", "6.6.6.6"}, {"x-forwarded-proto", "https"}}, "127.0.0.1");
  RecordingResponse res;
  app->handle(req, res);
  REQUIRE(seen.called);
  CHECK(seen.remote_addr == "127.0.0.1");
  CHECK(seen.remote_port == 4000);
  CHECK(seen.environ["wsgi.url_scheme"] == "http");
  CHECK(seen.environ.count("HTTP_X_FORWARDED_FOR") == 0);
  CHECK(seen.headers.empty());
  CHECK_FALSE(seen.xff_header);
}

TEST_CASE("wrapper: a request the rules leave alone reaches the App as it is") {
  Seen seen;
  auto app = wrap_proxy_headers(recorder(seen), ProxySettings{}, nullptr);
  FakeRequest req({{"Accept", "*/*"}}, "127.0.0.1");
  RecordingResponse res;
  app->handle(req, res);
  CHECK(seen.request == &req);
  CHECK(req.environ_calls == 1);  // the recorder's own call: the wrapper did not build it
}

TEST_CASE("wrapper: the fast path sees proxy headers spelt with underscores or in any case") {
  // The environ maps '-' and '_' to the same key, so X_Forwarded_For is a proxy header too.
  for (const char* name :
       {"X_Forwarded_For", "x-forwarded_for", "FORWARDED", "x_FORWARDED-proto", "forwarded",
        "X-Forwarded-By", "x_forwarded_by", "X-Forwarded-Host", "X_FORWARDED_HOST",
        "X-Forwarded-Port", "x-forwarded_port", "X-Forwarded-Proto"}) {
    CAPTURE(name);
    Seen seen;
    auto app = wrap_proxy_headers(recorder(seen), ProxySettings{}, nullptr);
    FakeRequest req({{name, "6.6.6.6"}, {"Accept", "*/*"}}, "127.0.0.1");
    RecordingResponse res;
    app->handle(req, res);
    REQUIRE(seen.called);
    CHECK(seen.request != &req);  // cleared: untrusted
    CHECK(seen.headers.size() == 1);
  }
}

TEST_CASE("wrapper: fields that only look like proxy headers do not stop the fast path") {
  Seen seen;
  auto app = wrap_proxy_headers(recorder(seen), ProxySettings{}, nullptr);
  // Names of a proxy header's length, with its first letter or another.
  FakeRequest plain({{"X-Forwarded-Foo", "1"},
                     {"Forwarded-X", "2"},
                     {"Z", "3"},
                     {"Accept-Language", "4"},
                     {"Sec-Fetch-Dest", "5"},
                     {"Forwardee", "6"},
                     {"Yorwarded", "7"},
                     {"X-Forwarded-Hast", "8"},
                     {"_-Forwarded-Proto", "9"}},
                    "127.0.0.1");
  RecordingResponse res;
  app->handle(plain, res);
  CHECK(seen.request == &plain);
  // A real proxy header sorted after one that is not (FOO < PROTO) is still found.
  FakeRequest mixed({{"X-Forwarded-Foo", "1"}, {"X-Forwarded-Proto", "https"}}, "127.0.0.1");
  app->handle(mixed, res);
  CHECK(seen.request != &mixed);
  CHECK(seen.environ.count("HTTP_X_FORWARDED_PROTO") == 0);
  CHECK(seen.environ["HTTP_X_FORWARDED_FOO"] == "1");
}

TEST_CASE("wrapper: a forwarded port that is not a number leaves remote_port() empty") {
  Seen seen;
  auto app = wrap_proxy_headers(recorder(seen), trusting("*", {"forwarded"}), nullptr);
  FakeRequest req({{"Forwarded", "for=\"192.0.2.1:_x\""}}, "127.0.0.1");
  RecordingResponse res;
  app->handle(req, res);
  CHECK(seen.remote_addr == "192.0.2.1");
  CHECK(seen.environ["REMOTE_PORT"] == "_x");
  CHECK_FALSE(seen.remote_port);
}

TEST_CASE("wrapper: a malformed trusted header is waitress's 400, logged, App not called") {
  Seen seen;
  core::MemoryLogger log;
  auto app = wrap_proxy_headers(recorder(seen), trusting("*", {"x-forwarded-proto"}), &log);
  FakeRequest req({{"X-Forwarded-Proto", "gopher"}}, "10.0.0.1");
  RecordingResponse res;
  app->handle(req, res);
  CHECK_FALSE(seen.called);
  CHECK(res.status == "400 Bad Request");
  CHECK(res.body ==
        "Bad Request\r\n\r\nHeader \"X-Forwarded-Proto\" malformed.\r\n\r\n(generated by server)");
  // Its length too, so that the connection can stay open (waitress's WSGI task gives a
  // one-chunk response its Content-Length).
  REQUIRE(res.headers.size() == 2);
  CHECK(res.headers[0].name == "Content-Length");
  CHECK(res.headers[0].value == std::to_string(res.body.size()));
  CHECK(res.headers[1].name == "Content-Type");
  CHECK(res.headers[1].value == "text/plain; charset=utf-8");
  auto entries = log.entries();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].level == core::LogLevel::warning);
  CHECK(entries[0].logger_name == "waitron");
  CHECK(entries[0].message ==
        "Malformed proxy header \"X-Forwarded-Proto\" from \"10.0.0.1\": unsupported proto value "
        "value: gopher");
}

TEST_CASE("wrapper: log_untrusted_proxy_headers logs the removed headers") {
  Seen seen;
  core::MemoryLogger log;
  ProxySettings s;
  s.log_untrusted = true;
  auto app = wrap_proxy_headers(recorder(seen), s, &log);
  FakeRequest req({{"X-Forwarded-Host", "evil"}, {"Forwarded", "for=x"}}, "127.0.0.1");
  RecordingResponse res;
  app->handle(req, res);
  CHECK(seen.called);
  CHECK(log.count_containing("Removed untrusted headers (Forwarded, X-Forwarded-Host).") == 1);
}
