// The head of a response: what the application gives, how the body is
// framed (RFC 9112 §6), and the bytes of the status line and fields.
//
// The application layer hands over a status string ("200 OK", sent verbatim
// as waitress does) and its fields, already validated as WSGI requires
// (tokens, no CR/LF, no hop-by-hop fields). frame_response() decides the
// framing from the request and the status, and serialises the head as
// waitress does: field names re-capitalised ("x-lower-case" becomes
// "X-Lower-Case"), sorted by name (stable), Server and Date added, then
// Content-Length, Transfer-Encoding and Connection as the framing needs.
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "http/request_head.hpp"

namespace waitron::http {

struct ResponseHead {
  std::string status;         // "200 OK": three digits, a space, a reason
  std::vector<Field> fields;  // the application's fields, in order
};

// Checks an application's status and fields as WSGI's start_response does (waitress's
// rules, and RFC 9110's: a field name is a token, a value has no control bytes); throws
// waitron::ResponseError. Used by the native Response and by the Python bridge, which
// checks when start_response is called and hands the head over later.
void check_response_head(std::string_view status, const std::vector<Field>& fields);

// What is wrong with an application's status: a CR or LF (an injected line), or not
// `3DIGIT SP reason` with a code from 100 to 599 (status_code). One pass in the usual case.
enum class StatusProblem { none, cr_or_lf, malformed };
StatusProblem status_problem(std::string_view status) noexcept;

// What is wrong with one of an application's fields, the first of: a CR or LF in the name
// or the value (an injected line: waitress's ValueError), a hop-by-hop name (its
// AssertionError), a name that is not a token, a value with other control bytes (RFC
// 9110 §5.1, §5.5). One pass over each in the usual case; check_response_head's rules.
enum class FieldProblem { none, cr_or_lf, hop_by_hop, bad_name, bad_value };
FieldProblem field_problem(std::string_view name, std::string_view value) noexcept;

// The current IMF-fixdate for the Date field (RFC 9110 §6.6.1). The network
// layer refreshes it once per loop iteration; tests use a fixed one.
class DateSource {
 public:
  virtual ~DateSource() = default;
  [[nodiscard]] virtual std::string_view http_date() = 0;

 protected:
  DateSource() = default;
  DateSource(const DateSource&) = default;
  DateSource& operator=(const DateSource&) = default;
};

struct Framing {
  enum class Kind {
    content_length,   // exactly content_length bytes follow
    chunked,          // HTTP/1.1 with no known length
    close_delimited,  // HTTP/1.0 with no known length: the body ends at close
    none,             // HEAD, 204, 304: no body whatever the app writes
  };
  Kind kind = Kind::none;
  std::uint64_t content_length = 0;  // with content_length
  bool keep_alive = false;           // the connection persists after this response
};

// The status code: the first three digits of `status`, or -1 when `status`
// is not `3DIGIT SP reason` with a code from 100 to 599.
int status_code(std::string_view status) noexcept;

// Decides the framing and writes the head into `out` (appending). Fails with
// std::errc::invalid_argument when the status is malformed or a 1xx (not a final
// response), or the application's Content-Length is malformed.
std::error_code frame_response(const ResponseHead& response, const RequestHead& request,
                               const std::optional<std::string>& ident, std::string_view date,
                               Framing& framing, std::string& out);

}  // namespace waitron::http
