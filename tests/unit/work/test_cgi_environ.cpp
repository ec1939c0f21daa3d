#include <doctest/doctest.h>

#include <map>

#include "work/cgi_environ.hpp"

using namespace waitron;
using namespace waitron::work;

namespace {

http::RequestHead head(std::string method, std::string target, std::vector<http::Field> fields,
                       int minor = 1) {
  http::RequestHead h;
  h.method = std::move(method);
  h.target = std::move(target);
  h.fields = std::move(fields);
  h.version_minor = minor;
  return h;
}

Peer tcp_peer() {
  return Peer{"127.0.0.1", 40000, "8080"};
}

}  // namespace

TEST_CASE("the CGI keys waitress sets") {
  auto env = build_environ(head("POST", "/a%20b?x=1#f",
                                {{"Content-Type", "text/plain"},
                                 {"Content-Length", "3"},
                                 {"X-Thing", "1"},
                                 {"x-thing", "2"},
                                 {"Cookie", "a"}}),
                           3, EnvironSettings{}, tcp_peer());
  CHECK(env["REQUEST_METHOD"] == "POST");
  CHECK(env["SCRIPT_NAME"] == "");
  CHECK(env["PATH_INFO"] == "/a b");
  CHECK(env["QUERY_STRING"] == "x=1");
  CHECK(env["REQUEST_URI"] == "/a%20b?x=1#f");
  CHECK(env["SERVER_NAME"] == "waitress.invalid");
  CHECK(env["SERVER_PORT"] == "8080");
  CHECK(env["wsgi.url_scheme"] == "http");
  CHECK(env["SERVER_PROTOCOL"] == "HTTP/1.1");
  CHECK(env["SERVER_SOFTWARE"] == "waitron");
  CHECK(env["REMOTE_ADDR"] == "127.0.0.1");
  CHECK(env["REMOTE_HOST"] == "127.0.0.1");
  CHECK(env["REMOTE_PORT"] == "40000");
  CHECK(env["CONTENT_TYPE"] == "text/plain");
  CHECK(env["CONTENT_LENGTH"] == "3");
  CHECK(env["HTTP_X_THING"] == "1, 2");
  CHECK(env["HTTP_COOKIE"] == "a");
  CHECK(env.count("HTTP_CONTENT_LENGTH") == 0);
}

TEST_CASE("chunked bodies: decoded CONTENT_LENGTH, no Transfer-Encoding") {
  auto h = head("POST", "/", {{"Transfer-Encoding", "chunked"}});
  h.chunked = true;
  auto env = build_environ(h, 42, EnvironSettings{}, tcp_peer());
  CHECK(env["CONTENT_LENGTH"] == "42");
  CHECK(env.count("HTTP_TRANSFER_ENCODING") == 0);
}

TEST_CASE("Unix peers, no ident, HTTP/1.0, another url_scheme") {
  EnvironSettings s;
  s.ident = std::nullopt;
  s.url_scheme = "https";
  auto env =
      build_environ(head("GET", "/", {}, 0), 0, s, Peer{"localhost", std::nullopt, "/tmp/s.sock"});
  CHECK(env["REMOTE_ADDR"] == "localhost");
  CHECK(env["REMOTE_PORT"] == "None");
  CHECK(env["SERVER_PORT"] == "/tmp/s.sock");
  CHECK(env["SERVER_PROTOCOL"] == "HTTP/1.0");
  CHECK(env.count("SERVER_SOFTWARE") == 0);
  CHECK(env.count("CONTENT_LENGTH") == 0);
  CHECK(env["wsgi.url_scheme"] == "https");
}

TEST_CASE("PATH_INFO: leading slashes collapse; url_prefix hit, miss and exact") {
  CHECK(path_info("///abc", "") == "/abc");
  CHECK(path_info("//a//b", "") == "/a//b");
  CHECK(path_info("", "") == "");
  CHECK(path_info("/app", "/app") == "");
  CHECK(path_info("/app/x", "/app") == "/x");
  CHECK(path_info("/apple", "/app") == "/apple");
  CHECK(path_info("//app/x", "/app") == "/x");
  CHECK(path_info("/%2Fapp", "") == "/app");
  EnvironSettings s;
  s.url_prefix = "/app";
  CHECK(build_environ(head("GET", "/apple", {}), 0, s, tcp_peer())["SCRIPT_NAME"] == "/app");
}

TEST_CASE("visit_environ gives each variable once, joined as environ() joins them") {
  auto h = head("POST", "/p?q",
                {{"X-Forwarded-For", "a"},
                 {"Content-Length", "3"},
                 {"x_forwarded_for", "b"},  // the same variable, spelled with underscores
                 {"Accept", "x"},
                 {"X-FORWARDED-FOR", "c"},
                 {"Content-Type", "t1"},
                 {"content-type", "t2"},
                 {"X-Forwarded", "not the same"},
                 {"Accept", "y"}});
  std::map<std::string, std::string> seen;
  int calls = 0;
  visit_environ(h, 3, EnvironSettings{}, tcp_peer(), [&](std::string_view k, std::string_view v) {
    ++calls;
    CHECK_MESSAGE(seen.emplace(std::string(k), std::string(v)).second, k);
  });
  auto env = build_environ(h, 3, EnvironSettings{}, tcp_peer());
  CHECK(calls == static_cast<int>(env.size()));
  CHECK(seen == std::map<std::string, std::string>(env.begin(), env.end()));
  CHECK(env["HTTP_X_FORWARDED_FOR"] == "a, b, c");
  CHECK(env["HTTP_ACCEPT"] == "x, y");
  CHECK(env["CONTENT_TYPE"] == "t1, t2");
  CHECK(env["HTTP_X_FORWARDED"] == "not the same");
  CHECK(env["CONTENT_LENGTH"] == "3");

  auto chunked = head("POST", "/", {{"Transfer-Encoding", "chunked"}, {"Content-Length", "9"}});
  chunked.chunked = true;
  std::map<std::string, std::string> got;
  visit_environ(chunked, 42, EnvironSettings{}, tcp_peer(),
                [&](std::string_view k, std::string_view v) { got[std::string(k)] = v; });
  CHECK(got["CONTENT_LENGTH"] == "42");
  CHECK(got.count("HTTP_TRANSFER_ENCODING") == 0);
}

TEST_CASE("visit_environ with many fields (the map path) joins as the scan path does") {
  // The same duplicates as above among enough other fields to take the map path; a client
  // may send thousands of fields, which a scan over every pair would make quadratic.
  std::vector<http::Field> fields = {{"X-Forwarded-For", "a"}, {"Accept", "x"}};
  for (int i = 0; i < 5000; ++i) fields.push_back({"F" + std::to_string(i), std::to_string(i)});
  fields.push_back({"x_forwarded_for", "b"});
  fields.push_back({"Content-Type", "t1"});
  fields.push_back({"X-FORWARDED-FOR", "c"});
  fields.push_back({"content-type", "t2"});
  fields.push_back({"Accept", "y"});
  fields.push_back({"f7", "again"});
  auto h = head("GET", "/", fields);
  std::map<std::string, std::string> seen;
  visit_environ(h, std::nullopt, EnvironSettings{}, tcp_peer(),
                [&](std::string_view k, std::string_view v) {
                  CHECK_MESSAGE(seen.emplace(std::string(k), std::string(v)).second, k);
                });
  CHECK(seen["HTTP_X_FORWARDED_FOR"] == "a, b, c");
  CHECK(seen["HTTP_ACCEPT"] == "x, y");
  CHECK(seen["CONTENT_TYPE"] == "t1, t2");
  CHECK(seen["HTTP_F7"] == "7, again");
  CHECK(seen["HTTP_F4999"] == "4999");
  CHECK(seen.size() == 13 + 3 + 5000);  // the fixed variables, three joined ones, F0..F4999
}
