#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "http/response_head.hpp"
#include "support/error_code_printing.hpp"
#include "waitron/response.hpp"

using namespace waitron::http;

namespace {

RequestHead request(int minor = 1, bool keep_alive = true, std::string method = "GET") {
  RequestHead r;
  r.method = std::move(method);
  r.target = "/";
  r.version_minor = minor;
  r.keep_alive = keep_alive;
  return r;
}

std::string frame(const ResponseHead& resp, const RequestHead& req, Framing& f,
                  std::optional<std::string> ident = "waitron") {
  std::string out;
  REQUIRE(frame_response(resp, req, ident, "DATE", f, out) == std::error_code());
  return out;
}

}  // namespace

TEST_CASE("status codes") {
  CHECK(status_code("200 OK") == 200);
  CHECK(status_code("599 Custom") == 599);
  CHECK(status_code("200") == -1);
  CHECK(status_code("20 OK") == -1);
  CHECK(status_code("600 Nope") == -1);
  CHECK(status_code("099 Low") == -1);
}

TEST_CASE("fields are re-capitalised and sorted; Server and Date are added") {
  Framing f;
  std::string out = frame({"200 OK",
                           {{"x-lower-case", "1"},
                            {"ETag", "e"},
                            {"Content-Length", "2"},
                            {"WWW-Authenticate", "w"},
                            {"a-b", "1"},
                            {"A-B", "2"}}},
                          request(), f);
  CHECK(out ==
        "HTTP/1.1 200 OK\r\nA-B: 1\r\nA-B: 2\r\nContent-Length: 2\r\nDate: DATE\r\nEtag: e\r\n"
        "Server: waitron\r\nWww-Authenticate: w\r\nX-Lower-Case: 1\r\n\r\n");
  CHECK(f.kind == Framing::Kind::content_length);
  CHECK(f.content_length == 2);
  CHECK(f.keep_alive);
}

TEST_CASE("the fields come out in std::string_view's order, stable, whatever their first bytes") {
  // Tokens may start with punctuation on either side of the letters (the names are spelt
  // as waitress capitalises them: only the order is under test).
  const std::vector<std::string> names = {"~x", "Ab", "!", "A", "|q", "Zz", "A-B", "!z",
                                          "Ab", "9",  "^", "X", "Aa", "`",  "#",   "Ab-C"};
  ResponseHead head{"200 OK", {}};
  for (std::size_t i = 0; i < names.size(); ++i) {
    head.fields.push_back({names[i], std::to_string(i)});
  }
  head.fields.push_back({"Content-Length", "0"});
  Framing f;
  std::string out = frame(head, request(), f, std::nullopt);
  std::vector<waitron::Header> want = head.fields;
  want.push_back({"Date", "DATE"});
  std::stable_sort(want.begin(), want.end(), [](const auto& a, const auto& b) {
    return std::string_view(a.name) < std::string_view(b.name);
  });
  std::string lines;
  for (const auto& h : want) lines += h.name + ": " + h.value + "\r\n";
  CHECK(out == "HTTP/1.1 200 OK\r\n" + lines + "\r\n");
}

TEST_CASE("the application's Server and Date win; Via names waitron") {
  Framing f;
  std::string out = frame(
      {"200 OK", {{"Server", "app"}, {"Date", "then"}, {"Content-Length", "0"}}}, request(), f);
  CHECK(out.find("Server: app\r\n") != std::string::npos);
  CHECK(out.find("Via: waitron\r\n") != std::string::npos);
  CHECK(out.find("Date: then\r\n") != std::string::npos);
  CHECK(out.find("DATE") == std::string::npos);
  std::string none = frame({"200 OK", {{"Content-Length", "0"}}}, request(), f, std::nullopt);
  CHECK(none.find("Server") == std::string::npos);
}

TEST_CASE("framing by version and length") {
  Framing f;
  std::string out = frame({"200 OK", {}}, request(1), f);
  CHECK(f.kind == Framing::Kind::chunked);
  CHECK(f.keep_alive);
  CHECK(out.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  out = frame({"200 OK", {}}, request(0, true), f);
  CHECK(f.kind == Framing::Kind::close_delimited);
  CHECK_FALSE(f.keep_alive);
  CHECK(out.find("Connection: close\r\n") != std::string::npos);
  out = frame({"200 OK", {{"Content-Length", "5"}}}, request(0, true), f);
  CHECK(f.keep_alive);
  CHECK(out.find("Connection: Keep-Alive\r\n") != std::string::npos);
  out = frame({"200 OK", {{"Content-Length", "5"}}}, request(0, false), f);
  CHECK(out.find("Connection: close\r\n") != std::string::npos);
  out = frame({"200 OK", {{"Content-Length", "5"}}}, request(1, false), f);
  CHECK_FALSE(f.keep_alive);
  CHECK(out.find("Connection: close\r\n") != std::string::npos);
  out = frame({"200 OK", {{"Content-Length", "5"}}}, request(1, true), f);
  CHECK(out.find("Connection") == std::string::npos);
}

TEST_CASE("HEAD, 1xx, 204 and 304 have no body") {
  Framing f;
  std::string out = frame({"200 OK", {{"Content-Length", "5"}}}, request(1, true, "HEAD"), f);
  CHECK(f.kind == Framing::Kind::none);
  CHECK(f.keep_alive);
  CHECK(out.find("Content-Length: 5\r\n") != std::string::npos);
  out = frame({"200 OK", {}}, request(1, true, "HEAD"), f);
  CHECK(out.find("Transfer-Encoding") == std::string::npos);
  out = frame({"204 No Content", {{"Content-Length", "5"}}}, request(), f);
  CHECK(f.kind == Framing::Kind::none);
  CHECK(out.find("Content-Length") == std::string::npos);
  out = frame({"304 Not Modified", {{"Content-Length", "5"}}}, request(), f);
  CHECK(out.find("Content-Length: 5") != std::string::npos);
  out = frame({"304 Not Modified", {}}, request(), f);
  CHECK(f.keep_alive);
  CHECK(out.find("Transfer-Encoding") == std::string::npos);
}

TEST_CASE("a 1xx status is not a final response and is refused") {
  Framing f;
  std::string out;
  CHECK(frame_response({"100 Continue", {}}, request(), "w", "D", f, out));
  CHECK(frame_response({"103 Early Hints", {}}, request(), "w", "D", f, out));
  CHECK(out.empty());
}

TEST_CASE("malformed status or Content-Length is refused") {
  Framing f;
  std::string out;
  CHECK(frame_response({"OK", {}}, request(), "w", "D", f, out));
  CHECK(frame_response({"200 OK", {{"Content-Length", "abc"}}}, request(), "w", "D", f, out));
  CHECK(frame_response({"200 OK", {{"Content-Length", "-1"}}}, request(), "w", "D", f, out));
  CHECK(out.empty());
}

TEST_CASE("status_problem and field_problem tell the problems apart") {
  using waitron::http::field_problem;
  using waitron::http::FieldProblem;
  using waitron::http::status_problem;
  using waitron::http::StatusProblem;
  CHECK(status_problem("200 OK") == StatusProblem::none);
  CHECK(status_problem("599 X \x01") == StatusProblem::none);  // waitress's rule: CR/LF only
  CHECK(status_problem("200 OK\r\nX: y") == StatusProblem::cr_or_lf);
  CHECK(status_problem("20\n OK") == StatusProblem::cr_or_lf);  // CR/LF before the form
  CHECK(status_problem("20 OK") == StatusProblem::malformed);
  CHECK(status_problem("099 X") == StatusProblem::malformed);
  CHECK(status_problem("") == StatusProblem::malformed);

  CHECK(field_problem("Content-Type", "text/plain; charset=\xe9") == FieldProblem::none);
  CHECK(field_problem("X", "") == FieldProblem::none);
  CHECK(field_problem("X", "a\tb c") == FieldProblem::none);
  CHECK(field_problem("X\r\nY", "v") == FieldProblem::cr_or_lf);
  CHECK(field_problem("X", "v\nY: 1") == FieldProblem::cr_or_lf);
  CHECK(field_problem("X Y", "v\r") == FieldProblem::cr_or_lf);  // the injection first
  CHECK(field_problem("Connection", "close") == FieldProblem::hop_by_hop);
  CHECK(field_problem("te", "\x01") == FieldProblem::hop_by_hop);
  CHECK(field_problem("X Y", "v") == FieldProblem::bad_name);
  CHECK(field_problem("", "v") == FieldProblem::bad_name);
  CHECK(field_problem("X Y", "\x7f") == FieldProblem::bad_name);
  CHECK(field_problem("X", std::string_view("a\x00b", 3)) == FieldProblem::bad_value);
  CHECK(field_problem("X", "a\x7f") == FieldProblem::bad_value);
}

TEST_CASE("WSGI's checks on the status and fields") {
  CHECK_NOTHROW(check_response_head("200 OK", {{"Content-Type", "text/plain"}}));
  CHECK_THROWS_AS(check_response_head("200", {}), waitron::ResponseError);
  CHECK_THROWS_AS(check_response_head("200 OK\r\nX: y", {}), waitron::ResponseError);
  CHECK_THROWS_AS(check_response_head("200 OK", {{"Bad Name", "x"}}), waitron::ResponseError);
  CHECK_THROWS_AS(check_response_head("200 OK", {{"X", "a\r\nInjected: 1"}}),
                  waitron::ResponseError);
  CHECK_THROWS_AS(check_response_head("200 OK", {{"X", "a\nb"}}), waitron::ResponseError);
  CHECK_THROWS_AS(check_response_head("200 OK", {{"X", "a\rb"}}), waitron::ResponseError);
  CHECK_THROWS_AS(check_response_head("200 OK\r", {}), waitron::ResponseError);
  CHECK_THROWS_AS(check_response_head("200 OK", {{"X", "a\x7f"}}), waitron::ResponseError);
  for (const char* h : {"Connection", "keep-alive", "Transfer-Encoding", "Upgrade", "Trailer", "TE",
                        "Proxy-Authenticate", "Proxy-Authorization"}) {
    CHECK_THROWS_AS(check_response_head("200 OK", {{h, "x"}}), waitron::ResponseError);
  }
}
