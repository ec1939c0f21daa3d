// The access log's line formats: exact lines in a fixed time zone, the UTC offset, and the
// escapes that keep a line one line whatever a client sends.
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <string>

#include "core/access_log_line.hpp"

namespace waitron::core {
namespace {

// Sets TZ for the test's duration (the formats print local time, as nginx does).
class TimeZone {
 public:
  explicit TimeZone(const char* tz) {
    const char* old = std::getenv("TZ");
    had_ = old != nullptr;
    if (had_) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~TimeZone() {
    if (had_) {
      ::setenv("TZ", old_.c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  TimeZone(const TimeZone&) = delete;
  TimeZone& operator=(const TimeZone&) = delete;

 private:
  bool had_ = false;
  std::string old_;
};

AccessRecord sample() {
  AccessRecord r;
  // 2026-11-21 13:48:48.000123 UTC
  r.time = std::chrono::system_clock::time_point(std::chrono::seconds(1795268928)) +
           std::chrono::microseconds(123);
  r.remote_addr = "127.0.0.1";
  r.request_line = "GET /x?y=1 HTTP/1.1";
  r.method = "GET";
  r.target = "/x?y=1";
  r.protocol = "HTTP/1.1";
  r.status = 200;
  r.body_bytes = 12;
  r.duration_us = 845;
  r.user_agent = "curl/8.5";
  return r;
}

std::string line(AccessLogFormat f, const AccessRecord& r) {
  std::string out;
  append_access_line(f, r, out);
  return out;
}

TEST_CASE("combined: the nginx combined format, then the duration and X-Forwarded-For") {
  TimeZone utc("UTC0");
  AccessRecord r = sample();
  CHECK(line(AccessLogFormat::combined, r) ==
        "127.0.0.1 - - [21/Nov/2026:13:48:48 +0000] \"GET /x?y=1 HTTP/1.1\" 200 12 \"-\" "
        "\"curl/8.5\" 845 \"-\"\n");
  r.forwarded_for = "10.0.0.1, 10.0.0.2";
  r.referer = "http://example.com/";
  r.user_agent.reset();
  CHECK(line(AccessLogFormat::combined, r) ==
        "127.0.0.1 - - [21/Nov/2026:13:48:48 +0000] \"GET /x?y=1 HTTP/1.1\" 200 12 "
        "\"http://example.com/\" \"-\" 845 \"10.0.0.1, 10.0.0.2\"\n");
}

TEST_CASE("combined: local time with its offset") {
  TimeZone est("EST5");
  CHECK(line(AccessLogFormat::combined, sample()).find("[21/Nov/2026:08:48:48 -0500]") !=
        std::string::npos);
  TimeZone india("IST-5:30");
  CHECK(line(AccessLogFormat::combined, sample()).find("[21/Nov/2026:19:18:48 +0530]") !=
        std::string::npos);
}

TEST_CASE("combined: quotes, backslashes, control and high bytes are escaped as \\xHH") {
  TimeZone utc("UTC0");
  AccessRecord r = sample();
  r.user_agent = std::string("a\"b\\c\nd\x01\x7f\xe9", 10);
  r.request_line = "GET /\r\n HTTP/1.1";
  std::string l = line(AccessLogFormat::combined, r);
  CHECK(l.find("\"a\\x22b\\x5cc\\x0ad\\x01\\x7f\\xe9\"") != std::string::npos);
  CHECK(l.find("\"GET /\\x0d\\x0a HTTP/1.1\"") != std::string::npos);
  CHECK(l.find('\n') == l.size() - 1);  // one line, whatever the client sent
  std::string empty;
  append_combined_escaped("", empty);
  CHECK(empty.empty());
}

TEST_CASE("combined: a refused request with no line read, and no peer") {
  TimeZone utc("UTC0");
  AccessRecord r = sample();
  r.request_line.clear();
  r.remote_addr.clear();
  r.status = 400;
  CHECK(line(AccessLogFormat::combined, r)
            .rfind("- - - [21/Nov/2026:13:48:48 +0000] \"-\" 400 ", 0) == 0);
}

TEST_CASE("json: one object per line, absent values null") {
  TimeZone utc("UTC0");
  AccessRecord r = sample();
  r.forwarded_for = "10.0.0.1";
  CHECK(line(AccessLogFormat::json, r) ==
        "{\"time\":\"2026-11-21T13:48:48.000123+00:00\",\"remote_addr\":\"127.0.0.1\","
        "\"request\":\"GET /x?y=1 HTTP/1.1\",\"method\":\"GET\",\"target\":\"/x?y=1\","
        "\"protocol\":\"HTTP/1.1\",\"status\":200,\"bytes\":12,\"duration_us\":845,"
        "\"referer\":null,\"user_agent\":\"curl/8.5\",\"x_forwarded_for\":\"10.0.0.1\"}\n");
}

TEST_CASE("json: a refused request has no method, target or protocol") {
  TimeZone est("EST5");
  AccessRecord r = sample();
  r.method.clear();
  r.request_line = "BAD\x01";
  r.status = 400;
  std::string l = line(AccessLogFormat::json, r);
  CHECK(l.find("\"time\":\"2026-11-21T08:48:48.000123-05:00\"") != std::string::npos);
  CHECK(l.find("\"request\":\"BAD\\u0001\",\"method\":null,\"target\":null,\"protocol\":null,"
               "\"status\":400") != std::string::npos);
}

TEST_CASE("json: strings escaped by RFC 8259, bytes above 0x7E as latin-1 characters") {
  std::string out;
  append_json_escaped(std::string("q\"b\\n\nr\rt\tc\x01\x1f\x7f\xc3\xa9", 16), out);
  CHECK(out == "q\\\"b\\\\n\\nr\\rt\\tc\\u0001\\u001f\\u007f\\u00c3\\u00a9");
  TimeZone utc("UTC0");
  AccessRecord r = sample();
  r.user_agent = "\"}\n{\"evil\":1";
  std::string l = line(AccessLogFormat::json, r);
  CHECK(l.find("\"user_agent\":\"\\\"}\\n{\\\"evil\\\":1\"") != std::string::npos);
  CHECK(l.find('\n') == l.size() - 1);
}

}  // namespace
}  // namespace waitron::core
