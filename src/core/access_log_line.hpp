// One access-log line: the plain values the server records about a response, and the two
// line formats that turn them into text (waitron's access_log_format option).
//
// - combined: the Apache/nginx combined log format, then the duration in microseconds and
//   X-Forwarded-For:
//     127.0.0.1 - - [21/Nov/2026:13:48:48 +0000] "GET /x HTTP/1.1" 200 12 "-" "curl/8.5" 845 "-"
//   The request line, referer, user agent and X-Forwarded-For are quoted; inside the quotes
//   '"', '\\', control bytes and bytes from 0x7F up are written as \xHH (as nginx escapes),
//   so a line never breaks or lets a client forge a field. An absent value is "-".
// - json: one JSON object per line with the keys time, remote_addr, request, method, target,
//   protocol, status, bytes, duration_us, referer, user_agent and x_forwarded_for. Strings
//   are escaped by RFC 8259; header bytes from 0x7F up are written as \u007f..\u00ff (each
//   byte as its latin-1 character, as WSGI decodes header values), so the line is valid
//   UTF-8 whatever the client sent. An absent value is null.
//
// Times are the local time with its UTC offset, as nginx's $time_local: strftime's view
// of the TZ environment variable.
//
// Pure functions and plain values; any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace waitron::core {

enum class AccessLogFormat { combined, json };

struct AccessRecord {
  std::chrono::system_clock::time_point time;  // when the response's last byte was sent
  std::string remote_addr;                     // the peer, as REMOTE_ADDR has it
  std::string request_line;                    // as received; "" when none was read
  std::string method;    // "" when the request line was not parsed (a refused request)
  std::string target;    // the request-target as sent
  std::string protocol;  // "HTTP/1.1"
  int status = 0;
  std::uint64_t body_bytes = 0;   // response body bytes, without the head or chunk framing
  std::uint64_t duration_us = 0;  // see the server's definition (README "Access log")
  std::optional<std::string> referer;
  std::optional<std::string> user_agent;
  std::optional<std::string> forwarded_for;  // X-Forwarded-For, raw (repeated fields joined)
};

// Appends the record's line, with its final '\n', to `out`.
void append_access_line(AccessLogFormat format, const AccessRecord& record, std::string& out);

// The escapes, exposed for tests: quoted-field bytes of the combined format, and a JSON
// string's contents (without the quotes).
void append_combined_escaped(std::string_view value, std::string& out);
void append_json_escaped(std::string_view value, std::string& out);

}  // namespace waitron::core
